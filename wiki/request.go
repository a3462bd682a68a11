package wiki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// request is one API call and what may be done when it fails.
type request struct {
	params    url.Values // without format, maxlag, assert and token
	post      bool       // a write: sent by POST, retried only when safe
	token     bool       // carries the csrf token
	assert    string     // "user" or "bot"; "" for the client's default
	noAssert  bool       // sent without assert (login checks)
	noRelogin bool       // a lost session is returned, not mended
	retry     Retry      // what a write retries beyond the safe failures
}

func (r *request) action() string { return r.params.Get("action") }

// mayRetry reports whether a failure of kind f may be sent again.
func (r *request) mayRetry(f failure) bool {
	switch f {
	case safe:
		return true
	case conflict:
		return !r.post || r.retry&RetryConflict != 0
	case uncertain:
		return !r.post || r.retry&RetryUncertain != 0
	}
	return false
}

// response is a decoded API answer without an error.
type response struct {
	body     []byte
	cont     url.Values // the continue block, nil when complete
	warnings []Warning
}

// Warning is a warning MediaWiki sent along with a successful answer.
type Warning struct {
	Module string
	Text   string
}

// envelope is the part of every answer this file reads.
type envelope struct {
	Error    *errorBody                 `json:"error"`
	Warnings map[string]json.RawMessage `json:"warnings"`
	Continue map[string]json.RawMessage `json:"continue"`
}

type errorBody struct {
	Code      string  `json:"code"`
	Info      string  `json:"info"`
	Lag       float64 `json:"lag"`
	BlockInfo *struct {
		Partial bool `json:"blockpartial"`
	} `json:"blockinfo"`
}

// postAbove is the length of a query string past which a read goes by
// POST, so long title lists never meet a URL length limit.
const postAbove = 2000

// call sends r until it succeeds, fails for good, or its retries run out.
// A lost session is mended by one new login, a bad token by one new token;
// both are tried at once, without waiting.
func (c *Client) call(ctx context.Context, r *request) (*response, error) {
	var relogged, renewed bool
	for try := 1; ; try++ {
		gen := c.generation()
		p, err := c.prepare(ctx, r)
		if err != nil {
			return nil, err // the token fetch has had its own retries
		}
		resp, err := c.try(ctx, r, p, try)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}

		switch {
		case sessionLost(err) && !relogged && !r.noRelogin && c.username != "":
			relogged = true
			if lerr := c.relogin(ctx, gen); lerr != nil {
				return nil, fmt.Errorf("after %s: %w", Code(err), lerr)
			}
			try--
			continue
		case Code(err) == "badtoken" && r.token:
			c.dropToken()
			if !renewed {
				renewed = true
				try--
				continue
			}
		}

		if try >= c.retry.Tries || !r.mayRetry(classify(err)) {
			return nil, err
		}
		if werr := sleep(ctx, c.wait(try, err)); werr != nil {
			return nil, fmt.Errorf("wait to retry: %w (last error: %w)", werr, err)
		}
	}
}

// try sends r once and decodes the envelope of its answer.
func (c *Client) try(ctx context.Context, r *request, p url.Values, n int) (*response, error) {
	start := time.Now()
	body, header, err := c.send(ctx, r, p)
	var resp *response
	if err == nil {
		resp, err = c.decode(r.action(), body, header)
	}
	d := time.Since(start)

	c.observe(r.action(), d, err)
	c.logRequest(r, n, d, err)
	if resp != nil {
		c.logWarnings(r.action(), resp.warnings)
	}
	return resp, err
}

// prepare returns r's parameters with the ones every request carries.
func (c *Client) prepare(ctx context.Context, r *request) (url.Values, error) {
	p := make(url.Values, len(r.params)+6)
	for k, v := range r.params {
		p[k] = v
	}
	p.Set("format", "json")
	p.Set("formatversion", "2")
	if c.maxlag != "" {
		p.Set("maxlag", c.maxlag)
	}
	if a := c.assertFor(r); a != "" {
		p.Set("assert", a)
	}
	if r.token {
		tok, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		p.Set("token", tok)
	}
	return p, nil
}

func (c *Client) assertFor(r *request) string {
	switch {
	case r.noAssert:
		return ""
	case r.assert != "":
		return r.assert
	case c.username != "":
		return "user"
	}
	return ""
}

