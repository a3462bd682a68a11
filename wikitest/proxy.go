package wikitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is what a Proxy does to a request that a Fault matches.
type FaultKind int

// The faults a Proxy injects. Maxlag, RateLimited, ReadOnly, HTTPStatus and
// Drop answer in the wiki's place: the request never reaches it, so an
// injected edit is never saved. Slow and LoseAnswer let the wiki do the
// request and then delay or lose its answer, the cases where a client cannot
// know whether its edit was saved.
const (
	// Maxlag answers as MediaWiki does when replication lag exceeds the
	// request's maxlag parameter: the API error maxlag with lag, type and
	// host, and the headers Retry-After and X-Database-Lag. Like
	// MediaWiki, it only hits requests that carry maxlag (smaller than
	// Fault.Lag); others pass.
	Maxlag FaultKind = iota + 1
	// RateLimited answers the API error ratelimited.
	RateLimited
	// ReadOnly answers the API error readonly with a readonlyreason.
	ReadOnly
	// HTTPStatus answers Fault.Status (default 503) with an HTML error page
	// and, if Fault.RetryAfter > 0, a Retry-After header.
	HTTPStatus
	// Slow passes the request to the wiki at once and holds its answer for
	// Fault.Delay (default 2s).
	Slow
	// Drop closes the connection without an answer before the wiki sees
	// the request.
	Drop
	// LoseAnswer passes the request to the wiki, waits for its answer and
	// then closes the connection without sending it.
	LoseAnswer
)

var faultNames = map[FaultKind]string{
	Maxlag: "maxlag", RateLimited: "ratelimited", ReadOnly: "readonly",
	HTTPStatus: "http-status", Slow: "slow", Drop: "drop", LoseAnswer: "lose-answer",
}

// String names the fault kind.
func (k FaultKind) String() string {
	if n, ok := faultNames[k]; ok {
		return n
	}
	return "none"
}

// Fault is a rule of a Proxy: which requests it matches and what it does.
type Fault struct {
	Kind FaultKind

	// Action matches the request's action parameter ("edit", "query",
	// "login", ...; "tokens" matches action=query with meta=tokens); ""
	// matches any request.
	Action string
	// Param, if set, must be present in the request, equal to Value
	// unless Value is "".
	Param, Value string

	// Times limits the rule to the next Times requests it hits; 0 hits
	// every matching request until Clear.
	Times int
	// Probability, if above 0, hits each matching request with that
	// chance, drawn from the proxy's seeded generator (see Seed).
	Probability float64

	Status     int           // HTTPStatus: the status, default 503
	RetryAfter int           // HTTPStatus: seconds for Retry-After; 0 sends none
	Lag        float64       // Maxlag: the reported lag in seconds, default 7
	Delay      time.Duration // Slow: how long the answer is held, default 2s
	Reason     string        // ReadOnly: the readonlyreason, default "wikitest: read-only"
}

// ProxyRequest is one request that went through a Proxy.
type ProxyRequest struct {
	Method string
	Path   string
	Action string     // the action parameter, "" if none
	Params url.Values // query and form parameters together, tokens and passwords included
	Fault  FaultKind  // the fault injected, 0 if it went to the wiki untouched
	At     time.Time
}

// Proxy is an HTTP reverse proxy on 127.0.0.1 in front of a wiki's api.php
// that counts requests and injects faults.
type Proxy struct {
	// URL is the proxy's API URL: the target's path on the proxy's port.
	URL string

	target  *url.URL // the wiki's api.php
	rp      *httputil.ReverseProxy
	srv     *http.Server
	serving sync.WaitGroup // the Serve goroutine
	closing chan struct{}  // closed by Close, ends Slow waits

	mu       sync.Mutex
	idle     *sync.Cond // signalled when active drops
	active   int        // requests being served; Close waits for none
	rules    []*rule
	rng      *rand.Rand
	counts   map[string]int
	injected map[string]int
	log      []ProxyRequest
	closed   bool
}

// rule is a Fault with its remaining uses.
type rule struct {
	Fault
	left int // hits left when Times > 0
}

