package watcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/r3labs/sse/v2"
)

// frame renders one SSE event with the given line ending.
func frame(id int, data, nl string) string {
	return "event: message" + nl + "id: " + fmt.Sprint(id) + nl + "data: " + data + nl + nl
}

// chunked returns a reader that hands out r in reads of at most n bytes.
type chunked struct {
	r io.Reader
	n int
}

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// readEvents runs body through a cutBody and the library's event reader,
// whose buffer is just large enough for the cut body's events.
func readEvents(t *testing.T, body io.Reader, limit int) []*sse.Event {
	t.Helper()
	cb := newCutBody(io.NopCloser(body), limit, 0, nil)
	r := sse.NewEventStreamReader(cb, limit+1024)
	var out []*sse.Event
	for {
		raw, err := r.ReadEvent()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("ReadEvent: %v", err)
		}
		out = append(out, parseEvent(raw))
	}
}

// parseEvent splits a raw event into its fields as the library does.
func parseEvent(raw []byte) *sse.Event {
	raw = bytes.Clone(raw) // the reader reuses its buffer
	ev := &sse.Event{}
	for _, line := range bytes.FieldsFunc(raw, func(r rune) bool { return r == '\n' || r == '\r' }) {
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimPrefix(v, []byte(" "))
		switch string(k) {
		case "id":
			ev.ID = v
		case "event":
			ev.Event = v
		case "data":
			ev.Data = v
		}
	}
	return ev
}

func TestCutBodyPassesEventsUnchanged(t *testing.T) {
	for _, nl := range []string{"\n", "\r\n", "\r"} {
		var in strings.Builder
		for i := range 200 {
			in.WriteString(frame(i, strings.Repeat("d", i*7), nl))
		}
		for _, n := range []int{1, 2, 3, 7, 64, 4096, 1 << 20} {
			body := newCutBody(io.NopCloser(chunked{strings.NewReader(in.String()), n}),
				4096, 0, nil)
			got, err := io.ReadAll(body)
			if err != nil || string(got) != in.String() {
				t.Errorf("nl %q, reads of %d: body changed (err %v)", nl, n, err)
			}
		}
	}
}

func TestCutBodySkipsOversizedEvent(t *testing.T) {
	const limit = 1000
	for _, nl := range []string{"\n", "\r\n", "\r"} {
		for _, n := range []int{1, 5, 333, 4096, 1 << 20} {
			in := frame(1, "small", nl) + frame(2, strings.Repeat("x", 5000), nl) +
				frame(3, strings.Repeat("y", limit-40), nl) +
				frame(4, strings.Repeat("z", 3*limit), nl) + frame(5, "after", nl)
			evs := readEvents(t, chunked{strings.NewReader(in), n}, limit)
			got := describe(evs)
			want := "1 message small|2 courier-oversized x|3 message y|" +
				"4 courier-oversized z|5 message after|"
			if got != want {
				t.Errorf("nl %q, reads of %d:\n got %s\nwant %s", nl, n, got, want)
			}
		}
	}
}

// describe renders events as "id type first-letter-of-data|".
func describe(evs []*sse.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		d := string(ev.Data)
		if len(d) > 5 {
			d = d[:1]
		}
		fmt.Fprintf(&b, "%s %s %s|", ev.ID, ev.Event, d)
	}
	return b.String()
}

func TestCutBodyKeepsErrorUntilMarkIsOut(t *testing.T) {
	boom := errors.New("boom")
	in := frame(1, strings.Repeat("x", 3000), "\n")
	r := io.MultiReader(strings.NewReader(in), iotest.ErrReader(boom))
	body := newCutBody(io.NopCloser(iotest.DataErrReader(r)), 1000, 0, nil)
	got, err := io.ReadAll(body)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if !bytes.HasSuffix(got, []byte("\nevent: "+oversizedEvent+"\n\n")) || len(got) > 1100 {
		t.Errorf("body = %d bytes ending %q", len(got), got[max(0, len(got)-40):])
	}
}
