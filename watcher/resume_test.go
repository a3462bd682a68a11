package watcher_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"courier/watcher"
	"courier/wikitest"
)

func TestRestartResumesWithoutLossOrRepeats(t *testing.T) {
	r := newRig(t)
	title := r.page("Requests")
	first := r.start(r.config(), true, title)
	first.consume(t)
	waitConnected(t, r, 1)
	var revs []int64
	for range 3 {
		revs = append(revs, r.edit(r.editor, title))
	}
	first.expect(t, revs...)
	first.stop(t)
	lastSeen := r.stream.Last()

	// Edits made while Courier is down arrive after the restart, once.
	down := []int64{r.edit(r.editor, title), r.edit(r.editor, title)}
	connections := r.stream.Connections()
	second := r.start(r.config(), true, title)
	second.consume(t)
	waitConnected(t, r, connections+1)
	if got := r.stream.Requests()[connections]; got.LastEventID != wikitest.EventID(lastSeen) {
		t.Errorf("resumed with Last-Event-ID %q, want %q", got.LastEventID,
			wikitest.EventID(lastSeen))
	}
	second.expect(t, down...)
	live := r.edit(r.editor, title)
	second.expect(t, live)
	second.quiet(t, 500*time.Millisecond)
}

func TestRestartRedeliversWhatTheConsumerDidNotTake(t *testing.T) {
	r := newRig(t)
	title := r.page("Requests")
	cfg := r.config()
	cfg.QueueSize = 1
	cfg.Margin = time.Millisecond      // so only the saved position can reach back
	first := r.start(cfg, true, title) // nobody consumes
	waitConnected(t, r, 1)
	var revs []int64
	for range 3 {
		revs = append(revs, r.edit(r.editor, title))
	}
	waitFor(t, "three changes found", func() bool { return first.w.Stats().Matched == 3 })

	// The stream moves on well past the changes before the stop.
	time.Sleep(2 * time.Second)
	events := first.w.Stats().Events
	r.edit(r.editor, r.page("Unwatched"))
	waitFor(t, "a later event", func() bool { return first.w.Stats().Events > events })
	first.stop(t)

	second := r.start(cfg, true, title)
	second.consume(t)
	second.expect(t, revs...)
	second.quiet(t, 500*time.Millisecond)
}

func TestRefusedEventIDFallsBackToSince(t *testing.T) {
	r := newRig(t)
	title := r.page("Requests")
	cfg := r.config()
	// The wiki's own listing fails here, so only the stream's since=
	// replay can bring the edits made while the watcher was down.
	for i := range cfg.Wikis {
		cfg.Wikis[i].Changes = failing{}
	}
	first := r.start(cfg, true, title)
	first.consume(t)
	waitConnected(t, r, 1)
	rev := r.edit(r.editor, title)
	first.expect(t, rev)
	first.stop(t)

	down := []int64{r.edit(r.editor, title), r.edit(r.editor, title)}
	r.stream.RefuseLastEventID(true)
	defer r.stream.RefuseLastEventID(false)
	connections := r.stream.Connections()
	second := r.start(cfg, true, title)
	second.consume(t)
	for _, c := range second.expect(t, down...) {
		if c.Source != watcher.SourceStream {
			t.Errorf("change %d came from %s", c.RevID, c.Source)
		}
	}
	reqs := r.stream.Requests()[connections:]
	if len(reqs) < 2 || reqs[0].Status != 400 || reqs[1].Status != 200 ||
		reqs[1].LastEventID != "" || !strings.HasPrefix(reqs[1].Since, "20") {
		t.Errorf("subscriptions after the restart: %+v", reqs)
	}
}

// failing is a wiki whose recent changes cannot be listed.
type failing struct{}

func (failing) RecentChanges(context.Context, watcher.Query) ([]watcher.Change, error) {
	return nil, errors.New("listing switched off by the test")
}

func TestBackfillFindsWhatTheStreamMissed(t *testing.T) {
	r := newRig(t)
	// A stream that no wiki feeds: every change must come from backfill,
	// which each reconnect starts.
	dead, err := wikitest.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	title := r.page("Requests")
	cfg := r.config()
	cfg.StreamURL = dead.URL
	run := r.start(cfg, true, title)
	run.consume(t)

	var revs []int64
	for range 3 {
		revs = append(revs, r.edit(r.editor, title))
	}
	dead.CloseAfter(0)
	dead.Canary()
	for _, c := range run.expect(t, revs...) {
		if c.Source != watcher.SourceBackfill {
			t.Errorf("change %d came from %s", c.RevID, c.Source)
		}
	}
}

func TestSlowConsumerLosesNothing(t *testing.T) {
	r := newRig(t)
	title := r.page("Requests")
	cfg := r.config()
	cfg.QueueSize, cfg.SpillSize = 1, 1
	run := r.start(cfg, true, title)
	waitConnected(t, r, 1)
	var revs []int64
	for range 5 {
		revs = append(revs, r.edit(r.editor, title))
	}
	waitFor(t, "a change left to backfill", func() bool { return run.w.Stats().Deferred > 0 })
	run.consume(t)
	got := run.expect(t, revs...)
	for i := 1; i < len(got); i++ {
		if got[i].RevID < got[i-1].RevID {
			t.Logf("revision %d after %d (a backfill brought it)", got[i].RevID,
				got[i-1].RevID)
		}
	}
	run.quiet(t, 500*time.Millisecond)
}

func TestIdleStreamIsDropped(t *testing.T) {
	r := newRig(t)
	quiet, err := wikitest.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	cfg := r.config()
	cfg.StreamURL = quiet.URL
	cfg.IdleTimeout = 200 * time.Millisecond
	r.start(cfg, true, r.page("Requests"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := quiet.WaitConnections(ctx, 3); err != nil {
		t.Fatalf("a silent stream was not dropped and subscribed again: %v", err)
	}
}

func TestPollingFindsEdits(t *testing.T) {
	r := newRig(t)
	title := r.page("Requests")
	cfg := r.config()
	cfg.StreamURL = ""
	first := r.start(cfg, true, title)
	first.consume(t)
	time.Sleep(300 * time.Millisecond) // the first poll sets the window's start
	revs := []int64{r.edit(r.editor, title), r.edit(r.editor, title)}
	for _, c := range first.expect(t, revs...) {
		if c.Source != watcher.SourcePoll || c.Title != title {
			t.Errorf("change = %+v", c)
		}
	}
	first.stop(t)

	down := r.edit(r.editor, title)
	second := r.start(cfg, true, title)
	second.consume(t)
	second.expect(t, down)
	live := r.edit(r.editor, title)
	second.expect(t, live)
	second.quiet(t, 600*time.Millisecond)
	if r.stream.Connections() != 0 {
		t.Error("polling subscribed to the stream")
	}
}

// waitFor polls cond until it holds, for at most 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