// NewProxy starts a proxy for the API at target (an api.php URL) on a free
// port of 127.0.0.1. Its random generator is seeded with 1.
func NewProxy(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parse proxy target: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("parse proxy target %q: no host", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for proxy: %w", err)
	}
	p := &Proxy{
		URL:     "http://" + ln.Addr().String() + u.Path,
		target:  u,
		closing: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(1, 1)),
		counts:  map[string]int{}, injected: map[string]int{},
	}
	p.idle = sync.NewCond(&p.mu)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = u.Scheme
			pr.Out.URL.Host = u.Host
			pr.Out.Host = u.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "wikitest proxy: wiki unreachable: "+err.Error(),
				http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.handle), ReadHeaderTimeout: 10 * time.Second}
	p.serving.Add(1)
	// Owned by the proxy: Close shuts srv down and waits for it.
	go func() {
		defer p.serving.Done()
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// Fail adds a rule. Rules are tried in the order they were added; the first
// that matches a request decides its fate.
func (p *Proxy) Fail(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &rule{Fault: f, left: f.Times})
}

// Clear removes every rule.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Seed reseeds the generator that Fault.Probability draws from.
func (p *Proxy) Seed(seed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rng = rand.New(rand.NewPCG(seed, seed))
}

// Counts returns how many requests the proxy received, by action ("edit",
// "query", "login", ...; "tokens" counts action=query with meta=tokens, in
// addition to "query"; "" counts requests without an action), faulted or not.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneCounts(p.counts)
}

// Injected returns how many faults the proxy injected, by action as Counts.
func (p *Proxy) Injected() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneCounts(p.injected)
}

// Requests returns every request received, oldest first.
func (p *Proxy) Requests() []ProxyRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ProxyRequest(nil), p.log...)
}

// Reset forgets the counts and the request log; the rules stay.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts, p.injected, p.log = map[string]int{}, map[string]int{}, nil
}

// Close stops the proxy and waits for the requests it is serving.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	p.mu.Unlock()
	err := p.srv.Close()
	p.serving.Wait()
	p.mu.Lock()
	for p.active > 0 {
		p.idle.Wait()
	}
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("close proxy: %w", err)
	}
	return nil
}

func cloneCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// handle serves one request: record it, then fault it or pass it on.
func (p *Proxy) handle(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.active++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.active--
		p.idle.Broadcast()
		p.mu.Unlock()
	}()

	params, err := readParams(r)
	if err != nil {
		http.Error(w, "wikitest proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	action := params.Get("action")
	keys := countKeys(params)

	p.mu.Lock()
	f := p.matchLocked(keys, params)
	for _, k := range keys {
		p.counts[k]++
		if f != nil {
			p.injected[k]++
		}
	}
	entry := ProxyRequest{Method: r.Method, Path: r.URL.Path, Action: action,
		Params: params, At: time.Now()}
	if f != nil {
		entry.Fault = f.Kind
	}
	p.log = append(p.log, entry)
	p.mu.Unlock()

	if f == nil {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.inject(w, r, *f, params)
}

// countKeys are the Counts keys a request adds to.
func countKeys(params url.Values) []string {
	action := params.Get("action")
	keys := []string{action}
	if action == "query" {
		for _, m := range strings.Split(params.Get("meta"), "|") {
			if m == "tokens" {
				keys = append(keys, "tokens")
			}
		}
	}
	return keys
}

// matchLocked returns the fault to inject into a request, if any, and uses
// up one hit of its rule; p.mu must be held.
func (p *Proxy) matchLocked(keys []string, params url.Values) *Fault {
	for i, r := range p.rules {
		if !r.matches(keys, params) {
			continue
		}
		if r.Probability > 0 && p.rng.Float64() >= r.Probability {
			continue
		}
		f := r.Fault
		if r.Times > 0 {
			r.left--
			if r.left <= 0 {
				p.rules = append(p.rules[:i:i], p.rules[i+1:]...)
			}
		}
		return &f
	}
	return nil
}

// matches reports whether the rule applies to a request.
func (r *rule) matches(keys []string, params url.Values) bool {
	if r.Action != "" && !contains(keys, r.Action) {
		return false
	}
	if r.Param != "" {
		if !params.Has(r.Param) || (r.Value != "" && params.Get(r.Param) != r.Value) {
			return false
		}
	}
	if r.Kind == Maxlag {
		// MediaWiki checks lag only against a maxlag the client sent.
		maxlag, err := strconv.Atoi(params.Get("maxlag"))
		if err != nil || r.lag() <= float64(maxlag) {
			return false
		}
	}
	return true
}

func (f Fault) lag() float64 {
	if f.Lag > 0 {
		return f.Lag
	}
	return 7
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readParams returns a request's query and form parameters, leaving its
// body readable for the wiki.
func readParams(r *http.Request) (url.Values, error) {
	params := r.URL.Query()
	if r.Body == nil || r.Method != http.MethodPost {
		return params, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))

	mediaType, mp, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("parse form: %w", err)
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(body), mp["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("parse multipart form: %w", err)
			}
			v, err := io.ReadAll(part)
			if err != nil {
				return nil, fmt.Errorf("read multipart form: %w", err)
			}
			params.Add(part.FormName(), string(v))
		}
	}
	return params, nil
}

