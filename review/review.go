package review

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"courier/parser"
	"courier/store"
)

// Revision is one saved revision of a page, with its text.
type Revision struct {
	ID        int64
	User      string
	Timestamp time.Time
	Text      string
}

// ErrConflict is what HomeWiki.Save returns when the page changed after
// the revision the edit was based on.
var ErrConflict = errors.New("edit conflict")

// HomeWiki is what the reviewer reads and writes on the home wiki.
type HomeWiki interface {
	// RevisionsAfter returns the revisions of title newer than rev, oldest
	// first, with their text.
	RevisionsAfter(ctx context.Context, title string, rev int64) ([]Revision, error)

	// Revision returns the revision with the given id, with its text; ok
	// is false when it no longer exists.
	Revision(ctx context.Context, id int64) (rev Revision, ok bool, err error)

	// RevisionAt returns the revision of title that was current at t; ok
	// is false when the page did not exist then.
	RevisionAt(ctx context.Context, title string, t time.Time) (rev Revision, ok bool, err error)

	// Save replaces the text of title, based on revision base, and returns
	// the new revision id; ErrConflict when base is no longer the latest.
	Save(ctx context.Context, title, text, summary string, base Revision) (int64, error)

	// UserGroupsAt returns the groups user was a member of at time t.
	UserGroupsAt(ctx context.Context, user string, t time.Time) ([]string, error)
}

// Lists counts the targets of a list, for the note on a pending request.
type Lists interface {
	// CountTargets returns how many targets the list page holds at
	// revision rev; problem is a sentence for the requester when the
	// list cannot be delivered as it is.
	CountTargets(ctx context.Context, list Revision, title string) (n int, problem string,
		err error)
}

// Config is what a Reviewer needs.
type Config struct {
	Wiki     HomeWiki
	Site     *parser.Site // the home wiki's title rules
	Lists    Lists
	Delivery Deliverer
	Store    *store.Store
	Log      *slog.Logger

	HomeID   string // the home wiki's id
	Requests string // the request page, as the wiki writes its title
	Senders  string // the senders page; "" for none
	Shutoff  string // the shutoff page
	LogPage  string // the log page, for the link to a request's details

	ApproverGroups []string
	SenderGroups   []string
	SelfApproval   bool
	MaxTargets     int

	// BotUser is the account's user name, without "@appid": its own
	// revisions are never read as a request, approval or cancel.
	BotUser string

	// ProgressEvery is the least time between two progress write-backs.
	// Each is an edit of the request page, so it is kept long enough that
	// progress costs a small share of the edits a delivery makes.
	ProgressEvery time.Duration

	// Now returns the time; tests may fix it.
	Now func() time.Time
}

// Reviewer runs the life of the requests on one request page.
type Reviewer struct {
	cfg Config
	log *slog.Logger

	// pageMu serialises everything that reads and writes the request
	// page, so a walk and a progress write-back never interleave.
	pageMu   sync.Mutex
	lastRev  Revision                 // the newest handled revision of the request page
	lastReqs map[int64]parser.Request // its requests by id
	newKeys  map[string]int64         // id-less requests seen, by section and place

	mu        sync.Mutex // guards the fields below
	senders   map[string]bool
	running   bool // the shutoff page reads "run"
	runWake   chan struct{}
	queued    chan int64              // approved requests waiting to be delivered
	ticks     map[int64]chan struct{} // the progress signal of each running delivery
	cancelled map[int64]bool          // asked to stop by a cancel on the page
	inFlight  map[int64]bool
}

