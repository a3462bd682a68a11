package wiki

// Fault injection: a wikitest.Proxy in front of a real wiki answers some
// requests in the wiki's place, or loses the wiki's answers.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"courier/wikitest"
)

// proxied returns a proxy in front of w and a bot logged in through it,
// with the proxy's counts reset.
func proxied(t *testing.T, w *wikitest.Wiki) (*wikitest.Proxy, *Client) {
	t.Helper()
	p, err := wikitest.NewProxy(w.API)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, _ := newBot(t, w, p.URL)
	p.Reset()
	return p, c
}

func TestProxyFaultsAreRetried(t *testing.T) {
	w := metawiki(t)
	for _, tc := range []struct {
		name  string
		fault wikitest.Fault
	}{
		{"maxlag", wikitest.Fault{Kind: wikitest.Maxlag, Action: "edit", Times: 2, Lag: 8}},
		{"ratelimited", wikitest.Fault{Kind: wikitest.RateLimited, Action: "edit", Times: 2}},
		{"readonly", wikitest.Fault{Kind: wikitest.ReadOnly, Action: "edit", Times: 2}},
		{"http503", wikitest.Fault{Kind: wikitest.HTTPStatus, Action: "query", Times: 2,
			RetryAfter: 1}},
		{"drop", wikitest.Fault{Kind: wikitest.Drop, Action: "query", Times: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := proxied(t, w)
			p.Fail(tc.fault)

			title := nameFor(t, "Talk:")
			start := time.Now()
			var err error
			if tc.fault.Action == "edit" {
				_, err = c.Edit(context.Background(), EditParams{Title: title, Text: "x"})
			} else {
				_, err = c.SiteInfo(context.Background())
			}
			if err != nil {
				t.Fatalf("after two faults: %v", err)
			}
			if got := p.Counts()[tc.fault.Action]; got != 3 {
				t.Errorf("%d %s requests, want 3: two faults and the success",
					got, tc.fault.Action)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v; Retry-After is obeyed only up to RetryPolicy.Max", took)
			}
		})
	}
}

func TestRetryAfterIsObeyed(t *testing.T) {
	w := metawiki(t)
	p, c := proxied(t, w)
	c.retry.Max = 5 * time.Second
	p.Fail(wikitest.Fault{Kind: wikitest.HTTPStatus, Action: "query", Times: 1, RetryAfter: 2})

	start := time.Now()
	if _, err := c.SiteInfo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("retried after %v; the wiki asked for 2s", took)
	}
}

func TestLostEditAnswerIsUncertainAndFound(t *testing.T) {
	w := metawiki(t)
	for _, kind := range []wikitest.FaultKind{wikitest.LoseAnswer, wikitest.Slow} {
		t.Run(kind.String(), func(t *testing.T) {
			p, c := proxied(t, w)
			c.timeout = 2 * time.Second
			p.Fail(wikitest.Fault{Kind: kind, Action: "edit", Times: 1, Delay: 6 * time.Second})

			title := "User talk:" + nameFor(t, "Recipient")
			marker := fmt.Sprintf("<!-- Courier: request 7 %s -->", kind)
			start := time.Now().Add(-time.Second)
			_, err := c.Edit(context.Background(), EditParams{
				Title: title, Section: "new", SectionTitle: "News", Text: "Hi " + marker,
				Retry: RetryConflict,
			})
			var ne *NetError
			if !IsUncertain(err) || !errors.As(err, &ne) || !ne.Sent {
				t.Fatalf("err = %v; want an uncertain network error", err)
			}
			if got := p.Counts()["edit"]; got != 1 {
				t.Errorf("%d edit requests; an edit that may be saved is not sent again", got)
			}

			rev, err := c.FindMarker(context.Background(), title, start, marker)
			if err != nil || rev == nil || rev.User != c.Account() {
				t.Errorf("FindMarker = %+v, %v; the wiki saved the edit", rev, err)
			}
		})
	}
}

func TestDroppedEditIsResentWhenAllowed(t *testing.T) {
	w := metawiki(t)
	p, c := proxied(t, w)
	p.Fail(wikitest.Fault{Kind: wikitest.Drop, Action: "edit", Times: 1})

	res, err := c.Edit(context.Background(), EditParams{
		Title: nameFor(t, "Meta:"), Text: "x", Retry: RetryUncertain,
	})
	if err != nil || res.NewRevID == 0 {
		t.Fatalf("Edit = %+v, %v", res, err)
	}
	if got := p.Counts()["edit"]; got != 2 {
		t.Errorf("%d edit requests, want 2", got)
	}
}

