package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"courier/config"
	"courier/deliver"
	"courier/metrics"
	"courier/parser"
	"courier/review"
	"courier/store"
	"courier/watcher"
	"courier/wiki"
)

// cmdRun runs "courier run": the daemon, until SIGINT or SIGTERM.
func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run -config FILE",
		"Follows the home wiki's recent changes, reviews delivery requests and\n"+
			"delivers approved ones. SIGINT or SIGTERM finishes the edit under way,\n"+
			"saves the state and exits 0.",
		"COURIER_PASSWORD=... courier run -config courier.toml")
	fs.configFlag()
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	verbose := fs.Bool("v", false, "log every API request and stream decision (Debug)")
	dry := fs.Bool("dry-run", false,
		"do everything but edit: print each edit instead, on a copy of the state file")
	if code := fs.parse(args, stdout, stderr); code >= 0 {
		return code
	}

	cfg := fs.loadConfig(stderr)
	if cfg == nil {
		return 1
	}
	log := newLogger(stderr, *logJSON, *verbose)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var transport http.RoundTripper
	if *dry {
		state, cleanup, err := dryRunState(cfg.State)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer cleanup()
		cfg.State = state
		transport = newDryRun(stdout)
		log.Info("dry run: no edit is made; the state is a copy", "state", state)
	}
	if err := runDaemon(ctx, cfg, log, transport); err != nil {
		log.Error("courier stopped", "err", err)
		return 1
	}
	log.Info("courier stopped; state saved")
	return 0
}

func newLogger(w io.Writer, asJSON, verbose bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if verbose {
		opts.Level = slog.LevelDebug
	}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runDaemon wires the pipeline (watcher → review → deliver) and runs it
// until ctx is done.
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger,
	transport http.RoundTripper) error {
	st, err := store.Open(ctx, cfg.State)
	if err != nil {
		return err
	}
	defer st.Close()

	var w *watcher.Watcher // the metrics read its stats once it runs
	m := newMetrics(cfg, st, func() watcher.Stats { return w.Stats() }, log)
	clients, err := newClients(cfg, cfg.Wikis, log, transport, m.APIHook)
	if err != nil {
		return err
	}
	home := clients[cfg.Home.Wiki]
	site, bot, err := loginHome(ctx, home, log)
	if err != nil {
		return err
	}
	loginOthers(ctx, cfg, clients, log)
	if cfg.Matrix.Enabled {
		added := addMatrixWikis(ctx, cfg, st, home, log)
		more, err := newClients(cfg, added, log, transport, m.APIHook)
		if err != nil {
			return err
		}
		maps.Copy(clients, more)
	}
	titles, err := controlTitles(cfg, site)
	if err != nil {
		return err
	}

	w, err = newWatcher(ctx, cfg, st, home, log)
	if err != nil {
		return err
	}
	rv, err := newReviewer(cfg, st, clients, site, bot, titles, log)
	if err != nil {
		return err
	}
	for _, t := range rv.Watched() {
		if err := w.Watch(cfg.Home.Wiki, t); err != nil {
			return fmt.Errorf("watch %s: %w", t, err)
		}
	}
	return runPipeline(ctx, cfg, w, rv, m, log)
}

// newMetrics returns the metrics and health of /metrics and /healthz.
// When polling, silence is counted in poll rounds, so the limit is
// several rounds long.
func newMetrics(cfg *config.Config, st *store.Store, stats func() watcher.Stats,
	log *slog.Logger) *metrics.Metrics {
	silence := time.Duration(0) // the package's default
	if cfg.Stream.URL == "" {
		silence = max(metrics.DefaultStreamSilence, 5*cfg.Stream.PollInterval)
	}
	return metrics.New(metrics.Options{Store: st, Stats: stats, Polling: cfg.Stream.URL == "",
		StreamSilence: silence, Logger: log.With("component", "metrics")})
}

// runPipeline runs the watcher, the reviewer, the loop between them and
// the metrics listener, and waits for all of them.
func runPipeline(ctx context.Context, cfg *config.Config, w *watcher.Watcher,
	rv *review.Reviewer, m *metrics.Metrics, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	home := cfg.Home.Wiki
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Go(func() {
		if err := m.Serve(ctx, cfg.HTTP.Listen); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("metrics: %w", err)
			cancel()
		}
	})
	wg.Go(func() {
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("watcher: %w", err)
			cancel()
		}
	})
	wg.Go(func() {
		if err := rv.Run(ctx); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("review: %w", err)
			cancel()
		}
	})
	wg.Go(func() {
		for c := range w.Changes() {
			if c.Wiki != home {
				continue
			}
			if err := rv.Changed(ctx, c.Title); err != nil && ctx.Err() == nil {
				log.Error("could not handle a change; it is read again with the next one",
					"wiki", c.Wiki, "title", c.Title, "rev_id", c.RevID, "err", err)
			}
		}
	})
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// noHook is the API request hook of a command that keeps no metrics.
func noHook(string) func(string, time.Duration, error) { return nil }

// newClients makes one API client a configured wiki, all with the
// account's login.
func newClients(cfg *config.Config, wikis []config.Wiki, log *slog.Logger,
	transport http.RoundTripper, hook func(wiki string) func(string, time.Duration, error)) (
	map[string]*wiki.Client, error) {
	password, err := cfg.ResolvePassword()
	if err != nil {
		return nil, err
	}
	clients := map[string]*wiki.Client{}
	for _, wc := range wikis {
		c, err := wiki.New(wiki.Config{
			ID: wc.ID, API: wc.API, UserAgent: cfg.Account.UserAgent,
			Username: cfg.Account.Username, Password: password, MaxLag: cfg.Delivery.Maxlag,
			Logger: log, Transport: transport, OnRequest: hook(wc.ID),
		})
		if err != nil {
			return nil, fmt.Errorf("set up the client of %s: %w", wc.ID, err)
		}
		clients[wc.ID] = c
	}
	return clients, nil
}

