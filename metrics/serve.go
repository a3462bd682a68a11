package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownTimeout is how long a stop waits for requests under way, such
// as a scrape or a store check, before it closes their connections.
const shutdownTimeout = 5 * time.Second

// Serve serves Handler on addr until ctx is done, then shuts the server
// down, waiting for requests under way, and returns nil. An addr of ""
// serves nothing and returns nil at once. It fails when addr cannot be
// listened on, or when serving stops for another reason. It owns every
// goroutine it starts and waits for them.
func (m *Metrics) Serve(ctx context.Context, addr string) error {
	if addr == "" {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for metrics: %w", err)
	}
	return m.serve(ctx, ln)
}

// serve serves on ln, which it closes, until ctx is done.
func (m *Metrics) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	m.log.Info("serving metrics and health", "addr", ln.Addr().String())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { m.sampleUntil(ctx) })
	served := make(chan error, 1)
	wg.Go(func() { served <- srv.Serve(ln) })

	var err error
	select {
	case <-ctx.Done():
		err = m.shutdown(srv)
	case err = <-served:
		// Serve returned by itself: the listener failed.
		err = fmt.Errorf("serve metrics: %w", err)
	}
	cancel()
	wg.Wait()
	return err
}

// shutdown stops srv, waiting up to shutdownTimeout for requests under
// way, then closing what is left.
func (m *Metrics) shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		m.log.Debug("metrics server stopped")
		return nil
	}
	m.log.Warn("metrics requests cut short at shutdown", "err", err)
	if err := srv.Close(); err != nil {
		return fmt.Errorf("close metrics server: %w", err)
	}
	return nil
}

// sampleUntil looks at the watcher's counters every sampleEvery until ctx
// is done, so that the silence estimate stays close between checks.
func (m *Metrics) sampleUntil(ctx context.Context) {
	if m.opts.Stats == nil {
		return
	}
	t := time.NewTicker(sampleEvery(m.opts.StreamSilence))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.look()
		}
	}
}
