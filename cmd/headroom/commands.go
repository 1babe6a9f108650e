package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// env is what every command gets: the streams and a logger on stderr.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// getenv reads the environment; tests replace it.
	getenv func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	// usage is the synopsis line after "headroom NAME".
	usage string
	// example is shown in --help; every command has one.
	example string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is the one place subcommands are registered.
var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// run is the testable main.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	level := slog.LevelInfo
	// Global flags come before the subcommand.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-v", "--verbose", "-verbose":
			level = slog.LevelDebug
		case "-q", "--quiet", "-quiet":
			level = slog.LevelWarn
		case "-h", "--help", "-help", "help":
			usage(stdout)
			return errHelp
		default:
			usage(stderr)
			return fmt.Errorf("unknown global flag %q", args[0])
		}
		args = args[1:]
	}
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if len(args) == 0 {
		usage(stderr)
		return fmt.Errorf("no command given")
	}
	name := args[0]
	if name == "help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				commandHelp(stdout, c, nil)
				return errHelp
			}
		}
		usage(stdout)
		return errHelp
	}
	c, ok := commands[name]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", name)
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "headroom finds where an API breaks, what breaks first, and what to change before the traffic arrives.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: headroom [-v|-q] COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'headroom COMMAND --help' for a command's flags and an example.")
}

func commandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "headroom %s — %s\n\nUsage: headroom %s %s\n", c.name, c.summary, c.name, c.usage)
	if fs != nil {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if c.example != "" {
		fmt.Fprintf(w, "\nExample:\n%s\n", indent(c.example, "  "))
	}
}

func indent(s, pfx string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pfx + l
	}
	return strings.Join(lines, "\n")
}

// newFlagSet makes a FlagSet whose --help prints the command's help with its
// example to stdout, and whose errors name the flag.
func newFlagSet(e *env, c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("headroom "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args; --help prints help and returns errHelp, a bad flag
// returns an error that names it and points at --help.
func parseFlags(e *env, c *command, fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == flag.ErrHelp {
		commandHelp(e.stdout, c, fs)
		return errHelp
	}
	if err != nil {
		return fmt.Errorf("%s: %w (see 'headroom %s --help')", c.name, err, c.name)
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
