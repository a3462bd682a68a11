package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"courier/config"
	"courier/store"
	"courier/wiki"
)

// Skip and failure reasons Courier writes itself; a failed edit's reason
// is the API's error code instead ("protectedpage", "abusefilter-...").
const (
	ReasonOptout      = "optout"      // in the opt-out category
	ReasonNobots      = "nobots"      // {{nobots}} or {{bots}} rules exclude Courier
	ReasonNouser      = "nouser"      // no such account, an IP or a temporary account
	ReasonBadNS       = "badns"       // not a talk page nor an allowed namespace
	ReasonDuplicate   = "duplicate"   // the same page once redirects are followed
	ReasonBadRedirect = "badredirect" // a redirect out of its namespace or user space
	ReasonUnsupported = "unsupported" // a content model other than wikitext
	ReasonBadTitle    = "badtitle"    // not a valid title, or one on another site
	ReasonUnknownWiki = "unknownwiki" // a domain that is not a configured wiki
	ReasonCancelled   = "cancelled"   // the request was cancelled before its turn
)

// Errors callers can test for.
var (
	// ErrBusy means the request is being delivered by this Deliverer
	// already.
	ErrBusy = errors.New("request is already being delivered")

	// ErrTooManyTargets means the list holds more targets than
	// delivery.max_targets allows; nothing was recorded or sent.
	ErrTooManyTargets = errors.New("list has more targets than max_targets allows")

	// ErrNoList means the list page or its revision could not be read.
	ErrNoList = errors.New("list page not found")

	// ErrBadList means the list page holds no target and cannot be read
	// as a list, such as JSON that does not decode.
	ErrBadList = errors.New("list page is not a readable list")
)

// Gate says whether edits on a wiki may go ahead now, typically from a
// cached reading of the shutoff page. A false run pauses the delivery
// until the gate opens again; an error is logged and also pauses it,
// since editing while the gate cannot be read is what the gate prevents.
type Gate func(ctx context.Context, wiki string) (run bool, err error)

// Progress is where a request stands after one more outcome.
type Progress struct {
	RequestID int64
	Done      int // targets with an outcome
	Total     int
	Counts    store.Counts
}

