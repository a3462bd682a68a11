package wiki

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	mwclient "cgt.name/pkg/go-mwclient"
)

// setupSession gives go-mwclient a transport that lends its requests the
// caller's context, and lets Courier's own requests share its cookie jar.
func (c *Client) setupSession(base http.RoundTripper) {
	c.login = &loginTransport{base: base, c: c}
	hc := &http.Client{Transport: c.login}
	c.mw.SetHTTPClient(hc) // hands hc go-mwclient's cookie jar
	c.http = &http.Client{Transport: base, Jar: hc.Jar}

	// go-mwclient retries maxlag on its own with time.Sleep, which no
	// context can wake: one try, and the retry is Courier's.
	c.mw.Maxlag.On = c.maxlag != ""
	c.mw.Maxlag.Timeout = c.maxlag
	c.mw.Maxlag.Retries = 1
}

// Login logs in with the configured username and password, replacing the
// session the client had. It checks the result with meta=userinfo and
// learns the batch size from the account's rights. A refused login is a
// *LoginError.
func (c *Client) Login(ctx context.Context) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	return c.loginLocked(ctx)
}

// relogin logs in again unless another goroutine already did since the
// session generation seen.
func (c *Client) relogin(ctx context.Context, seen uint64) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.generation() != seen {
		return nil
	}
	if seen == 0 {
		c.log.Info("logging in on first use", "user", c.username)
	} else {
		c.log.Info("session lost, logging in again", "user", c.username)
	}
	return c.loginLocked(ctx)
}

func (c *Client) loginLocked(ctx context.Context) error {
	if c.username == "" {
		return fmt.Errorf("log in to %s: %w", c.id, ErrNoCredentials)
	}
	for try := 1; ; try++ {
		err := c.loginOnce(ctx)
		if err == nil {
			break
		}
		if try >= c.retry.Tries || ctx.Err() != nil || !loginRetryable(err) {
			return err
		}
		if werr := sleep(ctx, c.wait(try, err)); werr != nil {
			return fmt.Errorf("wait to retry login: %w (last error: %w)", werr, err)
		}
	}

	info, err := c.userInfo(ctx, true)
	if err != nil {
		return fmt.Errorf("check login to %s: %w", c.id, err)
	}
	if info.Anon {
		return &LoginError{Wiki: c.id, User: c.username, Result: "NotLoggedIn",
			Reason: "the wiki answered the session as anonymous after a successful login"}
	}

	c.mu.Lock()
	c.gen++
	c.csrf = ""
	c.account = info.Name
	c.batch = info.BatchSize()
	c.mu.Unlock()
	c.log.Info("logged in", "user", info.Name, "bot", info.Bot, "batch", info.BatchSize())
	return nil
}

// loginRetryable reports whether a failed login may succeed if tried again.
func loginRetryable(err error) bool {
	var le *LoginError
	if errors.As(err, &le) {
		return le.Result == "WrongToken" || le.Result == "NeedToken"
	}
	return IsTransient(err)
}

// loginOnce performs one login through go-mwclient (a login token, then
// action=login) and turns its answer into Courier's errors.
func (c *Client) loginOnce(ctx context.Context) error {
	c.login.bind(ctx)
	err := c.mw.Login(c.username, c.password)
	wire := c.login.unbind()

	if err == nil {
		return nil
	}
	if wire != nil {
		// go-mwclient flattens failures into strings; the transport kept
		// the typed one.
		return wire
	}
	var ws mwclient.APIWarnings
	if errors.As(err, &ws) {
		// The login may have worked; go-mwclient cannot tell. The
		// userinfo check that follows does.
		for _, w := range ws {
			c.log.Debug("api warning", "action", "login", "module", w.Module, "text", w.Info)
		}
		return nil
	}
	var ae mwclient.APIError
	if errors.As(err, &ae) {
		if isLoginResult(ae.Code) {
			return &LoginError{Wiki: c.id, User: c.username, Result: ae.Code, Reason: ae.Info}
		}
		return &APIError{Code: ae.Code, Info: ae.Info, Wiki: c.id, Action: "login"}
	}
	if errors.Is(err, mwclient.ErrAPIBusy) {
		return &APIError{Code: "maxlag", Info: "database lagged", Wiki: c.id, Action: "login"}
	}
	return fmt.Errorf("log in to %s: %w", c.id, err)
}

