package watcher

import (
	"context"
	"fmt"
	"sort"
	"time"

	"courier/store"
)

// A gap is a stretch of time in which the stream may have missed changes:
// a reconnect, a restart, a skipped event, a change the spill had no room
// for. The stream's own resume (Last-Event-ID, else since=) normally fills
// it, but it cannot be relied on: a server may refuse both, or have lost
// its history. So every gap is read again from list=recentchanges, from
// Margin before its start to now, for the watched pages of every wiki; what
// both deliver is handed over once, by revision.

// recoverLoop runs the backfill of each gap, one at a time, until ctx is
// done. A failed backfill keeps its gap, which is tried again after a
// backoff, so no gap is ever given up.
func (w *Watcher) recoverLoop(ctx context.Context) {
	b := backoffOf(w.cfg.MinBackoff, w.cfg.MaxBackoff)
	for {
		from, ok := w.takeGap()
		if !ok {
			select {
			case <-w.wakeGap:
				continue
			case <-ctx.Done():
				return
			}
		}
		err := w.backfill(ctx, from)
		w.endGap(from, err)
		if err == nil {
			b.reset()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		d := b.next()
		w.log.Warn("backfill failed; the gap stays open and is tried again",
			"since", from, "retry_in", d, "err", err)
		if !sleep(ctx, d) {
			return
		}
	}
}

// takeGap moves the oldest open gap to the one under way.
func (w *Watcher) takeGap() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	from := w.ledger.gapFrom
	if from.IsZero() {
		return from, false
	}
	w.ledger.gapFrom, w.ledger.gapActive = time.Time{}, from
	return from, true
}

// endGap closes the gap under way, or opens it again if its backfill
// failed.
func (w *Watcher) endGap(from time.Time, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ledger.gapActive = time.Time{}
	if err != nil {
		w.ledger.addGap(from)
	}
}

// backfill reads the changes of watched pages from Margin before from to
// now and offers them, oldest first on each wiki.
func (w *Watcher) backfill(ctx context.Context, from time.Time) error {
	w.stats.backfills.Add(1)
	start := later(from.Add(-w.cfg.Margin), w.notBefore)
	found := 0
	for _, id := range watchedWikis(w.watched.Load()) {
		n, err := w.read(ctx, id, start, SourceBackfill)
		if err != nil {
			return fmt.Errorf("backfill %s since %s: %w", id, start.UTC().Format(time.RFC3339), err)
		}
		found += n
	}
	w.log.Debug("backfill done", "since", start, "new_changes", found)
	return nil
}

// read lists the changes of the watched pages of one wiki since start,
// offers them with the given source, and returns how many were new.
func (w *Watcher) read(ctx context.Context, id string, start time.Time,
	source string) (int, error) {
	ww, wk := w.watched.Load().wikis[id], w.wikis[id]
	if ww == nil {
		return 0, nil // unwatched meanwhile
	}
	changes, err := wk.Changes.RecentChanges(ctx, Query{
		Start: start, Titles: ww.list, Namespaces: ww.namespaces,
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range changes {
		c.Wiki, c.Source = id, source
		if w.accept(ww, wk, &c) && w.offer(ctx, c, true) {
			n++
			w.log.Info("change found by "+source+"; handing it over", "wiki", id,
				"title", c.Title, "rev_id", c.RevID)
		}
	}
	return n, ctx.Err()
}

// watchedWikis returns the ids of the wikis with watched pages, sorted.
func watchedWikis(set *watchSet) []string {
	ids := make([]string, 0, len(set.wikis))
	for id := range set.wikis {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// pollKey is the store key of a wiki's poll position.
func pollKey(id string) string { return "poll:" + id }

// pollState is where polling stands on one wiki.
type pollState struct {
	from  time.Time // the start of the next window
	mark  time.Time // the time to save: the start of the last good poll
	floor time.Time // no window starts before it: the first start's time
}

// startPolls reads each wiki's saved poll position. A wiki without one
// begins from now, its first window without a margin.
func (w *Watcher) startPolls(ctx context.Context) error {
	w.polls = make(map[string]*pollState, len(w.wikis))
	for id := range w.wikis {
		pos, ok, err := w.cfg.Store.StreamPosition(ctx, pollKey(id))
		if err != nil {
			return fmt.Errorf("start polling: %w", err)
		}
		st := &pollState{from: pos.Time.Add(-w.cfg.Margin), mark: pos.Time}
		if !ok {
			// Saved at once, so that a crash before the first poll
			// still leaves this start to resume from.
			st = &pollState{from: w.pollTime, mark: w.pollTime, floor: w.pollTime}
			if err := w.savePoll(ctx, id, st); err != nil {
				return fmt.Errorf("start polling: %w", err)
			}
		}
		w.polls[id] = st
	}
	w.log.Info("polling recent changes", "interval", w.cfg.PollInterval, "wikis", len(w.wikis))
	return nil
}

// pollLoop polls every watched wiki every PollInterval until ctx is done.
func (w *Watcher) pollLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
	for {
		w.pollOnce(ctx)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// pollOnce reads each watched wiki's window once and saves its position.
// A failed poll keeps the wiki's window start, so the next poll covers it.
func (w *Watcher) pollOnce(ctx context.Context) {
	w.stats.polls.Add(1)
	for _, id := range watchedWikis(w.watched.Load()) {
		st := w.polls[id]
		began := time.Now()
		if _, err := w.read(ctx, id, st.from, SourcePoll); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("poll failed; the next poll reads this window again", "wiki", id,
					"since", st.from, "retry_in", w.cfg.PollInterval, "err", err)
			}
			continue
		}
		st.from, st.mark = later(began.Add(-w.cfg.Margin), st.floor), began
		if err := w.savePoll(ctx, id, st); err != nil && ctx.Err() == nil {
			w.log.Warn("could not save the poll position; trying again after the next poll",
				"wiki", id, "err", err)
		}
	}
}

// savePoll saves one wiki's poll position, taken back to the oldest change
// not yet taken by the consumer.
func (w *Watcher) savePoll(ctx context.Context, id string, st *pollState) error {
	pos := store.Position{Time: st.mark}
	w.mu.Lock()
	w.ledger.trim(len(w.out))
	if f := w.ledger.floor(); !f.IsZero() && f.Before(pos.Time) {
		pos.Time = f
	}
	w.mu.Unlock()
	return w.cfg.Store.SetStreamPosition(ctx, pollKey(id), pos)
}

// savePolls saves every wiki's poll position, on stop.
func (w *Watcher) savePolls(ctx context.Context) error {
	for id, st := range w.polls {
		if err := w.savePoll(ctx, id, st); err != nil {
			return fmt.Errorf("save poll position of %s: %w", id, err)
		}
	}
	return nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
