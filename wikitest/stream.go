package wikitest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Topic is the Kafka topic that the stream's event ids name, as on
// Wikimedia's EventStreams for the recentchange stream.
const Topic = "eqiad.mediawiki.recentchange"

// StreamName is the meta.stream of every event the bridge publishes.
const StreamName = "mediawiki.recentchange"

// ErrStreamClosed is returned by the stream's waits once it is closed.
var ErrStreamClosed = errors.New("wikitest: stream closed")

// Stream is an EventStreams-compatible server-sent-events endpoint on
// 127.0.0.1, fed by the recent-changes bridge and by test hooks. Every GET,
// whatever the path, is a subscription: it answers text/event-stream with one
// frame per event,
//
//	event: message
//	id: [{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":N}]
//	data: {...}
//
// followed by a blank line. A Last-Event-ID header holding such an id (or one
// with "timestamp" in milliseconds instead of "offset") resumes after it; a
// since= parameter (ISO 8601, or milliseconds since the epoch) starts at that
// time; without either the subscription starts at the end of the log. An id
// that does not parse is answered with HTTP 400, as is any id while
// RefuseLastEventID is on. The log is kept in memory, in full, for the
// stream's life: nothing expires.
//
// Frames are written to the connection as they come and flushed whenever the
// subscriber has caught up, so a live event is on the wire at once while a
// replay of a long backlog is sent in large writes.
type Stream struct {
	// URL is the subscription URL, http://127.0.0.1:PORT/v2/stream/recentchange;
	// any other path on the same port serves the same stream.
	URL string

	addr string // 127.0.0.1:PORT, kept so Restart listens on the same port

	mu       sync.Mutex
	log      []entry
	grown    chan struct{} // closed and replaced whenever log grows or a hook changes
	srv      *http.Server
	serving  sync.WaitGroup // the Serve goroutine of srv
	down     chan struct{}  // closed by Stop and Close to end every subscription
	active   int            // handlers running; Stop waits for none
	requests []StreamRequest
	open     int
	refuseID bool
	fault    *streamFault
	closed   bool
}

// entry is one event of the log, its SSE frame rendered once.
type entry struct {
	at    time.Time // when it was appended; since= searches on it
	frame []byte    // the whole frame, ending with the blank line
	data  []byte    // the JSON, a slice of frame when it is one line
}

// streamFault is a DropAfter or CloseAfter armed on the stream.
type streamFault struct {
	drop  bool // abort the connection; otherwise end the response cleanly
	after int  // events to send first
	used  bool // it has fired on some connection
}

// StreamRequest is what one subscription asked for.
type StreamRequest struct {
	Path        string    // the request path
	LastEventID string    // the Last-Event-ID header, "" if none
	Since       string    // the since= parameter, "" if none
	UserAgent   string    // the User-Agent header
	Status      int       // 200, or the error status it was answered with
	At          time.Time // when it arrived
}

// Event is one event of the stream's log.
type Event struct {
	Offset int64     // its offset in partition 0 of Topic
	Time   time.Time // when it was appended
	Data   []byte    // the JSON of the data field (do not modify)
}

// Change decodes the fields of a recent-changes event that tests look at.
func (e Event) Change() (Change, error) {
	var c Change
	if err := json.Unmarshal(e.Data, &c); err != nil {
		return c, fmt.Errorf("decode event %d: %w", e.Offset, err)
	}
	c.Offset = e.Offset
	return c, nil
}

// Change is a recent-changes event as MediaWiki's JSONRCFeedFormatter writes
// it, with the meta block that the bridge adds. Pointer fields are null or
// absent in some events (log entries have no revision, new pages no old one).
type Change struct {
	Offset     int64    `json:"-"` // the event's stream offset
	Meta       Meta     `json:"meta"`
	ID         *int64   `json:"id"`   // the rc_id
	Type       string   `json:"type"` // edit, new, log, categorize
	Namespace  int      `json:"namespace"`
	Title      string   `json:"title"` // prefixed text, "Meta:Foo bar"
	Comment    string   `json:"comment"`
	Timestamp  int64    `json:"timestamp"` // Unix seconds
	User       string   `json:"user"`
	Bot        bool     `json:"bot"`
	Minor      bool     `json:"minor"`
	Length     *LenPair `json:"length"`
	Revision   *RevPair `json:"revision"`
	LogType    string   `json:"log_type"`
	LogAction  string   `json:"log_action"`
	ServerURL  string   `json:"server_url"`
	ServerName string   `json:"server_name"`
	Wiki       string   `json:"wiki"`
}

