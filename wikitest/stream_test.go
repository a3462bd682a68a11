package wikitest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one frame as a subscriber reads it.
type sseEvent struct {
	name, id, data string
}

// sseConn is a minimal EventStreams subscriber for the tests.
type sseConn struct {
	resp *http.Response
	r    *bufio.Reader
}

// subscribe opens a subscription; lastID and since may be "".
func subscribe(ctx context.Context, t *testing.T, streamURL, lastID, since string) *sseConn {
	t.Helper()
	c, status, err := trySubscribe(ctx, streamURL, lastID, since)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if status != http.StatusOK {
		t.Fatalf("subscribe: status %d", status)
	}
	t.Cleanup(func() { c.resp.Body.Close() })
	return c
}

func trySubscribe(ctx context.Context, streamURL, lastID, since string) (*sseConn, int, error) {
	u := streamURL
	if since != "" {
		u += "?since=" + url.QueryEscape(since)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp.StatusCode, nil
	}
	return &sseConn{resp: resp, r: bufio.NewReaderSize(resp.Body, 1<<20)}, resp.StatusCode, nil
}

// next reads one frame.
func (c *sseConn) next() (sseEvent, error) {
	var ev sseEvent
	var data []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.name == "" && ev.id == "" && data == nil {
				continue
			}
			ev.data = strings.Join(data, "\n")
			return ev, nil
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

// readN reads n frames or fails the test.
func (c *sseConn) readN(t *testing.T, n int) []sseEvent {
	t.Helper()
	out := make([]sseEvent, 0, n)
	for len(out) < n {
		ev, err := c.next()
		if err != nil {
			t.Fatalf("read event %d of %d: %v", len(out)+1, n, err)
		}
		out = append(out, ev)
	}
	return out
}

func newTestStream(t *testing.T) *Stream {
	t.Helper()
	s, err := NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func appendN(s *Stream, n int) {
	for i := 0; i < n; i++ {
		s.Append([]byte(fmt.Sprintf(`{"n":%d}`, i)))
	}
}

func TestStreamFramesAndLastEventIDResume(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	appendN(s, 3)

	// Without a position the subscription starts at the end.
	live := subscribe(ctx, t, s.URL, "", "")
	if got := live.resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/event-stream") {
		t.Errorf("Content-Type = %q", got)
	}
	s.Append([]byte(`{"n":3}`))
	ev := live.readN(t, 1)[0]
	if ev.name != "message" || ev.id != EventID(3) || ev.data != `{"n":3}` {
		t.Errorf("live event = %+v, want message, %s, n 3", ev, EventID(3))
	}
	want := `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":3}]`
	if ev.id != want {
		t.Errorf("id = %s, want %s", ev.id, want)
	}

	// Resuming after offset 0 replays 1, 2, 3.
	resumed := subscribe(ctx, t, s.URL, EventID(0), "")
	for i, ev := range resumed.readN(t, 3) {
		if ev.data != fmt.Sprintf(`{"n":%d}`, i+1) {
			t.Errorf("resumed event %d = %s", i, ev.data)
		}
	}

	// A timestamp position works as EventStreams allows.
	byTime := `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":0}]`
	all := subscribe(ctx, t, s.URL, byTime, "")
	if ev := all.readN(t, 1)[0]; ev.data != `{"n":0}` {
		t.Errorf("timestamp resume starts at %s", ev.data)
	}

	reqs := s.Requests()
	if len(reqs) != 3 || reqs[1].LastEventID != EventID(0) || s.Connections() != 3 {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestStreamSince(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	appendN(s, 2)
	time.Sleep(20 * time.Millisecond)
	cut := time.Now()
	time.Sleep(20 * time.Millisecond)
	s.Append([]byte(`{"after":1}`))

	for _, since := range []string{
		strconv.FormatInt(cut.UnixMilli(), 10),
		cut.UTC().Format("2006-01-02T15:04:05.000Z"),
	} {
		c := subscribe(ctx, t, s.URL, "", since)
		if ev := c.readN(t, 1)[0]; ev.data != `{"after":1}` {
			t.Errorf("since=%s starts at %s", since, ev.data)
		}
		if got := s.Requests()[s.Connections()-1].Since; got != since {
			t.Errorf("recorded since = %q, want %q", got, since)
		}
	}
	c := subscribe(ctx, t, s.URL, "", "2000-01-01T00:00:00Z")
	if ev := c.readN(t, 1)[0]; ev.data != `{"n":0}` {
		t.Errorf("since 2000 starts at %s", ev.data)
	}
}

func TestStreamAnswers400ToBadOrRefusedLastEventID(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	appendN(s, 1)
	for _, id := range []string{"garbage", `[{"topic":"other","partition":0,"offset":1}]`, "[]"} {
		if _, status, err := trySubscribe(ctx, s.URL, id, ""); err != nil || status != 400 {
			t.Errorf("Last-Event-ID %s: status %d, err %v; want 400", id, status, err)
		}
	}
	if _, status, _ := trySubscribe(ctx, s.URL, "", "not a time"); status != 400 {
		t.Errorf("bad since: status %d, want 400", status)
	}

	s.RefuseLastEventID(true)
	if _, status, _ := trySubscribe(ctx, s.URL, EventID(0), ""); status != 400 {
		t.Errorf("refused id: status %d, want 400", status)
	}
	if _, status, _ := trySubscribe(ctx, s.URL, "", ""); status != 200 {
		t.Errorf("no id while refusing: status %d, want 200", status)
	}
	s.RefuseLastEventID(false)
	if _, status, _ := trySubscribe(ctx, s.URL, EventID(0), ""); status != 200 {
		t.Errorf("id after refusing: status %d, want 200", status)
	}
	if got := s.Requests()[0].Status; got != 400 {
		t.Errorf("recorded status = %d", got)
	}
}

func TestStreamDropAfterCutsTheConnection(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	appendN(s, 10)
	s.DropAfter(3)
	c := subscribe(ctx, t, s.URL, EventID(-1), "")
	c.readN(t, 3)
	_, err := c.next()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("after 3 events: err = %v, want unexpected EOF (no chunked terminator)", err)
	}

	// The fault was used up: the next subscription runs on.
	c = subscribe(ctx, t, s.URL, EventID(-1), "")
	c.readN(t, 10)
}

func TestStreamDropAfterZeroCutsAnIdleConnection(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	c := subscribe(ctx, t, s.URL, "", "")
	s.DropAfter(0)
	if _, err := c.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want unexpected EOF", err)
	}
}

func TestStreamCloseAfterEndsCleanly(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	c := subscribe(ctx, t, s.URL, "", "")
	s.CloseAfter(2)
	appendN(s, 5)
	c.readN(t, 2)
	if _, err := c.next(); err != io.EOF {
		t.Errorf("after 2 events: err = %v, want a clean EOF", err)
	}
}

func TestStreamStopAndRestart(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	appendN(s, 1)
	c := subscribe(ctx, t, s.URL, EventID(-1), "")
	last := c.readN(t, 1)[0]

	s.Stop()
	if _, err := c.next(); err == nil {
		t.Error("subscription survived Stop")
	}
	if _, _, err := trySubscribe(ctx, s.URL, "", ""); err == nil {
		t.Error("subscribed while stopped")
	}
	s.Append([]byte(`{"while":"down"}`))

	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	c = subscribe(ctx, t, s.URL, last.id, "")
	if ev := c.readN(t, 1)[0]; ev.data != `{"while":"down"}` {
		t.Errorf("after restart got %s", ev.data)
	}
	if !strings.Contains(s.URL, s.addr) {
		t.Errorf("URL %s is not on %s", s.URL, s.addr)
	}
}

func TestStreamCanaryForeignOversized(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	c := subscribe(ctx, t, s.URL, "", "")

	canary := s.Canary()
	foreign := s.Foreign("dewiki", "de.wikipedia.org")
	big := s.Oversized(1 << 20)
	evs := c.readN(t, 3)

	var ch Change
	if err := json.Unmarshal([]byte(evs[0].data), &ch); err != nil || ch.Meta.Domain != "canary" {
		t.Errorf("canary = %s (%v)", evs[0].data, err)
	}
	if err := json.Unmarshal([]byte(evs[1].data), &ch); err != nil ||
		ch.Meta.Domain != "de.wikipedia.org" || ch.Wiki != "dewiki" || ch.Type != "edit" ||
		ch.Meta.Offset != foreign || ch.Meta.Stream != StreamName || ch.Meta.Topic != Topic {
		t.Errorf("foreign = %s (%v)", evs[1].data, err)
	}
	if len(evs[2].data) != 1<<20 {
		t.Errorf("oversized event is %d bytes, want %d", len(evs[2].data), 1<<20)
	}
	if err := json.Unmarshal([]byte(evs[2].data), &ch); err != nil || ch.Meta.Offset != big {
		t.Errorf("oversized event does not decode: %v", err)
	}
	if canary != 0 || s.Last() != 2 {
		t.Errorf("offsets: canary %d, last %d", canary, s.Last())
	}
}

func TestStreamMultiLineAppend(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	c := subscribe(ctx, t, s.URL, "", "")
	s.Append([]byte("{\n\"a\": 1\n}"))
	if ev := c.readN(t, 1)[0]; ev.data != "{\n\"a\": 1\n}" {
		t.Errorf("data = %q", ev.data)
	}
}

// TestStreamReplaysABigBacklogFast appends 200,000 events of 1 KiB and
// reads them all back through one subscription.
func TestStreamReplaysABigBacklogFast(t *testing.T) {
	if testing.Short() {
		t.Skip("replay of 200 MiB skipped in -short")
	}
	s := newTestStream(t)
	ctx := testCtx(t)
	n := 200_000
	if raceEnabled {
		n = 20_000
	}
	event := []byte(`{"pad":"` + strings.Repeat("x", 1024-10) + `"}`)

	began := time.Now()
	for i := 0; i < n; i++ {
		s.Append(event)
	}
	appended := time.Since(began)

	began = time.Now()
	c := subscribe(ctx, t, s.URL, EventID(-1), "")
	var bytes int
	for i := 0; i < n; i++ {
		ev, err := c.next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		bytes += len(ev.data)
	}
	read := time.Since(began)
	t.Logf("%d events of 1 KiB: appended in %v, replayed in %v (%.0f MiB/s)",
		n, appended, read, float64(bytes)/read.Seconds()/(1<<20))
	if !raceEnabled && (appended > 10*time.Second || read > 20*time.Second) {
		t.Errorf("too slow: append %v, replay %v", appended, read)
	}
}

func TestStreamWaits(t *testing.T) {
	s := newTestStream(t)
	ctx := testCtx(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(10 * time.Millisecond)
		appendN(s, 2)
	}()
	err := s.WaitFor(ctx, 1)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.WaitFor(short, 5); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor a future offset: %v", err)
	}
	s.Foreign("xwiki", "x.example")
	ch, err := s.WaitChange(ctx, -1, func(c Change) bool { return c.Wiki == "xwiki" })
	if err != nil || ch.Offset != 2 || ch.Meta.Domain != "x.example" {
		t.Errorf("WaitChange = %+v, %v", ch, err)
	}
}
