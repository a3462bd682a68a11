package deliver

import (
	"strings"
	"testing"
	"time"

	"courier/store"
)

func TestPacerSpacesEditsAtTheRateWithoutBurst(t *testing.T) {
	p := newPacer(600) // one edit every 100ms
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

	// An idle pacer gives the first edit at once, the next ones spaced.
	for i, want := range []time.Duration{0, 100, 200, 300} {
		if got := p.reserve(now).Sub(now); got != want*time.Millisecond {
			t.Fatalf("slot %d: got %v, want %v", i, got, want*time.Millisecond)
		}
	}

	// After a long pause no slots are made up: one at once, then spaced.
	later := now.Add(10 * time.Second)
	if got := p.reserve(later); !got.Equal(later) {
		t.Fatalf("after a pause: got %v, want %v", got.Sub(later), time.Duration(0))
	}
	if got := p.reserve(later).Sub(later); got != 100*time.Millisecond {
		t.Fatalf("second after a pause: got %v, want 100ms", got)
	}
}

func TestPacerKeepsTheRateOverAMinute(t *testing.T) {
	for _, rate := range []int{1, 7, 12, 600, 1000} {
		p := newPacer(rate)
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		n := 0
		for p.reserve(now).Before(now.Add(time.Minute)) {
			n++
		}
		if n != rate {
			t.Errorf("rate %d: %d edits started in a minute", rate, n)
		}
	}
}

func TestMarkerNamesRequestListAndRevision(t *testing.T) {
	j := &Job{ID: 1234, HomeWiki: "metawiki", Requester: "Alice",
		List: "Meta:Message delivery/Lists/Tech", ListRev: 5678}
	want := "<!-- Courier: request 1234 from User:Alice@metawiki, " +
		"list [[Meta:Message delivery/Lists/Tech]] (oldid 5678) -->"
	if got := marker(j); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if !strings.HasPrefix(want, markerPrefix(1234)) {
		t.Fatalf("marker does not start with its prefix %q", markerPrefix(1234))
	}
	if strings.HasPrefix(want, markerPrefix(123)) {
		t.Fatal("the prefix of request 123 matches request 1234's marker")
	}
	j.Message = "Hello!\n\n"
	if got := messageText(j); got != "Hello!\n"+want {
		t.Fatalf("message text: got %q", got)
	}
}

func TestDropDuplicatesKeepsTheFirstAndGivesOthersAKey(t *testing.T) {
	rows := []store.Target{
		{Seq: 1, Wiki: "enwiki", Title: "User talk:Bob", State: store.TargetQueued},
		{Seq: 2, Wiki: "metawiki", Title: "User talk:Bob", State: store.TargetQueued},
		{Seq: 3, Wiki: "enwiki", Title: "User talk:Bob", State: store.TargetQueued},
		{Seq: 4, Wiki: "enwiki", Title: "User talk:Bob", State: store.TargetSkipped,
			Reason: ReasonNouser},
	}
	dropDuplicates(rows)
	want := []struct{ title, reason string }{
		{"User talk:Bob", ""},
		{"User talk:Bob", ""},
		{"User talk:Bob (entry 3)", ReasonDuplicate},
		{"User talk:Bob (entry 4)", ReasonDuplicate},
	}
	for i, w := range want {
		if rows[i].Title != w.title || rows[i].Reason != w.reason {
			t.Errorf("row %d: got %q %q, want %q %q", i, rows[i].Title, rows[i].Reason,
				w.title, w.reason)
		}
	}
}

func TestInsertRowGoesIntoCourierTableAndKeepsTheRest(t *testing.T) {
	page := "Intro by a human.\n\n" + logTable("|- "+rowID(1)+"\n| one\n") +
		"\nA note below, by a human.\n{| class=\"wikitable\"\n|-\n| other table\n|}\n"
	row := "|- " + rowID(2) + "\n| two\n"
	got := insertRow(page, row)
	if !strings.Contains(got, "| one\n"+row+"|}\n\nA note below") {
		t.Fatalf("row not at the end of Courier's table:\n%s", got)
	}
	if strings.Replace(got, row, "", 1) != page {
		t.Fatalf("insertRow changed more than it added:\n%s", got)
	}

	// A page without Courier's table gets one at its end.
	got = insertRow("Just text", row)
	if got != "Just text\n\n"+logTable(row) {
		t.Fatalf("got %q", got)
	}
}

func TestAllowedNamespaces(t *testing.T) {
	d := &Deliverer{opts: Options{AllowedNamespaces: []int{nsProject}}}
	for ns, want := range map[int]bool{-2: false, -1: false, 0: false, 1: true, 2: false,
		3: true, 4: true, 5: true, 10: false, 14: false, 15: true} {
		if got := d.allowedNamespace(ns); got != want {
			t.Errorf("namespace %d: got %v, want %v", ns, got, want)
		}
	}
}
