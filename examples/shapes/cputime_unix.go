//go:build linux || darwin || freebsd

package shapes

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime is the CPU time of the calling thread.
func threadCPUTime() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("could not read the thread's CPU clock: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}

// processCPUTime is the CPU time of the whole process, user and system.
func processCPUTime() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("could not read the process's CPU time: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
