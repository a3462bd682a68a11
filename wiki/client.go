// Package wiki is Courier's client of the MediaWiki Action API.
//
// It keeps one logged-in session per wiki (go-mwclient holds the cookie jar
// and performs the bot-password login), sends every request with maxlag and
// an assertion, retries what MediaWiki calls transient with a capped backoff
// that wakes on cancel, and batches page and user queries so that a
// preflight of N titles costs about N/50 requests (N/500 with apihighlimits).
// Answers are decoded from formatversion=2 JSON; warnings are logged at
// Debug (and returned with an edit), never turned into errors.
package wiki

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	mwclient "cgt.name/pkg/go-mwclient"
)

// Config says which wiki a Client talks to and how.
type Config struct {
	// ID names the wiki (its database name, such as "metawiki") in errors
	// and log lines.
	ID string

	// API is the URL of the wiki's api.php.
	API string

	// UserAgent names the bot and a way to reach its operator (a URL or an
	// e-mail address), as Wikimedia's User-Agent policy asks. Required.
	UserAgent string

	// Username and Password log the client in; a bot password's username
	// is "Name@appid". Without a username the client reads anonymously.
	Username string
	Password string

	// MaxLag is sent as maxlag on every request. Default 5 seconds;
	// negative leaves maxlag out.
	MaxLag int

	// Timeout bounds one HTTP request, retries not included. Default 30s.
	Timeout time.Duration

	// Retry says how transient failures are retried.
	Retry RetryPolicy

	// OnRequest, if set, is called after every HTTP request with the
	// request's action, how long it took and its error (nil on success).
	// It is called from the goroutine that made the request.
	OnRequest func(action string, d time.Duration, err error)

	// Logger receives one Debug line a request and the warnings MediaWiki
	// answers with. Default slog.Default().
	Logger *slog.Logger

	// Transport, if set, carries the HTTP requests; default a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// RetryPolicy bounds the retries of transient failures: the wait starts at
// Min, doubles each try up to Max, with jitter, and never falls below what
// the wiki asks for in Retry-After or its replication lag (capped at Max).
type RetryPolicy struct {
	Tries int           // attempts in all, the first included; default 8
	Min   time.Duration // default 1s
	Max   time.Duration // default 60s
}

// Client talks to one wiki. Its methods may be called from several
// goroutines at once.
type Client struct {
	id        string
	api       string
	userAgent string
	username  string
	password  string
	maxlag    string
	timeout   time.Duration
	retry     RetryPolicy
	onRequest func(string, time.Duration, error)
	log       *slog.Logger

	http  *http.Client     // Courier's own requests; shares the cookie jar
	mw    *mwclient.Client // the session: login and cookie jar
	login *loginTransport  // carries go-mwclient's requests

	loginMu sync.Mutex // serialises logins

	mu      sync.Mutex // guards the fields below
	gen     uint64     // session generation, bumped by every login
	csrf    string     // cached csrf token of the current session
	batch   int        // titles a request: 50, or 500 with apihighlimits
	account string     // the logged-in user's name, "" before login
}

// Batch sizes for multi-value parameters (titles, ususers).
const (
	lowLimit  = 50
	highLimit = 500
)

// New returns a Client for the wiki cfg describes. It makes no request.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configure wiki %s: %w", cfg.ID, err)
	}
	cfg.setDefaults()

	mw, err := mwclient.New(cfg.API, cfg.UserAgent)
	if err != nil {
		return nil, fmt.Errorf("configure wiki %s: %w", cfg.ID, err)
	}

	c := &Client{
		id:        cfg.ID,
		api:       cfg.API,
		userAgent: mw.UserAgent,
		username:  cfg.Username,
		password:  cfg.Password,
		timeout:   cfg.Timeout,
		retry:     cfg.Retry,
		onRequest: cfg.OnRequest,
		log:       cfg.Logger.With("component", "wiki", "wiki", cfg.ID),
		mw:        mw,
		batch:     lowLimit,
	}
	if cfg.MaxLag >= 0 {
		c.maxlag = strconv.Itoa(cfg.MaxLag)
	}
	c.setupSession(cfg.Transport)
	return c, nil
}

func (cfg *Config) validate() error {
	switch {
	case cfg.API == "":
		return ErrNoAPI
	case !descriptive(cfg.UserAgent):
		return ErrUserAgent
	case cfg.Username != "" && cfg.Password == "":
		return ErrNoPassword
	}
	return nil
}

// descriptive reports whether ua says who runs the bot: it must carry a
// URL or an e-mail address besides the bot's name.
func descriptive(ua string) bool {
	ua = strings.TrimSpace(ua)
	hasContact := strings.Contains(ua, "://") || strings.Contains(ua, "@")
	return hasContact && strings.IndexFunc(ua, isLetter) >= 0
}

func isLetter(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
}

func (cfg *Config) setDefaults() {
	if cfg.MaxLag == 0 {
		cfg.MaxLag = 5
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Retry.Tries <= 0 {
		cfg.Retry.Tries = 8
	}
	if cfg.Retry.Min <= 0 {
		cfg.Retry.Min = time.Second
	}
	if cfg.Retry.Max <= 0 {
		cfg.Retry.Max = 60 * time.Second
	}
	if cfg.Retry.Max < cfg.Retry.Min {
		cfg.Retry.Max = cfg.Retry.Min
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 4
		cfg.Transport = t
	}
}

// ID returns the wiki's id as configured.
func (c *Client) ID() string { return c.id }

// Account returns the name of the logged-in user ("Courier" for the bot
// password "Courier@courier"), or "" before a login.
func (c *Client) Account() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.account
}

// BatchSize returns how many titles or user names go into one request:
// 500 once a login has shown the apihighlimits right, else 50.
func (c *Client) BatchSize() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batch
}

// observe reports one HTTP request to the metrics hook.
func (c *Client) observe(action string, d time.Duration, err error) {
	if c.onRequest != nil {
		c.onRequest(action, d, err)
	}
}
