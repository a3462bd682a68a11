package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const message = "| subject = Tech News %d\n| message = Hello! This week's issue is out: " +
	"[[Tech/News|the news]] {{!}} more. ~~~~\n"

// TestApprovalFlow runs the life of requests through courier run: a plain
// user's request waits, a non-approver's approval is undone, an approver's
// delivers once to every target on both wikis, and a trusted sender's
// needs no approval. It reports the time from approving edit to first
// delivered message.
func TestApprovalFlow(t *testing.T) {
	s := newScene(t, 2, 600)
	s.start()

	id := s.file("Alice", "Tech News 1", fmt.Sprintf(message, 1))
	s.waitStatus(id, "pending", 30*time.Second)
	if note := s.param(id, "note"); !strings.Contains(note, "4 targets") {
		t.Errorf("pending note = %q, want it to count 4 targets", note)
	}

	// Bob is no approver: his approval is set back.
	s.setStatus("Bob", id, "approved")
	s.waitStatus(id, "pending", 30*time.Second)
	if note := s.param(id, "note"); !strings.Contains(note, "does not count") {
		t.Errorf("note after Bob's approval = %q", note)
	}
	time.Sleep(2 * time.Second)
	if got := s.messages(id); !all(got, 0) {
		t.Fatalf("messages after a non-approver's approval = %v, want none", got)
	}

	// Sam is an approver.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	after := s.env.Stream.Last()
	approved := time.Now()
	s.setStatus("Sam", id, "approved")
	first, err := s.firstDelivery(ctx, after)
	if err != nil {
		t.Fatalf("no delivery after the approval: %v", err)
	}
	t.Logf("approving edit to first delivered message: %v", first.Sub(approved))
	s.waitStatus(id, "done", 60*time.Second)
	if got := s.messages(id); !all(got, 1) {
		t.Errorf("messages per target = %v, want exactly one each", got)
	}
	if res := s.param(id, "result"); !strings.HasPrefix(res, "4 delivered, 0 skipped, 0 failed") {
		t.Errorf("result = %q", res)
	}

	// courier status reads the state beside the running courier.
	out, code := s.courier("status", "-config", s.config)
	if code != 0 || !regexp.MustCompile(fmt.Sprintf(`(?m)^%d +done +Alice +4 +4 +0 +0`, id)).
		MatchString(out) {
		t.Errorf("courier status (exit %d):\n%s", code, out)
	}
	out, code = s.courier("status", "-config", s.config, "-request", fmt.Sprint(id), "-json")
	if code != 0 || strings.Count(out, `"State": "delivered"`) != 4 {
		t.Errorf("courier status -request -json (exit %d):\n%s", code, out)
	}

	// A trusted sender's request goes out without an approval.
	tid := s.file("Trusty", "Tech News 2", fmt.Sprintf(message, 2))
	s.waitStatus(tid, "done", 60*time.Second)
	if got := s.messages(tid); !all(got, 1) {
		t.Errorf("trusted sender: messages per target = %v, want one each", got)
	}

	// Courier's own edits triggered nothing more: still one message each.
	time.Sleep(2 * time.Second)
	if got := s.messages(id); !all(got, 1) {
		t.Errorf("later: messages per target = %v, want still one each", got)
	}
}

