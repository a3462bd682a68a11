package watcher_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"courier/watcher"
	"courier/wikitest"
)

// arrival is a change as the consumer took it.
type arrival struct {
	rev int64
	at  time.Time
}

// BenchmarkEditLatency edits a watched page of a real wiki many times
// (WATCHER_LATENCY_EDITS, default 200) and reports, as median and 99th
// percentile, the time from each edit to the consumer: from the start of
// the edit request, from its answer (negative when the change arrived
// first), and from the moment the stream bridge received MediaWiki's
// datagram, which leaves MediaWiki's own time out. Run with -benchtime 1x.
func BenchmarkEditLatency(b *testing.B) {
	edits := 200
	if n, err := strconv.Atoi(os.Getenv("WATCHER_LATENCY_EDITS")); err == nil {
		edits = n
	}
	env := wikitest.Shared(b)
	stream, err := env.NewStream()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stream.Close() }) // after the watcher's clean-up
	meta := env.Wiki("metawiki")
	editor, err := meta.Admin()
	if err != nil {
		b.Fatal(err)
	}
	title := fmt.Sprintf("Meta:Watcher latency/%d", time.Now().UnixNano())
	arrivals := latencyWatcher(b, stream, meta, title, edits)

	for range b.N {
		first := stream.Last() + 1
		var fromStart, fromAnswer []time.Duration
		got := map[int64]time.Time{}
		for i := range edits {
			began := time.Now()
			rev, err := editor.Edit(title, fmt.Sprintf("edit %d", i), "latency")
			if err != nil {
				b.Fatal(err)
			}
			answered := time.Now()
			at := waitArrival(b, arrivals, rev)
			got[rev] = at
			fromStart = append(fromStart, at.Sub(began))
			fromAnswer = append(fromAnswer, at.Sub(answered))
		}
		fromFeed := feedLatencies(stream, first, got)
		report(b, "edit-start", fromStart)
		report(b, "edit-answer", fromAnswer)
		report(b, "feed", fromFeed)
		b.Logf("%d edits; %d matched to their feed events; slowest from the feed: %v",
			edits, len(fromFeed), fromFeed[max(0, len(fromFeed)-5):])
	}
}

// latencyWatcher runs a watcher of title on stream until the benchmark
// ends and returns the arrivals of its changes at the consumer.
func latencyWatcher(b *testing.B, stream *wikitest.Stream, meta *wikitest.Wiki, title string,
	edits int) chan arrival {
	w, err := watcher.New(watcher.Config{
		StreamURL: stream.URL, UserAgent: userAgent, BotName: "Courier@courier",
		Wikis: []watcher.Wiki{newWiki(b, meta)}, Store: openStore(b, b.TempDir()),
		Logger: quietLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Watch("metawiki", title); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	arrivals := make(chan arrival, edits)
	go func() {
		for c := range w.Changes() {
			arrivals <- arrival{c.RevID, time.Now()}
		}
	}()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	for stream.Open() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return arrivals
}

// feedLatencies returns, sorted, the time from each feed event from offset
// first on to the arrival of its revision in got.
func feedLatencies(stream *wikitest.Stream, first int64, got map[int64]time.Time) []time.Duration {
	var out []time.Duration
	for _, ev := range stream.Events(first) {
		if c, err := ev.Change(); err == nil {
			if at, ok := got[c.NewRevision()]; ok {
				out = append(out, at.Sub(ev.Time))
			}
		}
	}
	slices.Sort(out)
	return out
}

// waitArrival returns when the change of rev reached the consumer.
func waitArrival(b *testing.B, arrivals chan arrival, rev int64) time.Time {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case a := <-arrivals:
			if a.rev == rev {
				return a.at
			}
		case <-timeout:
			b.Fatalf("revision %d never reached the consumer", rev)
		}
	}
}

// report adds the median and the 99th percentile of ds as metrics.
func report(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		b.Fatalf("no %s latencies", name)
	}
	slices.Sort(ds)
	p := func(q float64) float64 {
		i := int(q*float64(len(ds))+0.5) - 1
		return float64(ds[min(max(i, 0), len(ds)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(p(0.5), name+"-p50-ms")
	b.ReportMetric(p(0.99), name+"-p99-ms")
}
