// Command courier-demo shows Courier at work on two local, real MediaWiki
// wikis: it starts them and their recent-changes stream, creates the bot,
// an approver and a plain user, the control pages and a target list, files
// a request as the plain user, approves it as the approver, runs
// "courier run", and shows the delivery happen. The wikis stay up until
// Ctrl-C, so more requests can be filed in a browser and watched.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"courier/wikitest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "courier-demo:", err)
		os.Exit(1)
	}
}

// The demo's accounts. The bot password is one on both wikis, as one
// Wikimedia login is.
const (
	botName     = "Courier"
	botPassword = "demo0123456789abcdefghijklmnopqr"
	userPass    = "demo-user-password"
	requests    = "Project:Message delivery/Requests"
	listTitle   = "Project:Message delivery/Lists/Demo"
)

func run(args []string) error {
	fs := flag.NewFlagSet("courier-demo", flag.ContinueOnError)
	noWait := fs.Bool("no-wait", false, "exit once the delivery is done (for CI)")
	courierBin := fs.String("courier", "", "the courier binary (default: go build ./cmd/courier)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	step("starting two wikis and their stream")
	env, err := wikitest.Start(ctx, wikitest.Options{Wikis: wikitest.SharedWikis})
	if err != nil {
		return err
	}
	defer env.Close()
	meta, en := env.Wiki("metawiki"), env.Wiki("enwiki")
	fmt.Printf("  %s  %s\n  %s  %s\n  stream %s\n", meta.ID, meta.URL, en.ID, en.URL, env.Stream.URL)

	dir, err := os.MkdirTemp("", "courier-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := courierBinary(*courierBin, dir)
	if err != nil {
		return err
	}

	step("creating accounts: the bot Courier, approver Sam, plain user Alice")
	if err := setUpWikis(env); err != nil {
		return err
	}
	config, err := writeConfig(env, dir)
	if err != nil {
		return err
	}

	step("running courier run -config " + config)
	proc, err := startCourier(ctx, bin, config, filepath.Join(dir, "courier.log"))
	if err != nil {
		return err
	}
	defer stopCourier(proc)

	id, err := fileAndApprove(ctx, meta)
	if err != nil {
		return err
	}
	if err := follow(ctx, meta, id); err != nil {
		return err
	}
	printURLs(env, id)
	if *noWait {
		return nil
	}
	fmt.Println("\nThe wikis keep running: log in as Alice or Sam (password " + userPass +
		") to file and approve more requests. Ctrl-C stops everything.")
	<-ctx.Done()
	return nil
}

func step(s string) { fmt.Printf("\n» %s\n", s) }

// courierBinary returns the courier binary to run, building it if none is
// given.
func courierBinary(given, dir string) (string, error) {
	if given != "" {
		return given, nil
	}
	bin := filepath.Join(dir, "courier")
	out, err := exec.Command("go", "build", "-o", bin, "courier/cmd/courier").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build courier (run the demo from the repository): %v\n%s", err, out)
	}
	return bin, nil
}

// setUpWikis creates the accounts on both wikis, and on Meta the control
// pages and a list of talk pages on both wikis.
func setUpWikis(env *wikitest.Env) error {
	for _, w := range env.Wikis {
		if _, err := w.CreateBotWithPassword(botName, botPassword); err != nil {
			return err
		}
		for _, u := range []string{"Alice", "Bob", "Carol"} {
			if err := w.CreateUser(u, userPass); err != nil {
				return err
			}
		}
		if err := w.CreateUser("Sam", userPass, "sysop"); err != nil {
			return err
		}
	}
	meta, en := env.Wiki("metawiki"), env.Wiki("enwiki")
	admin, err := meta.Admin()
	if err != nil {
		return err
	}
	list := "Our readers.\n* [[User:Alice]]\n* [[User talk:Bob]]\n" +
		"{{#target:User talk:Carol}}\n{{#target:User talk:Bob|" + en.Domain + "}}\n"
	pages := [][2]string{
		{"User:Courier/Shutoff", "run"},
		{"Project:Message delivery/Senders", "Trusted senders:\n"},
		{requests, "Request a message delivery below.\n"},
		{listTitle, list},
	}
	for _, p := range pages {
		if _, err := admin.Edit(p[0], p[1], "demo set-up"); err != nil {
			return fmt.Errorf("create %s: %w", p[0], err)
		}
	}
	return nil
}

func writeConfig(env *wikitest.Env, dir string) (string, error) {
	text := env.CourierConfig(wikitest.CourierConfig{
		State: filepath.Join(dir, "courier.db"), Login: botName + "@" + wikitest.BotAppID,
		UserAgent:      "Courier/demo (https://example.org/courier; ops@example.org)",
		EditsPerMinute: 60,
	})
	path := filepath.Join(dir, "courier.toml")
	return path, os.WriteFile(path, []byte(text), 0o600)
}

func startCourier(ctx context.Context, bin, config, logPath string) (*exec.Cmd, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "-config", config)
	cmd.Env = append(os.Environ(), "COURIER_PASSWORD="+botPassword)
	// Courier's log goes to the terminal, dimmed by an indent, and a file.
	out := io.MultiWriter(logFile, indent{os.Stdout})
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, cmd.Start()
}

