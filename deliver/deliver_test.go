package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/store"
	"courier/wikitest"
)

// want is the expected outcome of one target.
type want struct {
	wiki, title string
	state       store.TargetState
	reason      string
}

// checkOutcomes compares the request's targets with ws, and checks that
// every delivered page holds the message exactly once and every skipped
// one does not hold it.
func (h *harness) checkOutcomes(id int64, ws []want) {
	h.t.Helper()
	got := h.targets(id)
	if len(got) != len(ws) {
		h.t.Errorf("%d targets recorded, want %d", len(got), len(ws))
		for k, t := range got {
			h.t.Logf("  recorded %v: %s %s", k, t.State, t.Reason)
		}
	}
	for _, w := range ws {
		t, ok := got[[2]string{w.wiki, w.title}]
		if !ok {
			h.t.Errorf("no target %s on %s", w.title, w.wiki)
			continue
		}
		if t.State != w.state || t.Reason != w.reason {
			h.t.Errorf("%s on %s: got %s %q, want %s %q", w.title, w.wiki, t.State, t.Reason,
				w.state, w.reason)
		}
		if h.admins[w.wiki] == nil || w.reason == ReasonBadTitle ||
			w.reason == ReasonDuplicate {
			continue // not a page of the test's wikis
		}
		n := h.messages(w.wiki, w.title, id)
		switch {
		case w.state == store.TargetDelivered && n != 1:
			h.t.Errorf("%s on %s holds %d messages, want 1", w.title, w.wiki, n)
		case w.state == store.TargetDelivered && t.RevID == 0:
			h.t.Errorf("%s on %s delivered without a revision id", w.title, w.wiki)
		case w.state != store.TargetDelivered && n != 0:
			h.t.Errorf("%s on %s (%s) holds %d messages, want none", w.title, w.wiki,
				w.state, n)
		}
	}
}

