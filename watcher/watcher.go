package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/r3labs/sse/v2"

	"courier/store"
)

// The sources a Change can come from.
const (
	SourceStream   = "stream"   // the EventStreams feed
	SourceBackfill = "backfill" // list=recentchanges over a gap in the feed
	SourcePoll     = "poll"     // list=recentchanges, when there is no feed
)

// Errors the watcher returns, wrapped with what it was doing.
var (
	ErrUnknownWiki = errors.New("wiki not in the watcher's configuration")
	ErrRunning     = errors.New("watcher already ran")
	ErrNoStore     = errors.New("no state store")
	ErrUserAgent   = errors.New("no user agent")
)

// Change says that page Title on wiki Wiki reached revision RevID. Each
// revision of a watched page is handed over once; after a restart, revisions
// the consumer recorded with store.SetPageRevision (under Wiki and Title as
// given here) are not handed over again.
type Change struct {
	Wiki      string    // the wiki's id, such as "metawiki"
	Title     string    // as MediaWiki writes it, "Meta:Message delivery/Requests"
	NS        int       // the title's namespace
	RevID     int64     // the revision the page reached
	OldRevID  int64     // the revision before it; 0 for a new page
	User      string    // who saved RevID
	Timestamp time.Time // when, to the second, as the wiki recorded it
	Type      string    // "edit" or "new"
	Source    string    // SourceStream, SourceBackfill or SourcePoll
}

// Query selects recent changes of one wiki.
type Query struct {
	Start time.Time // the oldest change, inclusive
	End   time.Time // the newest, inclusive; zero for now

	// Titles are the watched pages, as MediaWiki writes them; a source may
	// return other pages too, which the watcher drops.
	Titles []string

	// Namespaces are those of Titles, to narrow a listing.
	Namespaces []int
}

// RecentChanges lists a wiki's recent edits and page creations, oldest
// first. FromClient makes one of a *wiki.Client.
type RecentChanges interface {
	RecentChanges(ctx context.Context, q Query) ([]Change, error)
}

// Normalizer turns a title as a person or a config file writes it into the
// form MediaWiki writes it, with its namespace. NewWiki makes one of the
// wiki's siteinfo.
type Normalizer func(title string) (normalized string, ns int, err error)

// Wiki is one wiki whose pages may be watched.
type Wiki struct {
	// ID is the database name, the "wiki" field of an event.
	ID string

	// Domain is the wiki's host name. An event of ID whose meta.domain is
	// another host is taken for a foreign wiki's and dropped; "" skips the
	// check.
	Domain string

	// Normalize puts watched titles into MediaWiki's form. Required.
	Normalize Normalizer

	// Changes lists recent changes, for backfill and polling. Required.
	Changes RecentChanges
}