// inject carries out fault f on a request.
func (p *Proxy) inject(w http.ResponseWriter, r *http.Request, f Fault, params url.Values) {
	switch f.Kind {
	case Maxlag, RateLimited, ReadOnly:
		p.apiError(w, f, params)
	case HTTPStatus:
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>Wikimedia Error</title></head>"+
			"<body><p>wikitest: injected HTTP %d %s</p></body></html>\n",
			status, http.StatusText(status))
	case Slow:
		rec := newRecorder()
		p.rp.ServeHTTP(rec, r)
		delay := f.Delay
		if delay == 0 {
			delay = 2 * time.Second
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		case <-p.closing:
			return
		}
		rec.copyTo(w)
	case Drop:
		hangUp(w)
	case LoseAnswer:
		p.rp.ServeHTTP(newRecorder(), r)
		hangUp(w)
	}
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// apiError writes an API error answer shaped as MediaWiki 1.39 writes it for
// this request's errorformat and formatversion.
func (p *Proxy) apiError(w http.ResponseWriter, f Fault, params url.Values) {
	var e apiErr
	h := w.Header()
	switch f.Kind {
	case Maxlag:
		lag := f.lag()
		e = apiErr{
			code: "maxlag", key: "apierror-maxlag-generic", module: "main",
			params: []any{lag},
			text: fmt.Sprintf("Waiting for a database server: %s %s lagged.",
				formatNumber(lag), plural(lag, "second", "seconds")),
			data: []kv{{"host", ""}, {"lag", lag}, {"type", "db"}},
		}
		maxlag, _ := strconv.Atoi(params.Get("maxlag"))
		h.Set("Retry-After", strconv.Itoa(max(maxlag, 5)))
		h.Set("X-Database-Lag", strconv.Itoa(int(lag)))
	case RateLimited:
		// An edit is refused by EditPage with its own message; other
		// modules (move, purge, ...) use the API's.
		e = apiErr{
			code: "ratelimited", key: "apierror-ratelimited", module: params.Get("action"),
			text: "You've exceeded your rate limit. Please wait some time and try again.",
		}
		if e.module == "edit" {
			e.key = "actionthrottledtext"
			e.text = "As an anti-abuse measure, you are limited from performing this " +
				"action too many times in a short space of time, and you have exceeded " +
				"this limit.\nPlease try again in a few minutes."
		}
	case ReadOnly:
		reason := f.Reason
		if reason == "" {
			reason = "wikitest: read-only"
		}
		e = apiErr{
			code: "readonly", key: "apierror-readonly", module: "main",
			text: "The wiki is currently in read-only mode.",
			data: []kv{{"readonlyreason", reason}},
		}
	}
	docref := "See " + p.target.Scheme + "://" + p.target.Host + p.target.Path +
		" for API usage. Subscribe to the mediawiki-api-announce mailing list at " +
		"&lt;https://lists.wikimedia.org/postorius/lists/" +
		"mediawiki-api-announce.lists.wikimedia.org/&gt; " +
		"for notice of API deprecations and breaking changes."

	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("MediaWiki-API-Error", e.code)
	h.Set("Cache-Control", "private, must-revalidate, max-age=0")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Request-Id", randomHex(12))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.render(params, docref))
}

