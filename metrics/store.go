package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"courier/store"
)

// scrapeTimeout bounds the store's queries of one scrape, well inside
// Prometheus' default scrape time-out of 10 seconds.
const scrapeTimeout = 5 * time.Second

// noReason stands for a skipped or failed target recorded without a
// reason, which Prometheus would otherwise show as no label at all.
const noReason = "none"

var (
	requestsDesc = prometheus.NewDesc("courier_requests",
		"Delivery requests in the state file, by state.", []string{"state"}, nil)
	targetsDesc = prometheus.NewDesc("courier_targets",
		"Targets (one talk page of a request) in the state file, by wiki and state: "+
			"queued, sending, delivered, skipped or failed.", []string{"wiki", "state"}, nil)
	skippedDesc = prometheus.NewDesc("courier_targets_skipped",
		"Skipped targets, by wiki and reason (optout, nobots, nouser, ...).",
		[]string{"wiki", "reason"}, nil)
	failedDesc = prometheus.NewDesc("courier_targets_failed",
		"Failed targets, by wiki and the API's error code.", []string{"wiki", "reason"}, nil)
	waitingDesc = prometheus.NewDesc("courier_edits_waiting",
		"Edits still to make: targets queued or sending, by wiki.", []string{"wiki"}, nil)
	storeUpDesc = prometheus.NewDesc("courier_store_up",
		"1 when this scrape read the request and target counts from the state file, "+
			"0 when a query failed (the counts are then left out).", nil, nil)
)

// requestStates and targetStates are reported on every scrape, 0 when
// nothing is in them, so that a series does not vanish when it empties.
var (
	requestStates = []store.RequestState{store.StatePending, store.StateApproved,
		store.StateDelivering, store.StateDone, store.StateRejected, store.StateCancelled}
	targetStates = []store.TargetState{store.TargetQueued, store.TargetSending,
		store.TargetDelivered, store.TargetSkipped, store.TargetFailed}
)

// storeCollector reads the request and target counts from the state file
// once a scrape.
type storeCollector struct {
	st      *store.Store
	log     *slog.Logger
	failing atomic.Bool // whether the last scrape's queries failed
}

// Describe sends the descriptions of the store's metrics.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{requestsDesc, targetsDesc, skippedDesc, failedDesc,
		waitingDesc, storeUpDesc} {
		ch <- d
	}
}

// Collect queries the counts and sends them; a failed query leaves them
// out and reports courier_store_up 0.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	db := c.st.DB()

	requests, err := countRequests(ctx, db)
	var targets *targetCounts
	if err == nil {
		targets, err = countTargets(ctx, db)
	}
	c.noteError(err)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 0)
		return
	}
	for state, n := range requests {
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.GaugeValue, n, state)
	}
	targets.send(ch)
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 1)
}

// noteError logs when reading the counts starts failing and when it works
// again, not on every scrape in between.
func (c *storeCollector) noteError(err error) {
	if err != nil && !c.failing.Swap(true) {
		c.log.Error("could not read the request and target counts; "+
			"courier_store_up is 0 until a scrape can", "path", c.st.Path(), "err", err)
	}
	if err == nil && c.failing.Swap(false) {
		c.log.Info("request and target counts readable again", "path", c.st.Path())
	}
}

// countRequests returns the number of requests in each state, every
// known state included.
func countRequests(ctx context.Context, db *sql.DB) (map[string]float64, error) {
	counts := map[string]float64{}
	for _, s := range requestStates {
		counts[string(s)] = 0
	}
	rows, err := db.QueryContext(ctx, `SELECT state, COUNT(*) FROM requests GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count requests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("read request count: %w", err)
		}
		counts[state] += float64(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count requests: %w", err)
	}
	return counts, nil
}

// wikiKey is a pair of a wiki and a state or reason.
type wikiKey struct{ wiki, label string }

// targetCounts are the targets' numbers, by what each metric groups on.
type targetCounts struct {
	states  map[wikiKey]float64 // by wiki and state, every state of a wiki seen
	skipped map[wikiKey]float64 // by wiki and reason
	failed  map[wikiKey]float64 // by wiki and reason
	waiting map[string]float64  // by wiki: queued and sending
}

// countTargets reads the targets grouped by wiki, state and reason, in
// one query. No index covers the three columns, so it scans the targets
// table: about a quarter of a second a scrape at 300,000 targets
// (BenchmarkScrapeLargeStore). An index on targets (wiki, state, reason),
// a migration of the store's, would make it a scan of that index instead,
// about eight times faster.
func countTargets(ctx context.Context, db *sql.DB) (*targetCounts, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT wiki, state, reason, COUNT(*) FROM targets GROUP BY wiki, state, reason`)
	if err != nil {
		return nil, fmt.Errorf("count targets: %w", err)
	}
	defer rows.Close()
	tc := &targetCounts{states: map[wikiKey]float64{}, skipped: map[wikiKey]float64{},
		failed: map[wikiKey]float64{}, waiting: map[string]float64{}}
	for rows.Next() {
		var wiki, state, reason string
		var n int64
		if err := rows.Scan(&wiki, &state, &reason, &n); err != nil {
			return nil, fmt.Errorf("read target count: %w", err)
		}
		tc.add(wiki, store.TargetState(state), reason, float64(n))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count targets: %w", err)
	}
	return tc, nil
}

// add counts n targets of wiki in state with reason.
func (tc *targetCounts) add(wiki string, state store.TargetState, reason string, n float64) {
	if _, seen := tc.waiting[wiki]; !seen {
		tc.waiting[wiki] = 0
		for _, s := range targetStates {
			tc.states[wikiKey{wiki, string(s)}] = 0
		}
	}
	tc.states[wikiKey{wiki, string(state)}] += n
	if reason == "" {
		reason = noReason
	}
	switch state {
	case store.TargetQueued, store.TargetSending:
		tc.waiting[wiki] += n
	case store.TargetSkipped:
		tc.skipped[wikiKey{wiki, reason}] += n
	case store.TargetFailed:
		tc.failed[wikiKey{wiki, reason}] += n
	}
}

// send sends the target metrics.
func (tc *targetCounts) send(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, n float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, n, labels...)
	}
	for k, n := range tc.states {
		gauge(targetsDesc, n, k.wiki, k.label)
	}
	for k, n := range tc.skipped {
		gauge(skippedDesc, n, k.wiki, k.label)
	}
	for k, n := range tc.failed {
		gauge(failedDesc, n, k.wiki, k.label)
	}
	for wiki, n := range tc.waiting {
		gauge(waitingDesc, n, wiki)
	}
}
