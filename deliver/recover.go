package deliver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"courier/store"
	"courier/wiki"
)

// Recovered is what Recover found.
type Recovered struct {
	// Delivered counts targets whose message was found on their wiki and
	// that are now recorded delivered with its revision.
	Delivered int

	// Absent counts targets whose message is not on their wiki; the next
	// Deliver of their request sends them without looking again.
	Absent int

	// Requests lists the requests a crash interrupted, those of the
	// targets found sending; Deliver each again to finish it.
	Requests []int64
}

// Recover settles the targets a crash left sending, over all requests:
// for each, once SettleWait has passed since it was marked, it reads the
// page's history since then for its request's marker and records the
// revision that holds it as delivered. Targets without a message stay
// sending, known to this Deliverer as safe to send. Run it once at start,
// before any Deliver; Deliver does the same for any sending target it
// meets unchecked, so skipping Recover never sends twice.
func (d *Deliverer) Recover(ctx context.Context) (Recovered, error) {
	var rec Recovered
	ts, err := d.opts.Store.SendingTargets(ctx)
	if err != nil {
		return rec, fmt.Errorf("recover: %w", err)
	}
	pending := map[int64]bool{}
	var errs []error
	for i := range ts {
		found, err := d.recoverOne(ctx, &ts[i])
		switch {
		case err != nil:
			errs = append(errs, err)
		case found:
			rec.Delivered++
		default:
			rec.Absent++
		}
		pending[ts[i].RequestID] = true
		if ctx.Err() != nil {
			break
		}
	}
	for id := range pending {
		rec.Requests = append(rec.Requests, id)
	}
	slices.Sort(rec.Requests)
	return rec, errors.Join(errs...)
}

// recoverOne settles one sending target and reports whether its message
// was found.
func (d *Deliverer) recoverOne(ctx context.Context, t *store.Target) (bool, error) {
	l := d.lanes[t.Wiki]
	if l == nil {
		d.log.Error("sending target on a wiki no longer configured, left sending",
			"wiki", t.Wiki, "title", t.Title, "request_id", t.RequestID)
		return false, nil
	}
	if err := l.prepare(ctx); err != nil {
		return false, fmt.Errorf("recover %s on %s: %w", t.Title, t.Wiki, err)
	}
	rev, err := d.checkSending(ctx, l, t)
	if err != nil || rev == nil {
		return false, err
	}
	err = d.opts.Store.RecordOutcome(ctx, t.RequestID, t.Wiki, t.Title,
		store.TargetDelivered, "", rev.RevID)
	if err != nil {
		return false, fmt.Errorf("recover %s on %s: %w", t.Title, t.Wiki, err)
	}
	d.log.Info("message found after a restart, recorded as delivered",
		"wiki", t.Wiki, "title", t.Title, "request_id", t.RequestID, "rev_id", rev.RevID)
	return true, nil
}

// checkSending reads the history of a target left sending, once any edit
// still running on the server has had SettleWait to finish, and returns
// the revision holding its marker, or nil after noting it as safe to send.
func (d *Deliverer) checkSending(ctx context.Context, l *lane, t *store.Target) (
	*wiki.Revision, error) {
	if t.MarkedAt.IsZero() {
		// A sending target always has its time; without one, look back
		// as far as the slack allows from now.
		t.MarkedAt = time.Now()
	}
	if err := sleepUntil(ctx, t.MarkedAt.Add(d.opts.SettleWait)); err != nil {
		return nil, err
	}
	rev, err := d.findMarker(ctx, l, t)
	if err != nil {
		return nil, err
	}
	if rev == nil {
		d.log.Info("no message found after a restart, it will be sent",
			"wiki", t.Wiki, "title", t.Title, "request_id", t.RequestID)
		d.setChecked(keyOf(t), true)
	}
	return rev, nil
}

// target reads one target back from the store.
func (d *Deliverer) target(ctx context.Context, t *store.Target) (store.Target, error) {
	ts, err := d.opts.Store.Targets(ctx, t.RequestID)
	if err != nil {
		return store.Target{}, err
	}
	for _, cur := range ts {
		if cur.Wiki == t.Wiki && cur.Title == t.Title {
			return cur, nil
		}
	}
	return store.Target{}, fmt.Errorf("read target %s on %s of request %d: %w",
		t.Title, t.Wiki, t.RequestID, store.ErrNotFound)
}

// Abandon closes a request that will not be delivered further, such as
// one stopped by a block that is not lifted: every target without an
// outcome is recorded failed with reason, after the history of each one
// left sending is read, so a message that was saved is still recorded
// delivered. It returns the counts afterwards.
func (d *Deliverer) Abandon(ctx context.Context, requestID int64, reason string) (
	store.Counts, error) {
	if err := d.claim(requestID); err != nil {
		return store.Counts{}, err
	}
	defer d.release(requestID)
	ts, err := d.opts.Store.Targets(ctx, requestID)
	if err != nil {
		return store.Counts{}, fmt.Errorf("abandon request %d: %w", requestID, err)
	}
	for i := range ts {
		if err := d.abandonOne(ctx, &ts[i], reason); err != nil {
			return store.Counts{}, err
		}
	}
	return d.opts.Store.TargetCounts(ctx, requestID)
}

func (d *Deliverer) abandonOne(ctx context.Context, t *store.Target, reason string) error {
	switch t.State {
	case store.TargetQueued:
	case store.TargetSending:
		found, err := d.recoverOne(ctx, t)
		if err != nil || found {
			return err
		}
	default:
		return nil
	}
	err := d.opts.Store.RecordOutcome(ctx, t.RequestID, t.Wiki, t.Title,
		store.TargetFailed, reason, 0)
	if err != nil {
		return fmt.Errorf("abandon %s on %s: %w", t.Title, t.Wiki, err)
	}
	d.setChecked(keyOf(t), false)
	return nil
}
