package watcher_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"

	"courier/parser"
	"courier/store"
	"courier/watcher"
	"courier/wikitest"
)

// replayServer starts the replay server in a child process and returns
// its base URL.
func replayServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), replayServeEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close() // the child exits when its input closes
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("read replay server address: %v", err)
	}
	return "http://" + addr[:len(addr)-1] + "/v2/stream/recentchange"
}

// replayURL asks for events [from, to).
func replayURL(base string, from, to int64) string {
	return base + "?from=" + strconv.FormatInt(from, 10) + "&to=" + strconv.FormatInt(to, 10)
}

// timedTransport notes when the first subscription was sent, where both
// readers' timing starts, and closes ended when its body ends.
type timedTransport struct {
	began time.Time // set before the response comes back
	ended chan struct{}
}

func newTimedTransport() *timedTransport {
	return &timedTransport{ended: make(chan struct{})}
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.began.IsZero() {
		t.began = time.Now()
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &endBody{ReadCloser: resp.Body, t: t}
	return resp, nil
}

type endBody struct {
	io.ReadCloser
	t    *timedTransport
	once sync.Once
}

func (b *endBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(func() { close(b.t.ended) })
	}
	return n, err
}

// result is one timed replay.
type result struct {
	events, bytes uint64
	elapsed       time.Duration
	cpu           time.Duration // of this process: both readers run alone in it
	mallocs       uint64
	heap          []uint64 // HeapInuse at the start, at each sample and at the end
	delivered     uint64
}

func (r result) rate() float64 { return float64(r.events) / r.elapsed.Seconds() }

// cpuRate is events per second of this process's CPU time: on a machine
// shared with other work, the rate one core of its own would give.
func (r result) cpuRate() float64 { return float64(r.events) / r.cpu.Seconds() }

// cpuTime returns the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runRaw replays n events through r3labs/sse alone: the handler counts the
// events and their bytes and does nothing else.
func runRaw(b *testing.B, base string, n int64) result {
	tt := newTimedTransport()
	c := sse.NewClient(replayURL(base, 0, n), sse.ClientMaxBufferSize(4<<20))
	c.Connection = &http.Client{Transport: tt}
	c.ReconnectStrategy = &backoff.StopBackOff{}
	var res result
	before, cpu0 := memStats(), cpuTime()
	err := c.SubscribeRawWithContext(context.Background(), func(ev *sse.Event) {
		res.events++
		res.bytes += uint64(len(ev.Data))
	})
	if err != nil {
		b.Fatal(err)
	}
	res.elapsed, res.cpu = time.Since(tt.began), cpuTime()-cpu0
	after := memStats()
	res.mallocs = after.Mallocs - before.Mallocs
	res.heap = []uint64{before.HeapInuse, after.HeapInuse}
	return res
}

// runWatcher replays n events through a Watcher that watches a few pages of
// Meta, with a consumer that takes every change; it samples the heap every
// sampleEvery events.
func runWatcher(b *testing.B, base string, n int64, sampleEvery uint64) result {
	tt := newTimedTransport()
	site := parser.NewSite(parser.DefaultNamespaces("Meta"))
	cfg := watcher.Config{
		StreamURL: replayURL(base, 0, n),
		UserAgent: userAgent,
		BotName:   "Courier@courier",
		Wikis: []watcher.Wiki{{ID: "metawiki", Domain: "meta.wikimedia.org",
			Normalize: watcher.SiteNormalizer(site), Changes: noChanges{}}},
		Store:     openStore(b, b.TempDir()),
		Logger:    quietLogger(),
		Transport: tt,
	}
	w, err := watcher.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, title := range replayWatched {
		if err := w.Watch("metawiki", title); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var delivered atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range w.Changes() {
			delivered.Add(1)
		}
	}()
	before, cpu0 := memStats(), cpuTime()
	go func() {
		defer wg.Done()
		if err := w.Run(ctx); err != nil {
			b.Error(err)
		}
	}()

	res := result{heap: []uint64{before.HeapInuse}}
	res.heap = append(res.heap, sampleHeap(w, tt.ended, sampleEvery)...)
	// The body has ended; the last events are handled when the
	// subscription returns, which the watcher counts as a reconnect.
	for w.Stats().Reconnects == 0 {
		time.Sleep(100 * time.Microsecond)
	}
	res.elapsed, res.cpu = time.Since(tt.began), cpuTime()-cpu0
	after := memStats()
	s := w.Stats()
	cancel()
	wg.Wait()
	res.events, res.bytes, res.delivered = s.Events, s.Bytes, delivered.Load()
	res.mallocs = after.Mallocs - before.Mallocs
	res.heap = append(res.heap, after.HeapInuse)
	return res
}

// sampleHeap reads HeapInuse each time the watcher has read another every
// events, until ended is closed.
func sampleHeap(w *watcher.Watcher, ended chan struct{}, every uint64) []uint64 {
	var out []uint64
	next := every
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ended:
			return out
		case <-tick.C:
			if every > 0 && w.Stats().Events >= next {
				out = append(out, memStats().HeapInuse)
				next += every
			}
		}
	}
}

func memStats() runtime.MemStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// noChanges is a wiki with no recent changes to backfill.
type noChanges struct{}

func (noChanges) RecentChanges(context.Context, watcher.Query) ([]watcher.Change, error) {
	return nil, nil
}

// replayEvents is how many events a replay has; WATCHER_REPLAY_EVENTS
// overrides it.
func replayEvents(def int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv("WATCHER_REPLAY_EVENTS"), 10, 64); err == nil {
		return n
	}
	return def
}

