package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"courier/wikitest"
)

func TestMain(m *testing.M) { wikitest.Main(m) }

// The bot account exists once on every shared wiki, with one bot password,
// as a Wikimedia account is one login on every wiki.
const (
	botName     = "Courier"
	botPassword = "courier0123456789abcdefghijklmnop"
	userPass    = "user-password-for-tests"
)

var (
	setupOnce sync.Once
	setupErr  error
	binary    string
)

// setUp builds the courier binary and creates the accounts every test
// uses: a plain user (Alice, Bob), an approver (Sam) and a trusted sender
// (Trusty).
func setUp(t *testing.T, env *wikitest.Env) {
	t.Helper()
	setupOnce.Do(func() {
		dir, err := os.MkdirTemp("", "courier-bin-")
		if err != nil {
			setupErr = err
			return
		}
		binary = filepath.Join(dir, "courier")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			setupErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		for _, w := range env.Wikis {
			if setupErr = createAccounts(w); setupErr != nil {
				return
			}
		}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

func createAccounts(w *wikitest.Wiki) error {
	if _, err := w.CreateBotWithPassword(botName, botPassword); err != nil {
		return err
	}
	for _, u := range []struct {
		name   string
		groups []string
	}{{"Alice", nil}, {"Bob", nil}, {"Sam", []string{"sysop"}},
		{"Trusty", []string{"massmessage-sender"}}} {
		if err := w.CreateUser(u.name, userPass, u.groups...); err != nil {
			return err
		}
	}
	return nil
}

// scene is one test's pages, accounts and Courier process.
type scene struct {
	t        *testing.T
	env      *wikitest.Env
	meta, en *wikitest.Wiki
	admin    *wikitest.Session
	users    map[string]*wikitest.Session
	dir      string
	name     string // unique in page titles
	config   string
	requests string // the request page, as the config names it
	list     string
	targets  []target
	proc     *exec.Cmd
	logFile  *os.File
	extra    string // more config, appended to the file
	base     string // the title all the scene's pages start with
	edits    int    // edits_per_minute
}

type target struct {
	wiki  *wikitest.Wiki
	title string
}

// newScene creates the control pages and a list of n talk pages on each
// wiki, and writes the config; edits is the per-wiki rate.
func newScene(t *testing.T, perWiki, edits int) *scene {
	env := wikitest.Shared(t)
	setUp(t, env)
	s := &scene{t: t, env: env, meta: env.Wiki("metawiki"), en: env.Wiki("enwiki"),
		dir: t.TempDir(), users: map[string]*wikitest.Session{},
		name: fmt.Sprintf("%s %d", strings.ReplaceAll(t.Name(), "/", " "), time.Now().UnixNano())}
	var err error
	if s.admin, err = s.meta.Admin(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"Alice", "Bob", "Sam", "Trusty"} {
		if s.users[u], err = s.meta.Session(u, userPass); err != nil {
			t.Fatal(err)
		}
	}
	base := "Project:Message delivery/" + s.name
	s.requests, s.list = base+"/Requests", base+"/List"
	s.edit(s.admin, base+"/Shutoff", "run")
	s.edit(s.admin, base+"/Senders", "* [[User:Trusty]]\n")
	s.edit(s.admin, s.requests, "Requests for message delivery.\n")

	var list strings.Builder
	for i := range perWiki {
		mt := fmt.Sprintf("User talk:Alice/%s/%d", s.name, i)
		et := fmt.Sprintf("User talk:Alice/%s/%d", s.name, i)
		s.targets = append(s.targets, target{s.meta, mt}, target{s.en, et})
		fmt.Fprintf(&list, "* {{#target:%s}}\n* {{#target:%s|%s}}\n", mt, et, s.en.Domain)
	}
	s.edit(s.admin, s.list, list.String())
	s.base, s.edits = base, edits
	s.writeConfig(base, edits)
	return s
}

// addConfig appends TOML text to the scene's config file.
func (s *scene) addConfig(text string) {
	s.extra += text
	s.writeConfig(s.base, s.edits)
}

func (s *scene) writeConfig(base string, edits int) {
	cfg := s.env.CourierConfig(wikitest.CourierConfig{
		State: filepath.Join(s.dir, "courier.db"), Login: botName + "@" + wikitest.BotAppID,
		UserAgent:      "Courier/test (https://example.org/courier; ops@example.org)",
		EditsPerMinute: edits,
		Home: fmt.Sprintf("requests = %q\nsenders = %q\nlog = %q\nshutoff = %q\n",
			s.requests, base+"/Senders", base+"/Log", base+"/Shutoff"),
	})
	s.config = filepath.Join(s.dir, "courier.toml")
	if err := os.WriteFile(s.config, []byte(cfg+s.extra), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func (s *scene) edit(as *wikitest.Session, title, text string) int64 {
	s.t.Helper()
	rev, err := as.Edit(title, text, "test set-up")
	if err != nil {
		s.t.Fatalf("edit %s: %v", title, err)
	}
	return rev
}

// start runs courier run; its log goes to a file shown when the test fails.
func (s *scene) start() { s.startWith() }

// startWith runs courier run with more flags.
func (s *scene) startWith(flags ...string) {
	s.t.Helper()
	var err error
	s.logFile, err = os.OpenFile(filepath.Join(s.dir, "courier.log"),
		os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	s.proc = exec.Command(binary, append([]string{"run", "-config", s.config}, flags...)...)
	s.proc.Env = append(os.Environ(), "COURIER_PASSWORD="+botPassword)
	s.proc.Stdout, s.proc.Stderr = s.logFile, s.logFile
	s.proc.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.proc.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		s.stop()
		if s.t.Failed() {
			log, _ := os.ReadFile(s.logFile.Name())
			s.t.Logf("courier's log:\n%s", log)
		}
	})
}

// stop sends SIGTERM and waits; it fails the test unless courier exits 0
// within 20 seconds.
func (s *scene) stop() {
	if s.proc == nil || s.proc.ProcessState != nil {
		return
	}
	s.proc.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.proc.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Errorf("courier run exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		s.proc.Process.Kill()
		<-done
		s.t.Error("courier run did not stop within 20s of SIGTERM")
	}
}

// courier runs a courier command to its end and returns its output and
// exit code.
func (s *scene) courier(args ...string) (string, int) {
	s.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "COURIER_PASSWORD="+botPassword)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		s.t.Fatal(err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// file adds a request as user and returns the revision that added it.
func (s *scene) file(user, heading, params string) int64 {
	s.t.Helper()
	text, err := s.admin.Text(s.requests)
	if err != nil {
		s.t.Fatal(err)
	}
	text += fmt.Sprintf("\n== %s ==\n{{Delivery request\n| list = %s\n%s}}\n", heading,
		s.list, params)
	return s.edit(s.users[user], s.requests, text)
}

// setStatus edits the status of request id as user.
func (s *scene) setStatus(user string, id int64, status string) int64 {
	s.t.Helper()
	text, err := s.admin.Text(s.requests)
	if err != nil {
		s.t.Fatal(err)
	}
	re := regexp.MustCompile(`(\| *id *= *` + fmt.Sprint(id) + `\b[^}]*?\| *status *= *)[a-z]*|` +
		`(\| *status *= *)[a-z]*([^}]*?\| *id *= *` + fmt.Sprint(id) + `\b)`)
	loc := re.FindStringSubmatchIndex(text)
	if loc == nil {
		s.t.Fatalf("no status of request %d on the page:\n%s", id, text)
	}
	var out string
	if loc[2] >= 0 {
		out = text[:loc[3]] + status + text[loc[1]:]
	} else {
		out = text[:loc[5]] + status + text[loc[6]:]
	}
	return s.edit(s.users[user], s.requests, out)
}

// param returns a parameter of request id as the page shows it.
func (s *scene) param(id int64, name string) string {
	text, err := s.admin.Text(s.requests)
	if err != nil {
		return ""
	}
	for _, block := range strings.Split(text, "{{Delivery request") {
		if !regexp.MustCompile(`\| *id *= *` + fmt.Sprint(id) + `\b`).MatchString(block) {
			continue
		}
		m := regexp.MustCompile(`\| *` + name + ` *= *([^\n|}]*)`).FindStringSubmatch(block)
		if m != nil {
			return strings.TrimSpace(m[1])
		}
	}
	return ""
}

// waitStatus waits until request id shows status, and returns its page.
func (s *scene) waitStatus(id int64, status string, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if s.param(id, "status") == status {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	text, _ := s.admin.Text(s.requests)
	s.t.Fatalf("request %d did not reach status %q within %v; the page:\n%s", id, status,
		within, text)
}

// messages returns how many messages of request id each target holds.
func (s *scene) messages(id int64) []int {
	marker := fmt.Sprintf("Courier: request %d ", id)
	var out []int
	for _, tg := range s.targets {
		admin, err := tg.wiki.Admin()
		if err != nil {
			s.t.Fatal(err)
		}
		text, err := admin.Text(tg.title)
		if err != nil {
			out = append(out, 0)
			continue
		}
		out = append(out, strings.Count(text, marker))
	}
	return out
}

// delivered waits for the first edit of a target talk page on the stream
// after offset and returns when it happened.
func (s *scene) firstDelivery(ctx context.Context, after int64) (time.Time, error) {
	_, err := s.env.Stream.WaitChange(ctx, after, func(c wikitest.Change) bool {
		return strings.HasPrefix(c.Title, "User talk:Alice/"+s.name) && c.User == botName
	})
	return time.Now(), err
}

func all(counts []int, want int) bool {
	for _, n := range counts {
		if n != want {
			return false
		}
	}
	return true
}
