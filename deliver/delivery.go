package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"courier/store"
	"courier/wiki"
)

// Job is one approved request, as much of it as a delivery needs.
type Job struct {
	ID        int64  // the request's id: the revision that added it
	HomeWiki  string // the wiki where the request and its list live
	Requester string // user name, without "User:"
	Approver  string
	List      string // the list page (or category) on the home wiki
	ListRev   int64  // the list's revision at approval; 0 reads the current text
	Subject   string // each message's section title
	Message   string // the wikitext sent: the message, or the message page's text
}

// JobFromRequest returns the job of a stored request. Its Message is sent
// as it is, so for a request that names a message page it must already
// hold that page's text at the approval (review stores it there).
func JobFromRequest(r store.Request) Job {
	return Job{
		ID: r.ID, HomeWiki: r.Wiki, Requester: r.Requester, Approver: r.Approver,
		List: r.ListTitle, ListRev: r.ListRev, Subject: r.Subject, Message: r.Message,
	}
}

// Result is where a request stands when Deliver returns.
type Result struct {
	RequestID int64
	Counts    store.Counts

	// Stopped lists the wikis that refused the bot (a block, a revoked
	// login) or kept failing. Their remaining targets stay queued, and the
	// one whose edit was refused stays sending until a new run has looked
	// at its history: a block is often lifted, and a final outcome could
	// not be undone. Deliver again to resume, or Abandon to close the
	// request.
	Stopped []WikiStop

	// Cancelled reports whether the request was cancelled; its targets
	// not yet sent were skipped with reason "cancelled".
	Cancelled bool

	// Logged reports whether the log row and details page were written.
	Logged bool
}

// Finished reports whether every target has its outcome.
func (r Result) Finished() bool { return r.Counts.Done() == r.Counts.Total() }

// WikiStop says why delivery stopped on one wiki.
type WikiStop struct {
	Wiki   string
	Reason string // StopBlocked, StopLogin or StopUnreachable
	Err    error
}

// Why delivery stops on a wiki.
const (
	StopBlocked     = "blocked"     // the bot account is blocked there
	StopLogin       = "login"       // the login was refused or lost its rights
	StopUnreachable = "unreachable" // the wiki kept failing after every retry
)

// delivery is one run of one request.
type delivery struct {
	d       *Deliverer
	job     *Job
	log     *slog.Logger
	text    string // the message with its marker
	summary string

	// fresh holds when each target passed its preflight in this run;
	// written under mu while the list is resolved, read-only after.
	fresh map[targetKey]time.Time

	cancelled atomic.Bool

	// progressMu serialises the Progress callback, so that its calls
	// never overlap and their counts only grow.
	progressMu sync.Mutex

	mu     sync.Mutex // guards the fields below
	counts store.Counts
	stops  []WikiStop
}

// Deliver delivers job: it resolves the list on the first run, or takes
// the targets recorded by an earlier one, and sends to each target still
// queued, on every wiki at once. It returns when every target has its
// outcome, when the request is cancelled, or when every wiki left has
// stopped; the error is for what the caller must see (the store failed,
// the list cannot be read, ctx ended), never for one target's failure.
// When every target has its outcome it writes the log; should that fail,
// the error comes with the finished Result (Logged false), and WriteLog
// may be run again at any time.
func (d *Deliverer) Deliver(ctx context.Context, job Job) (Result, error) {
	if err := d.claim(job.ID); err != nil {
		return Result{RequestID: job.ID}, err
	}
	defer d.release(job.ID)
	r := &delivery{
		d: d, job: &job, text: messageText(&job), summary: summary(&job),
		log:   d.log.With("request_id", job.ID),
		fresh: map[targetKey]time.Time{},
	}

	targets, err := r.targets(ctx)
	if err != nil {
		return r.result(), err
	}
	r.counts = countStates(targets)
	r.report()
	err = r.run(ctx, byWiki(targets))
	res := r.result()
	if err != nil || !res.Finished() {
		return res, err
	}
	if err := d.WriteLog(ctx, job); err != nil {
		return res, err
	}
	res.Logged = true
	return res, nil
}

// targets returns the request's targets, resolving its list and
// recording them first when no earlier run did.
func (r *delivery) targets(ctx context.Context) ([]store.Target, error) {
	st := r.d.opts.Store
	ts, err := st.Targets(ctx, r.job.ID)
	if err != nil || len(ts) > 0 {
		return ts, err
	}
	rows, err := r.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.AddTargets(ctx, r.job.ID, rows); err != nil {
		return nil, fmt.Errorf("record targets of request %d: %w", r.job.ID, err)
	}
	r.log.Info("list resolved", "wiki", r.job.HomeWiki, "title", r.job.List,
		"targets", len(rows))
	return st.Targets(ctx, r.job.ID)
}