func TestEverySkipReasonAndCrossWikiTargets(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	u := func(name string) string { return h.prefix + " " + name }
	ut := func(name string) string { return "User talk:" + u(name) }

	for _, name := range []string{"Alice", "Optout", "Nobots", "Denied", "Allowed", "Gina",
		"Redirbad", "Carol", "Dave", "Frank"} {
		h.createUser(meta, u(name))
	}
	h.createUser(en, u("Jill"))
	// MediaWiki 1.39 has no temporary accounts; an account named the way
	// later versions name them stands in for one.
	temp := fmt.Sprintf("~2026-%d", time.Now().UnixNano()%1e9)
	h.createUser(meta, temp)
	if resp, err := h.admins[meta].Get(url.Values{"action": {"query"}, "list": {"users"},
		"ususers": {temp}}); err != nil || strings.Contains(fmt.Sprint(resp), "missing") {
		t.Fatalf("account %q not created: %v %v", temp, resp, err)
	}
	h.edit(meta, ut("Optout"), "Hi.\n[[Category:Opted-out of message delivery]]")
	h.edit(meta, ut("Nobots"), "{{nobots}}")
	h.edit(meta, ut("Denied"), "Please no. {{bots|deny=Courier}}")
	h.edit(meta, ut("Allowed"), "{{bots|allow=Courier}}")
	h.edit(meta, ut("Redirbad"), "#REDIRECT [[Talk:Elsewhere]]")
	h.edit(meta, ut("Carol"), "#REDIRECT [["+ut("Dave")+"]]")
	h.edit(meta, ut("Frank"), "#REDIRECT [["+ut("Frank")+"/Inbox]]")
	h.setContentModel(meta, ut("Gina"), "text")

	pump := h.title("Meta", "pump")
	cross := h.title("Talk", "cross")
	list := strings.Join([]string{
		"Targets of a test.",
		"* [[User:" + u("Alice") + "]]",
		"{{#target:" + ut("Alice") + "}}",
		"{{#target:user_talk:" + u("Optout") + "}}",
		"{{#target:" + ut("Nobots") + "}}",
		"{{#target:" + ut("Denied") + "}}",
		"{{#target:" + ut("Allowed") + "}}",
		"{{#target:" + ut("Nobody") + "}}",
		"{{#target:User talk:127.0.0.1}}",
		"{{#target:User talk:" + temp + "}}",
		"{{#target:" + h.prefix + " article}}",
		"{{#target:Template:" + h.prefix + "}}",
		"{{#target:" + ut("Gina") + "}}",
		"{{#target:" + ut("Redirbad") + "}}",
		"{{#target:" + ut("Carol") + "}}",
		"{{#target:" + ut("Frank") + "}}",
		"* [[" + ut("Frank") + "/Inbox]]",
		"{{#target:Project:" + strings.TrimPrefix(pump, "Meta:") + "}}",
		"{{#target:" + cross + "|en.wikitest.local}}",
		"{{#target:" + ut("Jill") + "|EN.wikitest.local}}",
		"{{#target:" + ut("Nobody") + "|en.wikitest.local}}",
		"{{#target:" + ut("Alice") + "|nowhere.example.org}}",
		"{{#target:Talk:{{PAGENAME}}}}",
	}, "\n")
	job := h.request(list)

	var mu sync.Mutex
	var progress []Progress
	h.opts.Progress = func(p Progress) {
		mu.Lock()
		progress = append(progress, p)
		mu.Unlock()
	}
	res, err := h.deliverer().Deliver(ctx, job)
	if err != nil {
		t.Fatal(err)
	}

	d, s := store.TargetDelivered, store.TargetSkipped
	ws := []want{
		{meta, ut("Alice"), d, ""},
		{meta, ut("Alice") + " (entry 2)", s, ReasonDuplicate},
		{meta, ut("Optout"), s, ReasonOptout},
		{meta, ut("Nobots"), s, ReasonNobots},
		{meta, ut("Denied"), s, ReasonNobots},
		{meta, ut("Allowed"), d, ""},
		{meta, ut("Nobody"), s, ReasonNouser},
		{meta, "User talk:127.0.0.1", s, ReasonNouser},
		{meta, "User talk:" + temp, s, ReasonNouser},
		{meta, h.prefix + " article", s, ReasonBadNS},
		{meta, "Template:" + h.prefix, s, ReasonBadNS},
		{meta, ut("Gina"), s, ReasonUnsupported},
		{meta, ut("Redirbad"), s, ReasonBadRedirect},
		{meta, ut("Carol"), s, ReasonBadRedirect},
		{meta, ut("Frank") + "/Inbox", d, ""},
		{meta, ut("Frank") + "/Inbox (entry 16)", s, ReasonDuplicate},
		{meta, pump, d, ""},
		{en, cross, d, ""},
		{en, ut("Jill"), d, ""},
		{en, ut("Nobody"), s, ReasonNouser},
		{"nowhere.example.org", ut("Alice"), s, ReasonUnknownWiki},
		{meta, "Talk:{{PAGENAME}}", s, ReasonBadTitle},
	}
	h.checkOutcomes(job.ID, ws)

	if res.Counts.Delivered != 6 || res.Counts.Skipped != 16 || !res.Finished() || !res.Logged {
		t.Errorf("result: %+v", res)
	}
	// One edit per delivered message, on each wiki.
	if _, edits := h.requests(en); edits != 2 {
		t.Errorf("%d edits on enwiki, want 2", edits)
	}
	// Skips found while resolving are recorded with the list and come in
	// the first report; then one report a delivery.
	if len(progress) != 7 || progress[0].Done != 16 || progress[6].Done != 22 ||
		progress[6].Total != 22 {
		t.Errorf("progress: %+v", progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].Done != progress[i-1].Done+1 {
			t.Errorf("progress not one by one: %+v", progress)
		}
	}

	// The message went out as a new section with the subject as its
	// heading, the marker at the end, the bot flag and a summary.
	text := h.text(meta, ut("Allowed"))
	if !strings.Contains(text, "== "+job.Subject+" ==\n\nHello from a test.") ||
		!strings.HasSuffix(strings.TrimSpace(text), marker(&job)) {
		t.Errorf("delivered text:\n%s", text)
	}
	edit := h.lastEdit(en)
	for k, v := range map[string]string{"section": "new", "sectiontitle": job.Subject,
		"bot": "1", "assert": "bot", "maxlag": "5"} {
		if edit.Get(k) != v {
			t.Errorf("edit parameter %s=%q, want %q", k, edit.Get(k), v)
		}
	}
	if !strings.Contains(edit.Get("summary"), fmt.Sprint(job.ID)) {
		t.Errorf("summary %q does not name the request", edit.Get("summary"))
	}
}

