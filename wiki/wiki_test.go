package wiki

// Integration tests against real MediaWiki 1.39 wikis from wikitest.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/wikitest"
)

func TestMain(m *testing.M) { wikitest.Main(m) }

// counter counts the requests a Client reports through OnRequest.
type counter struct {
	mu   sync.Mutex
	n    map[string]int
	errs int
}

func (c *counter) hook(action string, _ time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[action]++
	if err != nil {
		c.errs++
	}
}

func (c *counter) get(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[action]
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.errs = nil, 0
}

// metawiki returns the shared test wiki named after Meta.
func metawiki(t *testing.T) *wikitest.Wiki {
	t.Helper()
	w := wikitest.Shared(t).Wiki("metawiki")
	if w == nil {
		t.Fatal("wikitest has no metawiki")
	}
	return w
}

// nameFor returns a user name or title part unique to the test.
func nameFor(t *testing.T, prefix string) string {
	keep := func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return -1
	}
	return prefix + strings.Map(keep, strings.TrimPrefix(t.Name(), "Test"))
}

// testConfig is a Config for api with fast retries.
func testConfig(w *wikitest.Wiki, api, user, pass string, n *counter) Config {
	return Config{
		ID:        w.ID,
		API:       api,
		UserAgent: testAgent,
		Username:  user,
		Password:  pass,
		Timeout:   30 * time.Second,
		Retry:     RetryPolicy{Tries: 5, Min: 10 * time.Millisecond, Max: 200 * time.Millisecond},
		OnRequest: n.hook,
	}
}

// newBot creates a bot account for the test and returns a logged-in
// Client for it, with its request counter.
func newBot(t *testing.T, w *wikitest.Wiki, api string) (*Client, *counter) {
	t.Helper()
	login, pass, err := w.CreateBot(nameFor(t, "Bot"))
	if err != nil {
		t.Fatal(err)
	}
	n := &counter{}
	c, err := New(testConfig(w, api, login, pass, n))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.reset()
	return c, n
}

