package wiki

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	mwclient "cgt.name/pkg/go-mwclient"
)

// Errors a Client returns, wrapped with what it was doing.
var (
	// ErrNoAPI is a Config without an API URL.
	ErrNoAPI = errors.New("no API URL")
	// ErrUserAgent is a Config whose user agent names no contact.
	ErrUserAgent = errors.New("user agent must name the bot and a contact URL or e-mail")
	// ErrNoPassword is a Config with a username and no password.
	ErrNoPassword = errors.New("username without password")
	// ErrNoCredentials is a Login of a client configured without a username.
	ErrNoCredentials = errors.New("no username configured")
	// ErrBadResponse is an answer that is not the JSON the request asks for.
	ErrBadResponse = errors.New("unexpected API response")
	// ErrNoSuchPage is a page that does not exist, where one must.
	ErrNoSuchPage = errors.New("no such page")
	// ErrNoSuchRevision is a revision id the wiki does not know or hides.
	ErrNoSuchRevision = errors.New("no such revision")
	// ErrNoSuchUser is a user name with no account behind it.
	ErrNoSuchUser = errors.New("no such user")
	// ErrEditNotAccepted is an edit answered with a result other than
	// Success (a CAPTCHA, an extension's hook); an *APIError goes with it.
	ErrEditNotAccepted = errors.New("edit not accepted")
)

// APIError is an error MediaWiki answered with, such as "protectedpage".
type APIError struct {
	Code   string // MediaWiki's error code
	Info   string // its English explanation
	Wiki   string // the wiki's id
	Action string // the request's action, such as "edit"

	partial    bool          // a block that covers only some pages
	lag        time.Duration // replication lag, for maxlag
	retryAfter time.Duration // the Retry-After header
}

// Error returns the wiki, the action, the code and the explanation.
func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Wiki, e.Action, e.Code, e.Info)
}

// HTTPError is an HTTP answer other than 200 OK.
type HTTPError struct {
	Wiki   string
	Action string
	Status int

	retryAfter time.Duration
}

// Error returns the wiki, the action and the status.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d", e.Wiki, e.Action, e.Status)
}

// NetError is a request that got no answer: a connection that failed or
// dropped, or a time-out.
type NetError struct {
	Wiki   string
	Action string
	Sent   bool // whether the request was written before it failed
	Err    error
}

// Error returns the wiki, the action and the cause.
func (e *NetError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Wiki, e.Action, e.Err)
}

// Unwrap returns the cause.
func (e *NetError) Unwrap() error { return e.Err }

// LoginError is a login the wiki refused: a wrong or revoked bot password,
// a throttled login, or a session that did not stick.
type LoginError struct {
	Wiki   string
	User   string // the login name, such as "Courier@courier"
	Result string // MediaWiki's login result, such as "Failed"
	Reason string
}

// Error returns the wiki, the user and the reason; never the password.
func (e *LoginError) Error() string {
	return fmt.Sprintf("%s: log in as %s: %s: %s", e.Wiki, e.User, e.Result, e.Reason)
}

// failure sorts errors by what a retry may do.
type failure int

const (
	permanent failure = iota
	safe              // the wiki certainly did nothing: retry freely
	conflict          // editconflict
	uncertain         // a write may or may not have been done
)

// safeCodes are API errors after which the request certainly did nothing
// and may be sent again.
var safeCodes = map[string]bool{
	"maxlag":      true,
	"ratelimited": true,
	"readonly":    true,
	"badtoken":    true,
}

// classify says what a retry of the request that failed with err may do.
func classify(err error) failure {
	var ae *APIError
	var he *HTTPError
	var ne *NetError
	switch {
	case errors.As(err, &ae):
		return classifyCode(ae.Code)
	case errors.As(err, &he):
		if he.Status == 429 {
			return safe
		}
		if he.Status >= 500 {
			return uncertain
		}
	case errors.As(err, &ne):
		if ne.Sent {
			return uncertain
		}
		return safe
	case errors.Is(err, mwclient.ErrAPIBusy):
		return safe
	}
	return permanent
}

func classifyCode(code string) failure {
	switch {
	case safeCodes[code]:
		return safe
	case code == "editconflict":
		return conflict
	case strings.HasPrefix(code, "internal_api_error_DB"):
		// A database error rolls the request's transaction back.
		return safe
	}
	return permanent
}

// IsTransient reports whether err is a failure that may pass by itself:
// maxlag, ratelimited, readonly, badtoken, editconflict, a database error,
// HTTP 429 or 5xx, a time-out or a connection error. The Client has already
// retried it as far as its RetryPolicy and the call allow.
func IsTransient(err error) bool {
	return classify(err) != permanent
}

// IsUncertain reports whether err leaves open whether the write it answers
// was done: a time-out or dropped connection after the request was sent,
// or an HTTP 5xx. The caller finds out by reading the page.
func IsUncertain(err error) bool {
	return classify(err) == uncertain
}

// IsConflict reports whether err is an edit conflict.
func IsConflict(err error) bool {
	return Code(err) == "editconflict"
}

// IsBlocked reports whether err says the account may not edit the wiki at
// all: a sitewide block, an autoblock or a global block. A partial block
// that covers only the page is a failure of that page alone.
func IsBlocked(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch {
	case ae.Code == "blocked":
		return !ae.partial
	case ae.Code == "autoblocked":
		return true
	case strings.HasPrefix(ae.Code, "globalblocking"):
		return true
	}
	return false
}

// IsLoginLost reports whether err says the bot is not logged in as it
// should be and a new login did not help: a revoked or wrong password, or
// a session that lost its user or bot rights.
func IsLoginLost(err error) bool {
	var le *LoginError
	if errors.As(err, &le) {
		return true
	}
	return sessionLost(err)
}

// sessionLost reports whether err says the session lost its login.
func sessionLost(err error) bool {
	switch Code(err) {
	case "assertuserfailed", "assertbotfailed", "assertnameduserfailed", "notloggedin":
		return true
	}
	return false
}

// Code returns a short code for err, fit for a per-target outcome: the API
// error code, "http-503", "network", "timeout", "login-failed", or "" for
// errors of other kinds.
func Code(err error) string {
	var ae *APIError
	var he *HTTPError
	var ne *NetError
	var le *LoginError
	switch {
	case errors.As(err, &ae):
		return ae.Code
	case errors.As(err, &he):
		return "http-" + strconv.Itoa(he.Status)
	case errors.As(err, &le):
		return "login-" + strings.ToLower(le.Result)
	case errors.As(err, &ne):
		if errors.Is(ne.Err, context.DeadlineExceeded) || isTimeout(ne.Err) {
			return "timeout"
		}
		return "network"
	}
	return ""
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// retryHint returns how long the wiki asked to wait before a new try.
func retryHint(err error) time.Duration {
	var ae *APIError
	var he *HTTPError
	switch {
	case errors.As(err, &ae):
		return max(ae.retryAfter, ae.lag)
	case errors.As(err, &he):
		return he.retryAfter
	}
	return 0
}
