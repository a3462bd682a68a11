package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"courier/store"
)

// cmdStatus runs "courier status": the requests in the state file with
// their state and counts, or one request's targets.
func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status -config FILE [-request ID] [-json]",
		"Prints the requests in the state file with their state and target\n"+
			"counts, or with -request every target of one request and its outcome.",
		"courier status -config courier.toml -request 1234")
	fs.configFlag()
	requestID := fs.Int64("request", 0, "print the targets of the request with this `id`")
	asJSON := fs.Bool("json", false, "print JSON, for scripts")
	if code := fs.parse(args, stdout, stderr); code >= 0 {
		return code
	}

	cfg := fs.loadConfig(stderr)
	if cfg == nil {
		return 1
	}
	ctx := context.Background()
	st, err := store.OpenReadOnly(ctx, cfg.State)
	if err != nil {
		fmt.Fprintln(stderr, "courier status:", err)
		return 1
	}
	defer st.Close()

	if *requestID != 0 {
		err = printTargets(ctx, st, *requestID, *asJSON, stdout)
	} else {
		err = printRequests(ctx, st, *asJSON, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "courier status:", err)
		return 1
	}
	return 0
}

type requestStatus struct {
	ID        int64              `json:"id"`
	State     store.RequestState `json:"state"`
	Requester string             `json:"requester"`
	Approver  string             `json:"approver,omitempty"`
	List      string             `json:"list"`
	Subject   string             `json:"subject"`
	Counts    store.Counts       `json:"counts"`
}

func printRequests(ctx context.Context, st *store.Store, asJSON bool, w io.Writer) error {
	reqs, err := st.Requests(ctx)
	if err != nil {
		return err
	}
	out := make([]requestStatus, 0, len(reqs))
	for _, r := range reqs {
		c, err := st.TargetCounts(ctx, r.ID)
		if err != nil {
			return err
		}
		out = append(out, requestStatus{r.ID, r.State, r.Requester, r.Approver,
			r.ListTitle, r.Subject, c})
	}
	if asJSON {
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tREQUESTER\tTARGETS\tDELIVERED\tSKIPPED\tFAILED\tSUBJECT")
	for _, r := range out {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.State, r.Requester,
			r.Counts.Total(), r.Counts.Delivered, r.Counts.Skipped, r.Counts.Failed, r.Subject)
	}
	return tw.Flush()
}

func printTargets(ctx context.Context, st *store.Store, id int64, asJSON bool,
	w io.Writer) error {
	if _, err := st.Request(ctx, id); err != nil {
		return err
	}
	targets, err := st.Targets(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(w, targets)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WIKI\tTITLE\tOUTCOME\tREASON\tREVISION")
	for _, t := range targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", t.Wiki, t.Title, t.State, t.Reason, t.RevID)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
