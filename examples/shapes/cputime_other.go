//go:build !(linux || darwin || freebsd)

package shapes

import (
	"errors"
	"time"
)

var errNoCPUClock = errors.New("the cpu target needs a per-thread CPU clock (Linux, macOS or FreeBSD)")

func threadCPUTime() (time.Duration, error)  { return 0, errNoCPUClock }
func processCPUTime() (time.Duration, error) { return 0, errNoCPUClock }