// TestApprovalLatency measures, over several requests, the time from the
// approving edit to the first delivered message, in stream mode.
func TestApprovalLatency(t *testing.T) {
	s := newScene(t, 1, 600)
	s.start()
	var lat []time.Duration
	for i := range 5 {
		id := s.file("Alice", fmt.Sprintf("Latency %d", i), fmt.Sprintf(message, 10+i))
		s.waitStatus(id, "pending", 30*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		after := s.env.Stream.Last()
		approved := time.Now()
		s.setStatus("Sam", id, "approved")
		first, err := s.firstDelivery(ctx, after)
		cancel()
		if err != nil {
			t.Fatalf("request %d: no delivery: %v", id, err)
		}
		lat = append(lat, first.Sub(approved))
		s.waitStatus(id, "done", 60*time.Second)
	}
	slices.Sort(lat)
	t.Logf("approving edit to first delivered message over %d runs: median %v, all %v",
		len(lat), lat[len(lat)/2], lat)
}

// TestEditAfterApprovalVoidsIt approves a request while Courier is down and
// edits its message after: on start, the approval no longer counts.
func TestEditAfterApprovalVoidsIt(t *testing.T) {
	s := newScene(t, 1, 600)
	s.start()
	id := s.file("Alice", "Voided", fmt.Sprintf(message, 20))
	s.waitStatus(id, "pending", 30*time.Second)
	s.stop()

	s.setStatus("Sam", id, "approved")
	text, _ := s.admin.Text(s.requests)
	s.edit(s.users["Alice"], s.requests, strings.Replace(text, "Tech News 20", "Tech News 21", 1))

	s.start()
	s.waitStatus(id, "pending", 30*time.Second)
	if note := s.param(id, "note"); !strings.Contains(note, "approval no longer counts") {
		t.Errorf("note = %q, want the approval voided", note)
	}
	time.Sleep(2 * time.Second)
	if got := s.messages(id); !all(got, 0) {
		t.Errorf("messages = %v, want none", got)
	}
}

// TestShutoffPausesAndCancelStops approves a request while the shutoff page
// says stop: nothing goes out until it reads run; at a slow rate, a cancel
// by the requester then stops the delivery between two edits.
func TestShutoffPausesAndCancelStops(t *testing.T) {
	s := newScene(t, 4, 20) // 3 s between two edits on a wiki
	shutoff := strings.TrimSuffix(s.requests, "/Requests") + "/Shutoff"
	s.start()

	id := s.file("Alice", "Paused", fmt.Sprintf(message, 30))
	s.waitStatus(id, "pending", 30*time.Second)
	s.edit(s.admin, shutoff, "stop")
	time.Sleep(2 * time.Second) // the stream brings the change in well under that
	s.setStatus("Sam", id, "approved")
	time.Sleep(4 * time.Second)
	if got := s.messages(id); !all(got, 0) {
		t.Fatalf("messages while shut off = %v, want none", got)
	}
	if st := s.param(id, "status"); st != "approved" {
		t.Errorf("status while shut off = %q: Courier edited the request page", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	after := s.env.Stream.Last()
	s.edit(s.admin, shutoff, "run")
	if _, err := s.firstDelivery(ctx, after); err != nil {
		t.Fatalf("no delivery after the shutoff page read run: %v", err)
	}
	s.setStatus("Alice", id, "cancel")
	s.waitStatus(id, "cancelled", 60*time.Second)
	got := s.messages(id)
	sent := 0
	for _, n := range got {
		if n > 1 {
			t.Errorf("a target got %d messages", n)
		}
		sent += n
	}
	if sent == 0 || sent == len(got) {
		t.Errorf("messages after cancel = %v, want some but not all", got)
	}
	t.Logf("cancelled after %d of %d messages; result %q", sent, len(got), s.param(id, "result"))
}

// TestRestartMidDeliveryAndHumanEdits stops Courier during a slow delivery,
// while a human edits another section, and starts it again: every target
// gets exactly one message and the human's text stays.
func TestRestartMidDeliveryAndHumanEdits(t *testing.T) {
	s := newScene(t, 3, 30) // 2 s between two edits on a wiki
	s.start()
	id := s.file("Alice", "Restarted", fmt.Sprintf(message, 40))
	s.waitStatus(id, "pending", 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	after := s.env.Stream.Last()
	s.setStatus("Sam", id, "approved")
	if _, err := s.firstDelivery(ctx, after); err != nil {
		t.Fatal(err)
	}

	// A human edits another section while the delivery runs.
	text, _ := s.admin.Text(s.requests)
	human := "\n== Unrelated ==\nA question about the bot. ~~~~\n"
	s.edit(s.users["Bob"], s.requests, text+human)
	time.Sleep(1500 * time.Millisecond)
	s.stop()
	mid := s.messages(id)
	if all(mid, 1) {
		t.Fatalf("every message went out before the restart (%v): the test restarts nothing", mid)
	}

	s.start()
	s.waitStatus(id, "done", 90*time.Second)
	if got := s.messages(id); !all(got, 1) {
		t.Errorf("messages per target = %v (before the restart %v), want one each", got, mid)
	}
	t.Logf("messages before the restart %v, after it all %d delivered once", mid, len(mid))
	page, _ := s.admin.Text(s.requests)
	if !strings.Contains(page, "A question about the bot.") {
		t.Errorf("the human's section is gone:\n%s", page)
	}
}

// TestNeverDeliveredTwice edits a finished request every way a page gets
// edited: its heading renamed, its status set back to approved by an
// approver, the request moved to an archive page and back. Nothing is sent
// again and the status shows done again.
func TestNeverDeliveredTwice(t *testing.T) {
	s := newScene(t, 1, 600)
	s.start()
	id := s.file("Trusty", "Once only", fmt.Sprintf(message, 50))
	s.waitStatus(id, "done", 60*time.Second)

	text, _ := s.admin.Text(s.requests)
	s.edit(s.users["Bob"], s.requests, strings.Replace(text, "== Once only ==",
		"== Once only (renamed) ==", 1))
	s.setStatus("Sam", id, "approved")
	s.waitStatus(id, "done", 30*time.Second)

	archive := s.requests + "/Archive"
	text, _ = s.admin.Text(s.requests)
	s.edit(s.users["Bob"], archive, text)
	s.edit(s.users["Bob"], s.requests, "Requests for message delivery.\n")
	time.Sleep(time.Second)
	s.edit(s.users["Bob"], s.requests, text)
	s.setStatus("Sam", id, "approved")
	s.waitStatus(id, "done", 30*time.Second)

	time.Sleep(2 * time.Second)
	if got := s.messages(id); !all(got, 1) {
		t.Errorf("messages per target = %v, want exactly one each", got)
	}
}

// TestRejectedRequestsSayWhy files requests that cannot be delivered and
// reads the reason on the page.
func TestRejectedRequestsSayWhy(t *testing.T) {
	s := newScene(t, 1, 600)
	s.edit(s.admin, s.list+"/Empty", "Nobody here yet.\n")
	s.start()
	cases := []struct {
		heading, params, want string
	}{
		{"No such list", "| subject = x\n| message = y\n", "does not exist"},
		{"Empty message", "| subject = x\n| message = \n", "message"},
		{"Long subject", "| subject = " + strings.Repeat("long ", 60) + "\n| message = y\n", "240"},
		{"Empty list", "| subject = x\n| message = y\n", "holds no targets"},
	}
	ids := map[string]int64{}
	for _, c := range cases {
		params := c.params
		text, _ := s.admin.Text(s.requests)
		list := s.list
		switch c.heading {
		case "No such list":
			list += "/Missing"
		case "Empty list":
			list += "/Empty"
		}
		text += fmt.Sprintf("\n== %s ==\n{{Delivery request\n| list = %s\n%s}}\n", c.heading,
			list, params)
		ids[c.heading] = s.edit(s.users["Alice"], s.requests, text)
	}
	for _, c := range cases {
		id := ids[c.heading]
		s.waitStatus(id, "rejected", 30*time.Second)
		if note := s.param(id, "note"); !strings.Contains(note, c.want) {
			t.Errorf("%s: note = %q, want it to say %q", c.heading, note, c.want)
		}
	}
}

// TestCheck runs courier check against a good setup and a broken one.
func TestCheck(t *testing.T) {
	start := time.Now()
	s := newScene(t, 1, 600)
	t.Logf("scene set up in %v", time.Since(start))
	start = time.Now()
	out, code := s.courier("check", "-config", s.config)
	t.Logf("check took %v", time.Since(start))
	if code != 0 || !strings.Contains(out, "ok: home.shutoff") {
		t.Errorf("check of a good setup: exit %d\n%s", code, out)
	}

	shutoff := strings.TrimSuffix(s.requests, "/Requests") + "/Shutoff"
	s.edit(s.admin, shutoff, "stop")
	cfg, _ := os.ReadFile(s.config)
	broken := strings.Replace(string(cfg), "/Requests\"", "/Nowhere\"", 1)
	os.WriteFile(s.config, []byte(broken), 0o600)
	out, code = s.courier("check", "-config", s.config)
	for _, want := range []string{"home.requests:", "does not exist", "home.shutoff:",
		"does not read \"run\"", "2 problem(s) found"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of a broken setup does not say %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("check of a broken setup: exit %d, want 1", code)
	}
}

// TestDryRun runs courier run -dry-run on a trusted sender's request: it
// prints the status write-back and every delivery, and edits nothing.
func TestDryRun(t *testing.T) {
	s := newScene(t, 1, 600)
	id := s.file("Trusty", "Dry", fmt.Sprintf(message, 60))
	s.startWith("-dry-run")
	deadline := time.Now().Add(60 * time.Second)
	var log string
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(s.logFile.Name())
		log = string(data)
		if strings.Count(log, "dry run: would add the section") == len(s.targets) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	s.stop()
	if n := strings.Count(log, "dry run: would add the section"); n != len(s.targets) {
		t.Errorf("dry run printed %d deliveries, want %d:\n%s", n, len(s.targets), log)
	}
	if !strings.Contains(log, "dry run: would replace the text of [["+
		strings.Replace(s.requests, "Project:", "Meta:", 1)) {
		t.Errorf("dry run printed no write-back of the request page:\n%s", log)
	}
	if got := s.messages(id); !all(got, 0) {
		t.Errorf("a dry run delivered: %v", got)
	}
	if st := s.param(id, "status"); st != "" {
		t.Errorf("a dry run wrote status %q", st)
	}
}

// TestMetricsAndHealthDuringDelivery reads /metrics and /healthz while a
// slow delivery runs.
func TestMetricsAndHealthDuringDelivery(t *testing.T) {
	s := newScene(t, 3, 30)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s.addConfig(fmt.Sprintf("\n[http]\nlisten = %q\n", addr))
	s.start()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	after := s.env.Stream.Last()
	id := s.file("Trusty", "Measured", fmt.Sprintf(message, 70))
	if _, err := s.firstDelivery(ctx, after); err != nil {
		t.Fatal(err)
	}
	body, code := get(t, "http://"+addr+"/healthz")
	if code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz during a delivery = %d %q", code, body)
	}
	body, code = get(t, "http://"+addr+"/metrics")
	for _, want := range []string{
		`courier_requests{state="delivering"} 1`,
		`courier_targets{state="delivered",wiki="metawiki"}`,
		`courier_edits_waiting{wiki="enwiki"}`,
		`courier_api_request_duration_seconds_count{action="edit",result="ok",wiki="metawiki"}`,
		`courier_watcher_matched_total`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) has no %s", code, want)
		}
	}
	s.waitStatus(id, "done", 60*time.Second)
	body, _ = get(t, "http://"+addr+"/metrics")
	if !strings.Contains(body, `courier_targets{state="delivered",wiki="enwiki"} 3`) {
		t.Errorf("/metrics after the delivery:\n%s", grepLines(body, "courier_targets"))
	}
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSiteMatrixWikis configures the home wiki alone and lets its site
// matrix bring the other wiki: a request delivers there too, and a second
// start whose matrix read fails uses the copy in the state file. The
// local wikis have no SiteMatrix extension, so a proxy in front of the
// real home wiki answers action=sitematrix and passes the rest through.
func TestSiteMatrixWikis(t *testing.T) {
	s := newScene(t, 1, 600)
	enURL, _ := url.Parse(s.en.URL)
	failMatrix := false
	var matrixReads atomic.Int32
	target, _ := url.Parse(s.meta.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if r.URL.Query().Get("action") != "sitematrix" && form.Get("action") != "sitematrix" {
			rp.ServeHTTP(w, r)
			return
		}
		matrixReads.Add(1)
		if failMatrix {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"sitematrix":{"count":3,"0":{"code":"en","site":[`+
			`{"url":%q,"dbname":"enwiki","code":"wiki"}]},"specials":[`+
			`{"url":%q,"dbname":"metawiki","code":"meta"},`+
			`{"url":"http://closed.invalid","dbname":"closedwiki","code":"closed","closed":true}]}}`,
			s.en.URL, s.meta.URL)
	}))
	defer proxy.Close()

	// Only the home wiki is configured, through the proxy; the list names
	// the other wiki by the domain its matrix entry gives.
	cfg, _ := os.ReadFile(s.config)
	text := string(cfg)
	text = text[:strings.LastIndex(text, "[[wikis]]")]
	text = strings.Replace(text, s.meta.API, proxy.URL+"/api.php", 1)
	text += "[sitematrix]\nenabled = true\napi_path = \"/api.php\"\n"
	os.WriteFile(s.config, []byte(text), 0o600)
	list := fmt.Sprintf("* {{#target:%s}}\n* {{#target:%s|%s}}\n", s.targets[0].title,
		s.targets[1].title, enURL.Host)
	s.edit(s.admin, s.list, list)
	s.start()

	id := s.file("Trusty", "Matrix", fmt.Sprintf(message, 80))
	s.waitStatus(id, "done", 60*time.Second)
	if got := s.messages(id); !all(got, 1) {
		t.Errorf("messages per target = %v, want one each, the matrix wiki's included", got)
	}
	s.stop()

	// A second start takes the matrix from the state file: the copy is
	// younger than max_age, so the wiki is not asked again.
	failMatrix = true
	s.start()
	id2 := s.file("Trusty", "Matrix again", fmt.Sprintf(message, 81))
	s.waitStatus(id2, "done", 60*time.Second)
	if got := s.messages(id2); !all(got, 1) {
		t.Errorf("second start: messages per target = %v, want one each", got)
	}
	if n := matrixReads.Load(); n != 1 {
		t.Errorf("the site matrix was read %d times over two starts, want once", n)
	}
}

// TestAbandonABlockedDelivery blocks the bot on one wiki during a
// delivery: the request stays delivering with a note, courier abandon
// closes it, and the next start marks it done with the failure counted.
func TestAbandonABlockedDelivery(t *testing.T) {
	s := newScene(t, 1, 600)
	enAdmin, err := s.en.Admin()
	if err != nil {
		t.Fatal(err)
	}
	if err := enAdmin.Block(botName, "infinite", "test: "+t.Name()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := enAdmin.Unblock(botName); err != nil {
			t.Errorf("unblock the bot on enwiki: %v", err)
		}
	})
	s.start()
	id := s.file("Trusty", "Blocked", fmt.Sprintf(message, 90))
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.param(id, "note"), "stopped") && time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
	}
	if note := s.param(id, "note"); !strings.Contains(note, "enwiki (blocked)") {
		t.Fatalf("note of a request blocked on enwiki = %q", note)
	}
	if st := s.param(id, "status"); st != "delivering" {
		t.Errorf("status = %q, want delivering", st)
	}

	out, code := s.courier("abandon", "-config", s.config, "-request", fmt.Sprint(id))
	if code != 1 || !strings.Contains(out, "is locked by process") {
		t.Errorf("abandon beside a running courier: exit %d\n%s", code, out)
	}
	s.stop()
	out, code = s.courier("abandon", "-config", s.config, "-request", fmt.Sprint(id),
		"-reason", "blocked")
	if code != 0 || !strings.Contains(out, "1 delivered, 0 skipped, 1 failed") {
		t.Fatalf("abandon: exit %d\n%s", code, out)
	}
	s.start()
	s.waitStatus(id, "done", 60*time.Second)
	if res := s.param(id, "result"); !strings.HasPrefix(res, "1 delivered, 0 skipped, 1 failed") {
		t.Errorf("result = %q", res)
	}
}
