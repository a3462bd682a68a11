package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The result label of an API request.
const (
	resultOK    = "ok"
	resultError = "error"
)

// apiBuckets are the latency buckets of an API request, in seconds: from a
// quick read of a nearby wiki to the client's 30-second time-out.
var apiBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

func newAPIHistogram() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "courier_api_request_duration_seconds",
		Help: "Action API HTTP requests and their duration, by wiki, action and " +
			`result ("ok" or "error"); retries count as requests of their own.`,
		Buckets: apiBuckets,
	}, []string{"wiki", "action", "result"})
}

// APIHook returns the function to set as wiki.Config.OnRequest of the
// client of wiki: it records every HTTP request the client makes in the
// API histogram, under the wiki's id.
func (m *Metrics) APIHook(wiki string) func(action string, d time.Duration, err error) {
	obs := m.api.MustCurryWith(prometheus.Labels{"wiki": wiki})
	return func(action string, d time.Duration, err error) {
		result := resultOK
		if err != nil {
			result = resultError
		}
		obs.WithLabelValues(action, result).Observe(d.Seconds())
	}
}
