package watcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"

	"courier/store"
)

// resume is where a subscription asks the stream to start.
type resume struct {
	id    string    // sent as Last-Event-ID when set
	since time.Time // sent as since= when there is no id; zero for now
}

// conn is how one subscription went.
type conn struct {
	err    error
	events int
	lasted time.Duration
	idle   bool // dropped for sending nothing for IdleTimeout
}

// statusError is a subscription the server answered with an error status.
type statusError struct {
	code       int
	body       string
	retryAfter time.Duration // the server's Retry-After, in seconds; 0 if none
}

func (e *statusError) Error() string {
	return fmt.Sprintf("stream answered HTTP %d: %s", e.code, e.body)
}

// startPosition reads the saved position and turns it into the first
// subscription's resume point, recording the gap since then. On the first
// start there is none: the watcher begins from now and saves that, so that
// a stop before the first event still leaves a point to resume from.
func (w *Watcher) startPosition(ctx context.Context) (resume, error) {
	key := w.cfg.StreamURL
	pos, ok, err := w.cfg.Store.StreamPosition(ctx, key)
	if err != nil {
		return resume{}, fmt.Errorf("start watcher: %w", err)
	}
	if !ok {
		pos = store.Position{Time: time.Now()}
		if err := w.cfg.Store.SetStreamPosition(ctx, key, pos); err != nil {
			return resume{}, fmt.Errorf("start watcher: %w", err)
		}
		w.log.Info("no saved stream position; starting from now", "stream", key)
		w.notBefore = pos.Time
		w.setBase(pos)
		return resume{}, nil
	}
	w.setBase(pos)
	w.markGap()
	w.log.Info("resuming the stream; backfilling the gap since the saved position",
		"stream", key, "event_id", pos.EventID, "since", pos.Time)
	return resume{id: pos.EventID, since: pos.Time}, nil
}

// streamLoop subscribes, and subscribes again whenever a subscription
// ends, until ctx is done. It never gives up: a stream down for a day is
// retried every MaxBackoff.
func (w *Watcher) streamLoop(ctx context.Context, r resume) {
	b := backoffOf(w.cfg.MinBackoff, w.cfg.MaxBackoff)
	failures := 0
	for {
		c := w.connect(ctx, r)
		if ctx.Err() != nil {
			return
		}
		w.stats.reconnects.Add(1)
		next, refused := w.nextResume(r, c)
		switch {
		case c.events > 0:
			if c.lasted >= w.cfg.HealthyAfter {
				b.reset()
			}
			if failures > 0 {
				w.log.Info("stream recovered", "stream", w.cfg.StreamURL, "failures", failures)
			}
			failures = 0
		case !refused:
			failures++
		}
		w.markGap()

		d := time.Duration(0)
		if !refused {
			d = max(b.next(), retryAfter(c.err))
		}
		w.logEnd(c, next, d, failures)
		if !sleep(ctx, d) {
			return
		}
		r = next
	}
}

// nextResume returns where to resume after c ended; refused is true when
// the server turned r down and the next attempt falls back at once.
func (w *Watcher) nextResume(r resume, c conn) (next resume, refused bool) {
	var se *statusError
	if errors.As(c.err, &se) && se.code == http.StatusBadRequest {
		switch {
		case r.id != "":
			w.log.Warn("stream refused the saved event id; resuming by time with since=",
				"stream", w.cfg.StreamURL, "event_id", r.id, "since", r.since)
			return resume{since: r.since}, true
		case !r.since.IsZero():
			w.log.Warn("stream refused since=; resuming from now, the backfill covers "+
				"the gap", "stream", w.cfg.StreamURL, "since", r.since)
			return resume{}, true
		}
	}
	if ev := w.last.Load(); ev != nil && len(ev.ID) > 0 {
		return resume{id: string(ev.ID), since: w.lastTime()}, false
	}
	return r, false
}

