package main

import (
	"context"
	"fmt"
	"io"

	"courier/deliver"
	"courier/store"
)

// cmdAbandon runs "courier abandon": it closes a request that cannot be
// delivered further, such as one stopped by a block that will not be
// lifted. The next "courier run" then finishes it: done, with its result
// and a log row.
func cmdAbandon(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("abandon -config FILE -request ID [-reason CODE]",
		"Records every target of a request that has no outcome yet as failed,\n"+
			"after reading the history of any left sending for its message, so a\n"+
			"message that was saved still counts as delivered. Stop courier run\n"+
			"first: it holds the state file. Its next start marks the request done.",
		"COURIER_PASSWORD=... courier abandon -config courier.toml -request 1234")
	fs.configFlag()
	id := fs.Int64("request", 0, "the `id` of the request to close")
	reason := fs.String("reason", "abandoned", "the reason each failed target gets")
	if code := fs.parse(args, stdout, stderr); code >= 0 {
		return code
	}
	if *id <= 0 {
		return fs.usageError(stderr, "-request is required")
	}
	cfg := fs.loadConfig(stderr)
	if cfg == nil {
		return 1
	}

	ctx := context.Background()
	st, err := store.Open(ctx, cfg.State)
	if err != nil {
		fmt.Fprintln(stderr, "courier abandon:", err)
		return 1
	}
	defer st.Close()
	req, err := st.Request(ctx, *id)
	if err != nil {
		fmt.Fprintln(stderr, "courier abandon:", err)
		return 1
	}
	if req.State != store.StateDelivering {
		fmt.Fprintf(stderr, "courier abandon: request %d is %s, not delivering; "+
			"nothing to close\n", req.ID, req.State)
		return 1
	}

	log := newLogger(stderr, false, false)
	clients, err := newClients(cfg, cfg.Wikis, log, nil, noHook)
	if err != nil {
		fmt.Fprintln(stderr, "courier abandon:", err)
		return 1
	}
	d, err := deliver.New(deliver.Options{Store: st, Clients: clients, Wikis: cfg.Wikis,
		Home: cfg.Home, Delivery: cfg.Delivery, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "courier abandon:", err)
		return 1
	}
	c, err := d.Abandon(ctx, *id, *reason)
	if err != nil {
		fmt.Fprintln(stderr, "courier abandon:", err)
		return 1
	}
	log.Info("request closed", "request_id", *id,
		"delivered", c.Delivered, "skipped", c.Skipped, "failed", c.Failed)
	fmt.Fprintf(stdout, "request %d: %d delivered, %d skipped, %d failed; "+
		"the next courier run marks it done\n", *id, c.Delivered, c.Skipped, c.Failed)
	return 0
}