// apiErr is one API error, in the pieces MediaWiki's error formatters use.
type apiErr struct {
	code   string
	key    string // the message key, for errorformat=raw
	params []any  // the message parameters, for errorformat=raw
	text   string // the message in English, as wikitext
	module string // the module path that raised it
	data   []kv   // extra data, in MediaWiki's order
}

// kv is one member of a JSON object whose order matters.
type kv struct {
	key string
	val any
}

// render writes the error as MediaWiki's ApiErrorFormatter (errorformat=
// plaintext, wikitext, html, raw, none) or ApiErrorFormatter_BackCompat
// (errorformat=bc, the default) does, in JSON for formatversion 1 or 2. In
// formatversion 1 a "content" member is named "*".
func (e apiErr) render(params url.Values, docref string) []byte {
	fv2 := params.Get("formatversion") == "2" || params.Get("formatversion") == "latest"
	content := func(name string) string {
		if fv2 {
			return name
		}
		return "*"
	}
	format := params.Get("errorformat")
	var top []kv
	// bc and plaintext strip markup, which also folds whitespace.
	plain := strings.Join(strings.Fields(e.text), " ")
	if format == "" || format == "bc" {
		body := []kv{{"code", e.code}, {"info", plain}}
		body = append(body, e.data...)
		body = append(body, kv{content("docref"), docref})
		top = []kv{{"error", body}}
	} else {
		item := []kv{{"code", e.code}}
		switch format {
		case "plaintext":
			item = append(item, kv{content("text"), plain})
		case "wikitext":
			item = append(item, kv{content("text"), e.text})
		case "html":
			item = append(item, kv{content("html"), e.text})
		case "raw":
			ps := e.params
			if ps == nil {
				ps = []any{}
			}
			item = append(item, kv{"key", e.key}, kv{"params", ps})
		}
		if len(e.data) > 0 {
			item = append(item, kv{"data", e.data})
		}
		item = append(item, kv{"module", e.module})
		top = []kv{{"errors", []any{contentLast(item)}}, {content("docref"), docref}}
	}
	if id := params.Get("requestid"); id != "" {
		top = append(top, kv{"requestid", id})
	}
	if params.Has("curtimestamp") {
		top = append(top, kv{"curtimestamp", time.Now().UTC().Format("2006-01-02T15:04:05Z")})
	}
	top = contentLast(top)
	var b bytes.Buffer
	writeJSON(&b, top)
	return b.Bytes()
}

// contentLast moves the "*" member to the end of an object, where
// formatversion 1 puts a content member.
func contentLast(members []kv) []kv {
	out := make([]kv, 0, len(members))
	var star []kv
	for _, m := range members {
		if m.key == "*" {
			star = append(star, m)
		} else {
			out = append(out, m)
		}
	}
	return append(out, star...)
}

// writeJSON writes v, where []kv is an object in that order and []any an
// array, as MediaWiki's API writes JSON: slashes and <, >, & unescaped.
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case []kv:
		b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, m.key)
			b.WriteByte(':')
			writeJSON(b, m.val)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, item)
		}
		b.WriteByte(']')
	case float64:
		b.WriteString(formatNumber(x))
	default:
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x)
		b.Truncate(b.Len() - 1) // Encode ends with a newline
	}
}

// formatNumber prints a number as PHP does: integers without a point.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func plural(n float64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// recorder buffers an answer of the wiki so it can be sent later or never.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, status: http.StatusOK} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// copyTo sends the recorded answer.
func (r *recorder) copyTo(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}
