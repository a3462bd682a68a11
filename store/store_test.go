package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "courier.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenMigratesAndUsesWAL(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	var mode string
	var version int
	s.DB().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
	s.DB().QueryRowContext(ctx, "PRAGMA user_version").Scan(&version)
	if mode != "wal" || version != SchemaVersion {
		t.Errorf("journal_mode = %q, user_version = %d; want wal, %d", mode, version, SchemaVersion)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	_, path := openTemp(t)
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: err = %v, want ErrLocked", err)
	}
	for _, want := range []string{path, fmt.Sprint(os.Getpid()), "deliver twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// TestLockHoldsAcrossProcesses runs this test binary again as a child that
// opens the same state file while the parent holds it.
func TestLockHoldsAcrossProcesses(t *testing.T) {
	if path := os.Getenv("COURIER_STORE_CHILD"); path != "" {
		_, err := Open(context.Background(), path)
		if errors.Is(err, ErrLocked) {
			fmt.Println("child: locked")
			os.Exit(0)
		}
		fmt.Println("child: opened:", err)
		os.Exit(1)
	}
	s, path := openTemp(t)
	child := exec.Command(os.Args[0], "-test.run=^TestLockHoldsAcrossProcesses$")
	child.Env = append(os.Environ(), "COURIER_STORE_CHILD="+path)
	out, err := child.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "child: locked") {
		t.Fatalf("child with the file held: %v\n%s", err, out)
	}

	// Once the parent lets go, a new process may open it.
	s.Close()
	s2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestNewerSchemaIsRefused(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.DB().Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Open of a newer file: err = %v, want ErrNewerSchema naming version 99", err)
	}
}

func TestReopenKeepsState(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.UTC)
	pos := Position{EventID: `[{"topic":"t","partition":0,"offset":42}]`, Time: at}
	if err := s.SetStreamPosition(ctx, "u", pos); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.StreamPosition(ctx, "u")
	if err != nil || !ok || got.EventID != pos.EventID || !got.Time.Equal(at) {
		t.Errorf("StreamPosition = %+v, %v, %v; want %+v", got, ok, err, pos)
	}
	if _, ok, _ := s.StreamPosition(ctx, "other"); ok {
		t.Error("a stream never saved has a position")
	}
}

func TestPageRevisionNeverGoesBack(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	for _, rev := range []int64{10, 30, 20} {
		if err := s.SetPageRevision(ctx, "metawiki", "Meta:Requests", rev); err != nil {
			t.Fatal(err)
		}
	}
	if rev, _ := s.PageRevision(ctx, "metawiki", "Meta:Requests"); rev != 30 {
		t.Errorf("PageRevision = %d, want 30", rev)
	}
}

func TestRequestLifecycle(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	r := Request{ID: 1234, Wiki: "metawiki", Page: "Meta:Requests", Requester: "Alice",
		State: StatePending, ListTitle: "Meta:List", Subject: "News"}
	if created, err := s.CreateRequest(ctx, r); err != nil || !created {
		t.Fatalf("CreateRequest = %v, %v", created, err)
	}
	r.Subject = "changed"
	if created, _ := s.CreateRequest(ctx, r); created {
		t.Error("a second CreateRequest with the same id created a request")
	}
	if got, _ := s.Request(ctx, 1234); got.Subject != "News" {
		t.Errorf("the second CreateRequest changed the subject to %q", got.Subject)
	}

	moved, err := s.TransitionRequest(ctx, 1234, StateDelivering, StateApproved)
	if err != nil || moved {
		t.Errorf("pending to delivering via approved only: moved = %v, %v", moved, err)
	}
	s.TransitionRequest(ctx, 1234, StateApproved, StatePending)
	if moved, _ := s.TransitionRequest(ctx, 1234, StateDelivering, StateApproved); !moved {
		t.Error("approved to delivering did not move")
	}
	got, _ := s.Request(ctx, 1234)
	if got.State != StateDelivering || got.Created.IsZero() {
		t.Errorf("request = %+v", got)
	}
	if list, _ := s.Requests(ctx, StateDelivering, StateDone); len(list) != 1 {
		t.Errorf("Requests(delivering, done) = %d requests, want 1", len(list))
	}
	if _, err := s.Request(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Request(99): err = %v, want ErrNotFound", err)
	}
}

