package review

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"courier/parser"
	"courier/store"
)

// writeBack makes the parameters Courier owns, in every request of the
// latest revision, show what the store knows, in one edit based on latest.
// It then records latest as handled.
func (r *Reviewer) writeBack(ctx context.Context, latest Revision) error {
	text, summary, err := r.project(ctx, latest.Text)
	if err != nil {
		return err
	}
	if text != latest.Text && !r.isRunning() {
		// Courier edits only while the shutoff page reads "run"; the status
		// is written when it does again (loadShutoff reviews the page).
		r.log.Info("shut off: status write-back waits for the shutoff page to read run",
			"title", r.cfg.Requests, "summary", summary)
		return nil
	}
	if text != latest.Text {
		newRev, err := r.cfg.Wiki.Save(ctx, r.cfg.Requests, text, summary, latest)
		if err != nil {
			return fmt.Errorf("write status to %s: %w", r.cfg.Requests, err)
		}
		r.log.Debug("status written", "title", r.cfg.Requests, "rev_id", newRev,
			"summary", summary)
	}
	return r.cfg.Store.SetPageRevision(ctx, r.cfg.HomeID, r.cfg.Requests, latest.ID)
}

// project returns text with every known request's owned parameters set
// from the store, and an edit summary saying what changed.
func (r *Reviewer) project(ctx context.Context, text string) (string, string, error) {
	reqs := parser.ParseRequests(text)

	// Write from the end of the page back, so the offsets of the requests
	// not yet written stay true.
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].Start > reqs[j].Start })
	var changes []string
	for _, q := range reqs {
		id := r.idOf(q)
		if id == 0 {
			continue
		}
		req, err := r.cfg.Store.Request(ctx, id)
		if err != nil {
			continue // not a request Courier knows: leave it alone
		}
		values, err := r.values(ctx, req, q)
		if err != nil {
			return "", "", err
		}
		if unchanged(q, values) {
			continue
		}
		out, err := parser.WriteBack(text, parser.RefOf(q), values)
		if err != nil {
			return "", "", fmt.Errorf("write status of request %d: %w", id, err)
		}
		text = out
		changes = append(changes, fmt.Sprintf("%d %s", id, values["status"]))
	}
	sort.Strings(changes)
	return text, summaryOf(changes), nil
}

func summaryOf(changes []string) string {
	s := "Courier: request"
	if len(changes) > 1 {
		s += "s"
	}
	for i, c := range changes {
		if i > 0 {
			s += ","
		}
		s += " " + c
	}
	return s
}

// idOf returns the id of a request of the latest revision, as the walk
// identified it.
func (r *Reviewer) idOf(q parser.Request) int64 {
	if id, err := strconv.ParseInt(q.ID, 10, 64); err == nil {
		return id
	}
	for id, known := range r.lastReqs {
		if known.Start == q.Start && known.ID == "" {
			return id
		}
	}
	return 0
}

// values returns what the owned parameters of req should say.
func (r *Reviewer) values(ctx context.Context, req store.Request, q parser.Request) (
	map[string]string, error) {
	v := map[string]string{
		"id":     strconv.FormatInt(req.ID, 10),
		"status": string(req.State),
	}
	if req.Note != "" || q.Note != "" {
		v["note"] = req.Note
	}
	switch req.State {
	case store.StateDelivering, store.StateDone, store.StateCancelled:
		c, err := r.cfg.Store.TargetCounts(ctx, req.ID)
		if err != nil {
			return nil, err
		}
		if c.Total() == 0 && req.State != store.StateDelivering {
			break
		}
		v["progress"] = fmt.Sprintf("%d/%d", c.Done(), c.Total())
		if req.State != store.StateDelivering {
			v["result"] = fmt.Sprintf("%d delivered, %d skipped, %d failed ([[%s/%d|details]])",
				c.Delivered, c.Skipped, c.Failed, r.cfg.LogPage, req.ID)
		}
	}
	return v, nil
}

// unchanged reports whether q already shows values, as WriteBack would
// write them.
func unchanged(q parser.Request, values map[string]string) bool {
	have := map[string]string{
		"id": q.ID, "status": q.Status, "note": q.Note, "progress": q.Progress, "result": q.Result,
	}
	for k, want := range values {
		if got, ok := have[k]; !ok || got != strings.TrimSpace(parser.EscapeValue(want)) {
			return false
		}
	}
	return true
}
