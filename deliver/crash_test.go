package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"courier/config"
	"courier/store"
	"courier/wiki"
)

// crashChildEnv carries the configuration of a child process that
// delivers and is killed between an edit and its record.
const crashChildEnv = "COURIER_DELIVER_CRASH_CHILD"

// crashConfig is what the child needs: the state file, the wikis (through
// the parent's proxies), the job, and after which edit to die.
type crashConfig struct {
	DB        string
	Wikis     []config.Wiki
	Creds     map[string][2]string
	Home      config.Home
	Job       Job
	KillAfter int
}

// runCrashChild delivers as crashConfig says and kills itself with
// SIGKILL right after edit number KillAfter returned, before its outcome
// is recorded. It returns only if that never happens.
func runCrashChild() int {
	var cfg crashConfig
	if err := json.Unmarshal([]byte(os.Getenv(crashChildEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	ctx := context.Background()
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	clients := map[string]*wiki.Client{}
	for _, w := range cfg.Wikis {
		c, err := wiki.New(wiki.Config{ID: w.ID, API: w.API, UserAgent: testUserAgent,
			Username: cfg.Creds[w.ID][0], Password: cfg.Creds[w.ID][1]})
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			return 2
		}
		clients[w.ID] = c
	}
	d, err := New(Options{Store: st, Clients: clients, Wikis: cfg.Wikis, Home: cfg.Home,
		Delivery: config.Delivery{EditsPerMinute: 60000, Maxlag: 5},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	var edits atomic.Int32
	d.afterEdit = func(string, string, int64) {
		if int(edits.Add(1)) == cfg.KillAfter {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	res, err := d.Deliver(ctx, cfg.Job)
	fmt.Fprintf(os.Stderr, "crash child: not killed: %+v %v\n", res, err)
	return 1
}

func TestKilledBetweenEditAndRecordDeliversOnce(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	var lines []string
	var ws []want
	for i := range 8 {
		w, domain := meta, ""
		if i%2 == 1 {
			w, domain = en, "|en.wikitest.local"
		}
		title := h.title("Talk", fmt.Sprintf("crash %d", i))
		lines = append(lines, "{{#target:"+title+domain+"}}")
		ws = append(ws, want{w, title, store.TargetDelivered, ""})
	}
	job := h.request(strings.Join(lines, "\n"))

	// The child takes the state file's lock, so the parent lets go of it.
	h.store.Close()
	cfg := crashConfig{DB: h.dbPath, Wikis: h.opts.Wikis, Creds: botCreds(t, h.env),
		Home: h.opts.Home, Job: job, KillAfter: 3}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(raw))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed: %v\n%s", err, out)
	}

	// After the crash: at least the killed edit is saved and unrecorded.
	st, err := store.Open(ctx, h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.store, h.opts.Store = st, st
	before, err := st.TargetCounts(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if before.Sending < 1 || before.Delivered+before.Sending < 3 || before.Queued == 0 {
		t.Fatalf("after the kill: %+v", before)
	}

	d := h.deliverer()
	rec, err := d.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Delivered < 1 || rec.Delivered+rec.Absent != before.Sending ||
		len(rec.Requests) != 1 || rec.Requests[0] != job.ID {
		t.Fatalf("recover: %+v, before %+v", rec, before)
	}
	res, err := d.Deliver(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Finished() || res.Counts.Delivered != 8 {
		t.Fatalf("resume: %+v", res)
	}
	h.checkOutcomes(job.ID, ws)
}
