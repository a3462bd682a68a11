package metrics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"courier/watcher"
)

// silence estimates how long the watcher has gone without an event (or a
// poll round). The watcher reports counters, not the time of its last
// event, so every look at the counter is remembered: when the count has
// moved since the previous look, the newest event came after that look.
// The estimate is never shorter than the real silence, and longer by at
// most the time between two looks, which Serve keeps short by looking
// on its own every few seconds. The stream's lag (how old the newest
// event is) tightens it further: an event cannot have been read before
// it was made, clocks apart. Lag alone would not do: after a restart the
// stream replays old events, which are old but not silence.
type silence struct {
	mu     sync.Mutex // held across reading the counter and recording it
	count  uint64     // the counter at the last look
	looked time.Time  // when that was
	since  time.Time  // the earliest the newest event can have come
}

// observe records a look at the counter, made at now, and returns the
// silence so far; lag is the stream's lag, 0 when unknown. The caller
// holds mu.
func (s *silence) observe(now time.Time, count uint64, lag time.Duration) time.Duration {
	if count != s.count {
		s.since = s.looked
		if made := now.Add(-lag); lag > 0 && made.After(s.since) {
			s.since = made
		}
		s.count = count
	}
	s.looked = now
	return max(0, now.Sub(s.since))
}

// look reads the watcher's counters and returns them with its silence:
// in stream events, or in poll rounds when polling (a poll has no lag).
// The counters and the clock are read under the silence's lock, so that
// of two looks at once the older count is never recorded last.
func (m *Metrics) look() (watcher.Stats, time.Duration) {
	m.quiet.mu.Lock()
	defer m.quiet.mu.Unlock()
	s := m.opts.Stats()
	if m.opts.Polling {
		return s, m.quiet.observe(m.now(), s.Polls, 0)
	}
	return s, m.quiet.observe(m.now(), s.Events, s.Lag)
}

// sampleEvery is how often Serve looks at the watcher's counters between
// health checks and scrapes: a tenth of the silence allowed, within
// [1s, 30s].
func sampleEvery(threshold time.Duration) time.Duration {
	return min(max(threshold/10, time.Second), 30*time.Second)
}

// problem is one failing health check.
type problem struct {
	check string // which check failed: "stream" or "store"
	text  string // what is wrong, on one line
}

// serveHealth answers /healthz: 200 "ok", or 503 and one line a problem.
func (m *Metrics) serveHealth(w http.ResponseWriter, r *http.Request) {
	problems := m.check(r.Context())
	m.noteHealth(problems)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) == 0 {
		fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	for _, p := range problems {
		fmt.Fprintln(w, p.text)
	}
}

// check runs the health checks and returns their problems.
func (m *Metrics) check(ctx context.Context) []problem {
	var problems []problem
	if text := m.checkSilence(); text != "" {
		problems = append(problems, problem{"stream", text})
	}
	if m.opts.Store != nil {
		if err := m.probeStore(ctx); err != nil {
			text := oneLine("state file not writable: " + err.Error())
			problems = append(problems, problem{"store", text})
		}
	}
	return problems
}

// checkSilence returns the problem when the watcher has been silent for
// longer than allowed, or "".
func (m *Metrics) checkSilence() string {
	if m.opts.Stats == nil {
		return ""
	}
	_, quiet := m.look()
	limit := m.opts.StreamSilence
	if limit < 0 || quiet <= limit {
		return ""
	}
	quiet = quiet.Round(time.Second)
	if m.opts.Polling {
		return fmt.Sprintf("no poll of recent changes started for %s (allowed %s)", quiet, limit)
	}
	return fmt.Sprintf("stream silent: no event read for %s (allowed %s)", quiet, limit)
}

// probeStore checks that the state file can be written: it takes the
// write lock (BEGIN IMMEDIATE, through the store's _txlock), makes a write
// that changes nothing, and rolls back. That fails when the store is
// closed, when another process holds the write lock past StoreTimeout, or
// when the connection can only read (SQLite opens a file it may not write
// read-only). A write that is rolled back never reaches the disk, so
// probeFolder then checks the file system.
func (m *Metrics) probeStore(ctx context.Context) error {
	m.probeMu.Lock()
	defer m.probeMu.Unlock()
	if err := m.probeWrite(ctx); err != nil {
		return err
	}
	return probeFolder(m.opts.Store.Path())
}

// probeWrite takes the write lock, writes nothing and rolls back.
func (m *Metrics) probeWrite(ctx context.Context) error {
	// The busy wait for the lock ignores ctx; the busy_timeout set below
	// bounds it, and this bounds the rest.
	ctx, cancel := context.WithTimeout(ctx, 2*m.opts.StoreTimeout)
	defer cancel()

	conn, err := m.opts.Store.DB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("get a connection: %w", err)
	}
	defer conn.Close()
	restore, err := shortenBusyTimeout(ctx, conn, m.opts.StoreTimeout)
	if err != nil {
		return err
	}
	defer restore()

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("take the write lock: %w", err)
	}
	defer tx.Rollback()
	// A write that matches no row still needs the file writable.
	if _, err := tx.ExecContext(ctx, `DELETE FROM requests WHERE 0`); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// shortenBusyTimeout sets conn's busy timeout to d and returns the func
// that sets it back, or, when that fails, keeps the connection from going
// back to the store's pool with the probe's short timeout.
func shortenBusyTimeout(ctx context.Context, conn *sql.Conn, d time.Duration) (func(),
	error) {
	var was int64
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&was); err != nil {
		return nil, fmt.Errorf("read busy timeout: %w", err)
	}
	set := func(ctx context.Context, ms int64) error {
		_, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", ms))
		return err
	}
	restore := func() {
		// Not ctx: the probe's time may be up, and this is quick.
		if set(context.Background(), was) != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	if err := set(ctx, d.Milliseconds()); err != nil {
		restore()
		return nil, fmt.Errorf("set busy timeout: %w", err)
	}
	return restore, nil
}

// probeFolder checks what a rolled-back write cannot: that the state file
// is still where the store opened it (SQLite goes on writing to a deleted
// file, and a restart would lose it), and that its folder takes a small
// new file, which fails on a file system remounted read-only. It cannot
// see a disk that is nearly full.
func probeFolder(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("find the state file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".courier-health-*")
	if err != nil {
		return fmt.Errorf("create a file beside it: %w", err)
	}
	_, werr := f.WriteString("courier health check\n")
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return fmt.Errorf("write a file beside it: %w", err)
	}
	return nil
}

// noteHealth logs when a check starts failing and when every check
// passes again, not on every health check in between.
func (m *Metrics) noteHealth(problems []problem) {
	var checks []string
	for _, p := range problems {
		checks = append(checks, p.check)
	}
	failing := strings.Join(checks, ",")
	m.healthMu.Lock()
	before := m.failing
	m.failing = failing
	m.healthMu.Unlock()
	switch {
	case failing == before:
	case failing == "":
		m.log.Info("health check passes again")
	default:
		for _, p := range problems {
			m.log.Warn("health check failing; /healthz answers 503 until it passes",
				"check", p.check, "problem", p.text)
		}
	}
}

// oneLine puts s on one line, for the health check's answer.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