func TestTargetsExactlyOnce(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	s.CreateRequest(ctx, Request{ID: 7, Wiki: "w", Page: "P", Requester: "A", State: StateApproved})
	targets := []Target{
		{Wiki: "w", Title: "User talk:A", Seq: 0},
		{Wiki: "w", Title: "User talk:B", Seq: 1},
		{Wiki: "x", Title: "User talk:A", Seq: 2},
		{Wiki: "w", Title: "User talk:C", Seq: 3, State: TargetSkipped, Reason: "nobots"},
	}
	if err := s.AddTargets(ctx, 7, targets); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTargets(ctx, 7, targets); err != nil {
		t.Fatalf("adding the same targets again: %v", err)
	}

	if err := s.MarkSending(ctx, 7, "w", "User talk:A"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSending(ctx, 7, "w", "User talk:A"); !errors.Is(err, ErrNotQueued) {
		t.Errorf("marking a target sending twice: err = %v, want ErrNotQueued", err)
	}
	sending, _ := s.SendingTargets(ctx)
	if len(sending) != 1 || sending[0].Title != "User talk:A" || sending[0].MarkedAt.IsZero() {
		t.Errorf("SendingTargets = %+v", sending)
	}
	if err := s.RecordOutcome(ctx, 7, "w", "User talk:A", TargetDelivered, "", 555); err != nil {
		t.Fatal(err)
	}
	err := s.RecordOutcome(ctx, 7, "w", "User talk:A", TargetFailed, "x", 0)
	if !errors.Is(err, ErrHasOutcome) {
		t.Errorf("overwriting a final outcome: err = %v, want ErrHasOutcome", err)
	}
	s.RecordOutcome(ctx, 7, "x", "User talk:A", TargetFailed, "protectedpage", 0)

	c, err := s.TargetCounts(ctx, 7)
	want := Counts{Queued: 1, Delivered: 1, Skipped: 1, Failed: 1}
	if err != nil || c != want || c.Total() != 4 || c.Done() != 3 {
		t.Errorf("TargetCounts = %+v, %v; want %+v", c, err, want)
	}
	list, _ := s.Targets(ctx, 7)
	if len(list) != 4 || list[0].RevID != 555 || list[2].Reason != "protectedpage" {
		t.Errorf("Targets = %+v", list)
	}
}

// TestMarkSendingRace checks that of many concurrent claims on one target,
// exactly one wins.
func TestMarkSendingRace(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	s.CreateRequest(ctx, Request{ID: 8, Wiki: "w", Page: "P", Requester: "A", State: StateApproved})
	s.AddTargets(ctx, 8, []Target{{Wiki: "w", Title: "User talk:A"}})

	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Go(func() {
			if s.MarkSending(ctx, 8, "w", "User talk:A") == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d claims won, want exactly 1", wins)
	}
}

func TestReadOnlyOpenBesideTheWriter(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	s.CreateRequest(ctx, Request{ID: 3, Wiki: "w", Page: "P", Requester: "A", State: StatePending})
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("OpenReadOnly while the writer holds the file: %v", err)
	}
	defer ro.Close()
	if r, err := ro.Request(ctx, 3); err != nil || r.Requester != "A" {
		t.Errorf("Request through the reader = %+v, %v", r, err)
	}
	if _, err := ro.CreateRequest(ctx, Request{ID: 4, Wiki: "w", Page: "P", Requester: "B",
		State: StatePending}); err == nil {
		t.Error("the read-only store wrote a request")
	}
	if _, err := OpenReadOnly(ctx, path+".missing"); err == nil {
		t.Error("OpenReadOnly of a missing file succeeded")
	}
}

func TestSiteMatrixCache(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if sites, at, err := s.SiteMatrix(ctx); err != nil || len(sites) != 0 || !at.IsZero() {
		t.Errorf("empty cache = %v, %v, %v", sites, at, err)
	}
	first := []Site{{"dewiki", "de.wikipedia.org", "https://de.wikipedia.org/w/api.php"},
		{"enwiki", "en.wikipedia.org", "https://en.wikipedia.org/w/api.php"}}
	s.SaveSiteMatrix(ctx, first)
	s.SaveSiteMatrix(ctx, first[1:])
	sites, at, err := s.SiteMatrix(ctx)
	if err != nil || len(sites) != 1 || sites[0] != first[1] || at.IsZero() {
		t.Errorf("cache after two saves = %v, %v, %v; want only enwiki", sites, at, err)
	}
}