// countStates counts targets by state.
func countStates(ts []store.Target) store.Counts {
	var c store.Counts
	for _, t := range ts {
		addCount(&c, t.State, 1)
	}
	return c
}

func addCount(c *store.Counts, s store.TargetState, n int) {
	switch s {
	case store.TargetQueued:
		c.Queued += n
	case store.TargetSending:
		c.Sending += n
	case store.TargetDelivered:
		c.Delivered += n
	case store.TargetSkipped:
		c.Skipped += n
	case store.TargetFailed:
		c.Failed += n
	}
}

// byWiki returns the targets without an outcome, by wiki, in list order.
func byWiki(ts []store.Target) map[string][]store.Target {
	out := map[string][]store.Target{}
	for _, t := range ts {
		if t.State == store.TargetQueued || t.State == store.TargetSending {
			out[t.Wiki] = append(out[t.Wiki], t)
		}
	}
	return out
}

// run serves every wiki of work in a goroutine of its own and waits for
// all of them. The first error that is not a wiki's stop cancels the
// others and is returned.
func (r *delivery) run(ctx context.Context, work map[string][]store.Target) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	for _, id := range sortedKeys(work) {
		wg.Go(func() {
			err := r.runWiki(ctx, id, work[id])
			if err != nil && !errors.Is(err, errStopWiki) {
				once.Do(func() { first = err })
				cancel(err)
			}
		})
	}
	wg.Wait()
	return first
}

// runWiki delivers one wiki's share: first the targets a crash left
// sending, once their history is read, then the queued ones in batches,
// each batch preflighted again when its check is old.
func (r *delivery) runWiki(ctx context.Context, id string, ts []store.Target) error {
	l := r.d.lanes[id]
	if l == nil {
		// Only an unknown wiki's rows lack a lane, and those are skipped
		// when the list is resolved; a config that dropped a wiki since
		// leaves its targets queued for a config that has it.
		r.log.Error("targets on a wiki no longer configured, left queued", "wiki", id,
			"title", ts[0].Title, "targets", len(ts))
		return nil
	}
	err := r.serveWiki(ctx, l, ts)
	if err == nil || errors.Is(err, errStopWiki) || ctx.Err() != nil || !isWikiError(err) {
		return err
	}
	// The wiki failed beyond its client's retries: it alone stops, and
	// the other wikis go on.
	r.stop(l, &ts[0], err)
	return errStopWiki
}

// isWikiError reports whether err came from a wiki, not from the store.
func isWikiError(err error) bool {
	var ae *wiki.APIError
	var he *wiki.HTTPError
	var ne *wiki.NetError
	var le *wiki.LoginError
	return errors.As(err, &ae) || errors.As(err, &he) || errors.As(err, &ne) ||
		errors.As(err, &le) || errors.Is(err, wiki.ErrBadResponse)
}

// serveWiki does runWiki's work on a wiki that has a lane.
func (r *delivery) serveWiki(ctx context.Context, l *lane, ts []store.Target) error {
	if err := l.prepare(ctx); err != nil {
		return err
	}

	var sending, queued []store.Target
	for _, t := range ts {
		if t.State == store.TargetSending {
			sending = append(sending, t)
		} else {
			queued = append(queued, t)
		}
	}
	if err := r.resend(ctx, l, sending); err != nil {
		return err
	}
	size := l.client.BatchSize()
	for start := 0; start < len(queued); start += size {
		batch := queued[start:min(start+size, len(queued))]
		if err := r.sendBatch(ctx, l, batch); err != nil {
			return err
		}
	}
	return nil
}

// resend settles targets found sending: each one's history is read (once
// SettleWait has passed since it was marked), a message found there is
// recorded as delivered, and the others are sent now.
func (r *delivery) resend(ctx context.Context, l *lane, ts []store.Target) error {
	for i := range ts {
		t := &ts[i]
		if !r.d.isChecked(keyOf(t)) {
			found, err := r.d.checkSending(ctx, l, t)
			if err != nil {
				return err
			}
			if found != nil {
				if err := r.outcome(ctx, t, store.TargetDelivered, "", found.RevID); err != nil {
					return err
				}
				continue
			}
		}
		if err := r.next(ctx, l, t, true); err != nil {
			return err
		}
	}
	return nil
}