// logEnd says how a subscription ended and what happens next: at Info for
// the end of one that delivered events or fell silent, at Warn for the
// first of a run of failures, then at Debug until the stream recovers.
func (w *Watcher) logEnd(c conn, next resume, wait time.Duration, failures int) {
	args := []any{"stream", w.cfg.StreamURL, "events", c.events, "lasted", c.lasted,
		"retry_in", wait, "event_id", next.id}
	switch {
	case c.idle: // normal on a small farm's quiet feed, so not a warning
		w.log.Info("stream sent nothing for a while; reconnecting",
			append(args, "idle", w.cfg.IdleTimeout)...)
	case c.events > 0:
		w.log.Info("stream connection ended; reconnecting",
			append(args, "err", errText(c.err))...)
	case failures <= 1:
		w.log.Warn("stream connection failed; reconnecting",
			append(args, "err", errText(c.err))...)
	default:
		w.log.Debug("stream connection failed again; reconnecting",
			append(args, "err", errText(c.err), "failures", failures)...)
	}
}

// retryAfter returns the wait the server asked for with err, if any.
func retryAfter(err error) time.Duration {
	var se *statusError
	if errors.As(err, &se) {
		return se.retryAfter
	}
	return 0
}

func errText(err error) string {
	if err == nil {
		return "closed by the server"
	}
	return err.Error()
}

// connect makes one subscription and handles its events until it ends.
func (w *Watcher) connect(ctx context.Context, r resume) conn {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u, err := subscriptionURL(w.cfg.StreamURL, r)
	if err != nil {
		return conn{err: err}
	}

	var idle atomic.Bool
	client := sse.NewClient(u, sse.ClientMaxBufferSize(w.cfg.MaxEventSize))
	client.Connection = &http.Client{Transport: &streamTransport{
		base:  w.cfg.Transport,
		limit: cutLimit(w.cfg.MaxEventSize),
		idle:  w.cfg.IdleTimeout,
		onIdle: func() {
			idle.Store(true)
			cancel()
		},
	}}
	client.Headers["User-Agent"] = w.cfg.UserAgent
	// The library's own retries would resume from its notion of the last
	// id, without the watcher's backfill; this loop does it instead.
	client.ReconnectStrategy = &backoff.StopBackOff{}
	client.ResponseValidator = checkResponse
	if r.id != "" {
		client.LastEventID.Store([]byte(r.id))
	}
	w.log.Debug("subscribing", "stream", w.cfg.StreamURL, "event_id", r.id, "since", r.since)

	began := time.Now()
	events := 0
	err = client.SubscribeRawWithContext(ctx, func(ev *sse.Event) {
		events++
		w.handle(ctx, ev)
	})
	cancel()
	return conn{err: err, events: events, lasted: time.Since(began), idle: idle.Load()}
}

// cutLimit is the size past which an event is cut, so that the cut head
// and its mark fit in the reader's buffer of max bytes.
func cutLimit(max int) int {
	return max - min(1024, max/2)
}

// subscriptionURL adds since= to the stream URL when r resumes by time.
func subscriptionURL(stream string, r resume) (string, error) {
	if r.id != "" || r.since.IsZero() {
		return stream, nil
	}
	u, err := url.Parse(stream)
	if err != nil {
		return "", fmt.Errorf("parse stream URL: %w", err)
	}
	q := u.Query()
	q.Set("since", r.since.UTC().Format("2006-01-02T15:04:05.000Z"))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// maxRetryAfter caps the wait a server's Retry-After can ask for.
const maxRetryAfter = 10 * time.Minute

// checkResponse accepts a 200 answer; any other is a *statusError, with
// the start of the body for the log.
func checkResponse(_ *sse.Client, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return &statusError{code: resp.StatusCode, body: string(body),
		retryAfter: min(time.Duration(max(secs, 0))*time.Second, maxRetryAfter)}
}

// handle is called for every event, on the subscription's goroutine: it
// must stay cheap. Most events are of wikis nobody watches; the prefilter
// drops them before any decoding.
func (w *Watcher) handle(ctx context.Context, ev *sse.Event) {
	w.stats.events.Add(1)
	w.stats.bytes.Add(uint64(len(ev.Data)))
	if string(ev.Event) == oversizedEvent {
		w.oversized(ev)
	} else if set := w.watched.Load(); set.mayMatch(ev.Data) && set.mayMatchTitle(ev.Data) {
		w.decode(ctx, ev, set)
	}
	w.last.Store(ev)
	if w.unsaved.Add(1) >= int64(w.cfg.PersistEvery) {
		w.unsaved.Store(0)
		signal(w.saveNow)
	}
}

// oversized records an event cut for its size. Its wiki cannot be known
// (the cut may have taken the "wiki" member), so a gap is recorded from
// the last known time: if it was a watched page's, the backfill finds it.
func (w *Watcher) oversized(ev *sse.Event) {
	w.stats.oversized.Add(1)
	w.markGap()
	w.log.Warn("skipped an event larger than the largest event read; backfilling in case "+
		"it was a watched page's", "stream", w.cfg.StreamURL, "event_id", string(ev.ID),
		"max_event_size", w.cfg.MaxEventSize)
}

// decode reads an event that passed the prefilter and offers its change
// if it is one of a watched page.
func (w *Watcher) decode(ctx context.Context, ev *sse.Event, set *watchSet) {
	w.stats.decoded.Add(1)
	var e rcEvent
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		w.stats.undecodable.Add(1)
		if ok, n := w.warn.undecodable.allow(); ok {
			w.log.Warn("could not decode an event; skipping it", "stream", w.cfg.StreamURL,
				"event_id", string(ev.ID), "err", err, "suppressed", n)
		}
		return
	}
	if c, ok := w.match(set, &e); ok {
		w.offer(ctx, c, false)
	}
}