// New returns a Reviewer; Run starts it.
func New(cfg Config) (*Reviewer, error) {
	if cfg.Wiki == nil || cfg.Store == nil || cfg.Delivery == nil || cfg.Lists == nil {
		return nil, errors.New("review: Wiki, Lists, Delivery and Store are required")
	}
	if cfg.Site == nil {
		return nil, errors.New("review: Site is required")
	}
	if cfg.Requests == "" || cfg.Shutoff == "" || cfg.BotUser == "" {
		return nil, errors.New("review: Requests, Shutoff and BotUser are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reviewer{
		cfg:       cfg,
		log:       cfg.Log.With("component", "review", "wiki", cfg.HomeID),
		newKeys:   map[string]int64{},
		senders:   map[string]bool{},
		runWake:   make(chan struct{}),
		queued:    make(chan int64, 1024),
		ticks:     map[int64]chan struct{}{},
		cancelled: map[int64]bool{},
		inFlight:  map[int64]bool{},
	}, nil
}

// Changed tells the reviewer that a page on the home wiki reached a new
// revision; it returns when the change has been handled.
func (r *Reviewer) Changed(ctx context.Context, title string) error {
	switch title {
	case r.cfg.Requests:
		return r.reviewPage(ctx)
	case r.cfg.Senders:
		return r.loadSenders(ctx)
	case r.cfg.Shutoff:
		wasRunning := r.isRunning()
		if err := r.loadShutoff(ctx); err != nil {
			return err
		}
		if !wasRunning && r.isRunning() {
			return r.reviewPage(ctx) // write what waited for the shutoff page
		}
	}
	return nil
}

// isRunning reports whether the shutoff page reads "run".
func (r *Reviewer) isRunning() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// Watched returns the home wiki titles the reviewer wants to hear about.
func (r *Reviewer) Watched() []string {
	titles := []string{r.cfg.Requests, r.cfg.Shutoff}
	if r.cfg.Senders != "" {
		titles = append(titles, r.cfg.Senders)
	}
	return titles
}

// Run loads the control pages, catches up with what changed while Courier
// was down, resumes unfinished deliveries, and then delivers approved
// requests one after another until ctx is done.
func (r *Reviewer) Run(ctx context.Context) error {
	if err := r.loadShutoff(ctx); err != nil {
		return err
	}
	if err := r.loadSenders(ctx); err != nil {
		return err
	}
	if err := r.resume(ctx); err != nil {
		return err
	}
	if err := r.reviewPage(ctx); err != nil {
		r.log.Error("could not review the request page; retrying when it changes",
			"title", r.cfg.Requests, "err", err)
	}
	return r.deliverLoop(ctx)
}

// loadShutoff re-reads the shutoff page: Courier edits only while it
// reads "run".
func (r *Reviewer) loadShutoff(ctx context.Context) error {
	rev, ok, err := r.cfg.Wiki.RevisionAt(ctx, r.cfg.Shutoff, r.cfg.Now())
	if err != nil {
		return fmt.Errorf("read shutoff page %s: %w", r.cfg.Shutoff, err)
	}
	run := ok && strings.EqualFold(strings.TrimSpace(rev.Text), "run")

	r.mu.Lock()
	defer r.mu.Unlock()
	if run != r.running {
		r.log.Info("shutoff page changed", "title", r.cfg.Shutoff, "run", run,
			"rev_id", rev.ID, "user", rev.User)
	}
	r.running = run
	if run {
		close(r.runWake)
		r.runWake = make(chan struct{})
	}
	return nil
}

// WaitRun blocks while the shutoff page does not read "run"; it is the
// gate deliver passes before every edit.
func (r *Reviewer) WaitRun(ctx context.Context) error {
	for {
		r.mu.Lock()
		run, wake := r.running, r.runWake
		r.mu.Unlock()
		if run {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// loadSenders re-reads the trusted senders page: every user page linked
// from it is a trusted sender.
func (r *Reviewer) loadSenders(ctx context.Context) error {
	if r.cfg.Senders == "" {
		return nil
	}
	rev, ok, err := r.cfg.Wiki.RevisionAt(ctx, r.cfg.Senders, r.cfg.Now())
	if err != nil {
		return fmt.Errorf("read senders page %s: %w", r.cfg.Senders, err)
	}
	senders := map[string]bool{}
	if ok {
		for _, name := range r.linkedUsers(rev.Text) {
			senders[name] = true
		}
	}
	r.mu.Lock()
	r.senders = senders
	r.mu.Unlock()
	r.log.Info("trusted senders loaded", "title", r.cfg.Senders, "senders", len(senders),
		"rev_id", rev.ID)
	return nil
}

// isSender reports whether user is trusted: listed on the senders page or,
// at time t, in a sender group.
func (r *Reviewer) isSender(ctx context.Context, user string, t time.Time) (bool, error) {
	r.mu.Lock()
	listed := r.senders[normalUser(user)]
	r.mu.Unlock()
	if listed || len(r.cfg.SenderGroups) == 0 {
		return listed, nil
	}
	return r.inGroups(ctx, user, t, r.cfg.SenderGroups)
}

// inGroups reports whether user was in any of groups at time t.
func (r *Reviewer) inGroups(ctx context.Context, user string, t time.Time,
	groups []string) (bool, error) {
	have, err := r.cfg.Wiki.UserGroupsAt(ctx, user, t)
	if err != nil {
		return false, fmt.Errorf("read groups of %s at %s: %w", user, t.Format(time.RFC3339), err)
	}
	for _, g := range have {
		for _, want := range groups {
			if g == want {
				return true, nil
			}
		}
	}
	return false, nil
}