// sendBatch preflights a batch again if its check is stale, records the
// skips, and sends to the rest.
func (r *delivery) sendBatch(ctx context.Context, l *lane, batch []store.Target) error {
	batch, err := r.refresh(ctx, l, batch)
	if err != nil {
		return err
	}
	for i := range batch {
		if err := r.next(ctx, l, &batch[i], false); err != nil {
			return err
		}
	}
	return nil
}

// next sends to one target once the gate is open, or skips it when the
// request was cancelled.
func (r *delivery) next(ctx context.Context, l *lane, t *store.Target, resend bool) error {
	if err := r.awaitGate(ctx, l, t); err != nil {
		return err
	}
	if r.isCancelled() {
		return r.outcome(ctx, t, store.TargetSkipped, ReasonCancelled, 0)
	}
	return r.sendOne(ctx, l, t, resend)
}

// isCancelled reports whether the request was cancelled; once it was, it
// stays so for the rest of the run.
func (r *delivery) isCancelled() bool {
	if r.cancelled.Load() {
		return true
	}
	if f := r.d.opts.Cancelled; f != nil && f(r.job.ID) {
		if !r.cancelled.Swap(true) {
			r.log.Info("request cancelled, skipping the targets not yet sent",
				"wiki", r.job.HomeWiki, "title", r.job.List)
		}
		return true
	}
	return false
}

// awaitGate returns once the gate lets l's wiki edit, polling it while it
// is closed (paused) or unreadable, or when the request is cancelled.
func (r *delivery) awaitGate(ctx context.Context, l *lane, t *store.Target) error {
	gate := r.d.opts.Gate
	if gate == nil {
		return nil
	}
	paused := false
	for !r.isCancelled() {
		run, err := gate(ctx, l.cfg.ID)
		attrs := []any{"wiki", l.cfg.ID, "title", t.Title, "request_id", t.RequestID}
		switch {
		case err != nil:
			r.log.Warn("shutoff state unreadable, waiting", append(attrs, "error", err)...)
		case run && paused:
			r.log.Info("shutoff page says run, resuming", attrs...)
			return nil
		case run:
			return nil
		case !paused:
			r.log.Info("shutoff page says stop, pausing", attrs...)
		}
		paused = err == nil || paused
		if err := sleepUntil(ctx, time.Now().Add(r.d.opts.GatePoll)); err != nil {
			return err
		}
	}
	return nil
}

// outcome records t's final state, counts it, and reports the progress.
func (r *delivery) outcome(ctx context.Context, t *store.Target, state store.TargetState,
	reason string, revID int64) error {
	st := r.d.opts.Store
	if err := st.RecordOutcome(ctx, t.RequestID, t.Wiki, t.Title, state, reason, revID); err != nil {
		return err
	}
	r.d.setChecked(keyOf(t), false)
	attrs := []any{"wiki", t.Wiki, "title", t.Title, "request_id", t.RequestID,
		"state", state, "reason", reason, "rev_id", revID}
	if state == store.TargetDelivered {
		r.log.Debug("delivered", attrs...)
	} else {
		r.log.Info("target settled without a message", attrs...)
	}

	r.mu.Lock()
	addCount(&r.counts, t.State, -1)
	addCount(&r.counts, state, 1)
	t.State = state
	r.mu.Unlock()
	r.report()
	return nil
}

// report hands the counts to the Progress callback.
func (r *delivery) report() {
	f := r.d.opts.Progress
	if f == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	r.mu.Lock()
	c := r.counts
	r.mu.Unlock()
	f(Progress{RequestID: r.job.ID, Done: c.Done(), Total: c.Total(), Counts: c})
}

// stop records that l's wiki refused the bot or could not be reached.
func (r *delivery) stop(l *lane, t *store.Target, err error) {
	reason := StopUnreachable
	switch {
	case wiki.IsBlocked(err):
		reason = StopBlocked
	case wiki.IsLoginLost(err):
		reason = StopLogin
	}
	r.log.Error("delivery stopped on this wiki; its targets stay queued for a resume",
		"wiki", l.cfg.ID, "title", t.Title, "request_id", r.job.ID, "reason", reason,
		"error", err)
	r.mu.Lock()
	r.stops = append(r.stops, WikiStop{Wiki: l.cfg.ID, Reason: reason, Err: err})
	r.mu.Unlock()
}

// result returns the run's result so far.
func (r *delivery) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Result{RequestID: r.job.ID, Counts: r.counts,
		Stopped: append([]WikiStop(nil), r.stops...), Cancelled: r.cancelled.Load()}
}

func keyOf(t *store.Target) targetKey {
	return targetKey{t.RequestID, t.Wiki, t.Title}
}
