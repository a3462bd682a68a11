package deliver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"courier/store"
	"courier/wiki"
)

// errStopWiki ends a wiki's share of a delivery; the stop itself is kept
// on the delivery as a WikiStop.
var errStopWiki = errors.New("delivery stopped on this wiki")

// clockSlack widens the history searched for a marker: the time a target
// was marked is this machine's clock, the revision's is the wiki's.
const clockSlack = 10 * time.Minute

// sendOne delivers one target that is queued, or sending and checked
// absent (resend). It returns errStopWiki when the wiki refuses the bot
// as a whole, and other errors only when the store fails or ctx ends.
func (r *delivery) sendOne(ctx context.Context, l *lane, t *store.Target, resend bool) error {
	l.edit.Lock()
	defer l.edit.Unlock()
	if err := l.pacer.wait(ctx); err != nil {
		return err
	}

	// From here on the edit finishes even if ctx ends, within the grace,
	// so that a shutdown records what it did.
	ectx, cancel := r.d.graceContext(ctx)
	defer cancel()
	if !resend {
		taken, err := r.markSending(ectx, t)
		if err != nil || !taken {
			return err
		}
	}
	t.MarkedAt = time.Now()
	return r.editUntilSettled(ectx, ctx, l, t)
}

// graceContext returns a context that ends FinishGrace after ctx does.
func (d *Deliverer) graceContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(d.opts.FinishGrace, cancel)
		context.AfterFunc(ectx, func() { t.Stop() })
	})
	return ectx, func() { stop(); cancel() }
}

// markSending moves t to sending and reports whether this delivery owns
// it now. A target that is no longer queued was settled by someone else
// (another Courier run on the same request), which is not an error.
func (r *delivery) markSending(ctx context.Context, t *store.Target) (bool, error) {
	err := r.d.opts.Store.MarkSending(ctx, t.RequestID, t.Wiki, t.Title)
	if err == nil {
		return true, nil
	}
	// The store has no sentinel for "not queued"; read the target back.
	cur, rerr := r.d.target(ctx, t)
	if rerr != nil {
		return false, fmt.Errorf("mark %s on %s sending: %w", t.Title, t.Wiki, err)
	}
	if cur.State != store.TargetQueued {
		r.log.Info("target taken by another delivery, leaving it",
			"wiki", t.Wiki, "title", t.Title, "state", cur.State)
		return false, nil
	}
	return false, err
}

// editUntilSettled makes the edit and retries it until it is delivered,
// failed for good, or the wiki stops the bot. ectx carries the requests,
// ctx (the delivery's own) bounds the pauses between tries.
func (r *delivery) editUntilSettled(ectx, ctx context.Context, l *lane,
	t *store.Target) error {
	params := r.editParams(l, t)
	for round := 1; ; round++ {
		res, err := l.client.Edit(ectx, params)
		if err == nil {
			if r.d.afterEdit != nil {
				r.d.afterEdit(t.Wiki, t.Title, res.NewRevID)
			}
			return r.outcome(ectx, t, store.TargetDelivered, "", res.NewRevID)
		}
		done, err := r.editFailed(ectx, ctx, l, t, round, err)
		if done || err != nil {
			return err
		}
	}
}

// editParams returns the edit that delivers the message to t.
func (r *delivery) editParams(l *lane, t *store.Target) wiki.EditParams {
	_, bot, _ := l.state()
	return wiki.EditParams{
		Title:        t.Title,
		Section:      "new",
		SectionTitle: r.job.Subject,
		Text:         r.text,
		Summary:      r.summary,
		Bot:          bot,
		Assert:       l.assert(),
		// A new section cannot conflict with what the page holds, so an
		// editconflict is safe to retry; a lost answer is not, and is
		// settled by reading the history (see settleUncertain).
		Retry: wiki.RetryConflict,
	}
}

// editFailed decides what a failed edit means. It reports done when the
// target has its outcome (or is left for a resume), and returns
// errStopWiki when the wiki refuses the bot.
func (r *delivery) editFailed(ectx, ctx context.Context, l *lane, t *store.Target,
	round int, err error) (bool, error) {
	code := wiki.Code(err)
	attrs := []any{"wiki", t.Wiki, "title", t.Title, "request_id", t.RequestID,
		"code", code, "round", round}
	switch {
	case ectx.Err() != nil:
		// Cancelled past the grace: whether the edit was saved is read
		// from the history by Recover or the next run.
		return true, ectx.Err()
	case wiki.IsBlocked(err) || wiki.IsLoginLost(err):
		// The edit certainly was not saved, but the target stays sending:
		// its outcome comes when the wiki lets Courier in again, after the
		// usual look at the history.
		r.stop(l, t, err)
		return true, errStopWiki
	case wiki.IsUncertain(err):
		return r.settleUncertain(ectx, ctx, l, t, round, err)
	case wiki.IsTransient(err) && round < r.d.opts.RetryRounds:
		r.log.Warn("edit failed for now, trying again", append(attrs, "error", err)...)
		return false, r.pause(ctx, round)
	case wiki.IsTransient(err):
		r.log.Error("edit kept failing, giving up on this target",
			append(attrs, "error", err)...)
		return true, r.outcome(ectx, t, store.TargetFailed, code, 0)
	}
	if code == "" {
		code = "error"
	}
	r.log.Error("edit refused, target failed", append(attrs, "error", err)...)
	return true, r.outcome(ectx, t, store.TargetFailed, code, 0)
}

// settleUncertain handles an edit whose answer was lost: it waits for any
// request still running on the server, then reads the page's history.
// The message found there is the delivery; no message means it may be
// sent again.
func (r *delivery) settleUncertain(ectx, ctx context.Context, l *lane, t *store.Target,
	round int, cause error) (bool, error) {
	r.log.Warn("edit answer lost, reading the history before trying again",
		"wiki", t.Wiki, "title", t.Title, "request_id", t.RequestID,
		"code", wiki.Code(cause), "error", cause)
	if err := sleepUntil(ctx, time.Now().Add(r.d.opts.SettleWait)); err != nil {
		return true, err
	}
	rev, err := r.d.findMarker(ectx, l, t)
	if err != nil {
		return true, err
	}
	if rev != nil {
		return true, r.outcome(ectx, t, store.TargetDelivered, "", rev.RevID)
	}
	if round >= r.d.opts.RetryRounds {
		r.log.Error("edit answer lost every time and no message saved, target failed",
			"wiki", t.Wiki, "title", t.Title, "request_id", t.RequestID)
		return true, r.outcome(ectx, t, store.TargetFailed, wiki.Code(cause), 0)
	}
	return false, nil
}

// findMarker looks for the request's marker in t's history since it was
// marked sending, and returns the revision that added it, or nil.
func (d *Deliverer) findMarker(ctx context.Context, l *lane, t *store.Target) (*wiki.Revision,
	error) {
	since := t.MarkedAt.Add(-clockSlack)
	rev, err := l.client.FindMarker(ctx, t.Title, since, markerPrefix(t.RequestID))
	if err != nil {
		return nil, fmt.Errorf("look for request %d's message on %s %q: %w",
			t.RequestID, t.Wiki, t.Title, err)
	}
	return rev, nil
}

// pause waits before retry round+1: doubling from 10s, capped at
// RetryMax, with jitter.
func (r *delivery) pause(ctx context.Context, round int) error {
	d := min(10*time.Second<<min(round-1, 20), r.d.opts.RetryMax)
	d = d/2 + rand.N(d/2+1)
	return sleepUntil(ctx, time.Now().Add(d))
}
