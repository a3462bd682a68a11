package review

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"courier/parser"
	"courier/store"
)

// firstLook is how far back the reviewer reads the request page's history
// the first time it sees the page: requests filed in that window are
// handled, older ones are taken as another bot's business.
const firstLook = 24 * time.Hour

// reviewPage reads every revision of the request page since the last one
// handled, acts on what each changed, then writes the resulting status of
// every request back in one edit. On an edit conflict it starts over, so
// the revision that caused the conflict is read like any other.
func (r *Reviewer) reviewPage(ctx context.Context) error {
	r.pageMu.Lock()
	defer r.pageMu.Unlock()

	for attempt := 0; ; attempt++ {
		latest, err := r.walk(ctx)
		if err != nil {
			return err
		}
		err = r.writeBack(ctx, latest)
		if errors.Is(err, ErrConflict) && attempt < 10 {
			r.log.Info("request page changed while writing status; reading it again",
				"title", r.cfg.Requests)
			continue
		}
		if err != nil {
			return err
		}
		r.startApproved(ctx)
		return nil
	}
}

// walk reads the revisions after the last handled one, in order, and
// applies each one's changes. It returns the newest revision.
func (r *Reviewer) walk(ctx context.Context) (Revision, error) {
	if err := r.loadBaseline(ctx); err != nil {
		return Revision{}, err
	}
	revs, err := r.cfg.Wiki.RevisionsAfter(ctx, r.cfg.Requests, r.lastRev.ID)
	if err != nil {
		return Revision{}, fmt.Errorf("read history of %s: %w", r.cfg.Requests, err)
	}
	for _, rev := range revs {
		if err := r.applyRevision(ctx, rev); err != nil {
			return Revision{}, fmt.Errorf("review revision %d of %s: %w",
				rev.ID, r.cfg.Requests, err)
		}
		r.lastRev = rev
	}
	return r.lastRev, nil
}

// loadBaseline sets the revision the walk starts from: the last handled
// one, or on the very first look the one current firstLook ago.
func (r *Reviewer) loadBaseline(ctx context.Context) error {
	if r.lastReqs != nil {
		return nil
	}
	id, err := r.cfg.Store.PageRevision(ctx, r.cfg.HomeID, r.cfg.Requests)
	if err != nil {
		return err
	}
	var base Revision
	if id != 0 {
		base, err = r.revisionByID(ctx, id)
	} else {
		base, _, err = r.cfg.Wiki.RevisionAt(ctx, r.cfg.Requests, r.cfg.Now().Add(-firstLook))
	}
	if err != nil {
		return fmt.Errorf("read the last handled revision of %s: %w", r.cfg.Requests, err)
	}
	r.lastRev = base
	r.lastReqs = r.identify(parser.ParseRequests(base.Text), 0)
	return nil
}

// revisionByID reads one revision of the request page. One that is gone
// (deleted or suppressed) gives an empty start rather than a guess.
func (r *Reviewer) revisionByID(ctx context.Context, id int64) (Revision, error) {
	rev, ok, err := r.cfg.Wiki.Revision(ctx, id)
	if err != nil || !ok {
		return Revision{ID: id}, err
	}
	return rev, nil
}

// identify gives each request of a revision its id: the id it carries,
// or for a request without one the id recorded when it was first seen.
// With addedBy non-zero, a request never seen before gets that id.
func (r *Reviewer) identify(reqs []parser.Request, addedBy int64) map[int64]parser.Request {
	out := map[int64]parser.Request{}
	places := map[string]int{}
	for _, q := range reqs {
		if id, err := strconv.ParseInt(q.ID, 10, 64); err == nil && id > 0 {
			out[id] = q
			continue
		}
		// A request without an id is known by its section and its place
		// among the section's other requests without one. Courier writes
		// the ids of all of them in one edit, so places do not shift.
		key := fmt.Sprintf("%s#%d", q.Section, places[q.Section])
		places[q.Section]++
		id, seen := r.newKeys[key]
		switch {
		case !seen && addedBy == 0:
			// There before Courier looked, or in its own revision:
			// not a request Courier was asked for.
			r.newKeys[key] = 0
			continue
		case !seen:
			id = addedBy
			r.newKeys[key] = id
		case id == 0:
			continue
		}
		out[id] = q
	}
	return out
}

// applyRevision acts on what one revision changed in the requests.
func (r *Reviewer) applyRevision(ctx context.Context, rev Revision) error {
	own := normalUser(rev.User) == normalUser(r.cfg.BotUser)
	addedBy := rev.ID
	if own {
		addedBy = 0
	}
	cur := r.identify(parser.ParseRequests(rev.Text), addedBy)
	prev := r.lastReqs
	r.lastReqs = cur
	if own {
		return nil
	}
	for id, q := range cur {
		old, had := prev[id]
		var err error
		switch {
		case !had:
			err = r.appeared(ctx, id, q, rev)
		case q.Status != old.Status && q.Status == "approved":
			err = r.approve(ctx, id, q, rev)
		case q.Status != old.Status && q.Status == "cancel":
			err = r.cancel(ctx, id, rev)
		case content(q) != content(old):
			err = r.changed(ctx, id, q, rev)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// content is what an approval binds: the list and the message.
func content(q parser.Request) string {
	return q.List + "\x00" + q.Subject + "\x00" + q.Message + "\x00" + q.Page
}

// appeared handles a request that is in rev but was not in the revision
// before: a new one, or a known one moved or given its id.
func (r *Reviewer) appeared(ctx context.Context, id int64, q parser.Request,
	rev Revision) error {
	if id != rev.ID {
		return nil // known: it moved here, or its id was written
	}
	req := store.Request{ID: id, Wiki: r.cfg.HomeID, Page: r.cfg.Requests,
		Requester: rev.User, State: store.StatePending}
	created, err := r.cfg.Store.CreateRequest(ctx, req)
	if err != nil || !created {
		return err
	}
	r.log.Info("new request", "request_id", id, "title", r.cfg.Requests,
		"user", rev.User, "section", q.Section)
	if err := r.validate(ctx, id, q, rev); err != nil {
		return err
	}
	if q.Status == "approved" {
		return r.approve(ctx, id, q, rev)
	}
	return r.trustSender(ctx, id, rev)
}

// trustSender approves a pending request at once when its requester is a
// trusted sender.
func (r *Reviewer) trustSender(ctx context.Context, id int64, rev Revision) error {
	req, err := r.cfg.Store.Request(ctx, id)
	if err != nil || req.State != store.StatePending {
		return err
	}
	trusted, err := r.isSender(ctx, req.Requester, rev.Timestamp)
	if err != nil || !trusted {
		return err
	}
	r.log.Info("trusted sender: approved without an approver", "request_id", id,
		"title", r.cfg.Requests, "user", req.Requester)
	return r.setApproved(ctx, req, req.Requester, rev)
}
