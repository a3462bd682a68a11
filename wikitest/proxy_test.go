package wikitest

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newTestProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// rawAnswer is an HTTP answer as the tests compare them.
type rawAnswer struct {
	status int
	header http.Header
	body   string
}

// rawPost posts params to api with the session's cookies.
func rawPost(t *testing.T, s *Session, api string, params url.Values) rawAnswer {
	t.Helper()
	resp, err := s.hc.PostForm(api, params)
	if err != nil {
		t.Fatalf("post to %s: %v", api, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawAnswer{resp.StatusCode, resp.Header, string(body)}
}

// TestProxyFaultsAnswerAsMediaWikiDoes compares each injected API error,
// in every error format, with the answer MediaWiki itself gives when the
// same condition is real (through the wiki's switches).
func TestProxyFaultsAnswerAsMediaWikiDoes(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("metawiki")
	admin, err := w.Admin()
	if err != nil {
		t.Fatal(err)
	}
	token, err := admin.Token("csrf")
	if err != nil {
		t.Fatal(err)
	}
	p := newTestProxy(t, w.API)
	title := uniq(t, "Fault shape ")

	cases := []struct {
		fault  Fault
		on     func() error
		off    func() error
		action url.Values
	}{
		{Fault{Kind: Maxlag, Lag: 7}, func() error { return w.SetLag(7) },
			func() error { return w.SetLag(0) },
			values(map[string]string{"action": "query", "meta": "siteinfo", "maxlag": "5"})},
		{Fault{Kind: Maxlag, Lag: 12.5}, func() error { return w.SetLag(12.5) },
			func() error { return w.SetLag(0) },
			values(map[string]string{"action": "edit", "title": title, "text": "x",
				"maxlag": "10", "token": token})},
		{Fault{Kind: ReadOnly, Reason: "Database maintenance"},
			func() error { return w.SetReadOnly("Database maintenance") },
			func() error { return w.SetReadOnly("") },
			values(map[string]string{"action": "edit", "title": title, "text": "x",
				"token": token})},
		{Fault{Kind: RateLimited}, func() error { return w.SetRateLimited(true) },
			func() error { return w.SetRateLimited(false) },
			values(map[string]string{"action": "edit", "title": title, "text": "x",
				"token": token})},
	}
	formats := []string{"", "bc", "plaintext", "wikitext", "html", "raw", "none"}
	for _, c := range cases {
		for _, format := range formats {
			for _, fv := range []string{"1", "2"} {
				params := cloneValues(c.action)
				params.Set("format", "json")
				params.Set("formatversion", fv)
				if format != "" {
					params.Set("errorformat", format)
				}
				if fv == "2" && format == "plaintext" {
					params.Set("requestid", "r-42")
				}

				if err := c.on(); err != nil {
					t.Fatal(err)
				}
				real := rawPost(t, admin, w.API, params)
				if err := c.off(); err != nil {
					t.Fatal(err)
				}
				p.Clear()
				p.Fail(c.fault)
				fake := rawPost(t, admin, p.URL, params)

				name := c.fault.Kind.String() + " " + params.Get("action") +
					" errorformat=" + format + " formatversion=" + fv
				if fake.body != real.body {
					t.Errorf("%s:\nproxy:     %s\nmediawiki: %s", name, fake.body, real.body)
				}
				for _, h := range []string{"Retry-After", "X-Database-Lag",
					"MediaWiki-API-Error", "Content-Type"} {
					if fake.header.Get(h) != real.header.Get(h) {
						t.Errorf("%s: %s: proxy %q, mediawiki %q",
							name, h, fake.header.Get(h), real.header.Get(h))
					}
				}
				if fake.status != real.status {
					t.Errorf("%s: status %d, mediawiki %d", name, fake.status, real.status)
				}
			}
		}
	}
	if _, err := admin.Text(title); !errors.Is(err, ErrMissingPage) {
		t.Errorf("an edit was saved: %v", err)
	}
}

func TestProxyCountsByAction(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("enwiki")
	p := newTestProxy(t, w.API)
	if !strings.HasSuffix(p.URL, "/api.php") {
		t.Errorf("proxy URL %s does not end in /api.php", p.URL)
	}
	s, err := NewSession(p.URL, AdminName, AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Edit(uniq(t, "Counted "), "x", "wikitest"); err != nil {
		t.Fatal(err)
	}
	got := p.Counts()
	// Login: a login token, clientlogin. Edit: a csrf token, edit.
	want := map[string]int{"query": 2, "tokens": 2, "clientlogin": 1, "edit": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Counts()[%q] = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(p.Injected()) != 0 {
		t.Errorf("Injected = %v", p.Injected())
	}
	reqs := p.Requests()
	last := reqs[len(reqs)-1]
	if last.Action != "edit" || last.Method != http.MethodPost || last.Params.Get("text") != "x" {
		t.Errorf("last request = %+v", last)
	}

	// Large edits come as multipart forms, as go-mwclient sends them.
	p.Reset()
	resp, err := multipartPost(s, p.URL, map[string]string{
		"action": "query", "meta": "tokens", "format": "json",
	})
	if err != nil || resp != http.StatusOK || p.Counts()["tokens"] != 1 {
		t.Errorf("multipart: status %d, %v, counts %v", resp, err, p.Counts())
	}
}

func multipartPost(s *Session, api string, fields map[string]string) (int, error) {
	var b strings.Builder
	const boundary = "wikitestboundary"
	for k, v := range fields {
		b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + k +
			"\"\r\n\r\n" + v + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	resp, err := s.hc.Post(api, "multipart/form-data; boundary="+boundary,
		strings.NewReader(b.String()))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestProxyFaultedEditIsNotSaved injects each fault that answers in the
// wiki's place into an edit and checks the page did not change.
func TestProxyFaultedEditIsNotSaved(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("metawiki")
	p := newTestProxy(t, w.API)
	s, err := NewSession(p.URL, AdminName, AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	title := uniq(t, "Faulted ")
	base, err := s.Edit(title, "base", "wikitest")
	if err != nil {
		t.Fatal(err)
	}
	faults := []Fault{
		{Kind: Maxlag, Action: "edit", Times: 1},
		{Kind: RateLimited, Action: "edit", Times: 1},
		{Kind: ReadOnly, Action: "edit", Times: 1},
		{Kind: HTTPStatus, Action: "edit", Status: 502, RetryAfter: 3, Times: 1},
		{Kind: Drop, Action: "edit", Times: 1},
	}
	for _, f := range faults {
		p.Fail(f)
		_, err := s.Post(values(map[string]string{
			"action": "edit", "title": title, "text": "changed by " + f.Kind.String(),
			"maxlag": "5",
		}))
		if err == nil {
			t.Errorf("%s: edit went through", f.Kind)
		}
		var apiErr *APIError
		switch f.Kind {
		case Maxlag, RateLimited, ReadOnly:
			if !errors.As(err, &apiErr) || apiErr.Code != f.Kind.String() {
				t.Errorf("%s: error %v", f.Kind, err)
			}
		case HTTPStatus:
			if err == nil || !strings.Contains(err.Error(), "502") {
				t.Errorf("%s: error %v", f.Kind, err)
			}
		}
	}
	revs, err := s.Revisions(title, 5)
	if err != nil || len(revs) != 1 || revs[0].ID != base {
		t.Errorf("revisions after faulted edits: %+v, %v", revs, err)
	}
	if got := p.Injected()["edit"]; got != len(faults) {
		t.Errorf("Injected()[edit] = %d, want %d", got, len(faults))
	}

	// A 5xx with Retry-After carries the header.
	p.Fail(Fault{Kind: HTTPStatus, Action: "query", RetryAfter: 4, Times: 1})
	resp, err := http.Get(p.URL + "?action=query&meta=siteinfo&format=json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "4" {
		t.Errorf("HTTPStatus: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Without maxlag in the request MediaWiki would not refuse: neither does the proxy.
	p.Fail(Fault{Kind: Maxlag, Lag: 30})
	if _, err := s.Get(values(map[string]string{"action": "query", "meta": "siteinfo"})); err != nil {
		t.Errorf("request without maxlag got %v", err)
	}
}

// TestProxySlowAndLostAnswersStillEdit checks the faults that let the wiki do
// the request: the edit is saved although the client waits, or never hears.
func TestProxySlowAndLostAnswersStillEdit(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("enwiki")
	p := newTestProxy(t, w.API)
	s, err := NewSession(p.URL, AdminName, AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	title := uniq(t, "Slow ")

	p.Fail(Fault{Kind: Slow, Action: "edit", Delay: 300 * time.Millisecond, Times: 1})
	began := time.Now()
	rev, err := s.Edit(title, "slow", "wikitest")
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("slow edit answered in %v", took)
	}

	p.Fail(Fault{Kind: LoseAnswer, Action: "edit", Times: 1})
	if _, err := s.Edit(title, "lost answer", "wikitest"); err == nil {
		t.Error("lost answer arrived")
	}
	revs, err := s.Revisions(title, 5)
	if err != nil || len(revs) != 2 || revs[1].ID != rev {
		t.Errorf("revisions = %+v, %v; want the lost edit saved on top of %d", revs, err, rev)
	}
}

func TestProxyRuleMatching(t *testing.T) {
	e := Shared(t)
	w := e.Wiki("enwiki")
	p := newTestProxy(t, w.API)
	get := func(params string) int {
		resp, err := http.Get(p.URL + "?format=json&" + params)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// Times: the next two matching requests only.
	p.Fail(Fault{Kind: HTTPStatus, Action: "query", Times: 2})
	got := []int{get("action=query&meta=siteinfo"), get("action=query&meta=siteinfo"),
		get("action=query&meta=siteinfo")}
	if got[0] != 503 || got[1] != 503 || got[2] != 200 {
		t.Errorf("Times 2: statuses %v", got)
	}

	// Param and Value narrow the match; "tokens" names meta=tokens.
	p.Fail(Fault{Kind: HTTPStatus, Status: 500, Action: "query", Param: "list",
		Value: "recentchanges"})
	if get("action=query&list=recentchanges") != 500 || get("action=query&list=allpages") != 200 {
		t.Error("Param/Value match is wrong")
	}
	p.Clear()
	p.Fail(Fault{Kind: HTTPStatus, Action: "tokens"})
	if get("action=query&meta=tokens") != 503 || get("action=query&meta=siteinfo") != 200 {
		t.Error("tokens match is wrong")
	}
	p.Clear()

	// Probability draws from a seeded generator: the same seed, the same hits.
	run := func() []int {
		p.Clear()
		p.Seed(7)
		p.Fail(Fault{Kind: HTTPStatus, Probability: 0.5})
		var out []int
		for i := 0; i < 20; i++ {
			out = append(out, get("action=query&meta=siteinfo"))
		}
		return out
	}
	a, b := run(), run()
	hits := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different hits: %v vs %v", a, b)
		}
		if a[i] == 503 {
			hits++
		}
	}
	if hits == 0 || hits == 20 {
		t.Errorf("probability 0.5 hit %d of 20", hits)
	}
}
