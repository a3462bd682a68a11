package deliver

import (
	"context"
	"sync"
	"time"
)

// pacer spaces one wiki's edits so that they start at most rate times a
// minute: a token bucket that holds one token, so an idle wiki gets one
// edit at once and never a burst. Each edit reserves the next free slot;
// a slot missed because an edit ran long is not made up later.
type pacer struct {
	interval time.Duration

	mu   sync.Mutex // guards next
	next time.Time  // the earliest start of the next edit
}

// newPacer returns a pacer for rate edits a minute; rate must be positive.
// The interval is rounded up, so that rounding never adds an edit.
func newPacer(rate int) *pacer {
	n := time.Duration(rate)
	return &pacer{interval: (time.Minute + n - 1) / n}
}

// reserve returns the start time of the next edit and books it.
func (p *pacer) reserve(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	return slot
}

// wait blocks until the next slot, or until ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	return sleepUntil(ctx, p.reserve(time.Now()))
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