// Config says what a Watcher follows and how. Zero values take the
// defaults written next to each field.
type Config struct {
	// StreamURL is the EventStreams recent-change URL; "" polls
	// list=recentchanges every PollInterval instead.
	StreamURL string

	// PollInterval is the time between two polls. Default 30s.
	PollInterval time.Duration

	// UserAgent is sent with every subscription. Required.
	UserAgent string

	// BotName is Courier's account, "Name" or a bot password's
	// "Name@appid": its edits trigger nothing.
	BotName string

	// Wikis are the wikis whose pages may be watched.
	Wikis []Wiki

	// Store keeps the position in the stream (or of each poll). Required.
	Store *store.Store

	// Logger is used as given; the caller adds component=watcher.
	// Default slog.Default() with that attribute.
	Logger *slog.Logger

	// QueueSize is the capacity of the Changes channel. Default 256.
	QueueSize int

	// SpillSize is how many more changes are held, in order, while the
	// queue is full. Past it a change is left to a backfill. Default 10000.
	SpillSize int

	// MaxEventSize is the largest event read; a larger one is skipped.
	// Default 4 MiB.
	MaxEventSize int

	// Margin is how far before a gap a backfill or a poll starts reading,
	// for clock skew and for changes the wiki lists late. Default 2m.
	Margin time.Duration

	// PersistEvery and PersistInterval bound how stale the saved position
	// may be: it is saved after that many events or that much time,
	// whichever comes first, and on stop. Defaults 10000 and 5s.
	PersistEvery    int
	PersistInterval time.Duration

	// MinBackoff and MaxBackoff bound the wait before a reconnect, which
	// doubles with each failure and has jitter. Defaults 500ms and 1m.
	MinBackoff time.Duration
	MaxBackoff time.Duration

	// HealthyAfter is how long a connection that delivered events must
	// have lasted for the backoff to start again from MinBackoff.
	// Default 10s.
	HealthyAfter time.Duration

	// IdleTimeout drops a connection that sent nothing for that long.
	// Default 5m; negative never drops one.
	IdleTimeout time.Duration

	// DedupeSize is how many revisions are remembered to drop the second
	// report of one (stream and backfill). Default 65536.
	DedupeSize int

	// Transport carries the subscriptions; default a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// withDefaults returns c with every zero value replaced by its default.
func (c Config) withDefaults() Config {
	setDuration(&c.PollInterval, 30*time.Second)
	setInt(&c.QueueSize, 256)
	setInt(&c.SpillSize, 10000)
	setInt(&c.MaxEventSize, 4<<20)
	setDuration(&c.Margin, 2*time.Minute)
	setInt(&c.PersistEvery, 10000)
	setDuration(&c.PersistInterval, 5*time.Second)
	setDuration(&c.MinBackoff, 500*time.Millisecond)
	setDuration(&c.MaxBackoff, time.Minute)
	setDuration(&c.HealthyAfter, 10*time.Second)
	setDuration(&c.IdleTimeout, 5*time.Minute)
	setInt(&c.DedupeSize, 1<<16)
	if c.Logger == nil {
		c.Logger = slog.Default().With("component", "watcher")
	}
	return c
}

func setInt(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

func setDuration(v *time.Duration, def time.Duration) {
	if *v == 0 {
		*v = def
	}
}

// newTransport is http.DefaultTransport with a bound on the wait for a
// stream's response headers, so a server that accepts and says nothing is
// retried rather than waited on forever.
func newTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}

// Watcher follows recent changes and hands over those of watched pages.
// Its methods are safe for concurrent use.
type Watcher struct {
	cfg   Config
	log   *slog.Logger
	wikis map[string]*Wiki
	bot   string // BotName without its "@appid", normalised
	out   chan Change

	watchMu sync.Mutex // serialises Watch and Unwatch
	watched atomic.Pointer[watchSet]

	// last is the newest stream event handled; the library allocates each
	// event afresh, so keeping the pointer is safe.
	last    atomic.Pointer[sse.Event]
	unsaved atomic.Int64 // events handled since the position was saved
	started atomic.Bool
	saveNow chan struct{} // asks the persister to save at once
	wakeFwd chan struct{} // the spill has a change for the forwarder
	room    chan struct{} // the forwarder made room in the spill
	wakeGap chan struct{} // a gap awaits its backfill

	ownTransport bool // Transport was made by New, so Run closes its idle connections

	// Set by Run before it starts its goroutines.
	pollTime  time.Time             // when Run started, for a first poll
	notBefore time.Time             // a first start's time: no backfill reads before it
	polls     map[string]*pollState // owned by the poll loop, then by saveOnStop
	saved     store.Position        // owned by the persister, then by saveOnStop

	mu     sync.Mutex     // guards base and the ledger
	base   store.Position // the newest position known, before flooring
	ledger ledger

	stats counters
	warn  warnLimits
}

// New checks cfg and returns a Watcher that watches nothing yet.
func New(cfg Config) (*Watcher, error) {
	cfg = cfg.withDefaults()
	if cfg.Store == nil {
		return nil, fmt.Errorf("new watcher: %w", ErrNoStore)
	}
	if cfg.StreamURL != "" && strings.TrimSpace(cfg.UserAgent) == "" {
		return nil, fmt.Errorf("new watcher: %w", ErrUserAgent)
	}
	if _, err := url.Parse(cfg.StreamURL); err != nil {
		return nil, fmt.Errorf("new watcher: parse stream URL: %w", err)
	}
	ownTransport := cfg.Transport == nil
	if ownTransport {
		cfg.Transport = newTransport()
	}
	w := &Watcher{
		cfg:          cfg,
		log:          cfg.Logger,
		wikis:        make(map[string]*Wiki, len(cfg.Wikis)),
		bot:          botName(cfg.BotName),
		out:          make(chan Change, cfg.QueueSize),
		saveNow:      make(chan struct{}, 1),
		wakeFwd:      make(chan struct{}, 1),
		room:         make(chan struct{}, 1),
		wakeGap:      make(chan struct{}, 1),
		ledger:       newLedger(cfg.DedupeSize),
		ownTransport: ownTransport,
	}
	for i := range cfg.Wikis {
		wk := &cfg.Wikis[i]
		if wk.ID == "" || wk.Normalize == nil || wk.Changes == nil {
			return nil, fmt.Errorf("new watcher: wiki %q lacks an id, a normalizer or a source", wk.ID)
		}
		w.wikis[wk.ID] = wk
	}
	w.watched.Store(&watchSet{wikis: map[string]*wikiWatch{}, titles: map[string]bool{}})
	return w, nil
}

// Changes returns the channel changes of watched pages arrive on, in the
// order they were found. It is closed when Run returns.
func (w *Watcher) Changes() <-chan Change { return w.out }

// Run follows the stream (or polls) until ctx is done, then saves its
// position and returns. It owns every goroutine it starts and waits for
// them. A Watcher runs once.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return fmt.Errorf("run watcher: %w", ErrRunning)
	}
	defer close(w.out)
	w.pollTime = time.Now()

	var tasks []func(context.Context)
	if w.cfg.StreamURL == "" {
		if err := w.startPolls(ctx); err != nil {
			return err
		}
		tasks = []func(context.Context){w.pollLoop}
	} else {
		r, err := w.startPosition(ctx)
		if err != nil {
			return err
		}
		tasks = []func(context.Context){
			func(ctx context.Context) { w.streamLoop(ctx, r) },
			w.recoverLoop, w.persistLoop,
		}
	}
	tasks = append(tasks, w.forward)

	var wg sync.WaitGroup
	for _, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task(ctx)
		}()
	}
	wg.Wait()
	if t, ok := w.cfg.Transport.(interface{ CloseIdleConnections() }); ok && w.ownTransport {
		t.CloseIdleConnections() // their goroutines would outlive Run
	}
	return w.saveOnStop(context.WithoutCancel(ctx))
}

// saveOnStop saves the final position, with a deadline of its own since
// the caller's context is done by now.
func (w *Watcher) saveOnStop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if w.cfg.StreamURL == "" {
		if err := w.savePolls(ctx); err != nil {
			w.log.Error("could not save the poll positions on stop; the next start polls "+
				"from the ones saved before", "err", err)
			return fmt.Errorf("stop watcher: %w", err)
		}
		return nil
	}
	if err := w.savePosition(ctx); err != nil {
		w.log.Error("could not save the stream position on stop; the next start resumes "+
			"from the one saved before", "stream", w.cfg.StreamURL, "err", err)
		return fmt.Errorf("stop watcher: %w", err)
	}
	w.log.Info("watcher stopped; position saved", "stream", w.cfg.StreamURL)
	return nil
}

// botName returns the account name that edits show for the login name
// ("Courier@courier" edits as "Courier"), normalised as userName does.
func botName(login string) string {
	name, _, _ := strings.Cut(login, "@")
	return userName(name)
}

// userName normalises a user name as MediaWiki shows it: spaces for
// underscores, trimmed, the first letter in upper case.
func userName(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", " "))
	if s == "" {
		return ""
	}
	return upperFirst(s)
}
