package watcher

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the watcher's counters since New, for metrics and tests.
type Stats struct {
	Events      uint64 // stream events read
	Bytes       uint64 // bytes of their data
	Decoded     uint64 // events that passed the prefilter and were decoded
	Undecodable uint64 // events that passed it and did not decode
	Oversized   uint64 // events skipped for their size
	Canaries    uint64 // canary events dropped
	Foreign     uint64 // events of a configured wiki id with another domain
	Own         uint64 // changes by Courier's own account, dropped
	Matched     uint64 // changes of watched pages found, first reports only
	Duplicates  uint64 // reports of a revision found before or handled
	Delivered   uint64 // changes handed to the consumer
	Deferred    uint64 // changes left to a backfill for lack of room
	Reconnects  uint64 // subscriptions that ended and were made again
	Backfills   uint64 // backfills started
	Polls       uint64 // poll rounds started
	Saves       uint64 // stream positions saved

	// Queued is the number of changes found and not yet taken by the
	// consumer: in the channel and in the spill.
	Queued int

	// Lag is how far the newest event handled is behind the clock; zero
	// before the first event.
	Lag time.Duration
}

// counters are the atomic counters behind Stats.
type counters struct {
	events, bytes, decoded, undecodable, oversized, canaries, foreign, own atomic.Uint64
	matched, duplicates, delivered, deferred                               atomic.Uint64
	reconnects, backfills, polls, saves                                    atomic.Uint64
}

// Stats returns the counters as they stand.
func (w *Watcher) Stats() Stats {
	c := &w.stats
	s := Stats{
		Events: c.events.Load(), Bytes: c.bytes.Load(), Decoded: c.decoded.Load(),
		Undecodable: c.undecodable.Load(), Oversized: c.oversized.Load(),
		Canaries: c.canaries.Load(), Foreign: c.foreign.Load(), Own: c.own.Load(),
		Matched: c.matched.Load(), Duplicates: c.duplicates.Load(),
		Delivered: c.delivered.Load(), Deferred: c.deferred.Load(),
		Reconnects: c.reconnects.Load(), Backfills: c.backfills.Load(),
		Polls: c.polls.Load(), Saves: c.saves.Load(),
	}
	w.mu.Lock()
	s.Queued = w.ledger.spill.len() + len(w.out)
	w.mu.Unlock()
	if ev := w.last.Load(); ev != nil {
		if t, ok := eventTime(ev.Data); ok {
			s.Lag = max(0, time.Since(t))
		}
	}
	return s
}

// warnLimits are the rate limits of warnings that can repeat for every
// event or change.
type warnLimits struct {
	spillFull, queueFull, undecodable, foreign, save limit
}

// limit lets one message through per interval and counts the rest.
type limit struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// limitEvery is how often a repeating warning is logged.
const limitEvery = time.Minute

// allow reports whether to log now, and how many were held back since the
// last one logged.
func (l *limit) allow() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < limitEvery {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}
