package deliver

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/config"
	"courier/store"
	"courier/wiki"
	"courier/wikitest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(runCrashChild())
	}
	wikitest.Main(m)
}

// testUserAgent is what the clients under test send.
const testUserAgent = "Courier-test/1.0 (https://example.org/courier; ops@example.org)"

// The wikis of the shared Env, as the tests use them.
const (
	meta = "metawiki"
	en   = "enwiki"
)

// bots holds the bot password of the account "Courier" on each shared
// wiki; a bot password can be made once per account, so once per binary.
var bots struct {
	once  sync.Once
	creds map[string][2]string // wiki id → login, password
	err   error
}

func botCreds(t testing.TB, env *wikitest.Env) map[string][2]string {
	t.Helper()
	bots.once.Do(func() {
		bots.creds = map[string][2]string{}
		for _, w := range env.Wikis {
			login, pw, err := w.CreateBot("Courier")
			if err != nil {
				bots.err = err
				return
			}
			bots.creds[w.ID] = [2]string{login, pw}
		}
	})
	if bots.err != nil {
		t.Fatalf("create bot accounts: %v", bots.err)
	}
	return bots.creds
}

// harness is two real wikis behind fault proxies, a real state file and a
// Deliverer over them, for one test.
type harness struct {
	t       testing.TB
	env     *wikitest.Env
	proxies map[string]*wikitest.Proxy
	clients map[string]*wiki.Client
	admins  map[string]*wikitest.Session
	store   *store.Store
	dbPath  string
	opts    Options
	logs    *logSink
	prefix  string // starts every page title the test makes
}

// harnessConfig tunes newHarness.
type harnessConfig struct {
	rate     int // edits a minute on every wiki; default 60000
	logBytes int // home.log_max_bytes; default the package default
}

func newHarness(t testing.TB, hc harnessConfig) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("needs real MediaWiki wikis")
	}
	env := wikitest.Shared(t)
	creds := botCreds(t, env)
	if hc.rate == 0 {
		hc.rate = 60000
	}
	name := strings.NewReplacer("/", " ", "_", " ").Replace(t.Name())
	h := &harness{
		t: t, env: env, prefix: name,
		proxies: map[string]*wikitest.Proxy{}, clients: map[string]*wiki.Client{},
		admins: map[string]*wikitest.Session{}, logs: &logSink{},
		dbPath: filepath.Join(t.TempDir(), "courier.db"),
	}
	var wikis []config.Wiki
	for _, w := range env.Wikis {
		p, err := wikitest.NewProxy(w.API)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		h.proxies[w.ID] = p
		h.clients[w.ID] = h.newClient(w.ID, p.URL, creds[w.ID])
		admin, err := w.Admin()
		if err != nil {
			t.Fatal(err)
		}
		h.admins[w.ID] = admin
		wikis = append(wikis, config.Wiki{ID: w.ID, Domain: w.Domain, API: p.URL,
			EditsPerMinute: hc.rate})
	}

	st, err := store.Open(context.Background(), h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.store = st
	h.opts = Options{
		Store: st, Clients: h.clients, Wikis: wikis,
		Home: config.Home{Wiki: meta, Log: "Project:Courier tests/" + name + "/Log",
			LogMaxBytes: hc.logBytes},
		Delivery:   config.Delivery{EditsPerMinute: hc.rate, Maxlag: 5, MaxTargets: 5000},
		Logger:     slog.New(h.logs),
		SettleWait: 500 * time.Millisecond,
		RetryMax:   time.Second,
		GatePoll:   50 * time.Millisecond,
	}
	t.Cleanup(func() { h.logs.check(t) })
	return h
}

