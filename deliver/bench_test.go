package deliver

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"courier/wiki"
)

// BenchmarkDeliver delivers one list over the two real wikis, half the
// targets on each, through the counting proxies, and reports what the
// server sees: API requests and edits per delivered message, logins,
// preflight and log included, and the makespan against its lower bounds.
//
// The sizes can be changed with COURIER_BENCH_TARGETS and
// COURIER_BENCH_PACED_TARGETS, the low rate with COURIER_BENCH_RATE.
func BenchmarkDeliver(b *testing.B) {
	fast := envInt("COURIER_BENCH_TARGETS", 1000)
	paced := envInt("COURIER_BENCH_PACED_TARGETS", 200)
	rate := envInt("COURIER_BENCH_RATE", 600)
	b.Run(fmt.Sprintf("rate=60000/targets=%d", fast), func(b *testing.B) {
		benchDeliver(b, 60000, fast)
	})
	b.Run(fmt.Sprintf("rate=%d/targets=%d", rate, paced), func(b *testing.B) {
		benchDeliver(b, rate, paced)
	})
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// editClock sums the time a wiki's edits took, as the client measured it.
type editClock struct {
	mu  sync.Mutex
	sum map[string]time.Duration
	n   map[string]int
}

func (c *editClock) hook(id string) func(string, time.Duration, error) {
	return func(action string, d time.Duration, err error) {
		if action != "edit" {
			return
		}
		c.mu.Lock()
		c.sum[id] += d
		c.n[id]++
		c.mu.Unlock()
	}
}

func benchDeliver(b *testing.B, rate, targets int) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b, harnessConfig{rate: rate})
		h.opts.Logger = slog.New(slog.DiscardHandler)
		clock := &editClock{sum: map[string]time.Duration{}, n: map[string]int{}}
		for _, w := range h.env.Wikis {
			c, err := wiki.New(wiki.Config{
				ID: w.ID, API: h.proxies[w.ID].URL, UserAgent: testUserAgent,
				Username: botCreds(b, h.env)[w.ID][0], Password: botCreds(b, h.env)[w.ID][1],
				OnRequest: clock.hook(w.ID), Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				b.Fatal(err)
			}
			h.clients[w.ID] = c
		}
		var lines []string
		perWiki := map[string]int{}
		for n := range targets {
			id, domain := meta, ""
			if n%2 == 1 {
				id, domain = en, "|en.wikitest.local"
			}
			perWiki[id]++
			lines = append(lines, fmt.Sprintf("{{#target:%s%s}}",
				h.title("Talk", fmt.Sprintf("bench %d %04d", i, n)), domain))
		}
		job := h.request(strings.Join(lines, "\n"))
		for _, p := range h.proxies {
			p.Reset()
		}
		d := h.deliverer()

		b.StartTimer()
		start := time.Now()
		res, err := d.Deliver(context.Background(), job)
		makespan := time.Since(start)
		b.StopTimer()
		if err != nil || res.Counts.Delivered != targets || !res.Logged {
			b.Fatalf("deliver: %+v %v", res, err)
		}
		h.report(b, clock, perWiki, rate, res.Counts.Delivered, makespan)
	}
}

// report prints and records one run's figures.
func (h *harness) report(b *testing.B, clock *editClock, perWiki map[string]int, rate,
	delivered int, makespan time.Duration) {
	all, edits, messages := 0, 0, 0
	for id, p := range h.proxies {
		a, e := h.requests(id)
		all, edits = all+a, edits+e
		for _, r := range p.Requests() {
			if r.Action == "edit" && r.Params.Get("section") == "new" {
				messages++
			}
		}
		b.Logf("%s requests by action: %v", id, p.Counts())
	}

	// Lower bounds of the makespan: the slowest wiki's targets at its
	// rate, and the time its edits took one after the other.
	var byRate, byLatency time.Duration
	for id, n := range perWiki {
		byRate = max(byRate, time.Duration(n)*time.Minute/time.Duration(rate))
		byLatency = max(byLatency, clock.sum[id])
	}
	bound := max(byRate, byLatency)
	lat := clock.sum[meta] / time.Duration(max(clock.n[meta], 1))
	b.ReportMetric(float64(all)/float64(delivered), "requests/msg")
	b.ReportMetric(float64(messages)/float64(delivered), "edits/msg")
	b.ReportMetric(makespan.Seconds(), "makespan-s")
	b.ReportMetric(makespan.Seconds()/byRate.Seconds(), "makespan/rate-bound")
	b.ReportMetric(makespan.Seconds()/bound.Seconds(), "makespan/bound")
	b.Logf("%d delivered: %d requests (%.4f a message), %d message edits, %d edits in all "+
		"(the 2 more are the log); makespan %v; bound by rate %v, by edit time %v "+
		"(mean edit %v); makespan/max(bounds) %.3f", delivered, all,
		float64(all)/float64(delivered), messages, edits, makespan.Round(time.Millisecond),
		byRate.Round(time.Millisecond), byLatency.Round(time.Millisecond),
		lat.Round(time.Millisecond), makespan.Seconds()/bound.Seconds())
}
