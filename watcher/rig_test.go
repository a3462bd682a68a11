package watcher_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"courier/store"
	"courier/watcher"
	"courier/wiki"
	"courier/wikitest"
)

func TestMain(m *testing.M) {
	if os.Getenv(replayServeEnv) != "" {
		serveReplays() // a child of BenchmarkReplay
		return
	}
	wikitest.Main(m)
}

const userAgent = "Courier-watcher-test/1.0 (https://example.org/courier; ops@example.org)"

// rig is a test's set-up: the shared wikis, a stream of the test's own (so
// that its faults disturb no other test), a state file and an editor.
type rig struct {
	t      *testing.T
	env    *wikitest.Env
	stream *wikitest.Stream
	st     *store.Store
	editor *wikitest.Session
	wikis  []watcher.Wiki
	id     string // in the test's titles and user names
}

func newRig(t *testing.T) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("needs MediaWiki")
	}
	env := wikitest.Shared(t)
	stream, err := env.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stream.Close() })
	r := &rig{t: t, env: env, stream: stream, st: openStore(t, t.TempDir()),
		id: runID + "-" + strconv.FormatInt(rigs.Add(1), 10)}
	if r.editor, err = env.Wiki("metawiki").Admin(); err != nil {
		t.Fatal(err)
	}
	for _, spec := range wikitest.SharedWikis {
		r.wikis = append(r.wikis, newWiki(t, env.Wiki(spec.ID)))
	}
	return r
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, "courier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newWiki is the watcher's view of a test wiki, through the real client.
func newWiki(t testing.TB, w *wikitest.Wiki) watcher.Wiki {
	t.Helper()
	c, err := wiki.New(wiki.Config{ID: w.ID, API: w.API, UserAgent: userAgent,
		Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	wk, err := watcher.NewWiki(context.Background(), c, w.Domain)
	if err != nil {
		t.Fatal(err)
	}
	return wk
}

// config is a watcher config for the rig, with waits short enough for tests.
func (r *rig) config() watcher.Config {
	return watcher.Config{
		StreamURL:       r.stream.URL,
		UserAgent:       userAgent,
		BotName:         "Courier@courier",
		Wikis:           r.wikis,
		Store:           r.st,
		Logger:          testLogger(r.t),
		Margin:          time.Minute,
		PersistInterval: 100 * time.Millisecond,
		MinBackoff:      20 * time.Millisecond,
		MaxBackoff:      200 * time.Millisecond,
		HealthyAfter:    time.Millisecond,
		PollInterval:    200 * time.Millisecond,
	}
}

// runID and rigs tell a test's pages from those of another run on the same
// wikis: another process, or another round of go test -count=N.
var (
	runID = strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	rigs  atomic.Int64
)

// page returns a title of the test's own, in the project namespace.
func (r *rig) page(suffix string) string {
	name := strings.NewReplacer("/", " ", "_", " ").Replace(r.t.Name())
	return "Meta:Watcher test " + r.id + "/" + name + "/" + suffix
}

// edit saves a new revision of title and returns its id.
func (r *rig) edit(s *wikitest.Session, title string) int64 {
	r.t.Helper()
	rev, err := s.Edit(title, fmt.Sprintf("text %d", time.Now().UnixNano()), "watcher test")
	if err != nil {
		r.t.Fatalf("edit %s: %v", title, err)
	}
	return rev
}

// running is a watcher under test with its consumer.
type running struct {
	w      *watcher.Watcher
	cancel context.CancelFunc
	done   chan error
	got    chan watcher.Change
	mark   *store.Store // if set, the consumer records what it handled there
}

// start runs a watcher built from cfg that watches titles on metawiki.
// Its consumer records each change as handled when mark is true.
func (r *rig) start(cfg watcher.Config, mark bool, titles ...string) *running {
	r.t.Helper()
	w, err := watcher.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, title := range titles {
		if err := w.Watch("metawiki", title); err != nil {
			r.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{w: w, cancel: cancel, done: make(chan error, 1),
		got: make(chan watcher.Change, 1000)}
	if mark {
		run.mark = cfg.Store
	}
	go func() { run.done <- w.Run(ctx) }()
	r.t.Cleanup(func() { run.stop(r.t) })
	return run
}

// consume moves changes from the watcher to got, as a consumer would,
// recording each as handled when asked to.
func (run *running) consume(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for c := range run.w.Changes() {
			if run.mark != nil {
				err := run.mark.SetPageRevision(context.Background(), c.Wiki, c.Title, c.RevID)
				if err != nil {
					t.Errorf("SetPageRevision: %v", err)
				}
			}
			run.got <- c
		}
	}()
	t.Cleanup(func() {
		run.stop(t) // closes Changes, which ends the loop above
		wg.Wait()
	})
}

// stop cancels the watcher and waits for Run; it may be called twice.
func (run *running) stop(t *testing.T) {
	run.cancel()
	select {
	case err, ok := <-run.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(run.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// expect reads changes until it has one for each of revs, and fails on a
// change it did not expect or a revision that comes twice.
func (run *running) expect(t *testing.T, revs ...int64) []watcher.Change {
	t.Helper()
	want := map[int64]bool{}
	for _, rev := range revs {
		want[rev] = true
	}
	var out []watcher.Change
	deadline := time.After(30 * time.Second)
	for len(out) < len(revs) {
		select {
		case c := <-run.got:
			if !want[c.RevID] {
				t.Fatalf("unexpected change %+v (want revisions %v)", c, revs)
			}
			delete(want, c.RevID)
			out = append(out, c)
		case <-deadline:
			t.Fatalf("got %d of %d changes; missing %v; stats %+v", len(out), len(revs),
				keys(want), run.w.Stats())
		}
	}
	return out
}

// quiet fails if a change arrives within d.
func (run *running) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case c := <-run.got:
		t.Fatalf("unexpected change %+v", c)
	case <-time.After(d):
	}
}

func keys(m map[int64]bool) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	return out
}

// testLogger logs to the test's output when -v is given and
// WATCHER_TEST_LOG is set, else nowhere.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("WATCHER_TEST_LOG") == "" {
		return quietLogger()
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{
		Level: slog.LevelDebug})).With("component", "watcher")
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
