package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"courier/config"
)

// flagSet is a subcommand's flags with the text its -h prints.
type flagSet struct {
	*flag.FlagSet
	name, about, example string
	configPath           *string // set by configFlag
}

// newFlags returns a flag set for a subcommand; about says what it does
// and example shows one use.
func newFlags(name, about, example string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet("courier "+name, flag.ContinueOnError),
		name: name, about: about, example: example}
	fs.Usage = func() {} // printed by parse, to the right stream
	return fs
}

// parse parses args and returns the exit code to stop with: -1 to go on,
// 0 after -h (help on stdout), 2 on a bad flag (message and usage on
// stderr).
func (fs *flagSet) parse(args []string, stdout, stderr io.Writer) int {
	fs.SetOutput(stderr)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.printUsage(stdout)
		return 0
	case err != nil:
		fs.printUsage(stderr)
		return 2
	}
	return -1
}

func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: courier %s\n\n%s\n\nFlags:\n", fs.name, fs.about)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nExample:\n  %s\n", fs.example)
}

// configFlag adds -config to fs; loadConfig reads the file it names.
func (fs *flagSet) configFlag() {
	fs.configPath = fs.String("config", "courier.toml", "the config `file`")
}

// loadConfig reads the config file -config names; on a mistake it prints
// every problem to stderr and returns nil.
func (fs *flagSet) loadConfig(stderr io.Writer) *config.Config {
	cfg, err := config.Load(*fs.configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil
	}
	return cfg
}

// usageError prints a usage mistake that the flag package cannot see, such
// as a missing argument, and returns exit code 2.
func (fs *flagSet) usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "courier %s: %s\n\n", fs.name, fmt.Sprintf(format, args...))
	fs.printUsage(stderr)
	return 2
}