func TestSlowReadIsRetriedAfterTimeout(t *testing.T) {
	w := metawiki(t)
	p, c := proxied(t, w)
	c.timeout = 2 * time.Second
	p.Fail(wikitest.Fault{Kind: wikitest.Slow, Action: "query", Times: 1, Delay: 6 * time.Second})

	if _, err := c.SiteInfo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.Counts()["query"]; got != 2 {
		t.Errorf("%d query requests, want 2: a time-out, then the answer", got)
	}
}

func TestPreflightCostsOneRequestPer50Titles(t *testing.T) {
	w := metawiki(t)
	name := nameFor(t, "User")
	if err := w.CreateUser(name, "main-password-for-tests-123"); err != nil {
		t.Fatal(err)
	}
	p, err := wikitest.NewProxy(w.API)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := New(testConfig(w, p.URL, name, "main-password-for-tests-123", &counter{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ titles, want int }{{1, 1}, {50, 1}, {51, 2}, {120, 3}} {
		var titles, names []string
		for i := range tc.titles {
			titles = append(titles, fmt.Sprintf("User talk:%s %d", name, i))
			names = append(names, fmt.Sprintf("%s %d", name, i))
		}
		p.Reset()
		_, err := c.Pages(context.Background(), PageQuery{
			Titles: titles, Redirects: true, Content: true,
			Categories: []string{"Category:Opted-out of message delivery"},
			Templates:  []string{"Template:Nobots", "Template:Bots"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Users(context.Background(), names); err != nil {
			t.Fatal(err)
		}
		if got := p.Counts()["query"]; got != 2*tc.want {
			t.Errorf("%d titles and users: %d requests, want %d", tc.titles, got, 2*tc.want)
		}
	}
}

func TestLoginRetriesThroughFaults(t *testing.T) {
	w := metawiki(t)
	login, pass, err := w.CreateBot(nameFor(t, "Bot"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := wikitest.NewProxy(w.API)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Fail(wikitest.Fault{Kind: wikitest.HTTPStatus, Action: "tokens", Times: 1})
	p.Fail(wikitest.Fault{Kind: wikitest.Maxlag, Action: "login", Times: 1})
	n := &counter{}
	c, err := New(testConfig(w, p.URL, login, pass, n))
	if err != nil {
		t.Fatal(err)
	}

	if err := c.Login(context.Background()); err != nil {
		t.Fatalf("Login through a 503 and a maxlag: %v", err)
	}
	counts := p.Counts()
	if counts["login"] != 2 || counts["tokens"] != 3 {
		t.Errorf("login %d, tokens %d requests; want 2 and 3", counts["login"], counts["tokens"])
	}
	if n.get("login") != 2 || n.errs != 2 {
		t.Errorf("OnRequest saw %d logins and %d failures; want 2 and 2", n.get("login"), n.errs)
	}
}

func TestLogLinesHoldNoSecrets(t *testing.T) {
	w := metawiki(t)
	login, pass, err := w.CreateBot(nameFor(t, "Bot"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := wikitest.NewProxy(w.API)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var buf bytes.Buffer
	cfg := testConfig(w, p.URL, login, pass, &counter{})
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := EditParams{Title: nameFor(t, "Meta:"), Text: "x"}
	if _, err := c.Edit(context.Background(), e); err != nil {
		t.Fatal(err)
	}

	logged := buf.String()
	if got, want := strings.Count(logged, "msg=\"api request\""), len(p.Requests()); got != want {
		t.Errorf("%d request lines for %d requests:\n%s", got, want, logged)
	}
	secrets := []string{pass}
	for _, r := range p.Requests() {
		secrets = append(secrets, r.Params.Get("token"), r.Params.Get("lgtoken"))
	}
	u, _ := url.Parse(p.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		secrets = append(secrets, ck.Value)
	}
	for _, s := range secrets {
		if len(s) > 3 && strings.Contains(logged, s) {
			t.Errorf("the log holds a secret %q", s)
		}
	}
}
