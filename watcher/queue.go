package watcher

import (
	"context"
)

// The hand-over works in two steps so that the stream never waits on the
// consumer. A change found (by the stream, a backfill or a poll) goes into
// the spill, an in-memory queue kept in the order changes were found; the
// forwarder alone moves changes from the spill into the Changes channel,
// waiting there as long as the consumer makes it. When the spill too is
// full (SpillSize changes that the consumer has not taken), the stream
// drops the change and records a gap from its time: the saved position
// then stays before it, and the recovery backfill finds it again once
// there is room (after newer changes, then: the one place where order can
// give). Backfill and polling, which are not the stream, wait for room
// instead.

// offer puts c into the spill unless its revision was found before, and
// reports whether it did. wait says what to do when the spill is full:
// wait for room, or give the change over to a backfill.
func (w *Watcher) offer(ctx context.Context, c Change, wait bool) bool {
	key := revKey{c.Wiki, c.RevID}
	for {
		w.mu.Lock()
		if _, dup := w.ledger.seen.set[key]; dup {
			w.mu.Unlock()
			w.stats.duplicates.Add(1)
			return false
		}
		if w.ledger.spill.len() < w.cfg.SpillSize {
			w.ledger.seen.add(key)
			w.ledger.spill.push(c)
			w.mu.Unlock()
			w.stats.matched.Add(1)
			signal(w.wakeFwd)
			return true
		}
		if !wait {
			w.ledger.addGap(c.Timestamp)
			w.mu.Unlock()
			w.deferChange(c)
			return false
		}
		w.mu.Unlock()
		select {
		case <-w.room:
		case <-ctx.Done():
			return false
		}
	}
}

// deferChange counts and logs a change the stream left to a backfill.
func (w *Watcher) deferChange(c Change) {
	w.stats.deferred.Add(1)
	signal(w.wakeGap)
	if ok, n := w.warn.spillFull.allow(); ok {
		w.log.Warn("consumer is behind and the spill is full; the change is left to a "+
			"backfill once there is room", "wiki", c.Wiki, "title", c.Title,
			"rev_id", c.RevID, "spill", w.cfg.SpillSize, "suppressed", n)
	}
}

// forward moves changes from the spill into the channel, one at a time,
// until ctx is done.
func (w *Watcher) forward(ctx context.Context) {
	for {
		w.mu.Lock()
		var c Change
		ok := w.ledger.spill.len() > 0
		if ok {
			c = w.ledger.spill.front()
		}
		w.mu.Unlock()
		if !ok {
			select {
			case <-w.wakeFwd:
				continue
			case <-ctx.Done():
				return
			}
		}

		if w.handledBefore(ctx, c) {
			w.mu.Lock()
			w.ledger.spill.pop()
			w.mu.Unlock()
			signal(w.room)
			continue
		}
		if !w.send(ctx, c) {
			return
		}
	}
}

// send puts c into the channel, waiting for the consumer if it must, and
// then takes it off the spill; it reports false when ctx ended the wait,
// which leaves c in the spill and so in the saved position's reach.
func (w *Watcher) send(ctx context.Context, c Change) bool {
	select {
	case w.out <- c:
	default:
		if ok, n := w.warn.queueFull.allow(); ok {
			w.log.Warn("consumer is behind: the change queue is full; the change waits "+
				"in the spill", "wiki", c.Wiki, "title", c.Title, "rev_id", c.RevID,
				"queue", cap(w.out), "suppressed", n)
		}
		select {
		case w.out <- c:
		case <-ctx.Done():
			return false
		}
	}
	w.mu.Lock()
	w.ledger.spill.pop()
	w.ledger.pending.push(c.Timestamp)
	w.ledger.trim(len(w.out))
	w.mu.Unlock()
	w.stats.delivered.Add(1)
	signal(w.room)
	w.log.Debug("change handed over", "wiki", c.Wiki, "title", c.Title, "rev_id", c.RevID,
		"source", c.Source)
	return true
}

// handledBefore reports whether the consumer recorded c's revision, or a
// newer one, as handled: what a restart finds again of the changes it
// handed over before it stopped.
func (w *Watcher) handledBefore(ctx context.Context, c Change) bool {
	rev, err := w.cfg.Store.PageRevision(ctx, c.Wiki, c.Title)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("could not read the handled revision of a page; handing the change "+
				"over anyway", "wiki", c.Wiki, "title", c.Title, "rev_id", c.RevID, "err", err)
		}
		return false
	}
	if rev < c.RevID {
		return false
	}
	w.stats.duplicates.Add(1)
	w.log.Debug("change already handled; dropped", "wiki", c.Wiki, "title", c.Title,
		"rev_id", c.RevID, "handled_rev", rev, "source", c.Source)
	return true
}

// signal wakes the waiter on ch, if any, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