// newClient returns a wiki client for the bot, with retries short enough
// for tests.
func (h *harness) newClient(id, api string, cred [2]string) *wiki.Client {
	c, err := wiki.New(wiki.Config{
		ID: id, API: api, UserAgent: testUserAgent, Username: cred[0], Password: cred[1],
		Retry:  wiki.RetryPolicy{Tries: 6, Min: 100 * time.Millisecond, Max: 2 * time.Second},
		Logger: slog.New(h.logs),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// deliverer returns a Deliverer over the harness's options.
func (h *harness) deliverer() *Deliverer {
	h.t.Helper()
	d, err := New(h.opts)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// title returns a page title unique to the test: ns:prefix/name.
func (h *harness) title(ns, name string) string {
	if ns != "" {
		ns += ":"
	}
	return ns + h.prefix + " " + name
}

// edit saves a page as the admin and returns the revision.
func (h *harness) edit(wikiID, title, text string) int64 {
	h.t.Helper()
	rev, err := h.admins[wikiID].Edit(title, text, "test set-up")
	if err != nil {
		h.t.Fatal(err)
	}
	return rev
}

// request files a request page and a list page on the home wiki, records
// the request in the store and returns its job.
func (h *harness) request(list string) Job {
	h.t.Helper()
	listTitle := h.title("Project", "list")
	listRev := h.edit(meta, listTitle, list)
	return h.requestFor(listTitle, listRev)
}

// requestFor files a request for an existing list (or category).
func (h *harness) requestFor(listTitle string, listRev int64) Job {
	h.t.Helper()
	id := h.edit(meta, h.title("Project", fmt.Sprintf("request %d", time.Now().UnixNano())),
		"{{Delivery request}}")
	job := Job{
		ID: id, HomeWiki: meta, Requester: "Alice", Approver: "Admin",
		List: listTitle, ListRev: listRev,
		Subject: "Test message of " + h.prefix,
		Message: "Hello from a test. ~~~~",
	}
	_, err := h.store.CreateRequest(context.Background(), store.Request{
		ID: id, Wiki: meta, Page: "Project:Requests", Requester: job.Requester,
		Approver: job.Approver, State: store.StateDelivering, ListTitle: listTitle,
		ListRev: listRev, Subject: job.Subject, Message: job.Message,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return job
}

// text returns a page's text, "" when it does not exist.
func (h *harness) text(wikiID, title string) string {
	h.t.Helper()
	s, err := h.admins[wikiID].Text(title)
	if err != nil && !strings.Contains(err.Error(), "does not exist") {
		h.t.Fatal(err)
	}
	return s
}

// messages counts request id's messages on a page.
func (h *harness) messages(wikiID, title string, id int64) int {
	return strings.Count(h.text(wikiID, title), markerPrefix(id))
}

// targets returns the request's targets by wiki and title.
func (h *harness) targets(id int64) map[[2]string]store.Target {
	h.t.Helper()
	ts, err := h.store.Targets(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[[2]string]store.Target{}
	for _, t := range ts {
		out[[2]string{t.Wiki, t.Title}] = t
	}
	return out
}

// requests returns the proxy's request count on a wiki, all actions.
func (h *harness) requests(wikiID string) (all, edits int) {
	for action, n := range h.proxies[wikiID].Counts() {
		if action != "tokens" {
			all += n
		}
		if action == "edit" {
			edits += n
		}
	}
	return all, edits
}

// createUser makes an account through the API as the admin, which is much
// quicker than a maintenance script per user.
func (h *harness) createUser(wikiID, name string) {
	h.t.Helper()
	admin := h.admins[wikiID]
	tok, err := admin.Token("createaccount")
	if err != nil {
		h.t.Fatal(err)
	}
	_, err = admin.Post(url.Values{
		"action": {"createaccount"}, "username": {name}, "password": {"pw-" + name + "-x1"},
		"retype": {"pw-" + name + "-x1"}, "createtoken": {tok},
		"createreturnurl": {"http://127.0.0.1/"}, "reason": {"test set-up"},
	})
	if err != nil && !strings.Contains(err.Error(), "userexists") {
		h.t.Fatalf("create user %q on %s: %v", name, wikiID, err)
	}
}

// logSink is a slog.Handler that keeps every record, so that tests can
// check what the delivery logs.
type logSink struct {
	mu      sync.Mutex
	records []logRecord
	attrs   []slog.Attr
	parent  *logSink
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (s *logSink) root() *logSink {
	for s.parent != nil {
		s = s.parent
	}
	return s
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range s.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	root := s.root()
	root.mu.Lock()
	root.records = append(root.records, rec)
	root.mu.Unlock()
	return nil
}

func (s *logSink) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logSink{parent: s.root(), attrs: append(append([]slog.Attr(nil), s.attrs...),
		attrs...)}
}

func (s *logSink) WithGroup(string) slog.Handler { return s }

// deliverRecords returns the records of component deliver.
func (s *logSink) deliverRecords() []logRecord {
	root := s.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	var out []logRecord
	for _, r := range root.records {
		if r.attrs["component"] == "deliver" {
			out = append(out, r)
		}
	}
	return out
}

// check fails t for a delivery log line that does not name its wiki,
// title and request, or that holds what looks like a token.
func (s *logSink) check(t testing.TB) {
	for _, r := range s.deliverRecords() {
		for _, k := range []string{"wiki", "title", "request_id"} {
			if _, ok := r.attrs[k]; !ok {
				t.Errorf("log line %q lacks %s: %v", r.msg, k, r.attrs)
			}
		}
		for k, v := range r.attrs {
			if strings.Contains(v, "+\\") || strings.Contains(strings.ToLower(k), "token") {
				t.Errorf("log line %q may hold a token: %s=%s", r.msg, k, v)
			}
		}
	}
}

// count returns how many deliver records at level have msg.
func (s *logSink) count(level slog.Level, msg string) int {
	n := 0
	for _, r := range s.deliverRecords() {
		if r.level == level && strings.Contains(r.msg, msg) {
			n++
		}
	}
	return n
}
