package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"courier/watcher"
)

// statMetric is one metric read from watcher.Stats at scrape time.
type statMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(watcher.Stats) float64
}

func statCounter(name, help string, v func(watcher.Stats) uint64) statMetric {
	return statMetric{
		desc:  prometheus.NewDesc(name, help, nil, nil),
		kind:  prometheus.CounterValue,
		value: func(s watcher.Stats) float64 { return float64(v(s)) },
	}
}

func statGauge(name, help string, v func(watcher.Stats) float64) statMetric {
	return statMetric{desc: prometheus.NewDesc(name, help, nil, nil),
		kind: prometheus.GaugeValue, value: v}
}

// statMetrics are the watcher's counters as metrics. The watcher counts
// from its start; so do these, which is what Prometheus expects of a
// counter that resets when the process restarts.
var statMetrics = []statMetric{
	statCounter("courier_watcher_events_total", "Stream events read, of every wiki.",
		func(s watcher.Stats) uint64 { return s.Events }),
	statCounter("courier_watcher_matched_total",
		"Changes of watched pages found, by the stream, a backfill or a poll.",
		func(s watcher.Stats) uint64 { return s.Matched }),
	statCounter("courier_watcher_deferred_total",
		"Changes left to a backfill because the queue and its spill were full.",
		func(s watcher.Stats) uint64 { return s.Deferred }),
	statCounter("courier_watcher_reconnects_total",
		"Stream subscriptions that ended and were made again.",
		func(s watcher.Stats) uint64 { return s.Reconnects }),
	statCounter("courier_watcher_backfills_total",
		"Backfills of a gap in the stream through list=recentchanges.",
		func(s watcher.Stats) uint64 { return s.Backfills }),
	statCounter("courier_watcher_polls_total",
		"Poll rounds of list=recentchanges started, when there is no stream.",
		func(s watcher.Stats) uint64 { return s.Polls }),
	statGauge("courier_watcher_lag_seconds",
		"How far the newest stream event read is behind the clock; 0 before the first.",
		func(s watcher.Stats) float64 { return s.Lag.Seconds() }),
	statGauge("courier_watcher_queued",
		"Changes of watched pages found and not yet taken by the reviewer.",
		func(s watcher.Stats) float64 { return float64(s.Queued) }),
}

var silenceDesc = prometheus.NewDesc("courier_watcher_silence_seconds",
	"How long the watcher has gone without reading a stream event (or, when "+
		"polling, without starting a poll round), as /healthz judges it.", nil, nil)

// watcherCollector reads the watcher's counters once a scrape.
type watcherCollector struct{ m *Metrics }

// Describe sends the descriptions of the watcher's metrics.
func (c *watcherCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, sm := range statMetrics {
		ch <- sm.desc
	}
	ch <- silenceDesc
}

// Collect reads the watcher's counters and sends them as metrics.
func (c *watcherCollector) Collect(ch chan<- prometheus.Metric) {
	s, quiet := c.m.look()
	for _, sm := range statMetrics {
		ch <- prometheus.MustNewConstMetric(sm.desc, sm.kind, sm.value(s))
	}
	ch <- prometheus.MustNewConstMetric(silenceDesc, prometheus.GaugeValue, quiet.Seconds())
}