// NewRevision returns revision.new, or 0 when the event has none.
func (c Change) NewRevision() int64 {
	if c.Revision == nil || c.Revision.New == nil {
		return 0
	}
	return *c.Revision.New
}

// LenPair is the length block of an edit event: page sizes before and after.
type LenPair struct {
	Old *int `json:"old"`
	New *int `json:"new"`
}

// RevPair is the revision block of an edit event: the revision ids before
// and after.
type RevPair struct {
	Old *int64 `json:"old"`
	New *int64 `json:"new"`
}

// Meta is the meta block of an event, as Wikimedia's event pipeline adds it.
type Meta struct {
	URI       string `json:"uri"`
	ID        string `json:"id"`
	DT        string `json:"dt"`
	Domain    string `json:"domain"`
	Stream    string `json:"stream"`
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
}

// NewStream starts a stream with an empty log on a free port of 127.0.0.1.
// Start makes one fed by its wikis; a stream of its own is for tests that
// only need to replay or inject events.
func NewStream() (*Stream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for stream: %w", err)
	}
	s := &Stream{addr: ln.Addr().String(), grown: make(chan struct{})}
	s.URL = "http://" + s.addr + "/v2/stream/recentchange"
	s.serve(ln)
	return s, nil
}

// serve starts an http.Server on ln; the caller holds no lock.
func (s *Stream) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.down = make(chan struct{})
	s.mu.Unlock()
	s.serving.Add(1)
	// Owned by the stream: Stop and Close shut srv down and wait for it.
	go func() {
		defer s.serving.Done()
		_ = srv.Serve(ln)
	}()
}

// Close stops the stream for good and waits for its goroutines.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.broadcastLocked()
	s.mu.Unlock()
	s.Stop()
	return nil
}

// Stop takes the stream down as a crashed server would: the listener closes
// and every open subscription is cut. Events appended meanwhile are kept, so
// a client that resumes after Restart gets them.
func (s *Stream) Stop() {
	s.mu.Lock()
	srv, down := s.srv, s.down
	s.srv = nil
	if down != nil {
		close(down)
		s.down = nil
	}
	s.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	s.serving.Wait()
	_ = s.waitUntil(context.Background(), func() bool { return s.active == 0 })
}

// Restart brings a stopped stream up again on the same port.
func (s *Stream) Restart() error {
	s.mu.Lock()
	running, closed := s.srv != nil, s.closed
	s.mu.Unlock()
	if closed {
		return ErrStreamClosed
	}
	if running {
		return nil
	}
	var ln net.Listener
	var err error
	// The port was ours a moment ago; a busy kernel may need a beat to let go.
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("listen again for stream: %w", err)
	}
	s.serve(ln)
	return nil
}

// RefuseLastEventID makes every subscription that carries a Last-Event-ID
// header fail with HTTP 400 while on, as EventStreams does for a position it
// can no longer serve.
func (s *Stream) RefuseLastEventID(on bool) {
	s.mu.Lock()
	s.refuseID = on
	s.mu.Unlock()
}

// DropAfter arms a one-shot fault: the first subscription to send n more
// events (counted from now, or from its start if it opens later) has its
// connection aborted right after them, without the chunked terminator, as a
// network failure would. n may be 0.
func (s *Stream) DropAfter(n int) { s.arm(&streamFault{drop: true, after: n}) }

// CloseAfter arms a one-shot fault like DropAfter, but the response ends
// cleanly, as when EventStreams closes a long-lived connection.
func (s *Stream) CloseAfter(n int) { s.arm(&streamFault{after: n}) }

func (s *Stream) arm(f *streamFault) {
	s.mu.Lock()
	s.fault = f
	s.broadcastLocked()
	s.mu.Unlock()
}

// Connections returns how many subscriptions the stream has received, the
// refused ones included.
func (s *Stream) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Open returns how many subscriptions are being served now.
func (s *Stream) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// Requests returns what each subscription asked for, oldest first.
func (s *Stream) Requests() []StreamRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StreamRequest(nil), s.requests...)
}

// Last returns the offset of the newest event, or -1 when the log is empty.
func (s *Stream) Last() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.log)) - 1
}

// Events returns the events from offset from (inclusive) to the end.
func (s *Stream) Events(from int64) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from < 0 {
		from = 0
	}
	var out []Event
	for i := from; i < int64(len(s.log)); i++ {
		out = append(out, Event{Offset: i, Time: s.log[i].at, Data: s.log[i].data})
	}
	return out
}

