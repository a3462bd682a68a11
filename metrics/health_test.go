package metrics

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/store"
	"courier/watcher"
)

// clock is a settable time for the silence checks.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeStats are watcher stats a test changes between checks.
type fakeStats struct {
	mu sync.Mutex
	s  watcher.Stats
}

func (f *fakeStats) get() watcher.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s
}

func (f *fakeStats) set(change func(*watcher.Stats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.s)
}

// newClocked returns Metrics whose clock is clk, started at clk's time.
func newClocked(opts Options, clk *clock) *Metrics {
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	m := New(opts)
	m.now = clk.now
	m.quiet.looked, m.quiet.since = clk.now(), clk.now()
	return m
}

// health returns the status and body of /healthz.
func health(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	return get(t, m.Handler(), "/healthz")
}

// wantHealth fails t unless /healthz answers code with body.
func wantHealth(t *testing.T, m *Metrics, code int, body string) {
	t.Helper()
	gotCode, gotBody := health(t, m)
	if gotCode != code || gotBody != body {
		t.Errorf("healthz: %d %q, want %d %q", gotCode, gotBody, code, body)
	}
}

func TestHealthyWhileEventsArrive(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	fs := &fakeStats{}
	m := newClocked(Options{Store: openStore(t), Stats: fs.get}, clk)
	for range 10 {
		clk.advance(time.Minute)
		fs.set(func(s *watcher.Stats) { s.Events += 100 })
		wantHealth(t, m, http.StatusOK, "ok\n")
	}
}

func TestSilenceBeyondTheThresholdFailsUntilEventsCome(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	fs := &fakeStats{s: watcher.Stats{Events: 50}}
	m := newClocked(Options{Stats: fs.get}, clk)
	wantHealth(t, m, http.StatusOK, "ok\n") // the count moved from none: now at t0

	clk.advance(4 * time.Minute)
	wantHealth(t, m, http.StatusOK, "ok\n")
	clk.advance(2 * time.Minute)
	wantHealth(t, m, http.StatusServiceUnavailable,
		"stream silent: no event read for 6m0s (allowed 5m0s)\n")
	wantLines(t, "silence", scrape(t, m, "courier_watcher_silence_seconds "),
		[]string{"courier_watcher_silence_seconds 360"})

	clk.advance(time.Second)
	fs.set(func(s *watcher.Stats) { s.Events++ })
	wantHealth(t, m, http.StatusOK, "ok\n")
}

func TestNoEventAtAllCountsFromTheStart(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	m := newClocked(Options{Stats: (&fakeStats{}).get, StreamSilence: time.Minute}, clk)
	clk.advance(61 * time.Second)
	wantHealth(t, m, http.StatusServiceUnavailable,
		"stream silent: no event read for 1m1s (allowed 1m0s)\n")
}

func TestLagShowsSilenceBetweenLooksFarApart(t *testing.T) {
	// Nobody looked for an hour; the events moved, so they came some
	// time in that hour: the lag says the newest is 50 minutes old.
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	fs := &fakeStats{}
	m := newClocked(Options{Stats: fs.get}, clk)
	clk.advance(time.Hour)
	fs.set(func(s *watcher.Stats) { s.Events, s.Lag = 5000, 50*time.Minute })
	wantHealth(t, m, http.StatusServiceUnavailable,
		"stream silent: no event read for 50m0s (allowed 5m0s)\n")

	// With a fresh newest event the same hour is no silence.
	fresh := &fakeStats{}
	m = newClocked(Options{Stats: fresh.get}, clk)
	clk.advance(time.Hour)
	fresh.set(func(s *watcher.Stats) { s.Events, s.Lag = 5000, 2*time.Second })
	wantHealth(t, m, http.StatusOK, "ok\n")
}

func TestOldEventsStillArrivingAreNotSilence(t *testing.T) {
	// After a restart the stream replays from the saved position: every
	// event is hours old, but they keep coming.
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	fs := &fakeStats{}
	m := newClocked(Options{Stats: fs.get}, clk)
	for range 20 {
		clk.advance(30 * time.Second)
		fs.set(func(s *watcher.Stats) { s.Events += 1000; s.Lag = 3 * time.Hour })
		wantHealth(t, m, http.StatusOK, "ok\n")
	}
}

