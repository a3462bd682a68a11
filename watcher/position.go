package watcher

import (
	"context"
	"time"

	"courier/store"
)

// Saving the position after every event would cost a SQLite write per
// event, far more than the rest of the work on one. It is saved after
// PersistEvery events or PersistInterval, whichever comes first, and on
// stop. A crash loses at most that window of progress, and losing it is
// safe: the next start resumes from the older position, and so reads the
// window again from the stream and backfills it from list=recentchanges.
// The changes found again are dropped as duplicates, by the revisions the
// consumer recorded as handled (store.PageRevision) and, within one run,
// by the watcher's own memory of the revisions it handed over.

// setBase records the position the watcher stands at until an event says
// otherwise.
func (w *Watcher) setBase(p store.Position) {
	w.mu.Lock()
	w.base = p
	w.mu.Unlock()
}

// lastTime returns the time of the newest event handled.
func (w *Watcher) lastTime() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastTimeLocked()
}

// lastTimeLocked is lastTime for a caller that holds w.mu. An event whose
// time cannot be read leaves the last time that could, which is older and
// so safe to resume or backfill from.
func (w *Watcher) lastTimeLocked() time.Time {
	if ev := w.last.Load(); ev != nil {
		if t, ok := eventTime(ev.Data); ok {
			return t
		}
	}
	return w.base.Time
}

// markGap records a gap in the stream from the newest event handled and
// wakes the backfill.
func (w *Watcher) markGap() {
	w.mu.Lock()
	w.ledger.addGap(w.lastTimeLocked())
	w.mu.Unlock()
	signal(w.wakeGap)
}

// position returns the position to save: the newest event handled, its
// time taken back to the oldest change or gap still owed, so that a start
// from the saved position finds every one of them again.
func (w *Watcher) position() store.Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev := w.last.Load(); ev != nil {
		if len(ev.ID) > 0 {
			w.base.EventID = string(ev.ID)
		}
		if t, ok := eventTime(ev.Data); ok {
			w.base.Time = t
		}
	}
	pos := w.base
	w.ledger.trim(len(w.out))
	if f := w.ledger.floor(); !f.IsZero() && f.Before(pos.Time) {
		pos.Time = f
	}
	return pos
}

// savePosition saves the stream position if it moved.
func (w *Watcher) savePosition(ctx context.Context) error {
	pos := w.position()
	if pos.EventID == w.saved.EventID && pos.Time.Equal(w.saved.Time) {
		return nil
	}
	if err := w.cfg.Store.SetStreamPosition(ctx, w.cfg.StreamURL, pos); err != nil {
		return err
	}
	w.saved = pos
	w.stats.saves.Add(1)
	return nil
}

// persistLoop saves the position every PersistInterval, or sooner when
// PersistEvery events asked it to, until ctx is done; Run saves the last.
func (w *Watcher) persistLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.PersistInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.saveNow:
		case <-ctx.Done():
			return
		}
		if err := w.savePosition(ctx); err != nil && ctx.Err() == nil {
			if ok, n := w.warn.save.allow(); ok {
				w.log.Warn("could not save the stream position; trying again at the next save",
					"stream", w.cfg.StreamURL, "err", err, "suppressed", n)
			}
		}
	}
}
