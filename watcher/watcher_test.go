package watcher_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"courier/watcher"
)

func TestEditReachesConsumer(t *testing.T) {
	r := newRig(t)
	title := r.page("Requests")
	run := r.start(r.config(), true, title)
	run.consume(t)
	waitConnected(t, r, 1)

	rev := r.edit(r.editor, title)
	got := run.expect(t, rev)[0]
	if got.Wiki != "metawiki" || got.Title != title || got.NS != 4 || got.Source != "stream" ||
		got.User != "Admin" || got.Type != "new" || got.Timestamp.IsZero() {
		t.Errorf("change = %+v", got)
	}
	rev2 := r.edit(r.editor, title)
	if got := run.expect(t, rev2)[0]; got.OldRevID != rev || got.Type != "edit" {
		t.Errorf("second change = %+v, want old revision %d", got, rev)
	}

	reqs := r.stream.Requests()
	if reqs[0].UserAgent != userAgent {
		t.Errorf("User-Agent = %q", reqs[0].UserAgent)
	}
}

func TestEditsArriveOnceThroughStreamFaults(t *testing.T) {
	r := newRig(t)
	title := r.page("Requests")
	other := r.page("Unwatched")
	run := r.start(r.config(), true, title)
	run.consume(t)
	waitConnected(t, r, 1)

	faults := []struct {
		name  string
		do    func()
		after func() // once the edits are made
	}{
		{"drop after 1", func() { r.stream.DropAfter(1) }, nil},
		{"clean close after 2", func() { r.stream.CloseAfter(2) }, nil},
		{"oversized event", func() { r.stream.Oversized(5 << 20) }, nil},
		{"canary", func() { r.stream.Canary() }, nil},
		{"other wiki", func() { r.stream.Foreign("dewiki", "de.wikipedia.org") }, nil},
		{"same id, other farm", func() {
			r.stream.Publish("meta.wikimedia.org", fakeEdit(title))
		}, nil},
		{"canary of a watched title", func() { r.stream.Publish("canary", fakeEdit(title)) }, nil},
		{"drop at once", func() { r.stream.DropAfter(0) }, nil},
		{"down while editing", r.stream.Stop, func() {
			time.Sleep(100 * time.Millisecond)
			if err := r.stream.Restart(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	var revs []int64
	for _, f := range faults {
		f.do()
		revs = append(revs, r.edit(r.editor, title))
		r.edit(r.editor, other)
		revs = append(revs, r.edit(r.editor, title))
		if f.after != nil {
			f.after()
		}
		got := run.expect(t, revs[len(revs)-2:]...)
		if got[0].RevID > got[1].RevID {
			t.Errorf("%s: revisions out of order: %d before %d", f.name, got[0].RevID,
				got[1].RevID)
		}
	}
	run.quiet(t, 500*time.Millisecond)

	s := run.w.Stats()
	if s.Oversized != 1 || s.Canaries < 1 || s.Foreign < 1 || s.Reconnects < 4 {
		t.Errorf("stats = %+v", s)
	}
	if s.Delivered != uint64(len(revs)) {
		t.Errorf("delivered %d, want %d", s.Delivered, len(revs))
	}
}

// fakeEdit is an edit event of title on metawiki that no wiki made.
func fakeEdit(title string) map[string]any {
	return map[string]any{
		"id": 1, "type": "edit", "namespace": 4, "title": title, "comment": "fake",
		"timestamp": time.Now().Unix(), "user": "Mallory", "bot": false,
		"revision":    map[string]any{"old": 900000, "new": 900001},
		"server_name": "meta.wikimedia.org", "wiki": "metawiki",
	}
}

func waitConnected(t *testing.T, r *rig, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.stream.WaitConnections(ctx, n); err != nil {
		t.Fatal(err)
	}
	for r.stream.Open() == 0 {
		if ctx.Err() != nil {
			t.Fatal("stream has no open subscription")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchNormalisesTitles(t *testing.T) {
	r := newRig(t)
	rest := strings.TrimPrefix(r.page(""), "Meta:") // "Watcher test/NAME/"
	raw := "w" + strings.ReplaceAll(rest[1:], " ", "_")
	tests := []struct{ watch, edit string }{
		{"Project:" + rest + "Project form", "Meta:" + rest + "Project form"},
		{"meta:" + raw + "Under_scores", "Meta:" + rest + "Under scores"},
		{"Project_talk:" + rest + "Talk", "Meta talk:" + rest + "Talk"},
	}
	w, err := watcher.New(r.config())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, tt := range tests {
		if err := w.Watch("metawiki", tt.watch); err != nil {
			t.Fatal(err)
		}
		want = append(want, tt.edit)
	}
	slices.Sort(want)
	if got := w.Watched("metawiki"); !slices.Equal(got, want) {
		t.Errorf("Watched = %q, want %q", got, want)
	}
	if err := w.Watch("nowiki", "Foo"); !errors.Is(err, watcher.ErrUnknownWiki) {
		t.Errorf("Watch on an unknown wiki: %v", err)
	}

	run := r.start(r.config(), true, tests[0].watch, tests[1].watch, tests[2].watch)
	run.consume(t)
	waitConnected(t, r, 1)
	var revs []int64
	for _, tt := range tests {
		revs = append(revs, r.edit(r.editor, tt.edit))
	}
	for _, c := range run.expect(t, revs...) {
		if !slices.Contains(want, c.Title) {
			t.Errorf("title %q is not in MediaWiki's form", c.Title)
		}
	}

	// Unwatched in another spelling, the page is no longer handed over.
	if err := run.w.Unwatch("metawiki", "Project:"+raw+"Project_form"); err != nil {
		t.Fatal(err)
	}
	r.edit(r.editor, tests[0].edit)
	last := r.edit(r.editor, tests[1].edit)
	if got := run.expect(t, last); got[0].Title != tests[1].edit {
		t.Errorf("title = %q", got[0].Title)
	}
	run.quiet(t, 300*time.Millisecond)
}

func TestOwnEditsAreNoTrigger(t *testing.T) {
	r := newRig(t)
	meta := r.env.Wiki("metawiki")
	login, password, err := meta.CreateBot("Courier " + r.id)
	if err != nil {
		t.Fatal(err)
	}
	bot, err := meta.Session(login, password)
	if err != nil {
		t.Fatal(err)
	}
	title := r.page("Requests")
	cfg := r.config()
	cfg.BotName = login
	run := r.start(cfg, true, title)
	run.consume(t)
	waitConnected(t, r, 1)

	r.edit(bot, title)
	rev := r.edit(r.editor, title)
	run.expect(t, rev)
	r.edit(bot, title)
	run.quiet(t, 500*time.Millisecond)
	if s := run.w.Stats(); s.Own != 2 {
		t.Errorf("own edits dropped = %d, want 2", s.Own)
	}
}