// match returns the change e makes to a watched page, if it makes one.
func (w *Watcher) match(set *watchSet, e *rcEvent) (Change, bool) {
	if e.Meta.Domain == "canary" {
		w.stats.canaries.Add(1)
		return Change{}, false
	}
	ww, wk := set.wikis[e.Wiki], w.wikis[e.Wiki]
	if ww == nil || wk == nil {
		return Change{}, false
	}
	if e.Meta.Domain != "" && wk.Domain != "" && e.Meta.Domain != wk.Domain {
		w.foreign(e, wk)
		return Change{}, false
	}
	c := Change{
		Wiki: e.Wiki, Title: e.Title, NS: e.Namespace, RevID: e.Revision.New,
		OldRevID: e.Revision.Old, User: e.User, Timestamp: time.Unix(e.Timestamp, 0),
		Type: e.Type, Source: SourceStream,
	}
	return c, w.accept(ww, wk, &c)
}

// accept reports whether c, from any source, is a change of a watched page
// that triggers work, and puts its title in the watched form.
func (w *Watcher) accept(ww *wikiWatch, wk *Wiki, c *Change) bool {
	if c.Type != "edit" && c.Type != "new" || c.RevID <= 0 {
		return false
	}
	title, _, ok := ww.lookup(c.Title, wk)
	if !ok {
		return false
	}
	c.Title = title
	if w.bot != "" && userName(c.User) == w.bot {
		w.stats.own.Add(1)
		w.log.Debug("own edit is no trigger; dropped", "wiki", c.Wiki, "title", c.Title,
			"rev_id", c.RevID)
		return false
	}
	return true
}

// foreign logs an event that names a configured wiki but another domain.
func (w *Watcher) foreign(e *rcEvent, wk *Wiki) {
	w.stats.foreign.Add(1)
	if ok, n := w.warn.foreign.allow(); ok {
		w.log.Warn("event names a configured wiki but another domain; dropped as another "+
			"farm's (check the wiki's domain in the config if this repeats)", "wiki", e.Wiki,
			"title", e.Title, "domain", e.Meta.Domain, "configured_domain", wk.Domain,
			"suppressed", n)
	}
}

// backoffState is a capped exponential backoff with jitter.
type backoffState struct {
	min, max time.Duration
	n        int
}

func backoffOf(lo, hi time.Duration) *backoffState {
	return &backoffState{min: lo, max: max(lo, hi)}
}

func (b *backoffState) reset() { b.n = 0 }

// next returns the wait before the next attempt: min doubled per attempt
// up to max, then a random half of it taken off, so that many clients cut
// off together do not come back together.
func (b *backoffState) next() time.Duration {
	d := b.min
	for i := 0; i < b.n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.n++
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
