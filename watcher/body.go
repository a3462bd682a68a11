package watcher

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// oversizedEvent is the event type given to the head of an event cut for
// being too large; the SSE reader takes the last "event:" line of an event,
// so the mark wins over the event's own "event: message".
const oversizedEvent = "courier-oversized"

// streamTransport wraps the body of every response in a cutBody.
type streamTransport struct {
	base   http.RoundTripper
	limit  int           // the largest event passed whole
	idle   time.Duration // drop a body silent this long; <= 0 never
	onIdle func()        // called when the body fell silent
}

// RoundTrip sends r and wraps the body of the response.
func (t *streamTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = newCutBody(resp.Body, t.limit, t.idle, t.onIdle)
	return resp, nil
}

// cutBody passes an SSE body through unchanged but for events longer than
// limit bytes: of those it passes the first limit bytes, then an
// "event: courier-oversized" line and the blank line that ends an event, and
// drops the rest up to the event's real end. The SSE reader (a
// bufio.Scanner) thus never meets an event larger than its buffer. Had it
// met one it would fail, and a resume from the last event id would fetch
// the same event and fail again, for ever.
//
// Event ends are found as the reader finds them: at "\n\n", "\r\r" or
// "\n\r\n". Reads holding no '\r' (every EventStreams read) take a fast
// path that visits only the '\n's.
type cutBody struct {
	rc    io.ReadCloser
	limit int
	run   int     // bytes of the current event passed so far
	skip  bool    // dropping the rest of a cut event
	tail  [2]byte // the last two bytes read, for ends split across reads
	mark  []byte  // the mark still to be returned
	held  []byte  // bytes read past a cut, to go through the filter next
	err   error   // the body's error, kept until mark and held are out

	idle  time.Duration
	timer *time.Timer
}

func newCutBody(rc io.ReadCloser, limit int, idle time.Duration, onIdle func()) *cutBody {
	b := &cutBody{rc: rc, limit: limit, idle: idle}
	if idle > 0 && onIdle != nil {
		b.timer = time.AfterFunc(idle, onIdle)
	}
	return b
}

// Read returns the next bytes of the filtered body.
func (b *cutBody) Read(p []byte) (int, error) {
	for {
		if len(b.mark) > 0 {
			n := copy(p, b.mark)
			b.mark = b.mark[n:]
			return n, nil
		}
		var n int
		var err error
		switch {
		case len(b.held) > 0:
			n = copy(p, b.held)
			b.held = b.held[n:]
		case b.err != nil:
			return 0, b.err
		default:
			n, err = b.rc.Read(p)
			if n > 0 && b.timer != nil {
				b.timer.Reset(b.idle)
			}
		}
		n = b.filter(p[:n])
		if err != nil && (len(b.mark) > 0 || len(b.held) > 0) {
			b.err, err = err, nil // returned once the mark and the rest are out
		}
		if n > 0 || err != nil || len(p) == 0 {
			return n, err
		}
	}
}

// Close stops the idle timer and closes the body.
func (b *cutBody) Close() error {
	if b.timer != nil {
		b.timer.Stop()
	}
	return b.rc.Close()
}

// filter rewrites p in place and returns how many of its bytes to pass.
func (b *cutBody) filter(p []byte) int {
	if b.skip {
		end := b.firstEnd(p)
		if end < 0 {
			return 0
		}
		b.skip, b.run = false, 0
		p = p[:copy(p, p[end:])]
	}
	cut := b.pass(p)
	if cut == len(p) {
		return cut
	}

	// The current event outgrew the limit at p[cut]: pass its head, then
	// the mark; what follows goes through the filter, skipping, next.
	b.held = append(append([]byte(nil), p[cut:]...), b.held...)
	b.mark = []byte("\nevent: " + oversizedEvent + "\n\n")
	b.setTail(p[:cut])
	if b.tail[1] == '\n' || b.tail[1] == '\r' {
		b.mark = b.mark[1:] // the line has ended already
	}
	b.skip = true
	return cut
}

// pass follows p as part of the stream, counting the bytes of the current
// event, and returns the index where the event outgrows the limit, or
// len(p).
func (b *cutBody) pass(p []byte) int {
	slow := bytes.IndexByte(p, '\r') >= 0
	start := 0 // where the current event starts in p
	for i := 0; ; {
		end := b.nextEnd(p, i, slow)
		if end < 0 {
			break
		}
		if b.run+end-start > b.limit {
			return start + b.limit - b.run
		}
		start, i, b.run = end, end, 0
	}
	if b.run+len(p)-start > b.limit {
		return start + b.limit - b.run
	}
	b.run += len(p) - start
	b.setTail(p)
	return len(p)
}

// firstEnd returns the index just past the first event end in p, or -1;
// it keeps the tail up to date either way.
func (b *cutBody) firstEnd(p []byte) int {
	end := b.nextEnd(p, 0, bytes.IndexByte(p, '\r') >= 0)
	if end < 0 {
		b.setTail(p)
		return -1
	}
	b.setTail(p[:end])
	return end
}

// nextEnd returns the index just past the first event end in p at or
// after from, or -1; slow says p holds a '\r', so that every byte must be
// looked at.
func (b *cutBody) nextEnd(p []byte, from int, slow bool) int {
	if slow {
		for k := from; k < len(p); k++ {
			if b.endsAt(p, k) {
				return k + 1
			}
		}
		return -1
	}
	// Without a '\r' in p, an end is "\n\n", or "\n\r\n" with the '\r'
	// at the end of the last read.
	for k := from; ; k++ {
		j := bytes.IndexByte(p[k:], '\n')
		if j < 0 {
			return -1
		}
		k += j
		if k > 0 && p[k-1] == '\n' || k == 0 && b.endsAt(p, 0) {
			return k + 1
		}
	}
}

// endsAt reports whether p[k] ends a blank line: "\n\n", "\r\r", "\n\r\n".
func (b *cutBody) endsAt(p []byte, k int) bool {
	c, prev, prev2 := p[k], b.before(p, k, 1), b.before(p, k, 2)
	switch c {
	case '\n':
		return prev == '\n' || prev == '\r' && prev2 == '\n'
	case '\r':
		return prev == '\r'
	}
	return false
}

// before returns the byte back bytes before p[k], from the tail when it
// was in an earlier read.
func (b *cutBody) before(p []byte, k, back int) byte {
	if k >= back {
		return p[k-back]
	}
	return b.tail[2-(back-k)]
}

// setTail records the last two bytes of the stream read so far, p being
// the newest.
func (b *cutBody) setTail(p []byte) {
	switch len(p) {
	case 0:
	case 1:
		b.tail = [2]byte{b.tail[1], p[0]}
	default:
		b.tail = [2]byte{p[len(p)-2], p[len(p)-1]}
	}
}