// Options configure a Deliverer. Store, Clients, Wikis and Home are
// required; every other field has a default.
type Options struct {
	Store *store.Store

	// Clients talk to each configured wiki, by wiki id. A client that is
	// not logged in yet is logged in on first use.
	Clients map[string]*wiki.Client

	Wikis    []config.Wiki
	Home     config.Home
	Delivery config.Delivery

	// Logger receives the delivery's log lines; default slog.Default().
	Logger *slog.Logger

	// Gate is asked before every edit; nil always runs.
	Gate Gate

	// GatePoll is how often a closed gate is asked again; default 10s.
	GatePoll time.Duration

	// Cancelled reports whether a request was cancelled; it is asked
	// before every edit and must be cheap. Nil never cancels.
	Cancelled func(requestID int64) bool

	// Progress is called once the targets are recorded (with the skips
	// found while resolving the list) and after every outcome, one call
	// at a time, with counts kept in memory; it must not block for long.
	Progress func(Progress)

	// AllowedNamespaces are namespaces besides the talk namespaces that
	// may receive messages; default the project namespace (4), where
	// village pumps live.
	AllowedNamespaces []int

	// SettleWait is how long after an edit whose answer was lost Courier
	// waits before it reads the page's history to learn whether the edit
	// was saved: a request still running on the server could save it
	// later. Default 30s, the wiki client's time-out.
	SettleWait time.Duration

	// RetryRounds is how many times an edit that failed transiently,
	// after the wiki client's own retries, is tried again before the
	// target fails with the error's code; default 3.
	RetryRounds int

	// RetryMax caps the pause between those rounds; default 5 minutes.
	RetryMax time.Duration

	// PreflightMaxAge is how old the preflight of a target may be when
	// its edit comes; older ones are checked again, batched, so that an
	// opt-out made during a long delivery is honoured. Default 15 minutes.
	PreflightMaxAge time.Duration

	// FinishGrace is how long an edit under way may still run after the
	// delivery's context is cancelled, so that a shutdown records the
	// edit it was making; default 30s.
	FinishGrace time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.GatePoll <= 0 {
		o.GatePoll = 10 * time.Second
	}
	if o.AllowedNamespaces == nil {
		o.AllowedNamespaces = []int{nsProject}
	}
	if o.SettleWait <= 0 {
		o.SettleWait = 30 * time.Second
	}
	if o.RetryRounds <= 0 {
		o.RetryRounds = 3
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.PreflightMaxAge <= 0 {
		o.PreflightMaxAge = 15 * time.Minute
	}
	if o.FinishGrace <= 0 {
		o.FinishGrace = 30 * time.Second
	}
	if o.Delivery.EditsPerMinute <= 0 {
		o.Delivery.EditsPerMinute = config.Default().Delivery.EditsPerMinute
	}
	if o.Delivery.OptoutCategory == "" {
		o.Delivery.OptoutCategory = config.Default().Delivery.OptoutCategory
	}
	if o.Home.LogMaxBytes <= 0 {
		o.Home.LogMaxBytes = config.Default().Home.LogMaxBytes
	}
}

// Deliverer delivers requests and writes the delivery log. It keeps one
// lane a wiki, shared by every request it delivers, so that a wiki's
// edits stay in series and at its rate however many requests run. Its
// methods are safe for concurrent use.
type Deliverer struct {
	opts    Options
	log     *slog.Logger
	lanes   map[string]*lane  // by wiki id
	domains map[string]string // lower-case domain → wiki id

	// afterEdit, if set, is called after an edit returned and before its
	// outcome is recorded: the window a crash makes uncertain. Tests set
	// it to kill the process there.
	afterEdit func(wiki, title string, revID int64)

	// beforeLogSave, if set, is called before each edit of a log page, with
	// its title: tests edit the page there as a human would.
	beforeLogSave func(title string)

	mu      sync.Mutex         // guards the fields below
	active  map[int64]bool     // requests being delivered
	checked map[targetKey]bool // sending targets found without their message
}

// targetKey names one target of one request.
type targetKey struct {
	request int64
	wiki    string
	title   string
}

// New returns a Deliverer. It makes no request to any wiki.
func New(opts Options) (*Deliverer, error) {
	if opts.Store == nil {
		return nil, errors.New("configure delivery: no store")
	}
	opts.setDefaults()
	d := &Deliverer{
		opts:    opts,
		log:     opts.Logger.With("component", "deliver"),
		lanes:   map[string]*lane{},
		domains: map[string]string{},
		active:  map[int64]bool{},
		checked: map[targetKey]bool{},
	}
	for _, w := range opts.Wikis {
		c := opts.Clients[w.ID]
		if c == nil {
			return nil, fmt.Errorf("configure delivery: no client for wiki %s", w.ID)
		}
		rate := w.EditsPerMinute
		if rate <= 0 {
			rate = opts.Delivery.EditsPerMinute
		}
		d.lanes[w.ID] = &lane{cfg: w, client: c, pacer: newPacer(rate)}
		d.domains[strings.ToLower(w.Domain)] = w.ID
	}
	if _, ok := d.lanes[opts.Home.Wiki]; !ok {
		return nil, fmt.Errorf("configure delivery: home wiki %q is not a configured wiki",
			opts.Home.Wiki)
	}
	return d, nil
}

// claim marks a request as being delivered, or fails with ErrBusy.
func (d *Deliverer) claim(id int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.active[id] {
		return fmt.Errorf("deliver request %d: %w", id, ErrBusy)
	}
	d.active[id] = true
	return nil
}

func (d *Deliverer) release(id int64) {
	d.mu.Lock()
	delete(d.active, id)
	d.mu.Unlock()
}

// setChecked remembers that a sending target was looked for on its wiki
// and its message is not there, so it may be sent without a second look.
func (d *Deliverer) setChecked(k targetKey, absent bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if absent {
		d.checked[k] = true
	} else {
		delete(d.checked, k)
	}
}

func (d *Deliverer) isChecked(k targetKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.checked[k]
}
