package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"courier/config"
	"courier/parser"
	"courier/store"
	"courier/wiki"
)

// cmdCheck runs "courier check": it reports every problem of the setup,
// one a line with what to do, and exits 1 when it found any.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check -config FILE",
		"Checks the config file, the state file, the login and rights on every\n"+
			"wiki, the control pages and the stream, and prints each problem on one\n"+
			"line with what to do about it. Exits 1 when it finds one.",
		"COURIER_PASSWORD=... courier check -config courier.toml")
	fs.configFlag()
	if code := fs.parse(args, stdout, stderr); code >= 0 {
		return code
	}

	cfg := fs.loadConfig(stderr)
	if cfg == nil {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := &checker{cfg: cfg, out: stdout}
	c.run(ctx)
	if c.problems > 0 {
		fmt.Fprintf(stdout, "%d problem(s) found\n", c.problems)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %s: %d wiki(s), state file %s\n", cfg.Path(), len(cfg.Wikis),
		cfg.State)
	return 0
}

// checker collects the problems of a setup.
type checker struct {
	cfg      *config.Config
	out      io.Writer
	problems int
}

func (c *checker) problem(format string, args ...any) {
	c.problems++
	fmt.Fprintf(c.out, "problem: "+format+"\n", args...)
}

func (c *checker) okf(format string, args ...any) {
	fmt.Fprintf(c.out, "ok: "+format+"\n", args...)
}

func (c *checker) run(ctx context.Context) {
	st, err := store.Open(ctx, c.cfg.State)
	if err != nil {
		c.problem("state: %v", err)
	} else {
		st.Close()
		c.okf("state file %s opens, schema version %d", c.cfg.State, store.SchemaVersion)
	}
	c.checkStream(ctx)

	password, err := c.cfg.ResolvePassword()
	if err != nil {
		c.problem("%v: export it before running courier", err)
		return
	}
	for _, w := range c.cfg.Wikis {
		cl, err := wiki.New(wiki.Config{ID: w.ID, API: w.API, UserAgent: c.cfg.Account.UserAgent,
			Username: c.cfg.Account.Username, Password: password, MaxLag: c.cfg.Delivery.Maxlag,
			Timeout: 20 * time.Second, Retry: wiki.RetryPolicy{Tries: 2}})
		if err != nil {
			c.problem("wikis %s: %v", w.ID, err)
			continue
		}
		c.checkWiki(ctx, cl, w)
	}
}

// checkWiki checks the login and the account's rights on one wiki, and on
// the home wiki the control pages.
func (c *checker) checkWiki(ctx context.Context, cl *wiki.Client, w config.Wiki) {
	ui, err := cl.UserInfo(ctx)
	if err != nil {
		c.problem("%s: cannot log in as %s: %v (check the bot password and its grants)",
			w.ID, c.cfg.Account.Username, err)
		return
	}
	switch {
	case ui.Blocked:
		c.problem("%s: %s is blocked by %s (%s): ask an admin there to lift it",
			w.ID, ui.Name, ui.BlockedBy, ui.BlockReason)
	case !ui.Bot:
		c.problem("%s: %s has no bot flag: ask a bureaucrat for it, or its edits flood "+
			"recent changes", w.ID, ui.Name)
	default:
		c.okf("%s: logged in as %s, bot flag, apihighlimits %v, noratelimit %v",
			w.ID, ui.Name, ui.HighLimits, ui.NoRateLimit)
	}
	if w.ID == c.cfg.Home.Wiki {
		c.checkControlPages(ctx, cl)
	}
}

func (c *checker) checkControlPages(ctx context.Context, cl *wiki.Client) {
	si, err := cl.SiteInfo(ctx)
	if err != nil {
		c.problem("%s: read siteinfo: %v", cl.ID(), err)
		return
	}
	site := parser.NewSite(si.Namespaces)
	pages := []struct{ key, title string }{
		{"home.requests", c.cfg.Home.Requests}, {"home.senders", c.cfg.Home.Senders},
		{"home.log", c.cfg.Home.Log}, {"home.shutoff", c.cfg.Home.Shutoff},
	}
	for _, p := range pages {
		if p.title == "" {
			continue
		}
		t, err := site.Normalize(p.title)
		if err != nil {
			c.problem("%s: %q is not a valid title: %v", p.key, p.title, err)
			continue
		}
		rev, ok, err := cl.PageText(ctx, t.String())
		switch {
		case err != nil:
			c.problem("%s: read [[%s]]: %v", p.key, t, err)
		case !ok && p.key == "home.log":
			c.okf("%s: [[%s]] does not exist yet; Courier creates it", p.key, t)
		case !ok:
			c.problem("%s: [[%s]] does not exist on %s: create it", p.key, t, cl.ID())
		case p.key == "home.shutoff" && !strings.EqualFold(strings.TrimSpace(rev.Content), "run"):
			c.problem("%s: [[%s]] does not read \"run\", so Courier will not edit: "+
				"write run there to let it", p.key, t)
		default:
			c.okf("%s: [[%s]]", p.key, t)
		}
	}
}

// checkStream opens the stream and reads its first bytes.
func (c *checker) checkStream(ctx context.Context) {
	if c.cfg.Stream.URL == "" {
		c.okf("stream: none; polling recentchanges every %s", c.cfg.Stream.PollInterval)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.Stream.URL, nil)
	if err != nil {
		c.problem("stream.url: %v", err)
		return
	}
	req.Header.Set("User-Agent", c.cfg.Account.UserAgent)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.problem("stream.url: %s is not reachable: %v", c.cfg.Stream.URL, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		c.problem("stream.url: %s answers %s with %q, not an event stream",
			c.cfg.Stream.URL, resp.Status, resp.Header.Get("Content-Type"))
		return
	}
	c.okf("stream: %s answers", c.cfg.Stream.URL)
}