// loginHome logs in on the home wiki and reads its namespaces and the
// account's bot flag.
func loginHome(ctx context.Context, c *wiki.Client, log *slog.Logger) (*parser.Site, bool,
	error) {
	if err := c.Login(ctx); err != nil {
		return nil, false, fmt.Errorf("log in on %s: %w", c.ID(), err)
	}
	si, err := c.SiteInfo(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("read siteinfo of %s: %w", c.ID(), err)
	}
	ui, err := c.UserInfo(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("read the account on %s: %w", c.ID(), err)
	}
	if ui.Blocked {
		return nil, false, fmt.Errorf("the account %s is blocked on %s by %s: %s",
			ui.Name, c.ID(), ui.BlockedBy, ui.BlockReason)
	}
	log.Info("logged in", "wiki", c.ID(), "user", ui.Name, "bot", ui.Bot,
		"apihighlimits", ui.HighLimits, "site", si.SiteName)
	return parser.NewSite(si.Namespaces), ui.Bot, nil
}

// loginOthers logs in on every wiki but the home one, in parallel, so the
// first delivery does not wait for it. A wiki that fails here is tried
// again by the delivery that needs it.
func loginOthers(ctx context.Context, cfg *config.Config, clients map[string]*wiki.Client,
	log *slog.Logger) {
	var wg sync.WaitGroup
	for id, c := range clients {
		if id == cfg.Home.Wiki {
			continue
		}
		wg.Go(func() {
			ui, err := c.UserInfo(ctx)
			if err != nil {
				log.Warn("could not log in; delivery tries again when it needs this wiki",
					"wiki", id, "err", err)
				return
			}
			log.Info("logged in", "wiki", id, "user", ui.Name, "bot", ui.Bot,
				"apihighlimits", ui.HighLimits)
		})
	}
	wg.Wait()
}

// controlPages are the home wiki's pages, as MediaWiki writes their titles.
type controlPages struct {
	requests, senders, shutoff, log string
}

func controlTitles(cfg *config.Config, site *parser.Site) (controlPages, error) {
	var p controlPages
	for _, f := range []struct {
		key, title string
		out        *string
	}{
		{"home.requests", cfg.Home.Requests, &p.requests},
		{"home.senders", cfg.Home.Senders, &p.senders},
		{"home.shutoff", cfg.Home.Shutoff, &p.shutoff},
		{"home.log", cfg.Home.Log, &p.log},
	} {
		if f.title == "" {
			continue
		}
		t, err := site.Normalize(f.title)
		if err != nil {
			return p, fmt.Errorf("%s: %q is not a valid title: %w", f.key, f.title, err)
		}
		*f.out = t.String()
	}
	return p, nil
}

func newWatcher(ctx context.Context, cfg *config.Config, st *store.Store, home *wiki.Client,
	log *slog.Logger) (*watcher.Watcher, error) {
	hw := cfg.HomeWiki()
	ww, err := watcher.NewWiki(ctx, home, hw.Domain)
	if err != nil {
		return nil, fmt.Errorf("set up watching %s: %w", hw.ID, err)
	}
	return watcher.New(watcher.Config{
		StreamURL: cfg.Stream.URL, PollInterval: cfg.Stream.PollInterval,
		UserAgent: cfg.Account.UserAgent, BotName: cfg.Account.Username,
		Wikis: []watcher.Wiki{ww}, Store: st,
		Logger: log.With("component", "watcher"),
	})
}

func newReviewer(cfg *config.Config, st *store.Store, clients map[string]*wiki.Client,
	site *parser.Site, bot bool, titles controlPages, log *slog.Logger) (*review.Reviewer,
	error) {
	var rv *review.Reviewer // the deliverer's callbacks reach it once it exists
	d, err := deliver.New(deliver.Options{
		Store: st, Clients: clients, Wikis: cfg.Wikis, Home: cfg.Home, Delivery: cfg.Delivery,
		Logger:    log,
		Gate:      func(ctx context.Context, w string) (bool, error) { return rv.Gate(ctx, w) },
		Cancelled: func(id int64) bool { return rv.Cancelled(id) },
		Progress:  func(p deliver.Progress) { rv.Progress(p.RequestID) },
	})
	if err != nil {
		return nil, fmt.Errorf("set up delivery: %w", err)
	}
	domains := map[string]bool{}
	for _, w := range cfg.Wikis {
		domains[strings.ToLower(w.Domain)] = true
	}
	home := clients[cfg.Home.Wiki]
	name, _, _ := strings.Cut(cfg.Account.Username, "@")
	rv, err = review.New(review.Config{
		Wiki: review.NewHomeWiki(home, bot), Site: site,
		Lists:    review.NewLists(home, site, domains),
		Delivery: review.NewDelivery(d), Store: st,
		Log:    log,
		HomeID: cfg.Home.Wiki, Requests: titles.requests, Senders: titles.senders,
		Shutoff: titles.shutoff, LogPage: titles.log,
		ApproverGroups: cfg.Home.ApproverGroups, SenderGroups: cfg.Home.SenderGroups,
		SelfApproval: cfg.Home.SelfApproval, MaxTargets: cfg.Delivery.MaxTargets,
		BotUser: name,
	})
	return rv, err
}
