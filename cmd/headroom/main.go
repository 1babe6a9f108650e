// Command headroom finds where an API breaks, what breaks first, and what to
// change or buy before the traffic arrives.
//
// This file is the composition root: flags become configs, configs become
// calls into the packages. Each subcommand is a small unit registered in
// commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ExitError carries an exit code other than 1 (99: a check failed).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit codes shared by every command (ARCHITECTURE.md).
const (
	ExitOK          = 0
	ExitError1      = 1
	ExitCheckFailed = 99
)

// errHelp is returned when --help was asked for; it exits 0.
var errHelp = errors.New("help requested")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "headroom: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(stderr, "headroom: %v\n", err)
	return ExitError1
}
