// Command courier is the Courier message delivery bot: it follows a wiki's
// recent changes, reads delivery requests filed on a wiki page, and
// delivers each approved message as a new section on every talk page of
// its target list.
package main

import (
	"fmt"
	"io"
	"os"
)

// command is one subcommand of courier.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"abandon", "close a request that cannot be delivered further", cmdAbandon},
		{"check", "check the config, the state file and the wikis", cmdCheck},
		{"run", "run the bot: follow requests and deliver approved ones", cmdRun},
		{"parse", "print the requests or targets a wikitext file holds", cmdParse},
		{"status", "print the requests and their outcomes from the state file", cmdStatus},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code: 0 on success,
// 1 when the subcommand found a problem, 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "courier: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: courier COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "courier COMMAND -h" for a command's flags and an example.`)
}
