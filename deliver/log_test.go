package deliver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// deliverSmall files and delivers a request of two targets and returns
// its job.
func (h *harness) deliverSmall(d *Deliverer, name string) Job {
	h.t.Helper()
	a, b := h.title("Talk", name+" a"), h.title("Talk", name+" b")
	listTitle := h.title("Project", name+" list")
	rev := h.edit(meta, listTitle, "* [["+a+"]]\n{{#target:"+b+"|en.wikitest.local}}\n"+
		"* [[Template:Nope]]")
	job := h.requestFor(listTitle, rev)
	res, err := d.Deliver(context.Background(), job)
	if err != nil {
		h.t.Fatal(err)
	}
	if !res.Logged {
		h.t.Fatalf("not logged: %+v", res)
	}
	return job
}

// revisions returns how many revisions a page has.
func (h *harness) revisions(wikiID, title string) int {
	h.t.Helper()
	revs, err := h.admins[wikiID].Revisions(title, 500)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(revs)
}

func TestLogRowAndDetailsOnceAndHumanEditsKept(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	d := h.deliverer()
	logTitle := h.opts.Home.Log
	job := h.deliverSmall(d, "first")

	// The row: a permanent link to the request, the people, the list with
	// its revision, the counts and the details link.
	page := h.text(meta, logTitle)
	row := fmt.Sprintf("[[Special:PermanentLink/%d|%d]] || [[User:Alice|Alice]] || "+
		"[[User:Admin|Admin]] || [[:%s]] ([[Special:PermanentLink/%d|oldid %d]]) || "+
		"3 || 2 || 1 || 0 || [[%s/%d|details]]", job.ID, job.ID, job.List, job.ListRev,
		job.ListRev, logTitle, job.ID)
	if !strings.Contains(page, row) || strings.Count(page, rowID(job.ID)) != 1 {
		t.Fatalf("log page lacks the row %q:\n%s", row, page)
	}
	details := h.text(meta, fmt.Sprintf("%s/%d", logTitle, job.ID))
	for _, tg := range h.targets(job.ID) {
		if !strings.Contains(details, tg.Title) || !strings.Contains(details, string(tg.State)) {
			t.Errorf("details lack %s (%s):\n%s", tg.Title, tg.State, details)
		}
		if tg.Wiki == meta && tg.RevID > 0 &&
			!strings.Contains(details, fmt.Sprintf("[[Special:Diff/%d|", tg.RevID)) {
			t.Errorf("details lack the diff of %s:\n%s", tg.Title, details)
		}
		if tg.Wiki == en && !strings.Contains(details, fmt.Sprintf("?diff=%d ", tg.RevID)) {
			t.Errorf("details lack the diff of %s on enwiki:\n%s", tg.Title, details)
		}
	}
	if !strings.Contains(details, "badns") {
		t.Errorf("details lack the skip reason:\n%s", details)
	}

	// A human adds to the log; a second writer of the same request adds
	// nothing and keeps the human's text.
	h.edit(meta, logTitle, page+"\nA note by a human.\n")
	revsBefore := h.revisions(meta, logTitle)
	if err := d.WriteLog(ctx, job); err != nil {
		t.Fatal(err)
	}
	if n := h.revisions(meta, logTitle); n != revsBefore {
		t.Errorf("rewriting the log made %d revisions", n-revsBefore)
	}
	if n := h.revisions(meta, fmt.Sprintf("%s/%d", logTitle, job.ID)); n != 1 {
		t.Errorf("details page has %d revisions, want 1", n)
	}

	// A human edit between Courier's read and its save: the row is
	// applied again to the new text, which keeps the human's edit.
	human := false
	d.beforeLogSave = func(title string) {
		if title != logTitle || human {
			return
		}
		human = true
		time.Sleep(1100 * time.Millisecond) // a revision timestamp of its own
		text := h.text(meta, logTitle)
		h.edit(meta, logTitle, text+"\nA second note, saved meanwhile.\n")
	}
	job2 := h.deliverSmall(d, "second")
	page = h.text(meta, logTitle)
	for _, s := range []string{"A note by a human.", "A second note, saved meanwhile.",
		rowID(job.ID), rowID(job2.ID)} {
		if strings.Count(page, s) != 1 {
			t.Errorf("log page holds %q %d times, want once:\n%s", s, strings.Count(page, s),
				page)
		}
	}
	if !human {
		t.Error("the human edit was never made")
	}
	if h.logs.count(slog.LevelWarn, "log page changed") != 1 {
		t.Error("no conflict was met")
	}
}

func TestLogContinuesOnMonthlyPages(t *testing.T) {
	h := newHarness(t, harnessConfig{logBytes: 800})
	d := h.deliverer()
	logTitle := h.opts.Home.Log
	var jobs []Job
	for i := range 3 {
		jobs = append(jobs, h.deliverSmall(d, fmt.Sprintf("month %d", i)))
	}
	month := logTitle + "/" + time.Now().UTC().Format("2006-01")
	pages := []string{logTitle, month, month + "/2"}
	for i, job := range jobs {
		text := h.text(meta, pages[i])
		if !strings.Contains(text, rowID(job.ID)) {
			t.Errorf("row of request %d not on %q:\n%s", job.ID, pages[i], text)
		}
		if len(text) > 800 {
			t.Errorf("%q is %d bytes, over log_max_bytes", pages[i], len(text))
		}
		if i > 0 && !strings.Contains(h.text(meta, pages[i-1]), "[["+pages[i]+"]]") {
			t.Errorf("%q does not link to %q", pages[i-1], pages[i])
		}
	}

	// Writing all three again changes nothing.
	var revs []int
	for _, p := range pages {
		revs = append(revs, h.revisions(meta, p))
	}
	for _, job := range jobs {
		if err := d.WriteLog(context.Background(), job); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range pages {
		if n := h.revisions(meta, p); n != revs[i] {
			t.Errorf("%q: %d revisions after rewriting, was %d", p, n, revs[i])
		}
	}
}