// isLoginResult reports whether code is a login result (Failed,
// WrongToken, ...) rather than an API error code, which is lower case.
func isLoginResult(code string) bool {
	return code != "" && code[0] >= 'A' && code[0] <= 'Z'
}

// generation returns the session generation.
func (c *Client) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// token returns the session's csrf token, fetching it when not cached.
func (c *Client) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.csrf
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}

	p := url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {"csrf"}}
	resp, err := c.call(ctx, &request{params: p})
	if err != nil {
		return "", fmt.Errorf("fetch csrf token: %w", err)
	}
	var q struct {
		Tokens struct {
			CSRF string `json:"csrftoken"`
		} `json:"tokens"`
	}
	if err := c.decodeQuery(resp.body, &q); err != nil {
		return "", err
	}
	if q.Tokens.CSRF == "" {
		return "", fmt.Errorf("fetch csrf token: %w: none in answer", ErrBadResponse)
	}

	c.mu.Lock()
	c.csrf = q.Tokens.CSRF
	c.mu.Unlock()
	return q.Tokens.CSRF, nil
}

// dropToken forgets the cached csrf token after MediaWiki refused it.
func (c *Client) dropToken() {
	c.mu.Lock()
	c.csrf = ""
	c.mu.Unlock()
}

// loginTransport carries go-mwclient's requests. go-mwclient builds them
// without a context, so the transport lends them the context of the login
// under way and bounds each by the client's time-out. It reports them to
// the metrics hook and the log like Courier's own requests, and keeps the
// first failure seen on the wire (status, maxlag, network error) in typed
// form.
type loginTransport struct {
	base http.RoundTripper
	c    *Client

	mu   sync.Mutex // guards the fields below; logins are serialised
	ctx  context.Context
	fail error
}

func (t *loginTransport) bind(ctx context.Context) {
	t.mu.Lock()
	t.ctx, t.fail = ctx, nil
	t.mu.Unlock()
}

// unbind ends the login's binding and returns its first wire failure.
func (t *loginTransport) unbind() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	fail := t.fail
	t.ctx, t.fail = nil, nil
	return fail
}

func (t *loginTransport) record(err error) {
	t.mu.Lock()
	if t.fail == nil {
		t.fail = err
	}
	t.mu.Unlock()
}

// RoundTrip sends req under the bound context.
func (t *loginTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	parent := t.ctx
	t.mu.Unlock()
	if parent == nil {
		parent = req.Context()
	}
	action := requestAction(req)

	ctx, cancel := context.WithTimeout(parent, t.c.timeout)
	start := time.Now()
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	d := time.Since(start)
	if err != nil {
		cancel()
		err = t.c.netError(action, true, err)
		t.finish(action, d, err)
		return nil, err
	}

	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	t.finish(action, d, t.wireFailure(action, resp))
	return resp, nil
}

// wireFailure returns the failure a response shows in its status line or
// headers, before go-mwclient reads it.
func (t *loginTransport) wireFailure(action string, resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return &HTTPError{Wiki: t.c.id, Action: action, Status: resp.StatusCode,
			retryAfter: parseRetryAfter(resp.Header)}
	}
	if resp.Header.Get("X-Database-Lag") != "" {
		return &APIError{Code: "maxlag", Info: "database lagged", Wiki: t.c.id,
			Action: action, retryAfter: parseRetryAfter(resp.Header)}
	}
	return nil
}

func (t *loginTransport) finish(action string, d time.Duration, err error) {
	if err != nil {
		t.record(err)
	}
	t.c.observe(action, d, err)
	r := &request{params: url.Values{"action": {action}}}
	t.c.logRequest(r, 1, d, err)
}

// requestAction reads the action parameter of a go-mwclient request, from
// its URL or a copy of its form body; nothing else of the body is kept.
func requestAction(req *http.Request) string {
	if a := req.URL.Query().Get("action"); a != "" {
		return a
	}
	if req.GetBody == nil {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 1<<16))
	if err != nil {
		return ""
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(form.Get("action"))
}

// cancelOnClose releases a request's context once its body is read.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and releases its request's context.
func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
