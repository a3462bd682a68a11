// Package metrics serves Courier's Prometheus metrics and its health check
// on an optional listen address (the listen key of the config's http
// table).
//
// /metrics is the Prometheus text format, gathered from a registry of this
// package's own (never the global one): the Go runtime and the process,
// the watcher's counters, the requests by state and the targets by state
// and wiki, and the Action API requests by wiki, action and result with
// their latency. Everything but the API requests is read when Prometheus
// scrapes: the watcher's counters through its Stats function, the requests
// and targets with one grouped query each on the state file. Nothing is
// counted twice in two places, so the numbers cannot drift from what the
// store holds.
//
// The metrics, besides the go_ and process_ ones:
//
//	courier_watcher_events_total       stream events read
//	courier_watcher_matched_total      changes of watched pages found
//	courier_watcher_deferred_total     changes left to a backfill for lack of room
//	courier_watcher_reconnects_total   stream subscriptions made again
//	courier_watcher_backfills_total    backfills of gaps in the stream
//	courier_watcher_polls_total        poll rounds, when there is no stream
//	courier_watcher_lag_seconds        how old the newest stream event is
//	courier_watcher_queued             changes found, not yet reviewed
//	courier_watcher_silence_seconds    the silence /healthz judges
//	courier_requests{state}            requests by state
//	courier_targets{wiki,state}        targets by wiki and state
//	courier_targets_skipped{wiki,reason}
//	courier_targets_failed{wiki,reason}  reason is the API's error code
//	courier_edits_waiting{wiki}        targets queued or sending
//	courier_store_up                   whether this scrape read the counts
//	courier_api_request_duration_seconds{wiki,action,result}
//	                                   a histogram; result is "ok" or "error"
//
// /healthz answers 200 "ok" when Courier is healthy, and 503 with one line
// a problem when the stream (or the polling) has gone silent for too long
// or the state file cannot be written.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"courier/store"
	"courier/watcher"
)

// Defaults of Options.
const (
	// DefaultStreamSilence is the default of Options.StreamSilence.
	DefaultStreamSilence = 5 * time.Minute

	// DefaultStoreTimeout is the default of Options.StoreTimeout.
	DefaultStoreTimeout = 2 * time.Second
)

// Options say what the metrics and the health check read. Zero values
// take the defaults written next to each field.
type Options struct {
	// Store is the state file. Nil leaves out the request and target
	// metrics and the store check.
	Store *store.Store

	// Stats returns the watcher's counters, such as (*watcher.Watcher).Stats.
	// Nil leaves out the watcher metrics and the silence check.
	Stats func() watcher.Stats

	// Polling reports whether the watcher polls list=recentchanges instead
	// of following a stream: silence is then measured in poll rounds
	// rather than in stream events.
	Polling bool

	// StreamSilence is how long the watcher may go without reading an
	// event (or, when Polling, without starting a poll round) before
	// /healthz fails. Default 5m; negative never fails on silence. When
	// Polling it must be well above the poll interval.
	StreamSilence time.Duration

	// StoreTimeout is how long the store check waits for the state file's
	// write lock before it calls the file unwritable. Default 2s.
	StoreTimeout time.Duration

	// Logger is used as given; the caller adds component=metrics.
	// Default slog.Default() with that attribute.
	Logger *slog.Logger
}

// Metrics holds Courier's metrics registry and health state. Its methods
// are safe for concurrent use.
type Metrics struct {
	opts Options
	log  *slog.Logger
	reg  *prometheus.Registry
	api  *prometheus.HistogramVec
	now  func() time.Time // the clock, replaced in tests

	quiet silence // the watcher's silence, for /healthz and a gauge

	// probeMu lets one store check run at a time, so that a burst of
	// health checks cannot line up for the state file's write lock.
	probeMu sync.Mutex

	healthMu sync.Mutex
	failing  string // the checks that failed last, comma-separated; "" when healthy
}

// New returns the Metrics that opts describe, with every collector
// registered.
func New(opts Options) *Metrics {
	if opts.StreamSilence == 0 {
		opts.StreamSilence = DefaultStreamSilence
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = DefaultStoreTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default().With("component", "metrics")
	}
	m := &Metrics{opts: opts, log: opts.Logger, reg: prometheus.NewRegistry(), now: time.Now}
	m.quiet.looked = m.now()
	m.quiet.since = m.quiet.looked
	m.api = newAPIHistogram()
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.api,
	)
	if opts.Stats != nil {
		m.reg.MustRegister(&watcherCollector{m: m})
	}
	if opts.Store != nil {
		m.reg.MustRegister(&storeCollector{st: opts.Store, log: m.log})
	}
	return m
}

// Handler returns the handler of both routes, /metrics and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      errorLog{m.log},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", m.serveHealth)
	return mux
}

// errorLog passes promhttp's errors (a metric that could not be encoded)
// to the logger.
type errorLog struct{ log *slog.Logger }

// Println logs v as one error line.
func (l errorLog) Println(v ...any) {
	l.log.Error("could not serve a metric; the rest of the scrape is served",
		"err", fmt.Sprint(v...))
}