// BenchmarkReplay compares, in one run, the watcher's rate over a replay
// with r3labs/sse's alone, raw and watcher taking turns five times each.
// Run it with -cpu 1 -benchtime 1x. Rates are given by wall time and by
// this process's CPU time; on a machine shared with other work the second
// is the steadier. The ratio is of the medians, and of the bests.
func BenchmarkReplay(b *testing.B) {
	base := replayServer(b)
	n := replayEvents(300000)
	for range b.N {
		var raw, wat []result
		for range 5 {
			raw = append(raw, runRaw(b, base, n))
			wat = append(wat, runWatcher(b, base, n, 0))
		}
		for _, r := range append(slices.Clone(raw), wat...) {
			if r.events != uint64(n) {
				b.Fatalf("read %d of %d events", r.events, n)
			}
		}
		r, w := pick(raw, result.cpuRate, 2), pick(wat, result.cpuRate, 2)
		rBest, wBest := pick(raw, result.cpuRate, 4), pick(wat, result.cpuRate, 4)
		rWall, wWall := pick(raw, result.rate, 2), pick(wat, result.rate, 2)
		b.ReportMetric(r.cpuRate(), "raw-events/cpu-s")
		b.ReportMetric(w.cpuRate(), "events/cpu-s")
		b.ReportMetric(w.cpuRate()/r.cpuRate(), "ratio-median")
		b.ReportMetric(wBest.cpuRate()/rBest.cpuRate(), "ratio-best")
		b.ReportMetric(wWall.rate()/rWall.rate(), "ratio-wall")
		b.ReportMetric(float64(w.bytes)/w.cpu.Seconds()/(1<<20), "MiB/cpu-s")
		b.ReportMetric(float64(w.bytes)/float64(w.events), "bytes/event")
		b.ReportMetric(float64(r.mallocs)/float64(r.events), "raw-allocs/event")
		b.ReportMetric(float64(w.mallocs)/float64(w.events), "allocs/event")
		b.ReportMetric(float64(w.delivered), "changes")
		b.Logf("GOMAXPROCS=%d events=%d; events/s (wall) raw %v watcher %v; "+
			"events per CPU-second raw %v watcher %v", runtime.GOMAXPROCS(0), n,
			rates(raw, result.rate), rates(wat, result.rate),
			rates(raw, result.cpuRate), rates(wat, result.cpuRate))
	}
}

// BenchmarkLongReplay reads a long replay through the watcher and reports
// the heap in use at the start, every quarter and at the end.
func BenchmarkLongReplay(b *testing.B) {
	base := replayServer(b)
	n := replayEvents(2000000)
	for range b.N {
		res := runWatcher(b, base, n, uint64(n/4))
		b.ReportMetric(res.rate(), "events/s")
		b.ReportMetric(res.cpuRate(), "events/cpu-s")
		b.ReportMetric(float64(res.mallocs)/float64(res.events), "allocs/event")
		var mib []string
		for _, h := range res.heap {
			mib = append(mib, fmt.Sprintf("%.1f", float64(h)/(1<<20)))
		}
		b.ReportMetric(float64(res.heap[len(res.heap)-1])/(1<<20), "heap-end-MiB")
		b.Logf("events=%d in %v; heap in use (MiB) at start, each quarter, end: %v",
			res.events, res.elapsed.Round(time.Millisecond), mib)
	}
}

// pick returns the result of rank i (0 the slowest) by rate.
func pick(rs []result, rate func(result) float64, i int) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return cmp.Compare(rate(a), rate(b)) })
	return s[i]
}

func rates(rs []result, rate func(result) float64) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%.0f", rate(r)))
	}
	return out
}

// BenchmarkCatchUp is a restart after an outage: a watcher resumes, by
// Last-Event-ID, from the start of a backlog of WATCHER_REPLAY_EVENTS
// (default 300000, some hours of Wikimedia's feed) replayed events that a
// wikitest stream holds, and reads them all. The stream runs in this
// process, so run it without -cpu 1.
func BenchmarkCatchUp(b *testing.B) {
	n := replayEvents(300000)
	stream, err := wikitest.NewStream()
	if err != nil {
		b.Fatal(err)
	}
	defer stream.Close()
	g := newGenerator()
	var buf []byte
	for i := range n {
		stream.Append(g.data(buf[:0], i, i))
	}
	for range b.N {
		st := openStore(b, b.TempDir())
		err := st.SetStreamPosition(context.Background(), stream.URL,
			store.Position{EventID: wikitest.EventID(0), Time: replayBase})
		if err != nil {
			b.Fatal(err)
		}
		w, err := watcher.New(watcher.Config{
			StreamURL: stream.URL, UserAgent: userAgent, Store: st, Logger: quietLogger(),
			Wikis: []watcher.Wiki{{ID: "metawiki",
				Normalize: watcher.SiteNormalizer(parser.NewSite(parser.DefaultNamespaces("Meta"))),
				Changes:   noChanges{}}},
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, title := range replayWatched {
			if err := w.Watch("metawiki", title); err != nil {
				b.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		began := time.Now()
		go func() { done <- w.Run(ctx) }()
		go func() {
			for range w.Changes() {
			}
		}()
		for w.Stats().Events < uint64(n-1) {
			time.Sleep(time.Millisecond)
		}
		took := time.Since(began)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(took.Seconds(), "catch-up-s")
		b.ReportMetric(float64(n-1)/took.Seconds(), "events/s")
		b.Logf("GOMAXPROCS=%d: %d events of backlog read in %v", runtime.GOMAXPROCS(0), n-1,
			took.Round(time.Millisecond))
	}
}