// send makes one HTTP request and returns the body of a 200 answer.
func (c *Client) send(ctx context.Context, r *request, p url.Values) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				sent.Store(true)
			}
		},
	})

	req, err := c.newHTTPRequest(ctx, r.post, p)
	if err != nil {
		return nil, nil, fmt.Errorf("build %s request: %w", r.action(), err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, c.netError(r.action(), sent.Load(), err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, c.netError(r.action(), true, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, &HTTPError{
			Wiki:       c.id,
			Action:     r.action(),
			Status:     resp.StatusCode,
			retryAfter: parseRetryAfter(resp.Header),
		}
	}
	return body, resp.Header, nil
}

func (c *Client) newHTTPRequest(ctx context.Context, post bool,
	p url.Values) (*http.Request, error) {
	q := p.Encode()
	var req *http.Request
	var err error
	if post || len(q) > postAbove {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.api, strings.NewReader(q))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.api+"?"+q, nil)
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// netError wraps a transport failure without the request's URL, which
// could carry parameters into a log line.
func (c *Client) netError(action string, sent bool, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &NetError{Wiki: c.id, Action: action, Sent: sent, Err: err}
}

// decode reads the error, warnings and continuation of an answer.
func (c *Client) decode(action string, body []byte, h http.Header) (*response, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode %s answer of %s: %w: %w", action, c.id, ErrBadResponse, err)
	}
	if e := env.Error; e != nil {
		ae := &APIError{Code: e.Code, Info: e.Info, Wiki: c.id, Action: action}
		ae.lag = time.Duration(e.Lag * float64(time.Second))
		if ae.lag == 0 {
			ae.lag = parseSeconds(h.Get("X-Database-Lag"))
		}
		ae.retryAfter = parseSeconds(h.Get("Retry-After"))
		ae.partial = e.BlockInfo != nil && e.BlockInfo.Partial
		return nil, ae
	}
	resp := &response{body: body, warnings: parseWarnings(env.Warnings)}
	if len(env.Continue) > 0 {
		resp.cont = make(url.Values, len(env.Continue))
		for k, v := range env.Continue {
			resp.cont.Set(k, rawString(v))
		}
	}
	return resp, nil
}

// parseWarnings reads formatversion=2 warnings: {"module": {"warnings": text}}.
func parseWarnings(m map[string]json.RawMessage) []Warning {
	var out []Warning
	for module, raw := range m {
		var w struct {
			Text string `json:"warnings"`
		}
		if json.Unmarshal(raw, &w) != nil || w.Text == "" {
			w.Text = string(raw)
		}
		out = append(out, Warning{Module: module, Text: w.Text})
	}
	return out
}

// rawString returns a JSON string's value, or the JSON text of a number.
func rawString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// parseRetryAfter reads a Retry-After header given in seconds.
func parseRetryAfter(h http.Header) time.Duration {
	return parseSeconds(h.Get("Retry-After"))
}

// parseSeconds reads a header value of whole seconds, 0 if it is not one.
func parseSeconds(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// wait returns the pause before try+1: exponential from Min, capped at
// Max, with jitter over its upper half, and at least what the wiki asked.
func (c *Client) wait(try int, err error) time.Duration {
	d := c.retry.Max
	if try < 30 {
		d = min(c.retry.Min<<(try-1), c.retry.Max)
	}
	d = d/2 + rand.N(d/2+1)
	if h := retryHint(err); h > d {
		d = h
	}
	return min(d, c.retry.Max)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) logRequest(r *request, try int, d time.Duration, err error) {
	attrs := []any{
		"action", r.action(),
		"modules", modules(r.params),
		"try", try,
		"duration_ms", d.Milliseconds(),
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	c.log.Debug("api request", attrs...)
}

// modules names the query modules of p, for log lines.
func modules(p url.Values) string {
	var parts []string
	for _, k := range []string{"prop", "list", "meta"} {
		if v := p.Get(k); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

func (c *Client) logWarnings(action string, ws []Warning) {
	for _, w := range ws {
		c.log.Debug("api warning", "action", action, "module", w.Module, "text", w.Text)
	}
}

// query sends a query and follows its continuation, handing each answer's
// body to each until it returns false or the answers end.
func (c *Client) query(ctx context.Context, p url.Values, each func([]byte) (bool, error)) error {
	p.Set("action", "query")
	next := p
	for {
		resp, err := c.call(ctx, &request{params: next})
		if err != nil {
			return err
		}
		more, err := each(resp.body)
		if err != nil || !more || resp.cont == nil {
			return err
		}

		// Each step is the original request with the newest continue
		// block: keys of an earlier block that finished must not stay.
		next = make(url.Values, len(p)+len(resp.cont))
		for k, v := range p {
			next[k] = v
		}
		for k, v := range resp.cont {
			next[k] = v
		}
	}
}

// decodeQuery unmarshals an answer's "query" block into v.
func (c *Client) decodeQuery(body []byte, v any) error {
	var env struct {
		Query json.RawMessage `json:"query"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("decode query answer of %s: %w: %w", c.id, ErrBadResponse, err)
	}
	if len(env.Query) == 0 {
		return nil
	}
	if err := json.Unmarshal(env.Query, v); err != nil {
		return fmt.Errorf("decode query answer of %s: %w: %w", c.id, ErrBadResponse, err)
	}
	return nil
}

// timestamp formats t as the API expects it.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
