// Command wikitest-up starts the test wikis and their stream, prints where
// they are, and keeps them up until interrupted: for the demo and for poking
// at a real wiki by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"courier/wikitest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wikitest-up:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "", "keep the wikis' files here (default: a temporary directory)")
	bot := flag.String("bot", "Courier",
		"create this bot account with a bot password (\"\" for none)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env, err := wikitest.Start(ctx, wikitest.Options{Wikis: wikitest.SharedWikis, Dir: *dir})
	if err != nil {
		return err
	}
	defer env.Close()

	fmt.Printf("started in %v (template %v, cold %v)\n",
		env.Startup.Total, env.Startup.Template, env.Startup.Cold)
	fmt.Printf("stream   %s\n", env.Stream.URL)
	for _, w := range env.Wikis {
		fmt.Printf("%-8s %s  api %s  domain %s  files %s\n", w.ID, w.URL, w.API, w.Domain, w.Dir)
		if *bot == "" {
			continue
		}
		login, password, err := w.CreateBot(*bot)
		if err != nil {
			return err
		}
		fmt.Printf("%-8s bot %s  password %s\n", "", login, password)
	}
	fmt.Printf("admin    %s / %s\n", wikitest.AdminName, wikitest.AdminPassword)
	fmt.Println(strings.Repeat("-", 40), "Ctrl-C stops the wikis")
	<-ctx.Done()
	return nil
}