// setContentModel creates title with a content model other than wikitext.
func (h *harness) setContentModel(wikiID, title, model string) {
	h.t.Helper()
	_, err := h.admins[wikiID].Post(url.Values{
		"action": {"edit"}, "title": {title}, "text": {"plain text"}, "contentmodel": {model},
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// lastEdit returns the parameters of the last edit through a proxy.
func (h *harness) lastEdit(wikiID string) url.Values {
	reqs := h.proxies[wikiID].Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Action == "edit" && reqs[i].Params.Get("section") == "new" {
			return reqs[i].Params
		}
	}
	h.t.Fatalf("no edit on %s", wikiID)
	return nil
}

func TestCategoryAsList(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	cat := h.title("Category", "recipients")
	a, b := h.title("User", "A"), h.title("Talk", "B")
	h.createUser(meta, strings.TrimPrefix(a, "User:"))
	h.edit(meta, a, "[["+cat+"]]")
	h.edit(meta, b, "[["+cat+"]]")
	job := h.requestFor(cat, 0)

	if _, err := h.deliverer().Deliver(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	h.checkOutcomes(job.ID, []want{
		{meta, "User talk:" + strings.TrimPrefix(a, "User:"), store.TargetDelivered, ""},
		{meta, b, store.TargetDelivered, ""},
	})
}

func TestJSONList(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	a, b := h.title("Talk", "json A"), h.title("Talk", "json B")
	listTitle := h.title("Project", "json list")
	_, err := h.admins[meta].Post(url.Values{
		"action": {"edit"}, "title": {listTitle}, "contentmodel": {"json"},
		"text": {`{"description": "x", "targets": [{"title": "` + a + `"}, ` +
			`{"title": "` + b + `", "site": "en.wikitest.local"}]}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	revs, err := h.admins[meta].Revisions(listTitle, 1)
	if err != nil || len(revs) == 0 {
		t.Fatal(revs, err)
	}
	job := h.requestFor(listTitle, revs[0].ID)
	if _, err := h.deliverer().Deliver(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	h.checkOutcomes(job.ID, []want{
		{meta, a, store.TargetDelivered, ""},
		{en, b, store.TargetDelivered, ""},
	})
}

func TestListAtApprovedRevision(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	a, b := h.title("Talk", "approved"), h.title("Talk", "added later")
	job := h.request("* [[" + a + "]]")
	h.edit(meta, job.List, "* [["+a+"]]\n* [["+b+"]]")

	if _, err := h.deliverer().Deliver(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	h.checkOutcomes(job.ID, []want{{meta, a, store.TargetDelivered, ""}})
	if n := h.messages(meta, b, job.ID); n != 0 {
		t.Errorf("a target added after approval got %d messages", n)
	}
}

func TestFiveHundredTargetsOneEditEach(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	var lines []string
	var ws []want
	for i := range 500 {
		w, domain := meta, ""
		if i%2 == 1 {
			w, domain = en, "|en.wikitest.local"
		}
		title := h.title("Talk", fmt.Sprintf("bulk %03d", i))
		lines = append(lines, "{{#target:"+title+domain+"}}")
		ws = append(ws, want{w, title, store.TargetDelivered, ""})
	}
	job := h.request(strings.Join(lines, "\n"))
	for _, p := range h.proxies {
		p.Reset()
	}

	res, err := h.deliverer().Deliver(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Delivered != 500 {
		t.Fatalf("result: %+v", res)
	}
	h.checkOutcomes(job.ID, ws)

	all, edits := 0, 0
	for id := range h.proxies {
		a, e := h.requests(id)
		all, edits = all+a, edits+e
		t.Logf("%s: %v", id, h.proxies[id].Counts())
	}
	// Two edits of the log beyond the 500 messages.
	if edits != 500+2 {
		t.Errorf("%d edits, want 502 (500 messages, details page, log row)", edits)
	}
	if perMessage := float64(all) / 500; perMessage > 1.05 {
		t.Errorf("%d requests for 500 messages: %.3f a message, want at most 1.05",
			all, perMessage)
	}
}

func TestTransientErrorsSlowDownAndAllArrive(t *testing.T) {
	h := newHarness(t, harnessConfig{rate: 120}) // 500ms between edits
	var lines []string
	var ws []want
	for i := range 6 {
		title := h.title("Talk", fmt.Sprintf("slow %d", i))
		lines = append(lines, "* [["+title+"]]")
		ws = append(ws, want{meta, title, store.TargetDelivered, ""})
	}
	job := h.request(strings.Join(lines, "\n"))
	p := h.proxies[meta]
	p.Fail(wikitest.Fault{Kind: wikitest.RateLimited, Action: "edit", Times: 2})
	p.Fail(wikitest.Fault{Kind: wikitest.Maxlag, Action: "edit", Times: 2})
	p.Fail(wikitest.Fault{Kind: wikitest.HTTPStatus, Action: "edit", Times: 1})
	p.Reset()

	res, err := h.deliverer().Deliver(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Delivered != 6 {
		t.Fatalf("result: %+v", res)
	}
	h.checkOutcomes(job.ID, ws)

	// Every refused edit was followed by a pause before the next try (at
	// least the wiki's Retry-After for maxlag, capped by the client at 2s),
	// and the targets' first tries kept the rate.
	var firsts []time.Time
	seen := map[string]bool{}
	var prev wikitest.ProxyRequest
	for _, r := range p.Requests() {
		if r.Action != "edit" || r.Params.Get("section") != "new" {
			continue
		}
		title := r.Params.Get("title")
		if !seen[title] {
			seen[title] = true
			firsts = append(firsts, r.At)
		}
		if gap := r.At.Sub(prev.At); prev.Fault != 0 && prev.Params.Get("title") == title {
			floor := 45 * time.Millisecond
			if prev.Fault == wikitest.Maxlag {
				floor = 1900 * time.Millisecond
			}
			if gap < floor {
				t.Errorf("retry %v after %v", gap, prev.Fault)
			}
		}
		prev = r
	}
	for i := 1; i < len(firsts); i++ {
		// The pacer spaces the starts by 500ms; the requests reach the
		// proxy a few milliseconds later, each by its own delay.
		if gap := firsts[i].Sub(firsts[i-1]); gap < 470*time.Millisecond {
			t.Errorf("targets %d and %d started %v apart at 120 a minute", i-1, i, gap)
		}
	}
	if inj := p.Injected()["edit"]; inj != 5 {
		t.Errorf("%d faults injected, want 5", inj)
	}
}

func TestPermanentFailureIsRecordedAndTheRestDelivered(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	locked, open := h.title("Talk", "protected"), h.title("Talk", "open")
	h.edit(meta, locked, "Protected page.")
	if err := h.admins[meta].Protect(locked, "sysop", "infinite"); err != nil {
		t.Fatal(err)
	}
	job := h.request("* [[" + locked + "]]\n* [[" + open + "]]")
	res, err := h.deliverer().Deliver(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	h.checkOutcomes(job.ID, []want{
		{meta, locked, store.TargetFailed, "protectedpage"},
		{meta, open, store.TargetDelivered, ""},
	})
	if !res.Finished() || res.Counts.Failed != 1 {
		t.Errorf("result: %+v", res)
	}
	if n := h.logs.count(slog.LevelError, "edit refused"); n != 1 {
		t.Errorf("%d Error log lines for the refused edit, want 1", n)
	}
}

func TestLostAnswersAreSettledFromTheHistory(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	saved, unsent := h.title("Talk", "answer lost"), h.title("Talk", "never reached")
	job := h.request("* [[" + saved + "]]\n* [[" + unsent + "]]")
	p := h.proxies[meta]
	// The first edit is saved but its answer lost; the second never
	// reaches the wiki. Both leave Courier unsure.
	p.Fail(wikitest.Fault{Kind: wikitest.LoseAnswer, Action: "edit", Times: 1})
	p.Fail(wikitest.Fault{Kind: wikitest.Drop, Action: "edit", Times: 1})

	res, err := h.deliverer().Deliver(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Delivered != 2 {
		t.Fatalf("result: %+v", res)
	}
	h.checkOutcomes(job.ID, []want{
		{meta, saved, store.TargetDelivered, ""},
		{meta, unsent, store.TargetDelivered, ""},
	})
	revs, err := h.admins[meta].Revisions(saved, 1)
	if err != nil || len(revs) == 0 {
		t.Fatal(err)
	}
	if got := h.targets(job.ID)[[2]string{meta, saved}].RevID; got != revs[0].ID {
		t.Errorf("recorded revision %d, the message is revision %d", got, revs[0].ID)
	}
}

func TestBlockStopsTheWikiAndAResumeFinishes(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	m1, e1, e2 := h.title("Talk", "meta one"), h.title("Talk", "en one"), h.title("Talk", "en two")
	job := h.request("* [[" + m1 + "]]\n{{#target:" + e1 + "|en.wikitest.local}}\n" +
		"{{#target:" + e2 + "|en.wikitest.local}}")
	if err := h.admins[en].Block("Courier", "infinite", "test"); err != nil {
		t.Fatal(err)
	}
	unblocked := false
	t.Cleanup(func() {
		if !unblocked {
			h.admins[en].Unblock("Courier")
		}
	})

	d := h.deliverer()
	res, err := d.Deliver(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stopped) != 1 || res.Stopped[0].Wiki != en || res.Stopped[0].Reason != "blocked" {
		t.Fatalf("stopped: %+v", res.Stopped)
	}
	if res.Finished() || res.Logged {
		t.Fatalf("a blocked request finished: %+v", res)
	}
	got := h.targets(job.ID)
	if s := got[[2]string{en, e1}].State; s != store.TargetSending {
		t.Errorf("the refused target is %s, want sending", s)
	}
	if s := got[[2]string{en, e2}].State; s != store.TargetQueued {
		t.Errorf("the next target is %s, want queued", s)
	}

	if err := h.admins[en].Unblock("Courier"); err != nil {
		t.Fatal(err)
	}
	unblocked = true
	res, err = d.Deliver(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Finished() || len(res.Stopped) != 0 || !res.Logged {
		t.Fatalf("resume: %+v", res)
	}
	h.checkOutcomes(job.ID, []want{
		{meta, m1, store.TargetDelivered, ""},
		{en, e1, store.TargetDelivered, ""},
		{en, e2, store.TargetDelivered, ""},
	})
}

func TestGatePausesAndCancelSkipsTheRest(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	var lines []string
	for i := range 5 {
		lines = append(lines, "* [["+h.title("Talk", fmt.Sprintf("gate %d", i))+"]]")
	}
	job := h.request(strings.Join(lines, "\n"))

	var mu sync.Mutex
	open, asked, delivered := false, 0, 0
	h.opts.Gate = func(ctx context.Context, w string) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		if asked == 5 {
			open = true // the shutoff page says run again
		}
		return open, nil
	}
	h.opts.Progress = func(p Progress) {
		mu.Lock()
		delivered = p.Counts.Delivered
		mu.Unlock()
	}
	h.opts.Cancelled = func(id int64) bool {
		mu.Lock()
		defer mu.Unlock()
		return id == job.ID && delivered >= 2
	}
	res, err := h.deliverer().Deliver(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cancelled || res.Counts.Delivered != 2 || res.Counts.Skipped != 3 || !res.Logged {
		t.Fatalf("result: %+v", res)
	}
	if asked < 5 {
		t.Errorf("gate asked %d times, want at least 5", asked)
	}
	for _, tg := range h.targets(job.ID) {
		if tg.State == store.TargetSkipped && tg.Reason != ReasonCancelled {
			t.Errorf("%s skipped for %q", tg.Title, tg.Reason)
		}
	}
	if n := h.logs.count(slog.LevelInfo, "shutoff page says stop"); n != 1 {
		t.Errorf("%d pause lines, want 1", n)
	}
}

func TestStalePreflightIsDoneAgainBeforeSending(t *testing.T) {
	for _, stale := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale=%v", stale), func(t *testing.T) {
			h := newHarness(t, harnessConfig{})
			a, b, c := h.title("Talk", "stays"), h.title("Talk", "opts out"),
				h.title("Talk", "is moved")
			job := h.request("* [[" + a + "]]\n* [[" + b + "]]\n* [[" + c + "]]")
			if stale {
				h.opts.PreflightMaxAge = time.Nanosecond
			}
			// Between the list's resolution and the first edit, one page
			// opts out and another becomes a redirect.
			first := true
			h.opts.Progress = func(Progress) {
				if first {
					first = false
					h.edit(meta, b, "[[Category:Opted-out of message delivery]]")
					h.edit(meta, c, "#REDIRECT [["+h.title("Talk", "elsewhere")+"]]")
				}
			}
			if _, err := h.deliverer().Deliver(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			ws := []want{{meta, a, store.TargetDelivered, ""},
				{meta, b, store.TargetDelivered, ""}, {meta, c, store.TargetDelivered, ""}}
			if stale {
				ws[1].state, ws[1].reason = store.TargetSkipped, ReasonOptout
				ws[2].state, ws[2].reason = store.TargetSkipped, ReasonBadRedirect
			}
			h.checkOutcomes(job.ID, ws)
		})
	}
}

func TestShutdownFinishesTheEditUnderWay(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	a, b := h.title("Talk", "under way"), h.title("Talk", "not started")
	job := h.request("* [[" + a + "]]\n* [[" + b + "]]")
	h.proxies[meta].Fail(wikitest.Fault{Kind: wikitest.Slow, Action: "edit",
		Delay: 1500 * time.Millisecond, Times: 1})

	ctx, cancel := context.WithCancel(context.Background())
	h.opts.Progress = func(p Progress) {
		// The targets are recorded: shut down while the first edit is slow.
		time.AfterFunc(500*time.Millisecond, cancel)
	}
	defer cancel()
	res, err := h.deliverer().Deliver(ctx, job)
	if err == nil || res.Finished() {
		t.Fatalf("deliver after shutdown: %+v %v", res, err)
	}
	got := h.targets(job.ID)
	if tg := got[[2]string{meta, a}]; tg.State != store.TargetDelivered || tg.RevID == 0 {
		t.Errorf("the edit under way was not recorded: %+v", tg)
	}
	if tg := got[[2]string{meta, b}]; tg.State != store.TargetQueued {
		t.Errorf("the next target is %s, want queued", tg.State)
	}
	if n := h.messages(meta, b, job.ID); n != 0 {
		t.Errorf("a target after the shutdown got %d messages", n)
	}
}

func TestAbandonClosesAStoppedRequest(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	m1, e1, e2 := h.title("Talk", "meta"), h.title("Talk", "en a"), h.title("Talk", "en b")
	job := h.request("* [[" + m1 + "]]\n{{#target:" + e1 + "|en.wikitest.local}}\n" +
		"{{#target:" + e2 + "|en.wikitest.local}}")
	if err := h.admins[en].Block("Courier", "infinite", "test"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.admins[en].Unblock("Courier") })

	d := h.deliverer()
	if res, err := d.Deliver(ctx, job); err != nil || len(res.Stopped) != 1 {
		t.Fatalf("deliver: %+v %v", res, err)
	}
	c, err := d.Abandon(ctx, job.ID, "blocked")
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivered != 1 || c.Failed != 2 || c.Done() != c.Total() {
		t.Fatalf("counts after abandon: %+v", c)
	}
	h.checkOutcomes(job.ID, []want{
		{meta, m1, store.TargetDelivered, ""},
		{en, e1, store.TargetFailed, "blocked"},
		{en, e2, store.TargetFailed, "blocked"},
	})
	if err := d.WriteLog(ctx, job); err != nil {
		t.Fatal(err)
	}
}

func TestListsThatCannotBeDelivered(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	d := h.deliverer()

	// A list over max_targets is refused before anything is recorded.
	h.opts.Delivery.MaxTargets = 2
	small, err := New(h.opts)
	if err != nil {
		t.Fatal(err)
	}
	job := h.request("* [[Talk:A]]\n* [[Talk:B]]\n* [[Talk:C]]")
	if _, err := small.Deliver(ctx, job); !errors.Is(err, ErrTooManyTargets) {
		t.Errorf("three targets, max 2: %v", err)
	}
	if n := len(h.targets(job.ID)); n != 0 {
		t.Errorf("%d targets recorded for a refused list", n)
	}

	// A JSON list that does not decode.
	listTitle := h.title("Project", "broken json")
	_, err = h.admins[meta].Post(url.Values{"action": {"edit"}, "title": {listTitle},
		"contentmodel": {"json"}, "text": {`{"targets": [{"title": 5}]}`}})
	if err != nil {
		t.Fatal(err)
	}
	job = h.requestFor(listTitle, 0)
	if _, err := d.Deliver(ctx, job); !errors.Is(err, ErrBadList) {
		t.Errorf("broken JSON list: %v", err)
	}

	// A list revision that does not exist.
	job.ListRev = 1 << 40
	if _, err := d.Deliver(ctx, job); !errors.Is(err, ErrNoList) {
		t.Errorf("missing revision: %v", err)
	}
}

func TestAccountWithoutBotFlagAssertsUser(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	w := h.env.Wiki(meta)
	name := "Courier nobot " + fmt.Sprint(time.Now().UnixNano()%1e6)
	if err := w.CreateUser(name, "main-password-for-test"); err != nil {
		t.Fatal(err)
	}
	pw := "0123456789abcdefghijklmnopqrstuv"
	if _, err := w.Maintenance("createBotPassword.php", "--appid", wikitest.BotAppID,
		"--grants", wikitest.BotGrants, name, pw); err != nil {
		t.Fatal(err)
	}
	h.clients[meta] = h.newClient(meta, h.proxies[meta].URL,
		[2]string{name + "@" + wikitest.BotAppID, pw})
	target := h.title("Talk", "from a plain account")
	job := h.request("* [[" + target + "]]")
	if _, err := h.deliverer().Deliver(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	h.checkOutcomes(job.ID, []want{{meta, target, store.TargetDelivered, ""}})
	edit := h.lastEdit(meta)
	if edit.Get("assert") != "user" || edit.Has("bot") {
		t.Errorf("edit of a plain account: assert=%q bot=%q", edit.Get("assert"), edit.Get("bot"))
	}
}
