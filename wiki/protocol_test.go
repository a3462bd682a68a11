package wiki

// Protocol edge cases a real wiki does not produce on cue: a continue
// block that drops a key, a 5xx after an edit may have been saved, a
// connection that never opened, a cancel during a long backoff. Everything
// else is tested against real MediaWiki in wiki_test.go.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAgent = "CourierTest/0 (https://example.org/courier; ops@example.org)"

// fakeWiki answers API requests with a function of their form and keeps
// every form it was sent.
type fakeWiki struct {
	mu    sync.Mutex
	forms []url.Values
	srv   *httptest.Server
}

type answerFunc func(n int, form url.Values, w http.ResponseWriter)

func newFakeWiki(t *testing.T, answer answerFunc) *fakeWiki {
	t.Helper()
	f := &fakeWiki{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.forms = append(f.forms, r.Form)
		n := len(f.forms)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		answer(n, r.Form, w)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWiki) sent() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

func fastClient(t *testing.T, api string) *Client {
	t.Helper()
	c, err := New(Config{
		ID:        "fakewiki",
		API:       api,
		UserAgent: testAgent,
		Retry:     RetryPolicy{Tries: 4, Min: time.Millisecond, Max: 5 * time.Millisecond},
		Timeout:   5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestContinuationSendsOnlyTheNewestBlock(t *testing.T) {
	f := newFakeWiki(t, func(n int, form url.Values, w http.ResponseWriter) {
		switch n {
		case 1:
			fmt.Fprint(w, `{"continue":{"clcontinue":"5|A","continue":"||revisions"},
				"query":{"pages":[{"title":"A","ns":0,"pageid":5,
				"categories":[{"ns":14,"title":"Category:X"}]}]}}`)
		case 2:
			fmt.Fprint(w, `{"continue":{"rvcontinue":"9","continue":"||categories"},
				"query":{"pages":[{"title":"A","ns":0,"pageid":5,
				"categories":[{"ns":14,"title":"Category:Y"}]}]}}`)
		default:
			fmt.Fprint(w, `{"batchcomplete":true,
				"query":{"pages":[{"title":"A","ns":0,"pageid":5}]}}`)
		}
	})
	c := fastClient(t, f.srv.URL)

	set, err := c.Pages(context.Background(), PageQuery{
		Titles:     []string{"A"},
		Categories: []string{"Category:X", "Category:Y"},
	})
	if err != nil {
		t.Fatal(err)
	}

	forms := f.sent()
	if len(forms) != 3 {
		t.Fatalf("sent %d requests, want 3", len(forms))
	}
	if got := forms[2].Get("clcontinue"); got != "" {
		t.Errorf("third request kept clcontinue=%q of an earlier block", got)
	}
	if got := forms[2].Get("rvcontinue"); got != "9" {
		t.Errorf("third request rvcontinue = %q, want 9", got)
	}
	got := set.Pages["A"].Categories
	if strings.Join(got, ",") != "Category:X,Category:Y" {
		t.Errorf("categories merged across continuation = %v", got)
	}
}

func TestEditNotResentAfterServerErrorUnlessAllowed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		retry Retry
		edits int
	}{
		{"default", 0, 1},
		{"RetryUncertain", RetryUncertain, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edits int
			f := newFakeWiki(t, func(n int, form url.Values, w http.ResponseWriter) {
				if form.Get("meta") == "tokens" {
					fmt.Fprint(w, `{"query":{"tokens":{"csrftoken":"abc+\\"}}}`)
					return
				}
				edits++
				if edits == 1 {
					http.Error(w, "upstream went away", http.StatusBadGateway)
					return
				}
				fmt.Fprint(w, `{"edit":{"result":"Success","title":"A","pageid":1,
					"oldrevid":1,"newrevid":2,"newtimestamp":"2026-01-02T03:04:05Z"}}`)
			})
			c := fastClient(t, f.srv.URL)

			res, err := c.Edit(context.Background(), EditParams{
				Title: "A", Section: "new", SectionTitle: "S", Text: "hi", Retry: tc.retry,
			})
			if edits != tc.edits {
				t.Errorf("edit sent %d times, want %d", edits, tc.edits)
			}
			if tc.retry == 0 {
				if !IsUncertain(err) || Code(err) != "http-502" {
					t.Fatalf("err = %v; want an uncertain http-502", err)
				}
				return
			}
			if err != nil || res.NewRevID != 2 {
				t.Fatalf("Edit = %+v, %v; want revision 2", res, err)
			}
		})
	}
}

func TestCancelEndsBackoffAtOnce(t *testing.T) {
	f := newFakeWiki(t, func(n int, form url.Values, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "3600")
		fmt.Fprint(w, `{"error":{"code":"ratelimited","info":"slow down"}}`)
	})
	c, err := New(Config{
		ID: "fakewiki", API: f.srv.URL, UserAgent: testAgent,
		Retry: RetryPolicy{Tries: 5, Min: time.Hour, Max: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.SiteInfo(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("SiteInfo returned after %v; the backoff did not wake on cancel", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || Code(err) != "ratelimited" {
		t.Errorf("err = %v; want the deadline and the last API error", err)
	}
	if n := len(f.sent()); n != 1 {
		t.Errorf("sent %d requests, want 1: no retry after ctx is done", n)
	}
}

func TestRefusedConnectionIsSafeToRetry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var calls int
	c, err := New(Config{
		ID: "fakewiki", API: "http://" + addr + "/api.php", UserAgent: testAgent,
		Retry:     RetryPolicy{Tries: 3, Min: time.Millisecond, Max: time.Millisecond},
		OnRequest: func(string, time.Duration, error) { calls++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Edit(context.Background(), EditParams{Title: "A", Text: "x"})

	var ne *NetError
	if !errors.As(err, &ne) || ne.Sent {
		t.Fatalf("err = %v; want a NetError for a request never sent", err)
	}
	if IsUncertain(err) || !IsTransient(err) || Code(err) != "network" {
		t.Errorf("refused connection: uncertain=%v transient=%v code=%q",
			IsUncertain(err), IsTransient(err), Code(err))
	}
	if calls != 3 {
		t.Errorf("%d requests, want 3 (the token fetch, retried)", calls)
	}
}

func TestDecodeClassifiesErrors(t *testing.T) {
	c := fastClient(t, "http://127.0.0.1:1/api.php")
	h := http.Header{"Retry-After": {"7"}}
	for _, tc := range []struct {
		body                          string
		code                          string
		transient, blocked, loginLost bool
	}{
		{`{"error":{"code":"maxlag","info":"lagged","lag":12.5}}`, "maxlag", true, false, false},
		{`{"error":{"code":"blocked","info":"b","blockinfo":{"blockpartial":false}}}`,
			"blocked", false, true, false},
		{`{"error":{"code":"blocked","info":"b","blockinfo":{"blockpartial":true}}}`,
			"blocked", false, false, false},
		{`{"error":{"code":"autoblocked","info":"b"}}`, "autoblocked", false, true, false},
		{`{"error":{"code":"globalblocking-blockedtext-user","info":"g"}}`,
			"globalblocking-blockedtext-user", false, true, false},
		{`{"error":{"code":"assertbotfailed","info":"a"}}`, "assertbotfailed", false, false, true},
		{`{"error":{"code":"internal_api_error_DBQueryError","info":"d"}}`,
			"internal_api_error_DBQueryError", true, false, false},
		{`{"error":{"code":"protectedpage","info":"p"}}`, "protectedpage", false, false, false},
	} {
		_, err := c.decode("edit", []byte(tc.body), h)
		if Code(err) != tc.code || IsTransient(err) != tc.transient ||
			IsBlocked(err) != tc.blocked || IsLoginLost(err) != tc.loginLost {
			t.Errorf("%s: code=%q transient=%v blocked=%v loginLost=%v", tc.body,
				Code(err), IsTransient(err), IsBlocked(err), IsLoginLost(err))
		}
		if hint := retryHint(err); hint < 7*time.Second {
			t.Errorf("%s: retry hint %v, want the Retry-After of 7s or more", tc.body, hint)
		}
	}
}

func TestWaitIsCappedAndHonoursTheWiki(t *testing.T) {
	c := &Client{retry: RetryPolicy{Tries: 8, Min: time.Second, Max: 60 * time.Second}}
	for try := 1; try <= 40; try++ {
		d := c.wait(try, nil)
		full := min(time.Second<<min(try-1, 20), 60*time.Second)
		if d < full/2 || d > full {
			t.Errorf("try %d waits %v, want within [%v, %v]", try, d, full/2, full)
		}
	}
	lag := &APIError{Code: "maxlag", lag: 30 * time.Second}
	if d := c.wait(1, lag); d != 30*time.Second {
		t.Errorf("lag of 30s waits %v", d)
	}
	long := &HTTPError{Status: 503, retryAfter: time.Hour}
	if d := c.wait(1, long); d != 60*time.Second {
		t.Errorf("Retry-After of an hour waits %v, want the cap", d)
	}
}

func TestNewWantsADescriptiveUserAgent(t *testing.T) {
	for _, ua := range []string{"", "Courier", "Courier/1.0", "   "} {
		_, err := New(Config{ID: "w", API: "http://127.0.0.1/api.php", UserAgent: ua})
		if !errors.Is(err, ErrUserAgent) {
			t.Errorf("user agent %q: err = %v, want ErrUserAgent", ua, err)
		}
	}
	_, err := New(Config{ID: "w", API: "http://127.0.0.1/api.php", UserAgent: testAgent})
	if err != nil {
		t.Errorf("user agent %q refused: %v", testAgent, err)
	}
}

func TestCanonicalUser(t *testing.T) {
	for in, want := range map[string]string{
		"alice":          "Alice",
		"bob_the  great": "Bob the great",
		"élodie":         "Élodie",
		"":               "",
	} {
		if got := canonicalUser(in); got != want {
			t.Errorf("canonicalUser(%q) = %q, want %q", in, got, want)
		}
	}
}