func stopCourier(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// indent prefixes each write with two spaces and a bar.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	s := strings.TrimRight(string(p), "\n")
	fmt.Fprintln(i.w, "  │ "+strings.ReplaceAll(s, "\n", "\n  │ "))
	return len(p), nil
}

// fileAndApprove files a request as Alice, waits for Courier to answer it,
// and approves it as Sam. It returns the request's id.
func fileAndApprove(ctx context.Context, meta *wikitest.Wiki) (int64, error) {
	alice, err := meta.Session("Alice", userPass)
	if err != nil {
		return 0, err
	}
	text, err := alice.Text(requests)
	if err != nil {
		return 0, err
	}
	step("Alice files a request")
	text += "\n== Welcome newsletter ==\n{{Delivery request\n| list = " + listTitle +
		"\n| subject = Welcome to the newsletter\n| message = Hello! This is the first " +
		"issue of our newsletter. ~~~~\n}}\n"
	id, err := alice.Edit(requests, text, "new delivery request")
	if err != nil {
		return 0, err
	}
	if err := waitFor(ctx, meta, id, "pending"); err != nil {
		return 0, err
	}

	step("Sam approves it")
	sam, err := meta.Session("Sam", userPass)
	if err != nil {
		return 0, err
	}
	text, err = sam.Text(requests)
	if err != nil {
		return 0, err
	}
	text = regexp.MustCompile(`\| *status *= *pending`).ReplaceAllString(text, "| status = approved")
	_, err = sam.Edit(requests, text, "approve")
	return id, err
}

// follow prints the request's status as it changes, until it is done.
func follow(ctx context.Context, meta *wikitest.Wiki, id int64) error {
	return waitFor(ctx, meta, id, "done")
}

// waitFor prints each new status and progress of request id until it
// reads want.
func waitFor(ctx context.Context, meta *wikitest.Wiki, id int64, want string) error {
	admin, err := meta.Admin()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		text, err := admin.Text(requests)
		if err != nil {
			return err
		}
		status, progress := param(text, "status"), param(text, "progress")
		if now := status + " " + progress; now != last {
			fmt.Printf("  request %d: status %s %s\n", id, status, progress)
			last = now
		}
		if status == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("request %d did not reach %q in 2 minutes", id, want)
}

func param(text, name string) string {
	m := regexp.MustCompile(`\| *` + name + ` *= *([^\n|}]*)`).FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

func printURLs(env *wikitest.Env, id int64) {
	meta := env.Wiki("metawiki")
	page := func(w *wikitest.Wiki, title string) string {
		return w.Index + "?title=" + strings.ReplaceAll(title, " ", "_")
	}
	step("done: look at it in a browser")
	fmt.Println("  the request     ", page(meta, "Meta:Message delivery/Requests"))
	fmt.Println("  a delivered page", page(meta, "User talk:Alice"))
	fmt.Println("  on the other wiki", page(env.Wiki("enwiki"), "User talk:Bob"))
	fmt.Println("  the log         ", page(meta, "Meta:Message delivery/Log"))
	fmt.Println("  the details     ", page(meta, fmt.Sprintf("Meta:Message delivery/Log/%d", id)))
}