func admin(t *testing.T, w *wikitest.Wiki) *wikitest.Session {
	t.Helper()
	s, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoginWithBotPassword(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	ctx := context.Background()

	if got, want := c.Account(), nameFor(t, "Bot"); got != want {
		t.Errorf("Account() = %q, want %q", got, want)
	}
	if c.BatchSize() != 500 {
		t.Errorf("BatchSize() = %d; the highvolume grant gives apihighlimits", c.BatchSize())
	}
	info, err := c.UserInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Anon || !info.Bot || !info.HighLimits || info.Blocked {
		t.Errorf("UserInfo = %+v; want a logged-in, unblocked bot with apihighlimits", info)
	}
}

func TestLoginRefusedIsLoginError(t *testing.T) {
	w := metawiki(t)
	login, _, err := w.CreateBot(nameFor(t, "Bot"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(testConfig(w, w.API, login, strings.Repeat("a", 32), &counter{}))
	if err != nil {
		t.Fatal(err)
	}

	err = c.Login(context.Background())
	var le *LoginError
	if !errors.As(err, &le) || le.Result != "Failed" || !IsLoginLost(err) {
		t.Fatalf("Login with a wrong password: %v; want a LoginError Failed", err)
	}
	if strings.Contains(err.Error(), strings.Repeat("a", 32)) {
		t.Errorf("error %q shows the password", err)
	}
}

func TestLoginWithMainAccountDespiteWarning(t *testing.T) {
	// action=login with a main account succeeds with a deprecation
	// warning, which go-mwclient returns as its error.
	w := metawiki(t)
	name := nameFor(t, "User")
	if err := w.CreateUser(name, "main-password-for-tests-123"); err != nil {
		t.Fatal(err)
	}
	c, err := New(testConfig(w, w.API, name, "main-password-for-tests-123", &counter{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background()); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if c.Account() != name || c.BatchSize() != 50 {
		t.Errorf("Account() = %q, BatchSize() = %d; want %q and 50",
			c.Account(), c.BatchSize(), name)
	}
}

func TestSiteInfoNamespaces(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	info, err := c.SiteInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	if info.SiteName != "Meta" || info.WikiID != "metawiki" || info.MainPage == "" {
		t.Errorf("SiteInfo = %q %q %q", info.SiteName, info.WikiID, info.MainPage)
	}
	project, ok := info.Namespace(4)
	if !ok || project.Name != "Meta" || project.Canonical != "Project" || !project.FirstLetter {
		t.Errorf("namespace 4 = %+v; want Meta, canonical Project, first-letter", project)
	}
	main, ok := info.Namespace(0)
	if !ok || main.Name != "" {
		t.Errorf("namespace 0 = %+v", main)
	}
	file, _ := info.Namespace(6)
	if !slices.Contains(file.Aliases, "Image") {
		t.Errorf("namespace 6 aliases = %v; want Image", file.Aliases)
	}
	talk, _ := info.Namespace(3)
	if talk.Name != "User talk" {
		t.Errorf("namespace 3 = %+v", talk)
	}
}

func TestEditNewSectionReturnsRevisionID(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	ctx := context.Background()
	title := "User talk:" + nameFor(t, "Recipient")

	res, err := c.Edit(ctx, EditParams{
		Title: title, Section: "new", SectionTitle: "Hello", Text: "Message. ~~~~",
		Summary: "test delivery", Bot: true, Assert: "bot", Retry: RetryConflict,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewRevID == 0 || !res.New || res.OldRevID != 0 || res.NewTimestamp.IsZero() {
		t.Errorf("EditResult = %+v; want a new page with a revision id", res)
	}
	if n.get("edit") != 1 {
		t.Errorf("%d edit requests, want 1", n.get("edit"))
	}

	set, err := c.Pages(ctx, PageQuery{Titles: []string{title}})
	if err != nil {
		t.Fatal(err)
	}
	if pg := set.Pages[title]; pg == nil || pg.LastRevID != res.NewRevID {
		t.Errorf("page %q = %+v; want lastrevid %d", title, pg, res.NewRevID)
	}

	again, err := c.Edit(ctx, EditParams{
		Title: title, Section: "new", SectionTitle: "Again", Text: "Second.", Bot: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.OldRevID != res.NewRevID || again.NewRevID <= res.NewRevID {
		t.Errorf("second edit %+v; want old revision %d", again, res.NewRevID)
	}
}

func TestWarningsDoNotFail(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	ctx := context.Background()

	p := (&EditParams{Title: nameFor(t, "Meta:"), Text: "text"}).values()
	p.Set("courierbogus", "1")
	resp, err := c.call(ctx, &request{params: p, post: true, token: true})
	if err != nil {
		t.Fatalf("edit with an unknown parameter: %v", err)
	}
	if len(resp.warnings) == 0 || !strings.Contains(resp.warnings[0].Text, "courierbogus") {
		t.Errorf("warnings = %+v; want the unrecognized parameter", resp.warnings)
	}
}

func TestBadTokenIsRenewedOnce(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	c.mu.Lock()
	c.csrf = "0123456789abcdef+\\"
	c.mu.Unlock()

	_, err := c.Edit(context.Background(), EditParams{Title: nameFor(t, "Meta:"), Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if n.get("edit") != 2 || n.get("query") != 1 {
		t.Errorf("edit %d, query %d requests; want 2 edits around 1 token fetch",
			n.get("edit"), n.get("query"))
	}
}

func TestProtectedPageIsAPIError(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	title := nameFor(t, "Meta:")
	adm := admin(t, w)
	if _, err := adm.Edit(title, "protected text", "set up"); err != nil {
		t.Fatal(err)
	}
	if err := adm.Protect(title, "sysop", "infinite"); err != nil {
		t.Fatal(err)
	}

	_, err := c.Edit(context.Background(), EditParams{Title: title, Text: "bot text", Bot: true})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "protectedpage" ||
		ae.Wiki != w.ID || ae.Action != "edit" {
		t.Fatalf("err = %v; want an APIError protectedpage", err)
	}
	if IsTransient(err) || IsBlocked(err) || IsLoginLost(err) {
		t.Errorf("protectedpage classified as transient, blocked or login lost")
	}
	if n.get("edit") != 1 {
		t.Errorf("%d edit requests; a permanent error is not retried", n.get("edit"))
	}
}

func TestBlockedBotStopsEditing(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	adm := admin(t, w)
	if err := adm.Block(c.Account(), "infinite", "test"); err != nil {
		t.Fatal(err)
	}
	defer adm.Unblock(c.Account())

	_, err := c.Edit(context.Background(), EditParams{Title: nameFor(t, "Talk:"), Text: "x"})
	if !IsBlocked(err) || Code(err) != "blocked" {
		t.Fatalf("err = %v; want blocked", err)
	}
	info, err := c.UserInfo(context.Background())
	if err != nil || !info.Blocked || info.BlockPartial {
		t.Errorf("UserInfo = %+v, %v; want a sitewide block", info, err)
	}
}

func TestSessionLostLogsInAgain(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	dropCookies(t, c)

	if _, err := c.UserInfo(context.Background()); err != nil {
		t.Fatalf("UserInfo after the session was lost: %v", err)
	}
	if n.get("login") != 1 {
		t.Errorf("%d logins; want one after assertuserfailed", n.get("login"))
	}
	if c.Account() != nameFor(t, "Bot") {
		t.Errorf("Account() = %q after the new login", c.Account())
	}
}

func TestRevokedBotPasswordIsLoginLost(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	if _, err := w.Maintenance("sql.php", "--query",
		"DELETE FROM bot_passwords WHERE bp_app_id = 'courier' AND bp_user = "+
			"(SELECT user_id FROM user WHERE user_name = '"+c.Account()+"')"); err != nil {
		t.Fatal(err)
	}
	dropCookies(t, c)

	_, err := c.Edit(context.Background(), EditParams{Title: nameFor(t, "Talk:"), Text: "x"})
	var le *LoginError
	if !errors.As(err, &le) || !IsLoginLost(err) {
		t.Fatalf("err = %v; want a LoginError", err)
	}
}

// dropCookies empties the session's cookie jar, as an expired session would.
func dropCookies(t *testing.T, c *Client) {
	t.Helper()
	u, err := url.Parse(c.api)
	if err != nil {
		t.Fatal(err)
	}
	var gone []*http.Cookie
	for _, ck := range c.http.Jar.Cookies(u) {
		gone = append(gone, &http.Cookie{Name: ck.Name, Path: "/", MaxAge: -1})
	}
	c.http.Jar.SetCookies(u, gone)
	if len(c.http.Jar.Cookies(u)) != 0 {
		t.Fatal("cookies not dropped")
	}
}

func TestPagesBatchAndFlags(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	ctx := context.Background()
	base := nameFor(t, "Talk:")
	adm := admin(t, w)
	cat := "Category:" + nameFor(t, "Optout")

	edits := map[string]string{
		base + " target": "{{nobots}} [[" + cat + "]]",
		base + " plain":  "hello",
		base + " redir":  "#REDIRECT [[" + base + " target]]",
	}
	for title, text := range edits {
		if _, err := adm.Edit(title, text, "set up"); err != nil {
			t.Fatal(err)
		}
	}

	q := PageQuery{
		Titles: []string{
			strings.ReplaceAll(base, " ", "_") + "_plain", base + " redir",
			base + " missing", "Talk:Bad<title", "Special:Version",
		},
		Redirects: true, Content: true,
		Categories: []string{cat}, Templates: []string{"Template:Nobots"},
	}
	set, err := c.Pages(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if n.get("query") != 1 {
		t.Errorf("%d requests for 5 titles with 4 props, want 1", n.get("query"))
	}

	final, pg := set.Resolve(base + " redir")
	if final != base+" target" || pg == nil || !slices.Contains(pg.Categories, cat) {
		t.Errorf("redirect resolved to %q %+v; want the target in %s", final, pg, cat)
	}
	if pg != nil && !strings.Contains(pg.Content, "{{nobots}}") {
		t.Errorf("target content = %q", pg.Content)
	}
	if _, pg := set.Resolve(q.Titles[0]); pg == nil || pg.Content != "hello" || pg.LastRevID == 0 {
		t.Errorf("normalised title resolved to %+v", pg)
	}
	if _, pg := set.Resolve(base + " missing"); pg == nil || !pg.Missing {
		t.Errorf("missing page = %+v", pg)
	}
	if _, pg := set.Resolve("Talk:Bad<title"); pg == nil || !pg.Invalid {
		t.Errorf("invalid title = %+v", pg)
	}
	if _, pg := set.Resolve("Special:Version"); pg == nil || !pg.Special {
		t.Errorf("special page = %+v", pg)
	}
}

func TestPagesCostOneRequestPerBatch(t *testing.T) {
	w := metawiki(t)
	name := nameFor(t, "User")
	if err := w.CreateUser(name, "main-password-for-tests-123"); err != nil {
		t.Fatal(err)
	}
	n := &counter{}
	c, err := New(testConfig(w, w.API, name, "main-password-for-tests-123", n))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	bot, botN := newBot(t, w, w.API)

	var titles []string
	for i := range 120 {
		titles = append(titles, fmt.Sprintf("User talk:%s %d", name, i))
	}
	q := PageQuery{Titles: titles, Redirects: true, Content: true,
		Categories: []string{"Category:Opted-out of message delivery"}}
	for _, tc := range []struct {
		c    *Client
		n    *counter
		want int
	}{{c, n, 3}, {bot, botN, 1}} {
		tc.n.reset()
		set, err := tc.c.Pages(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.n.get("query"); got != tc.want {
			t.Errorf("batch %d: %d requests for 120 titles, want %d",
				tc.c.BatchSize(), got, tc.want)
		}
		if len(set.Pages) != 120 {
			t.Errorf("%d pages in the answer, want 120", len(set.Pages))
		}
	}
}

func TestUsersLookup(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	names := []string{wikitest.AdminName, "admin", "No such user " + t.Name(), "127.0.0.1"}
	users, err := c.Users(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	if n.get("query") != 1 {
		t.Errorf("%d requests for 4 names, want 1", n.get("query"))
	}
	if u := users["admin"]; u == nil || u.Name != wikitest.AdminName || u.ID == 0 ||
		!slices.Contains(u.Groups, "sysop") {
		t.Errorf("admin = %+v", u)
	}
	if u := users[names[2]]; u == nil || !u.Missing {
		t.Errorf("missing user = %+v", u)
	}
	if u := users["127.0.0.1"]; u == nil || !u.Invalid {
		t.Errorf("IP = %+v", u)
	}
}

func TestUserGroupsAt(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	ctx := context.Background()
	name := nameFor(t, "Approver")
	if err := w.CreateUser(name, "main-password-for-tests-123"); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	time.Sleep(1100 * time.Millisecond)
	if err := w.SetGroups(name, []string{"sysop"}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	during := time.Now()
	time.Sleep(1100 * time.Millisecond)
	if err := w.SetGroups(name, nil, []string{"sysop"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	after := time.Now()

	for _, tc := range []struct {
		at    time.Time
		sysop bool
	}{{before, false}, {during, true}, {after, false}} {
		groups, err := c.UserGroupsAt(ctx, name, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(groups, "sysop") != tc.sysop || !slices.Contains(groups, "user") {
			t.Errorf("groups at %s = %v; sysop %v", tc.at.Format(time.TimeOnly), groups, tc.sysop)
		}
	}
}

func TestUserGroupsAtSeesExpiredMembership(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	name := nameFor(t, "Temp")
	if err := w.CreateUser(name, "main-password-for-tests-123"); err != nil {
		t.Fatal(err)
	}
	adm := admin(t, w)
	tok, err := adm.Token("userrights")
	if err != nil {
		t.Fatal(err)
	}
	ends := time.Now().Add(8 * time.Second).Truncate(time.Second)
	_, err = adm.Post(url.Values{"action": {"userrights"}, "user": {name}, "add": {"sysop"},
		"expiry": {ends.UTC().Format(time.RFC3339)}, "token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a second after the grant
	during := time.Now()
	if !during.Before(ends) {
		t.Fatalf("the set-up took past the membership's end %v", ends)
	}
	// The membership runs out, leaving no log entry.
	time.Sleep(time.Until(ends) + 1100*time.Millisecond)

	groups, err := c.UserGroupsAt(context.Background(), name, during)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(groups, "sysop") {
		t.Errorf("groups during a temporary membership = %v; want sysop", groups)
	}
	now, err := c.UserGroupsAt(context.Background(), name, time.Now())
	if err != nil || slices.Contains(now, "sysop") {
		t.Errorf("groups now = %v, %v; the membership ran out", now, err)
	}
}

func TestRecentChanges(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	ctx := context.Background()
	a, b := nameFor(t, "Meta:")+" A", nameFor(t, "Meta:")+" B"
	start := time.Now().Add(-time.Second)

	var revs []int64
	for _, title := range []string{a, b, a} {
		res, err := c.Edit(ctx, EditParams{Title: title, AppendText: "\nline", Bot: true})
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, res.NewRevID)
	}

	n.reset()
	all, err := c.RecentChanges(ctx, RCQuery{Start: start, Titles: []string{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, rc := range all {
		got = append(got, rc.RevID)
		if rc.User != c.Account() || !rc.Bot {
			t.Errorf("change %+v; want a bot edit by %s", rc, c.Account())
		}
	}
	if !slices.Equal(got, revs) {
		t.Errorf("revisions of A and B = %v, want %v oldest first", got, revs)
	}
	if n.get("query") != 1 {
		t.Errorf("%d requests, want 1", n.get("query"))
	}

	q := RCQuery{Start: start, Titles: []string{b}, Types: []string{"new"}}
	one, err := c.RecentChanges(ctx, q)
	if err != nil || len(one) != 1 || one[0].RevID != revs[1] || !one[0].New {
		t.Errorf("rctitle B = %+v, %v", one, err)
	}
}

func TestRevisionsAndMarker(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	ctx := context.Background()
	title := "User talk:" + nameFor(t, "Recipient")
	marker := "<!-- Courier: request 42 test -->"
	start := time.Now().Add(-time.Second)

	var revs []int64
	for i, text := range []string{"first", "second " + marker, "third"} {
		res, err := c.Edit(ctx, EditParams{Title: title, Section: "new",
			SectionTitle: fmt.Sprint("S", i), Text: text})
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, res.NewRevID)
	}

	got, err := c.Revisions(ctx, title, RevQuery{FromID: revs[1]})
	if err != nil || len(got) != 2 || got[0].RevID != revs[1] || got[0].User != c.Account() {
		t.Fatalf("Revisions from %d = %+v, %v", revs[1], got, err)
	}
	found, err := c.FindMarker(ctx, title, start, marker)
	if err != nil || found == nil || found.RevID != revs[1] {
		t.Errorf("FindMarker = %+v, %v; want revision %d", found, err, revs[1])
	}
	none, err := c.FindMarker(ctx, title+" nobody", start, marker)
	if err != nil || none != nil {
		t.Errorf("FindMarker on a missing page = %+v, %v", none, err)
	}

	rev, err := c.RevisionByID(ctx, revs[2])
	if err != nil || !strings.Contains(rev.Content, "third") || rev.Title != title {
		t.Errorf("RevisionByID = %+v, %v", rev, err)
	}
	if _, err := c.RevisionByID(ctx, 1<<40); !errors.Is(err, ErrNoSuchRevision) {
		t.Errorf("RevisionByID of an unknown id: %v", err)
	}
	cur, ok, err := c.PageText(ctx, title)
	if err != nil || !ok || cur.RevID != revs[2] || cur.ContentModel != "wikitext" {
		t.Errorf("PageText = %+v, %v, %v", cur, ok, err)
	}
	if _, ok, err := c.PageText(ctx, title+" nobody"); ok || err != nil {
		t.Errorf("PageText of a missing page: %v, %v", ok, err)
	}

	contribs, err := c.Contribs(ctx, c.Account(), start)
	if err != nil || len(contribs) != 3 || contribs[1].RevID != revs[1] {
		t.Errorf("Contribs = %+v, %v", contribs, err)
	}
}

func TestCategoryMembers(t *testing.T) {
	w := metawiki(t)
	c, _ := newBot(t, w, w.API)
	cat := "Category:" + nameFor(t, "Members")
	var want []string
	for i := range 3 {
		title := fmt.Sprintf("User talk:%s %d", nameFor(t, "Member"), i)
		if _, err := c.Edit(context.Background(), EditParams{Title: title,
			Text: "[[" + cat + "]]"}); err != nil {
			t.Fatal(err)
		}
		want = append(want, title)
	}
	got, err := c.CategoryMembers(context.Background(), cat)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("CategoryMembers = %v, %v; want %v", got, err, want)
	}
}

func TestMaxlagFromTheWikiIsRetried(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	if err := w.SetLag(30); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.SetLag(0) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { // owned by this test, which waits for it below
		_, err := c.SiteInfo(ctx)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := w.SetLag(0); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("SiteInfo after the lag passed: %v", err)
	}
	if n.get("query") < 2 || n.errs == 0 {
		t.Errorf("%d requests, %d failed; want maxlag answers retried", n.get("query"), n.errs)
	}
}

func TestTransientWriteFailuresRunOut(t *testing.T) {
	w := metawiki(t)
	for _, tc := range []struct {
		code string
		arm  func(on bool) error
	}{
		{"ratelimited", w.SetRateLimited},
		{"readonly", func(on bool) error {
			if on {
				return w.SetReadOnly("test")
			}
			return w.SetReadOnly("")
		}},
	} {
		t.Run(tc.code, func(t *testing.T) {
			c, n := newBot(t, w, w.API)
			if err := tc.arm(true); err != nil {
				t.Fatal(err)
			}
			defer tc.arm(false)

			e := EditParams{Title: nameFor(t, "Talk:"), Text: "x"}
			_, err := c.Edit(context.Background(), e)
			if Code(err) != tc.code || !IsTransient(err) {
				t.Fatalf("err = %v; want %s", err, tc.code)
			}
			if n.get("edit") != 5 {
				t.Errorf("%d edit requests, want the 5 tries of the policy", n.get("edit"))
			}
		})
	}
}

func TestEditConflictIsReportedNotRetried(t *testing.T) {
	w := metawiki(t)
	for _, byRevID := range []bool{true, false} {
		t.Run(fmt.Sprint("baserevid=", byRevID), func(t *testing.T) {
			c, n := newBot(t, w, w.API)
			ctx := context.Background()
			title := nameFor(t, "Meta:")
			adm := admin(t, w)
			if _, err := adm.Edit(title, "status = pending", "set up"); err != nil {
				t.Fatal(err)
			}
			read, ok, err := c.PageText(ctx, title)
			if err != nil || !ok {
				t.Fatalf("PageText = %v, %v", ok, err)
			}
			e := EditParams{Title: title, Text: "status = delivering", NoCreate: true,
				BaseTimestamp: read.Timestamp, StartTimestamp: read.Timestamp}
			if byRevID {
				e.BaseRevID = read.RevID
			} else {
				time.Sleep(1100 * time.Millisecond) // timestamps tell seconds apart
			}
			if _, err := adm.Edit(title, "status = cancel", "meanwhile"); err != nil {
				t.Fatal(err)
			}

			_, err = c.Edit(ctx, e)
			if !IsConflict(err) || !IsTransient(err) {
				t.Fatalf("err = %v; want editconflict", err)
			}
			if n.get("edit") != 1 {
				t.Errorf("%d edit requests; a write-back conflict is the caller's to redo",
					n.get("edit"))
			}
		})
	}
}

func TestQueryFollowsContinuation(t *testing.T) {
	w := metawiki(t)
	c, n := newBot(t, w, w.API)
	ctx := context.Background()
	cat := "Category:" + nameFor(t, "Members")
	var want []string
	for i := range 3 {
		title := fmt.Sprintf("Talk:%s %d", nameFor(t, "Member"), i)
		if _, err := c.Edit(ctx, EditParams{Title: title, Text: "[[" + cat + "]]"}); err != nil {
			t.Fatal(err)
		}
		want = append(want, title)
	}

	// CategoryMembers asks for cmlimit=max; one member a step makes the
	// same loop continue twice.
	n.reset()
	p := url.Values{"list": {"categorymembers"}, "cmtitle": {cat}, "cmlimit": {"1"}}
	var got []string
	err := c.query(ctx, p, func(body []byte) (bool, error) {
		var a struct {
			Members []titleJSON `json:"categorymembers"`
		}
		if err := c.decodeQuery(body, &a); err != nil {
			return false, err
		}
		for _, m := range a.Members {
			got = append(got, m.Title)
		}
		return true, nil
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("members one a step = %v, %v; want %v", got, err, want)
	}
	if n.get("query") != 3 {
		t.Errorf("%d requests, want 3", n.get("query"))
	}
}