func TestPollingCountsPollRounds(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	fs := &fakeStats{}
	m := newClocked(Options{Stats: fs.get, Polling: true, StreamSilence: 2 * time.Minute}, clk)
	for range 10 {
		clk.advance(30 * time.Second)
		fs.set(func(s *watcher.Stats) { s.Polls++ })
		wantHealth(t, m, http.StatusOK, "ok\n")
	}
	// The last round came between the last two looks, 30s apart: the
	// check counts from the earlier one, never later than the truth.
	clk.advance(91 * time.Second)
	wantHealth(t, m, http.StatusServiceUnavailable,
		"no poll of recent changes started for 2m1s (allowed 2m0s)\n")
}

func TestNegativeSilenceNeverFails(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	m := newClocked(Options{Stats: (&fakeStats{}).get, StreamSilence: -1}, clk)
	clk.advance(24 * time.Hour)
	wantHealth(t, m, http.StatusOK, "ok\n")
}

func TestAClosedStoreFailsTheHealthCheck(t *testing.T) {
	st := openStore(t)
	m := New(Options{Store: st, Logger: quiet()})
	wantHealth(t, m, http.StatusOK, "ok\n")
	st.Close()
	wantHealth(t, m, http.StatusServiceUnavailable,
		"state file not writable: get a connection: sql: database is closed\n")
}

func TestAReadOnlyStoreFailsTheHealthCheck(t *testing.T) {
	st := openStore(t)
	ro, err := store.OpenReadOnly(context.Background(), st.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	m := New(Options{Store: ro, Logger: quiet()})
	wantHealth(t, m, http.StatusServiceUnavailable,
		"state file not writable: write: attempt to write a readonly database\n")
}

func TestAStateFileDeletedFromUnderTheStoreFailsTheHealthCheck(t *testing.T) {
	st := openStore(t)
	m := New(Options{Store: st, Logger: quiet()})
	wantHealth(t, m, http.StatusOK, "ok\n")
	dir := filepath.Dir(st.Path())
	if left, _ := filepath.Glob(filepath.Join(dir, ".courier-health-*")); len(left) > 0 {
		t.Errorf("the check left files behind: %v", left)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	code, body := health(t, m)
	want := "state file not writable: find the state file: stat "
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, want) ||
		!strings.HasSuffix(body, ": no such file or directory\n") {
		t.Errorf("healthz: %d %q, want 503 %q...", code, body, want)
	}
}

// holdWriteLock takes the state file's write lock from a connection of
// its own, as another process would, until the returned func is called.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`DELETE FROM requests WHERE 0`); err != nil {
		t.Fatal(err)
	}
	return func() {
		tx.Rollback()
		db.Close()
	}
}

func TestALockedStoreFailsWithinTheTimeoutAndRecovers(t *testing.T) {
	st := openStore(t)
	m := New(Options{Store: st, StoreTimeout: 300 * time.Millisecond, Logger: quiet()})
	release := holdWriteLock(t, st.Path())

	start := time.Now()
	wantHealth(t, m, http.StatusServiceUnavailable,
		"state file not writable: take the write lock: database is locked\n")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the check took %v with a 300ms store timeout", took)
	}

	release()
	wantHealth(t, m, http.StatusOK, "ok\n")

	// The probe's short busy timeout must not reach the store's own work.
	var ms int
	if err := st.DB().QueryRow("PRAGMA busy_timeout").Scan(&ms); err != nil {
		t.Fatal(err)
	}
	if ms != 10000 {
		t.Errorf("store's busy_timeout after the probe: %d, want 10000", ms)
	}
}

func TestBothProblemsAreListed(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	st := openStore(t)
	m := newClocked(Options{Store: st, Stats: (&fakeStats{}).get}, clk)
	clk.advance(10 * time.Minute)
	st.Close()
	wantHealth(t, m, http.StatusServiceUnavailable,
		"stream silent: no event read for 10m0s (allowed 5m0s)\n"+
			"state file not writable: get a connection: sql: database is closed\n")
}

func TestHealthIsLoggedOnChangeOnly(t *testing.T) {
	var buf bytes.Buffer
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	fs := &fakeStats{}
	m := newClocked(Options{Stats: fs.get,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))}, clk)
	clk.advance(6 * time.Minute)
	for range 3 {
		clk.advance(time.Second)
		health(t, m)
	}
	fs.set(func(s *watcher.Stats) { s.Events++ })
	health(t, m)
	health(t, m)

	log := buf.String()
	if n := strings.Count(log, "health check failing"); n != 1 {
		t.Errorf("%d failing lines, want 1:\n%s", n, log)
	}
	if n := strings.Count(log, "health check passes again"); n != 1 {
		t.Errorf("%d passing lines, want 1:\n%s", n, log)
	}
}
