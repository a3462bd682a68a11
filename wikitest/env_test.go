package wikitest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// uniq makes a page title or user name of this test; the shared wikis
// outlive a test, so a second run with -count must not collide.
func uniq(t *testing.T, prefix string) string {
	return prefix + strings.ReplaceAll(t.Name(), "/", "-") + " " + randomHex(3)
}

// TestStartColdAndWarm starts two wikis from an empty template cache and
// again from the filled one, and checks that Close leaves nothing running.
func TestStartColdAndWarm(t *testing.T) {
	shared := Shared(t) // fails with the apt-get hint first if MediaWiki is missing
	t.Logf("Start of the shared Env (2 wikis and the stream), cold %v: %v",
		shared.Startup.Cold, shared.Startup.Total.Round(time.Millisecond))
	cache := t.TempDir()
	for _, want := range []bool{true, false} {
		ctx := testCtx(t)
		e, err := Start(ctx, Options{Wikis: SharedWikis, CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		kind := map[bool]string{true: "cold", false: "warm"}[e.Startup.Cold]
		t.Logf("Start of 2 wikis and the stream, %s: %v (template %v)",
			kind, e.Startup.Total.Round(time.Millisecond),
			e.Startup.Template.Round(time.Millisecond))
		if e.Startup.Cold != want {
			t.Errorf("Cold = %v, want %v", e.Startup.Cold, want)
		}
		api, dir := e.Wikis[0].API, e.dir
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := http.Get(api); err == nil {
			t.Errorf("%s still answers after Close", api)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("wikis directory %s left behind: %v", dir, err)
		}
	}
}

func TestEditOnEachWikiArrivesOnTheStream(t *testing.T) {
	e := Shared(t)
	ctx := testCtx(t)
	for _, w := range e.Wikis {
		admin, err := w.Admin()
		if err != nil {
			t.Fatal(err)
		}
		title := uniq(t, "Stream test ")
		after := e.Stream.Last()
		rev, err := admin.Edit(title, "Hello from "+w.ID, "wikitest edit")
		if err != nil {
			t.Fatal(err)
		}
		ch, err := e.Stream.WaitChange(ctx, after, func(c Change) bool {
			return c.Wiki == w.ID && c.Title == title
		})
		if err != nil {
			t.Fatalf("%s: %v", w.ID, err)
		}
		if ch.Meta.Domain != w.Domain || ch.Meta.Stream != StreamName || ch.Meta.Topic != Topic ||
			ch.Meta.Offset != ch.Offset || ch.Meta.ID == "" || ch.Meta.DT == "" {
			t.Errorf("%s: meta = %+v", w.ID, ch.Meta)
		}
		wantURI := w.URL + "/index.php/" + strings.ReplaceAll(title, " ", "_")
		if ch.Meta.URI != wantURI {
			t.Errorf("%s: meta.uri = %s, want %s", w.ID, ch.Meta.URI, wantURI)
		}
		if _, err := time.Parse(time.RFC3339, ch.Meta.DT); err != nil {
			t.Errorf("%s: meta.dt %q: %v", w.ID, ch.Meta.DT, err)
		}
		if ch.Type != "new" || ch.NewRevision() != rev || ch.User != AdminName ||
			ch.ServerURL != w.URL || ch.Revision.Old != nil {
			t.Errorf("%s: change = %+v, want a new page at revision %d", w.ID, ch, rev)
		}
	}
}

func TestProjectNamespaceIsNamedAfterTheSite(t *testing.T) {
	e := Shared(t)
	ctx := testCtx(t)
	for _, w := range e.Wikis {
		admin, err := w.Admin()
		if err != nil {
			t.Fatal(err)
		}
		sub := uniq(t, "Message delivery/")
		after := e.Stream.Last()
		if _, err := admin.Edit("Project:"+sub, "x", "wikitest"); err != nil {
			t.Fatal(err)
		}
		want := w.SiteName + ":" + sub
		ch, err := e.Stream.WaitChange(ctx, after, func(c Change) bool {
			return c.Wiki == w.ID && c.Namespace == 4
		})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Title != want {
			t.Errorf("%s: Project: page is fed as %q, want %q", w.ID, ch.Title, want)
		}
	}
}

func TestBotPasswordLogin(t *testing.T) {
	e := Shared(t)
	ctx := testCtx(t)
	w := e.Wiki("metawiki")
	name := "Bot" + randomHex(4)
	login, password, err := w.CreateBot(name)
	if err != nil {
		t.Fatal(err)
	}
	if login != name+"@courier" || len(password) != 32 {
		t.Errorf("CreateBot = %q, %q", login, password)
	}
	bot, err := w.Session(login, password)
	if err != nil {
		t.Fatal(err)
	}
	info, err := bot.Get(values(map[string]string{
		"action": "query", "meta": "userinfo", "uiprop": "groups|rights",
	}))
	if err != nil {
		t.Fatal(err)
	}
	groups := strings.Join(toStrings(walk(info, "query", "userinfo", "groups")), ",")
	rights := toStrings(walk(info, "query", "userinfo", "rights"))
	if str(info, "query", "userinfo", "name") != name || !strings.Contains(groups, "bot") ||
		!contains(rights, "bot") || !contains(rights, "apihighlimits") {
		t.Errorf("bot session: name %q, groups %s, rights %v",
			str(info, "query", "userinfo", "name"), groups, rights)
	}

	// A bot-flagged edit is fed with bot true.
	title := "User talk:" + uniq(t, "Recipient ")
	after := e.Stream.Last()
	if _, err := bot.Post(values(map[string]string{
		"action": "edit", "title": title, "section": "new", "sectiontitle": "Hi",
		"text": "Hello", "bot": "1",
	})); err != nil {
		t.Fatal(err)
	}
	ch, err := e.Stream.WaitChange(ctx, after, func(c Change) bool { return c.Title == title })
	if err != nil || !ch.Bot || ch.User != name {
		t.Errorf("bot edit event = %+v, %v", ch, err)
	}

	if _, err := w.Session(login, strings.ToUpper(password)); err == nil {
		t.Error("a wrong bot password logged in")
	}
}

func TestUsersAndGroups(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("enwiki")
	name := "Sender" + randomHex(4)
	if err := w.CreateUser(name, "pw", "massmessage-sender"); err != nil {
		t.Fatal(err)
	}
	after := e.Stream.Last()
	if err := w.SetGroups(name, []string{"sysop"}, []string{"massmessage-sender"}); err != nil {
		t.Fatal(err)
	}
	// The change of rights is logged and fed, as approver checks need.
	ch, err := e.Stream.WaitChange(testCtx(t), after, func(c Change) bool {
		return c.Type == "log" && c.LogType == "rights" && c.Title == "User:"+name
	})
	if err != nil || ch.User != AdminName || ch.Meta.Domain != w.Domain {
		t.Errorf("rights log event = %+v, %v", ch, err)
	}
	admin, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.Get(values(map[string]string{
		"action": "query", "list": "users", "ususers": name, "usprop": "groups",
	}))
	if err != nil {
		t.Fatal(err)
	}
	users, _ := walk(resp, "query", "users").([]any)
	if len(users) != 1 {
		t.Fatalf("users = %v", resp)
	}
	groups := toStrings(users[0].(map[string]any)["groups"])
	if !contains(groups, "sysop") || contains(groups, "massmessage-sender") {
		t.Errorf("groups = %v, want sysop without massmessage-sender", groups)
	}
	if _, err := w.Session(name, "pw"); err != nil {
		t.Errorf("main account login: %v", err)
	}
}

func TestLinkTablesAreCurrentWhenTheEditAnswers(t *testing.T) {
	e := Shared(t)
	ctx := testCtx(t)
	w := e.Wiki("metawiki")
	admin, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	cat := uniq(t, "Opted out ")
	title := "User talk:" + uniq(t, "Member ")
	after := e.Stream.Last()
	if _, err := admin.Edit(title, "[[Category:"+cat+"]] {{Nobots}}", "wikitest"); err != nil {
		t.Fatal(err)
	}
	resp, err := admin.Get(values(map[string]string{
		"action": "query", "list": "categorymembers", "cmtitle": "Category:" + cat,
	}))
	if err != nil {
		t.Fatal(err)
	}
	members, _ := walk(resp, "query", "categorymembers").([]any)
	if len(members) != 1 {
		t.Errorf("category members right after the edit: %v", members)
	}
	// The category's membership change is fed too, from a job.
	_, err = e.Stream.WaitChange(ctx, after, func(c Change) bool {
		return c.Type == "categorize" && c.Title == "Category:"+cat
	})
	if err != nil {
		t.Errorf("no categorize event: %v", err)
	}
	if err := w.RunJobs(); err != nil {
		t.Error(err)
	}
}

// TestSwitchesMakeMediaWikiRefuse checks SetReadOnly, SetLag and
// SetRateLimited against MediaWiki's own answers, and that nothing is saved.
func TestSwitchesMakeMediaWikiRefuse(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("enwiki")
	admin, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	title := uniq(t, "Switch ")
	cases := []struct {
		code string
		on   func() error
		off  func() error
	}{
		{"readonly", func() error { return w.SetReadOnly("tests") },
			func() error { return w.SetReadOnly("") }},
		{"maxlag", func() error { return w.SetLag(9) }, func() error { return w.SetLag(0) }},
		{"ratelimited", func() error { return w.SetRateLimited(true) },
			func() error { return w.SetRateLimited(false) }},
	}
	for _, c := range cases {
		if err := c.on(); err != nil {
			t.Fatal(err)
		}
		_, err := admin.Post(values(map[string]string{
			"action": "edit", "title": title, "text": c.code, "maxlag": "5",
		}))
		if offErr := c.off(); offErr != nil {
			t.Fatal(offErr)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Code != c.code {
			t.Errorf("%s: edit error = %v", c.code, err)
		}
	}
	if _, err := admin.Text(title); !errors.Is(err, ErrMissingPage) {
		t.Errorf("a refused edit was saved: %v", err)
	}
	if _, err := admin.Edit(title, "ok", "wikitest"); err != nil {
		t.Errorf("edit after the switches are off: %v", err)
	}
}

func TestSessionHelpers(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("metawiki")
	admin, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	title := uniq(t, "Helpers ")
	first, err := admin.Edit(title, "one", "first")
	if err != nil {
		t.Fatal(err)
	}
	second, err := admin.AppendSection(title, "News", "two", "second")
	if err != nil {
		t.Fatal(err)
	}
	text, err := admin.Text(title)
	if err != nil || !strings.Contains(text, "== News ==") || !strings.HasPrefix(text, "one") {
		t.Errorf("Text = %q, %v", text, err)
	}
	revs, err := admin.Revisions(title, 10)
	if err != nil || len(revs) != 2 || revs[0].ID != second || revs[1].ID != first ||
		revs[0].ParentID != first || revs[0].User != AdminName {
		t.Errorf("Revisions = %+v, %v", revs, err)
	}

	if err := admin.Protect(title, "sysop", "infinite"); err != nil {
		t.Error(err)
	}
	moved := title + " moved"
	if err := admin.Move(title, moved, "wikitest", true); err != nil {
		t.Error(err)
	}
	if err := admin.Delete(moved, "wikitest"); err != nil {
		t.Error(err)
	}
	if _, err := admin.Text(moved); !errors.Is(err, ErrMissingPage) {
		t.Errorf("deleted page reads: %v", err)
	}

	user := "Blockee" + randomHex(4)
	if err := w.CreateUser(user, "pw"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Block(user, "infinite", "wikitest"); err != nil {
		t.Error(err)
	}
	blocked, err := w.Session(user, "pw")
	if err != nil {
		t.Fatal(err)
	}
	_, err = blocked.Edit(uniq(t, "Blocked "), "x", "x")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "blocked" {
		t.Errorf("blocked user's edit: %v", err)
	}
	if err := admin.Unblock(user); err != nil {
		t.Error(err)
	}
}

func TestMaintenanceAndFiles(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("metawiki")
	out, err := w.Maintenance("showJobs.php")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) == "" {
		t.Error("showJobs.php printed nothing")
	}
	for _, f := range []string{"LocalSettings.php", "metawiki.sqlite", "server.log"} {
		if _, err := os.Stat(filepath.Join(w.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	if u, err := url.Parse(w.API); err != nil || u.Hostname() != "127.0.0.1" {
		t.Errorf("API %s is not on 127.0.0.1", w.API)
	}
	if e.Wiki("nowiki") != nil {
		t.Error("Wiki of an unknown ID is not nil")
	}
}

func TestEnvNewStreamIsFedToo(t *testing.T) {
	e := Shared(t)
	ctx := testCtx(t)
	s, err := e.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	w := e.Wiki("enwiki")
	admin, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	title := uniq(t, "Second stream ")
	if _, err := admin.Edit(title, "x", "wikitest"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitChange(ctx, -1, func(c Change) bool { return c.Title == title }); err != nil {
		t.Error(err)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestConcurrentEditsOnOneWiki checks that parallel writers queue up on
// SQLite instead of failing with "database is locked".
func TestConcurrentEditsOnOneWiki(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("metawiki")
	admin, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	const writers, edits = 6, 4
	prefix := uniq(t, "Parallel ")
	errs := make(chan error, writers*edits)
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < edits; j++ {
				title := fmt.Sprintf("%s %d", prefix, i)
				if _, err := admin.Edit(title, fmt.Sprintf("edit %d", j), "wikitest"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkEdit measures one edit through the API on a shared wiki.
func BenchmarkEdit(b *testing.B) {
	e := Shared(b)
	admin, err := e.Wiki("metawiki").Admin()
	if err != nil {
		b.Fatal(err)
	}
	title := "Benchmark " + randomHex(3)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := admin.Edit(title, fmt.Sprintf("edit %d", i), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDeferJobsAndSettings checks that link tables are written by the edit
// itself, that category events wait for RunJobs when jobs are deferred, and
// that Options.Settings reach LocalSettings.php.
func TestDeferJobsAndSettings(t *testing.T) {
	Shared(t)
	ctx := testCtx(t)
	e, err := Start(ctx, Options{Wikis: SharedWikis[:1], DeferJobs: true,
		Settings: "$wgMaxArticleSize = 1; // KiB"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	w := e.Wikis[0]
	admin, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	cat := "Category:" + uniq(t, "Deferred ")
	after := e.Stream.Last()
	if _, err := admin.Edit(uniq(t, "Page "), "[["+cat+"]]", "wikitest"); err != nil {
		t.Fatal(err)
	}
	resp, err := admin.Get(values(map[string]string{
		"action": "query", "list": "categorymembers", "cmtitle": cat,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if members, _ := walk(resp, "query", "categorymembers").([]any); len(members) != 1 {
		t.Errorf("category members right after the edit: %v", members)
	}
	isCategorize := func(c Change) bool { return c.Type == "categorize" && c.Title == cat }
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := e.Stream.WaitChange(short, after, isCategorize); err == nil {
		t.Error("categorize event before RunJobs")
	}
	if err := w.RunJobs(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stream.WaitChange(ctx, after, isCategorize); err != nil {
		t.Errorf("no categorize event after RunJobs: %v", err)
	}

	_, err = admin.Edit(uniq(t, "Big "), strings.Repeat("x", 2000), "wikitest")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "contenttoobig" {
		t.Errorf("2000 bytes with $wgMaxArticleSize = 1: %v", err)
	}
}

// TestExtensionsAreInstalled starts a wiki with AbuseFilter, whose tables
// the installer must create (a separate cached template).
func TestExtensionsAreInstalled(t *testing.T) {
	Shared(t)
	ctx := testCtx(t)
	e, err := Start(ctx, Options{Wikis: SharedWikis[:1], Extensions: []string{"AbuseFilter"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Logf("Start of 1 wiki with AbuseFilter: %+v", e.Startup)
	admin, err := e.Wikis[0].Admin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.Get(values(map[string]string{"action": "query", "list": "abusefilters"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := walk(resp, "query", "abusefilters").([]any); !ok {
		t.Errorf("list=abusefilters answered %v", resp)
	}
	if _, err := admin.Edit(uniq(t, "Filtered "), "x", "wikitest"); err != nil {
		t.Errorf("edit with AbuseFilter loaded: %v", err)
	}
}
