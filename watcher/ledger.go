package watcher

import (
	"time"
)

// ledger is what the watcher owes its consumer, the part of its state that
// decides how far the saved position may go: changes found but not yet
// taken from the channel, and gaps in the stream not yet backfilled. The
// saved time never passes any of them, so a restart finds each again.
// Watcher.mu guards it.
type ledger struct {
	spill   fifo[Change]    // found, in order, not yet in the channel
	pending fifo[time.Time] // times of changes sent, maybe not yet taken
	seen    dedupe

	gapFrom   time.Time // the oldest gap awaiting a backfill; zero if none
	gapActive time.Time // the start of the backfill under way; zero if none
}

func newLedger(dedupeSize int) ledger {
	return ledger{seen: newDedupe(dedupeSize)}
}

// addGap records that the stream may have missed changes from t on.
func (l *ledger) addGap(t time.Time) {
	if l.gapFrom.IsZero() || t.Before(l.gapFrom) {
		l.gapFrom = t
	}
}

// trim drops the pending entries the consumer has taken, given how many
// changes wait in the channel: those are the newest sent, since the
// forwarder is the only sender. It records a change only after sending it,
// so a count taken in between keeps one entry too many, never one too few.
func (l *ledger) trim(queued int) {
	for l.pending.len() > queued {
		l.pending.pop()
	}
}

// floor returns the oldest time the ledger owes, or zero when it owes
// nothing.
func (l *ledger) floor() time.Time {
	var f time.Time
	older := func(t time.Time) {
		if !t.IsZero() && (f.IsZero() || t.Before(f)) {
			f = t
		}
	}
	older(l.gapFrom)
	older(l.gapActive)
	l.spill.each(func(c *Change) { older(c.Timestamp) })
	l.pending.each(func(t *time.Time) { older(*t) })
	return f
}

// fifo is a queue on a ring buffer that grows as needed.
type fifo[T any] struct {
	buf  []T
	head int
	n    int
}

func (q *fifo[T]) len() int { return q.n }

func (q *fifo[T]) push(v T) {
	if q.n == len(q.buf) {
		grown := make([]T, max(16, 2*len(q.buf)))
		for i := range q.n {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
}

// front returns the oldest element; the queue must not be empty.
func (q *fifo[T]) front() T { return q.buf[q.head] }

func (q *fifo[T]) pop() {
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
}

func (q *fifo[T]) each(f func(*T)) {
	for i := range q.n {
		f(&q.buf[(q.head+i)%len(q.buf)])
	}
}

// revKey names one revision of one wiki.
type revKey struct {
	wiki string
	rev  int64
}

// dedupe remembers the last size revisions handed over, forgetting the
// oldest first. A backfill reads back at most its margin plus the gap, so
// the memory needs to hold only the changes of watched pages in that
// window; beyond it, store.PageRevision catches what the consumer handled.
type dedupe struct {
	set   map[revKey]struct{}
	order fifo[revKey]
	size  int
}

func newDedupe(size int) dedupe {
	return dedupe{set: make(map[revKey]struct{}), size: size}
}

// add records k and reports whether it is new.
func (d *dedupe) add(k revKey) bool {
	if _, ok := d.set[k]; ok {
		return false
	}
	if d.order.len() >= d.size {
		delete(d.set, d.order.front())
		d.order.pop()
	}
	d.set[k] = struct{}{}
	d.order.push(k)
	return true
}