// EventID returns the SSE id of the event at offset, the value a client
// sends back as Last-Event-ID to resume after it.
func EventID(offset int64) string {
	return `[{"topic":"` + Topic + `","partition":0,"offset":` +
		strconv.FormatInt(offset, 10) + `}]`
}

// WaitFor blocks until the log holds an event at offset.
func (s *Stream) WaitFor(ctx context.Context, offset int64) error {
	return s.waitUntil(ctx, func() bool { return int64(len(s.log)) > offset })
}

// WaitConnections blocks until the stream has received n subscriptions.
func (s *Stream) WaitConnections(ctx context.Context, n int) error {
	return s.waitUntil(ctx, func() bool { return len(s.requests) >= n })
}

// WaitChange blocks until an event after offset after satisfies match and
// returns it. Pass after = s.Last() taken before the action under test;
// events that do not decode as changes are skipped.
func (s *Stream) WaitChange(ctx context.Context, after int64,
	match func(Change) bool) (Change, error) {
	next := after + 1
	for {
		s.mu.Lock()
		var batch []Event
		for ; next < int64(len(s.log)); next++ {
			batch = append(batch, Event{Offset: next, Time: s.log[next].at, Data: s.log[next].data})
		}
		wake, closed := s.grown, s.closed
		s.mu.Unlock()

		for _, ev := range batch {
			if c, err := ev.Change(); err == nil && match(c) {
				return c, nil
			}
		}
		if closed {
			return Change{}, ErrStreamClosed
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return Change{}, fmt.Errorf("wait for change after offset %d: %w", after, ctx.Err())
		}
	}
}

// waitUntil blocks until cond, called under s.mu, is true.
func (s *Stream) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, wake, closed := cond(), s.grown, s.closed
		s.mu.Unlock()
		if ok {
			return nil
		}
		if closed {
			return ErrStreamClosed
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("wait on stream: %w", ctx.Err())
		}
	}
}

// broadcastLocked wakes every waiter; s.mu must be held.
func (s *Stream) broadcastLocked() {
	close(s.grown)
	s.grown = make(chan struct{})
}

// Append adds raw to the log verbatim as the data of a new event and returns
// its offset. raw is not checked nor given a meta block: it is how a replay
// benchmark feeds recorded events, or a test feeds a malformed one. Lines of
// a multi-line raw become several data: lines, which SSE joins back.
func (s *Stream) Append(raw []byte) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(raw, time.Now())
}

func (s *Stream) appendLocked(raw []byte, now time.Time) int64 {
	offset := int64(len(s.log))
	if n := len(s.log); n > 0 && now.Before(s.log[n-1].at) {
		now = s.log[n-1].at // keep times ordered for since=
	}
	id := EventID(offset)
	frame := make([]byte, 0, len(raw)+len(id)+40)
	frame = append(frame, "event: message\nid: "...)
	frame = append(frame, id...)
	frame = append(frame, '\n')
	var data []byte
	if bytes.IndexAny(raw, "\r\n") < 0 {
		frame = append(frame, "data: "...)
		start := len(frame)
		frame = append(frame, raw...)
		data = frame[start:len(frame):len(frame)]
		frame = append(frame, '\n')
	} else {
		lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
		for _, line := range lines {
			frame = append(frame, "data: "...)
			frame = append(frame, line...)
			frame = append(frame, '\n')
		}
		data = append([]byte(nil), raw...)
	}
	frame = append(frame, '\n')
	s.log = append(s.log, entry{at: now, frame: frame, data: data})
	s.broadcastLocked()
	return offset
}

// Publish adds event to the log with a meta block for domain, as the bridge
// does for a wiki's change, and returns its offset. event's own "meta", if
// any, is replaced; other keys are kept (in Go's sorted order). It panics if
// event does not marshal, which is a bug in the calling test.
func (s *Stream) Publish(domain string, event map[string]any) int64 {
	body, uri := marshalEvent(event)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publishLocked(domain, uri, body, time.Now())
}

// marshalEvent renders event without its meta and finds its page's URI.
func marshalEvent(event map[string]any) (body []byte, uri string) {
	clean := make(map[string]any, len(event))
	for k, v := range event {
		if k != "meta" {
			clean[k] = v
		}
	}
	body, err := json.Marshal(clean)
	if err != nil {
		panic(fmt.Sprintf("wikitest: event does not marshal: %v", err))
	}
	if u, ok := clean["server_url"].(string); ok {
		if t, ok := clean["title"].(string); ok {
			uri = pageURI(u, t)
		}
	}
	return body, uri
}

