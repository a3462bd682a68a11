package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"courier/watcher"
)

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServe runs m.Serve on addr and returns stop, which cancels it and
// returns what Serve returned, failing t when that takes over limit.
func startServe(t *testing.T, m *Metrics, addr string) (stop func(limit time.Duration) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, addr) }()
	var once sync.Once
	var err error
	stop = func(limit time.Duration) error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(limit):
				t.Fatalf("Serve still running %v after cancel", limit)
			}
		})
		return err
	}
	t.Cleanup(func() { stop(10 * time.Second) })
	return stop
}

// waitServing polls url until it answers.
func waitServing(t *testing.T, url string) *http.Response {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			return resp
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeAnswersBothRoutesAndStopsOnCancel(t *testing.T) {
	m := New(Options{Store: openStore(t), Logger: quiet()})
	addr := freeAddr(t)
	stop := startServe(t, m, addr)

	resp := waitServing(t, "http://"+addr+"/healthz")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	resp = waitServing(t, "http://"+addr+"/metrics")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\ncourier_store_up 1\n") {
		t.Errorf("metrics lack courier_store_up 1:\n%s", body)
	}

	if err := stop(2 * time.Second); err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Errorf("still answering after Serve returned")
	}
}

func TestServeWaitsForACheckUnderWay(t *testing.T) {
	st := openStore(t)
	m := New(Options{Store: st, StoreTimeout: time.Second, Logger: quiet()})
	addr := freeAddr(t)
	stop := startServe(t, m, addr)
	waitServing(t, "http://"+addr+"/metrics").Body.Close()

	release := holdWriteLock(t, st.Path())
	defer release()
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	// The check holds probeMu while it waits for the write lock.
	for m.probeMu.TryLock() {
		m.probeMu.Unlock()
		time.Sleep(time.Millisecond)
	}

	if err := stop(4 * time.Second); err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	if code := <-answered; code != http.StatusServiceUnavailable {
		t.Errorf("the check under way got %d, want its 503 answer", code)
	}
}

func TestServeWithoutAnAddressServesNothing(t *testing.T) {
	m := New(Options{Logger: quiet()})
	done := make(chan error, 1)
	go func() { done <- m.Serve(context.Background(), "") }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve(\"\") = %v, want nil", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Serve(\"\") did not return at once")
	}
}

func TestServeFailsOnAnAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m := New(Options{Logger: quiet()})
	err = m.Serve(context.Background(), ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "listen for metrics") {
		t.Errorf("Serve on a taken address: %v", err)
	}
}

func TestServeSamplesTheWatcherUntilStopped(t *testing.T) {
	var looks atomic.Int64
	stats := func() watcher.Stats {
		looks.Add(1)
		return watcher.Stats{}
	}
	m := New(Options{Stats: stats, StreamSilence: time.Second, Logger: quiet()})
	stop := startServe(t, m, freeAddr(t))
	time.Sleep(1500 * time.Millisecond) // one sample a second
	if err := stop(2 * time.Second); err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}

	n := looks.Load()
	if n < 1 {
		t.Fatalf("no sample in 1.5s of serving")
	}
	time.Sleep(1200 * time.Millisecond)
	if after := looks.Load(); after != n {
		t.Errorf("sampled %d more times after Serve returned", after-n)
	}
}

func TestSampleEveryIsATenthWithinBounds(t *testing.T) {
	for _, c := range []struct{ threshold, want time.Duration }{
		{5 * time.Minute, 30 * time.Second},
		{time.Minute, 6 * time.Second},
		{time.Second, time.Second},
		{-1, time.Second},
		{time.Hour, 30 * time.Second},
	} {
		if got := sampleEvery(c.threshold); got != c.want {
			t.Errorf("sampleEvery(%v) = %v, want %v", c.threshold, got, c.want)
		}
	}
}
