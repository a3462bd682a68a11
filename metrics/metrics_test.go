package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"courier/store"
	"courier/watcher"
)

// openStore opens a fresh state file in a temporary folder.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "courier.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// quiet is a logger that drops everything.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// get fetches path from h and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// scrape returns the lines of /metrics that start with prefix, sorted.
func scrape(t *testing.T, m *Metrics, prefix string) []string {
	t.Helper()
	code, body := get(t, m.Handler(), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d\n%s", code, body)
	}
	var lines []string
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	return lines
}

// wantLines fails t unless got (sorted) is exactly want, in any order.
func wantLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s:\ngot\n\t%s\nwant\n\t%s", what, strings.Join(got, "\n\t"),
			strings.Join(want, "\n\t"))
	}
}

// seed fills st with three requests and the targets of two, through the
// store's own methods.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, r := range []store.Request{
		{ID: 101, State: store.StateDone},
		{ID: 102, State: store.StateDelivering},
		{ID: 103, State: store.StatePending},
		{ID: 104, State: store.StatePending},
	} {
		r.Wiki, r.Page, r.Requester = "metawiki", "Meta:Message delivery/Requests", "Alice"
		if _, err := st.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	targets := func(wiki string, titles ...string) []store.Target {
		var out []store.Target
		for i, title := range titles {
			out = append(out, store.Target{Wiki: wiki, Title: title, Seq: i})
		}
		return out
	}
	add := func(id int64, ts []store.Target) {
		if err := st.AddTargets(ctx, id, ts); err != nil {
			t.Fatal(err)
		}
	}
	add(101, targets("metawiki", "User talk:A", "User talk:B", "User talk:C", "User talk:D"))
	add(101, targets("dewiki", "Benutzer Diskussion:E", "Benutzer Diskussion:F"))
	add(102, targets("dewiki", "Benutzer Diskussion:G", "Benutzer Diskussion:H",
		"Benutzer Diskussion:I"))

	outcome := func(id int64, wiki, title string, state store.TargetState, reason string) {
		if state == store.TargetDelivered {
			if err := st.MarkSending(ctx, id, wiki, title); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.RecordOutcome(ctx, id, wiki, title, state, reason, 0); err != nil {
			t.Fatal(err)
		}
	}
	outcome(101, "metawiki", "User talk:A", store.TargetDelivered, "")
	outcome(101, "metawiki", "User talk:B", store.TargetDelivered, "")
	outcome(101, "metawiki", "User talk:C", store.TargetSkipped, "optout")
	outcome(101, "metawiki", "User talk:D", store.TargetFailed, "protectedpage")
	outcome(101, "dewiki", "Benutzer Diskussion:E", store.TargetSkipped, "nobots")
	outcome(101, "dewiki", "Benutzer Diskussion:F", store.TargetSkipped, "nobots")
	outcome(102, "dewiki", "Benutzer Diskussion:G", store.TargetDelivered, "")
	if err := st.MarkSending(ctx, 102, "dewiki", "Benutzer Diskussion:H"); err != nil {
		t.Fatal(err)
	}
}

func TestRequestsAndTargetsAreCountedFromTheStore(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := New(Options{Store: st, Logger: quiet()})

	wantLines(t, "requests", scrape(t, m, "courier_requests{"), []string{
		`courier_requests{state="approved"} 0`,
		`courier_requests{state="cancelled"} 0`,
		`courier_requests{state="delivering"} 1`,
		`courier_requests{state="done"} 1`,
		`courier_requests{state="pending"} 2`,
		`courier_requests{state="rejected"} 0`,
	})
	wantLines(t, "targets", scrape(t, m, "courier_targets{"), []string{
		`courier_targets{state="delivered",wiki="dewiki"} 1`,
		`courier_targets{state="failed",wiki="dewiki"} 0`,
		`courier_targets{state="queued",wiki="dewiki"} 1`,
		`courier_targets{state="sending",wiki="dewiki"} 1`,
		`courier_targets{state="skipped",wiki="dewiki"} 2`,
		`courier_targets{state="delivered",wiki="metawiki"} 2`,
		`courier_targets{state="failed",wiki="metawiki"} 1`,
		`courier_targets{state="queued",wiki="metawiki"} 0`,
		`courier_targets{state="sending",wiki="metawiki"} 0`,
		`courier_targets{state="skipped",wiki="metawiki"} 1`,
	})
	wantLines(t, "skipped", scrape(t, m, "courier_targets_skipped{"), []string{
		`courier_targets_skipped{reason="nobots",wiki="dewiki"} 2`,
		`courier_targets_skipped{reason="optout",wiki="metawiki"} 1`,
	})
	wantLines(t, "failed", scrape(t, m, "courier_targets_failed{"), []string{
		`courier_targets_failed{reason="protectedpage",wiki="metawiki"} 1`,
	})
	wantLines(t, "waiting", scrape(t, m, "courier_edits_waiting{"), []string{
		`courier_edits_waiting{wiki="dewiki"} 2`,
		`courier_edits_waiting{wiki="metawiki"} 0`,
	})
	wantLines(t, "store up", scrape(t, m, "courier_store_up "), []string{"courier_store_up 1"})
}

func TestCountsFollowTheStoreBetweenScrapes(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := New(Options{Store: st, Logger: quiet()})
	scrape(t, m, "courier_")

	ctx := context.Background()
	if err := st.RecordOutcome(ctx, 102, "dewiki", "Benutzer Diskussion:H",
		store.TargetDelivered, "", 77); err != nil {
		t.Fatal(err)
	}
	ok, err := st.TransitionRequest(ctx, 103, store.StateApproved, store.StatePending)
	if err != nil || !ok {
		t.Fatalf("approve 103: %v, %v", ok, err)
	}
	wantLines(t, "dewiki", scrape(t, m, `courier_targets{state="delivered",wiki="dewiki"}`),
		[]string{`courier_targets{state="delivered",wiki="dewiki"} 2`})
	wantLines(t, "waiting", scrape(t, m, `courier_edits_waiting{wiki="dewiki"}`),
		[]string{`courier_edits_waiting{wiki="dewiki"} 1`})
	wantLines(t, "approved", scrape(t, m, `courier_requests{state="approved"}`),
		[]string{`courier_requests{state="approved"} 1`})
}

func TestAnEmptyStoreReportsZeroRequests(t *testing.T) {
	m := New(Options{Store: openStore(t), Logger: quiet()})
	got := scrape(t, m, "courier_requests{")
	if len(got) != 6 || !strings.HasSuffix(got[0], "} 0") {
		t.Errorf("requests of an empty store: %q", got)
	}
	if got := scrape(t, m, "courier_targets{"); len(got) != 0 {
		t.Errorf("targets of an empty store: %q", got)
	}
}

func TestAClosedStoreIsReportedDownAndTheRestStillServed(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := New(Options{Store: st, Stats: func() watcher.Stats { return watcher.Stats{} },
		Logger: quiet()})
	st.Close()
	wantLines(t, "store up", scrape(t, m, "courier_store_up "), []string{"courier_store_up 0"})
	if got := scrape(t, m, "courier_requests{"); len(got) != 0 {
		t.Errorf("requests of a closed store: %q", got)
	}
	if got := scrape(t, m, "courier_watcher_events_total "); len(got) != 1 {
		t.Errorf("watcher metrics missing beside a closed store")
	}
}

func TestWatcherStatsAreReadAtScrapeTime(t *testing.T) {
	stats := watcher.Stats{Events: 1200, Matched: 7, Reconnects: 2, Backfills: 3,
		Deferred: 1, Queued: 4, Lag: 1500 * time.Millisecond}
	m := New(Options{Stats: func() watcher.Stats { return stats }, Logger: quiet()})
	want := []string{
		"courier_watcher_backfills_total 3",
		"courier_watcher_deferred_total 1",
		"courier_watcher_events_total 1200",
		"courier_watcher_lag_seconds 1.5",
		"courier_watcher_matched_total 7",
		"courier_watcher_polls_total 0",
		"courier_watcher_queued 4",
		"courier_watcher_reconnects_total 2",
	}
	got := slices.DeleteFunc(scrape(t, m, "courier_watcher_"), func(l string) bool {
		return strings.HasPrefix(l, "courier_watcher_silence_seconds ")
	})
	wantLines(t, "watcher", got, want)

	stats.Events, stats.Reconnects = 1300, 3
	wantLines(t, "events", scrape(t, m, "courier_watcher_events_total "),
		[]string{"courier_watcher_events_total 1300"})
	wantLines(t, "reconnects", scrape(t, m, "courier_watcher_reconnects_total "),
		[]string{"courier_watcher_reconnects_total 3"})
}

func TestAPIHookFeedsTheHistogram(t *testing.T) {
	m := New(Options{Logger: quiet()})
	meta, de := m.APIHook("metawiki"), m.APIHook("dewiki")
	meta("query", 20*time.Millisecond, nil)
	meta("query", 300*time.Millisecond, nil)
	meta("edit", 3*time.Second, errors.New("protectedpage"))
	de("edit", 40*time.Millisecond, nil)

	name := "courier_api_request_duration_seconds"
	wantLines(t, "counts", scrape(t, m, name+"_count"), []string{
		name + `_count{action="edit",result="error",wiki="metawiki"} 1`,
		name + `_count{action="edit",result="ok",wiki="dewiki"} 1`,
		name + `_count{action="query",result="ok",wiki="metawiki"} 2`,
	})
	wantLines(t, "sum", scrape(t, m, name+`_sum{action="query"`), []string{
		name + `_sum{action="query",result="ok",wiki="metawiki"} 0.32`,
	})
	bucket := name + `_bucket{action="query",result="ok",wiki="metawiki",le=`
	wantLines(t, "buckets", scrape(t, m, bucket+`"0.025"}`+" "), []string{
		bucket + `"0.025"} 1`,
	})
	wantLines(t, "buckets", scrape(t, m, bucket+`"0.5"}`+" "), []string{
		bucket + `"0.5"} 2`,
	})
}

func TestGoAndProcessCollectorsAreIncluded(t *testing.T) {
	m := New(Options{Logger: quiet()})
	if got := scrape(t, m, "go_goroutines "); len(got) != 1 {
		t.Errorf("go_goroutines: %q", got)
	}
	if got := scrape(t, m, "process_cpu_seconds_total "); len(got) != 1 {
		t.Errorf("process_cpu_seconds_total: %q", got)
	}
}

func TestTwoMetricsDoNotShareARegistry(t *testing.T) {
	a, b := New(Options{Logger: quiet()}), New(Options{Logger: quiet()})
	a.APIHook("metawiki")("query", time.Millisecond, nil)
	if got := scrape(t, b, "courier_api_request_duration_seconds_count"); len(got) != 0 {
		t.Errorf("b sees a's observations: %q", got)
	}
}