// publishLocked splices a meta block into the JSON object body, right after
// its opening brace, so every other byte stays as the producer wrote it
// (MediaWiki's key order and nulls included); s.mu must be held.
func (s *Stream) publishLocked(domain, uri string, body []byte, now time.Time) int64 {
	meta := renderMeta(domain, uri, int64(len(s.log)), now)
	out := make([]byte, 0, len(body)+len(meta)+10)
	out = append(out, `{"meta":`...)
	out = append(out, meta...)
	rest := bytes.TrimSpace(body)
	rest = bytes.TrimSpace(rest[min(1, len(rest)):])
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	out = append(out, rest...)
	return s.appendLocked(out, now)
}

// renderMeta renders the meta block of the event at offset.
func renderMeta(domain, uri string, offset int64, now time.Time) []byte {
	meta, _ := json.Marshal(Meta{
		URI: uri, ID: newUUID(), DT: now.UTC().Format("2006-01-02T15:04:05.000Z"),
		Domain: domain, Stream: StreamName, Topic: Topic, Partition: 0, Offset: offset,
	})
	return meta
}

// Canary publishes a canary event, as Wikimedia's pipeline sends into every
// stream to check it end to end: meta.domain is "canary". Consumers are
// expected to drop it.
func (s *Stream) Canary() int64 {
	return s.Publish("canary", map[string]any{
		"type": "edit", "namespace": 0, "title": "Canary", "comment": "canary event",
		"timestamp": time.Now().Unix(), "user": "Canary", "bot": false,
		"server_url": "https://canary", "server_name": "canary",
		"server_script_path": "/w", "wiki": "canary",
	})
}

// Foreign publishes an edit of a wiki that the consumer does not serve,
// with the given wiki ID and domain, and returns its offset.
func (s *Stream) Foreign(wikiID, domain string) int64 {
	return s.Publish(domain, foreignEdit(wikiID, domain, "Foreign page", ""))
}

// Oversized publishes an edit of another wiki whose data is n bytes long
// (padded in its comment; an n too small for an event gives the smallest
// one), as a stress case for a consumer's line buffer, and returns its offset.
func (s *Stream) Oversized(n int) int64 {
	const wiki, domain = "oversizedwiki", "oversized.wikitest.local"
	ev := foreignEdit(wiki, domain, "Oversized page", "")
	body, uri := marshalEvent(ev)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	// The spliced event is the body, the meta block and `"meta":,`.
	size := len(body) + len(renderMeta(domain, uri, int64(len(s.log)), now)) + len(`"meta":,`)
	if pad := n - size; pad > 0 {
		ev["comment"] = strings.Repeat("x", pad)
		body, _ = marshalEvent(ev)
	}
	return s.publishLocked(domain, uri, body, now)
}

// foreignEdit is an edit event shaped as MediaWiki writes them.
func foreignEdit(wikiID, domain, title, comment string) map[string]any {
	return map[string]any{
		"id": 1, "type": "edit", "namespace": 0, "title": title, "comment": comment,
		"timestamp": time.Now().Unix(), "user": "Someone", "bot": false, "minor": false,
		"length":     map[string]any{"old": 10, "new": 20},
		"revision":   map[string]any{"old": 100, "new": 101},
		"server_url": "https://" + domain, "server_name": domain,
		"server_script_path": "/w", "wiki": wikiID,
	}
}

// pageURI is the meta.uri of an event about title on the wiki at serverURL.
func pageURI(serverURL, title string) string {
	return serverURL + "/index.php/" + wikiURLEncode(strings.ReplaceAll(title, " ", "_"))
}

// wikiURLEncode escapes a title for a path the way MediaWiki's wfUrlencode
// does: everything but a few punctuation marks that are safe in paths.
func wikiURLEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			strings.IndexByte("-_.!~*'();:@$,/", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handle serves one subscription.
func (s *Stream) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.broadcastLocked()
		s.mu.Unlock()
	}()

	req := StreamRequest{
		Path: r.URL.Path, LastEventID: r.Header.Get("Last-Event-ID"),
		Since: r.URL.Query().Get("since"), UserAgent: r.UserAgent(), At: time.Now(),
	}
	if r.Method != http.MethodGet {
		s.refuse(w, req, http.StatusMethodNotAllowed, "only GET subscribes")
		return
	}

	s.mu.Lock()
	refuse, down := s.refuseID, s.down
	s.mu.Unlock()
	if refuse && req.LastEventID != "" {
		s.refuse(w, req, http.StatusBadRequest, "Last-Event-ID refused")
		return
	}
	start, err := s.position(req)
	if err != nil {
		s.refuse(w, req, http.StatusBadRequest, err.Error())
		return
	}

	req.Status = http.StatusOK
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.open++
	s.broadcastLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.open--
		s.mu.Unlock()
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	s.send(r.Context(), w, rc, start, down)
}

