package main

import (
	"context"
	"fmt"
	"io"

	"courier/config"
	"courier/store"
)

// cmdCheck runs "courier check": it reports every problem of the setup,
// one a line with what to do, and exits 1 when it found any.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check -config FILE",
		"Checks the config file and the state file, and prints each problem\n"+
			"on one line with what to do about it. Exits 1 when it finds one.",
		"courier check -config courier.toml")
	configPath := fs.String("config", "courier.toml", "the config `file`")
	if code := fs.parse(args, stdout, stderr); code >= 0 {
		return code
	}

	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	problems := 0
	report := func(format string, args ...any) {
		problems++
		fmt.Fprintf(stdout, "problem: "+format+"\n", args...)
	}

	if _, err := cfg.ResolvePassword(); err != nil {
		report("%v: export it before running courier", err)
	}
	st, err := store.Open(context.Background(), cfg.State)
	if err != nil {
		report("state: %v", err)
	} else {
		st.Close()
	}

	if problems > 0 {
		fmt.Fprintf(stdout, "%d problem(s) found\n", problems)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %s, %d wiki(s), state file %s\n", cfg.Path(), len(cfg.Wikis), cfg.State)
	return 0
}
