package watcher_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The wikitest stream cannot answer 429 on cue; this is the one protocol
// case served by httptest.
func TestRetryAfterIsHonoured(t *testing.T) {
	r := newRig(t)
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many connections", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	}))
	defer srv.Close()
	cfg := r.config()
	cfg.StreamURL = srv.URL
	run := r.start(cfg, true, r.page("Requests"))
	waitFor(t, "a second subscription", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(times) >= 2
	})
	run.stop(t)
	mu.Lock()
	defer mu.Unlock()
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Errorf("subscribed again after %v, before the Retry-After of 1s", gap)
	}
}