// send writes events from index next until the client leaves, the stream
// goes down or an armed fault fires.
func (s *Stream) send(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController,
	next int64, down chan struct{}) {
	var fault *streamFault // the fault this subscription is counting for
	sent := 0              // events sent since fault was armed
	// A large buffer makes a replay of a long backlog a few big writes.
	bw := bufio.NewWriterSize(w, 64<<10)
	for {
		s.mu.Lock()
		if s.fault != fault {
			fault, sent = s.fault, 0
		}
		limit := int64(len(s.log))
		if fault != nil && !fault.used {
			if remaining := int64(fault.after - sent); next+remaining < limit {
				limit = next + remaining
			}
		}
		batch := s.log[next:limit]
		wake := s.grown
		s.mu.Unlock()

		for _, e := range batch {
			if _, err := bw.Write(e.frame); err != nil {
				return
			}
		}
		next += int64(len(batch))
		sent += len(batch)
		if err := bw.Flush(); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}

		if fault != nil && sent >= fault.after && s.claim(fault) {
			if fault.drop {
				// net/http closes the connection without finishing the
				// chunked body: the client sees it cut mid-stream.
				panic(http.ErrAbortHandler)
			}
			return
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-wake:
		case <-down:
			return
		case <-ctx.Done():
			return
		}
	}
}

// claim marks fault used if it still is the armed, unused fault, and
// reports whether this caller got it.
func (s *Stream) claim(f *streamFault) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fault != f || f.used {
		return false
	}
	f.used = true
	s.fault = nil
	return true
}

// refuse answers a subscription with an error status and records it.
func (s *Stream) refuse(w http.ResponseWriter, req StreamRequest, status int, msg string) {
	req.Status = status
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.broadcastLocked()
	s.mu.Unlock()
	http.Error(w, msg, status)
}

// position returns the index of the first event a subscription gets.
func (s *Stream) position(req StreamRequest) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := int64(len(s.log))
	switch {
	case req.LastEventID != "":
		offset, at, err := parseEventID(req.LastEventID)
		if err != nil {
			return 0, err
		}
		if at.IsZero() {
			return min(max(offset+1, 0), end), nil
		}
		return s.indexAtLocked(at), nil
	case req.Since != "":
		at, err := parseSince(req.Since)
		if err != nil {
			return 0, err
		}
		return s.indexAtLocked(at), nil
	default:
		return end, nil
	}
}

// indexAtLocked returns the index of the first event appended at or after t.
func (s *Stream) indexAtLocked(t time.Time) int64 {
	return int64(sort.Search(len(s.log), func(i int) bool { return !s.log[i].at.Before(t) }))
}

// parseEventID reads a Last-Event-ID: a JSON array of {topic, partition,
// offset} or {topic, partition, timestamp} objects; the entry for a
// mediawiki.recentchange topic counts.
func parseEventID(id string) (offset int64, at time.Time, err error) {
	var parts []struct {
		Topic     string `json:"topic"`
		Partition *int   `json:"partition"`
		Offset    *int64 `json:"offset"`
		Timestamp *int64 `json:"timestamp"`
	}
	if err := json.Unmarshal([]byte(id), &parts); err != nil {
		return 0, at, fmt.Errorf("Last-Event-ID is not a JSON array of positions: %w", err)
	}
	for _, p := range parts {
		if !strings.HasSuffix(p.Topic, StreamName) || p.Partition == nil || *p.Partition != 0 {
			continue
		}
		switch {
		case p.Offset != nil:
			return *p.Offset, at, nil
		case p.Timestamp != nil:
			return 0, time.UnixMilli(*p.Timestamp), nil
		}
	}
	return 0, at, fmt.Errorf("Last-Event-ID has no offset or timestamp for %s partition 0", Topic)
}

// parseSince reads a since= value: milliseconds since the epoch, or an ISO
// 8601 date-time.
func parseSince(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700",
		"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("since=%q is neither ISO 8601 nor milliseconds", v)
}
