package review

import (
	"context"
	"fmt"
	"sync"
	"time"

	"courier/store"
)

// Deliverer sends approved requests; the deliver package implements it.
type Deliverer interface {
	// Recover settles the targets a crash left between edit and commit;
	// it runs before any delivery.
	Recover(ctx context.Context) error

	// Deliver sends req's message to every target of its list as it
	// stood at req.ListRev, recording each outcome in the store. It
	// returns when every target has an outcome, the request was
	// cancelled (Reviewer.Cancelled), or ctx is done.
	Deliver(ctx context.Context, req store.Request) (Outcome, error)
}

// Outcome is how one Deliver call ended.
type Outcome struct {
	Finished  bool   // every target has its outcome
	Cancelled bool   // stopped by a cancel on the request page
	Stopped   string // why some wiki refused the bot, in a sentence; "" if none
}

// resume settles what a crash left and queues every request that was
// approved or under way when Courier stopped.
func (r *Reviewer) resume(ctx context.Context) error {
	if err := r.cfg.Delivery.Recover(ctx); err != nil {
		return fmt.Errorf("recover deliveries: %w", err)
	}
	reqs, err := r.cfg.Store.Requests(ctx, store.StateApproved, store.StateDelivering)
	if err != nil {
		return err
	}
	for _, req := range reqs {
		r.log.Info("resuming request", "request_id", req.ID, "state", req.State,
			"title", r.cfg.Requests)
		r.enqueue(req.ID)
	}
	return nil
}

// startApproved queues the approved requests not yet queued.
func (r *Reviewer) startApproved(ctx context.Context) {
	reqs, err := r.cfg.Store.Requests(ctx, store.StateApproved)
	if err != nil {
		r.log.Error("could not list approved requests", "err", err)
		return
	}
	for _, req := range reqs {
		r.enqueue(req.ID)
	}
}

func (r *Reviewer) enqueue(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inFlight[id] {
		return
	}
	select {
	case r.queued <- id:
		r.inFlight[id] = true
	default:
		// Full: it stays approved in the store and is queued again by the
		// next review of the page.
		r.log.Warn("delivery queue full; the request waits for the next review",
			"request_id", id)
	}
}

// deliverLoop delivers queued requests one after another until ctx is
// done.
func (r *Reviewer) deliverLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case id := <-r.queued:
			if err := r.deliverOne(ctx, id); err != nil && ctx.Err() == nil {
				r.log.Error("delivery failed; it is tried again when Courier restarts",
					"request_id", id, "err", err)
			}
			r.mu.Lock()
			delete(r.inFlight, id)
			r.mu.Unlock()
		}
	}
}

// deliverOne claims and delivers one request, writing progress back at
// most every ProgressEvery, and the outcome at the end.
func (r *Reviewer) deliverOne(ctx context.Context, id int64) error {
	claimed, err := r.cfg.Store.TransitionRequest(ctx, id, store.StateDelivering,
		store.StateApproved, store.StateDelivering)
	if err != nil || !claimed {
		return err
	}
	req, err := r.cfg.Store.Request(ctx, id)
	if err != nil {
		return err
	}
	log := r.log.With("request_id", id, "title", r.cfg.Requests)
	log.Info("delivering", "list", req.ListTitle, "list_rev", req.ListRev)

	r.mu.Lock()
	ticks := make(chan struct{}, 1)
	r.ticks[id] = ticks
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.ticks, id)
		r.mu.Unlock()
	}()

	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.writeProgress(pctx, ticks) })
	out, err := r.cfg.Delivery.Deliver(ctx, req)
	stop()
	wg.Wait()
	return r.finish(ctx, id, out, err)
}

// Progress tells the reviewer that a request's delivery made progress; it
// never blocks.
func (r *Reviewer) Progress(id int64) {
	r.mu.Lock()
	ticks := r.ticks[id]
	r.mu.Unlock()
	select {
	case ticks <- struct{}{}:
	default:
	}
}

// Cancelled reports whether a cancel on the request page asked delivery of
// request id to stop; deliver asks it before every edit.
func (r *Reviewer) Cancelled(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cancelled[id]
}

// Gate reports whether edits may go ahead: the shutoff page reads "run".
func (r *Reviewer) Gate(ctx context.Context, wiki string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running, nil
}

// writeProgress writes the request page whenever a delivery made progress,
// at most every ProgressEvery, until ctx is done.
func (r *Reviewer) writeProgress(ctx context.Context, ticks <-chan struct{}) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		if wait := r.cfg.ProgressEvery - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		if err := r.reviewPage(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("could not write progress; trying again with the next",
				"title", r.cfg.Requests, "err", err)
		}
	}
}

// finish records how a delivery ended and writes it back.
func (r *Reviewer) finish(ctx context.Context, id int64, out Outcome, derr error) error {
	log := r.log.With("request_id", id, "title", r.cfg.Requests)
	if ctx.Err() != nil {
		log.Info("stopping mid-delivery; it resumes when Courier starts again")
		return nil
	}
	if derr != nil {
		return derr
	}
	req, err := r.cfg.Store.Request(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case out.Cancelled:
		req.State = store.StateCancelled
	case out.Finished:
		req.State = store.StateDone
	default:
		// A wiki refused the bot: the request stays delivering and
		// resumes on the next start, once the operator has seen to it.
		req.Note = out.Stopped
		log.Error("delivery stopped; it resumes when Courier starts again",
			"reason", out.Stopped)
		if err := r.cfg.Store.UpdateRequest(ctx, req); err != nil {
			return err
		}
		return r.reviewPage(ctx)
	}
	r.mu.Lock()
	delete(r.cancelled, id)
	r.mu.Unlock()
	req.Finished = r.cfg.Now()
	if err := r.cfg.Store.UpdateRequest(ctx, req); err != nil {
		return err
	}
	c, err := r.cfg.Store.TargetCounts(ctx, id)
	if err != nil {
		return err
	}
	log.Info("request finished", "state", req.State, "delivered", c.Delivered,
		"skipped", c.Skipped, "failed", c.Failed)
	return r.reviewPage(ctx)
}

// stopDelivery asks a request's delivery to stop before its next edit. A
// request that is delivering in the store but not in this process (it
// waits to be resumed) is marked cancelled at once, so no resume claims it.
func (r *Reviewer) stopDelivery(ctx context.Context, id int64, by string) error {
	r.mu.Lock()
	r.cancelled[id] = true
	_, running := r.ticks[id]
	r.mu.Unlock()
	r.log.Info("cancelling delivery", "request_id", id, "user", by)
	if running {
		return nil
	}
	_, err := r.cfg.Store.TransitionRequest(ctx, id, store.StateCancelled, store.StateDelivering)
	return err
}
