package review

import (
	"context"
	"fmt"
	"strings"

	"courier/parser"
	"courier/store"
)

// validate checks a request as it stands in rev and records it pending,
// with how many targets its list holds, or rejected, with why.
func (r *Reviewer) validate(ctx context.Context, id int64, q parser.Request,
	rev Revision) error {
	req, err := r.cfg.Store.Request(ctx, id)
	if err != nil {
		return err
	}
	req.ListTitle, req.Subject, req.Message, req.MessagePage = q.List, q.Subject, q.Message, q.Page
	req.State, req.Note = store.StatePending, ""

	n, problem, err := r.check(ctx, q, rev)
	if err != nil {
		return err
	}
	if problem != "" {
		req.State, req.Note = store.StateRejected, problem
		r.log.Info("request rejected", "request_id", id, "title", r.cfg.Requests,
			"reason", problem)
	} else {
		req.Note = fmt.Sprintf("%d targets; waiting for an approver.", n)
		r.log.Info("request pending", "request_id", id, "title", r.cfg.Requests, "targets", n)
	}
	return r.cfg.Store.UpdateRequest(ctx, req)
}

// check returns the number of targets of a request and, when it cannot be
// delivered, a sentence that tells the requester why.
func (r *Reviewer) check(ctx context.Context, q parser.Request, rev Revision) (int, string,
	error) {
	if len(q.Problems) > 0 {
		return 0, q.Problems[0].Text, nil
	}
	if strings.Contains(q.List, "://") || strings.HasPrefix(q.List, "[") {
		return 0, fmt.Sprintf("The list %q must be the title of a page on this wiki, "+
			"not a link or a page on another wiki.", q.List), nil
	}
	if q.Page != "" {
		page, ok, err := r.cfg.Wiki.RevisionAt(ctx, q.Page, rev.Timestamp)
		if err != nil {
			return 0, "", fmt.Errorf("read message page %s: %w", q.Page, err)
		}
		if !ok || strings.TrimSpace(page.Text) == "" {
			return 0, fmt.Sprintf("The message page [[%s]] does not exist or is empty.",
				q.Page), nil
		}
	} else if strings.TrimSpace(q.Message) == "" {
		return 0, "The message is empty: write it in | message = , or name a | page = .", nil
	}

	list, ok, err := r.cfg.Wiki.RevisionAt(ctx, q.List, rev.Timestamp)
	if err != nil {
		return 0, "", fmt.Errorf("read list %s: %w", q.List, err)
	}
	if !ok {
		return 0, fmt.Sprintf("The list page [[%s]] does not exist.", q.List), nil
	}
	n, problem, err := r.cfg.Lists.CountTargets(ctx, list, q.List)
	switch {
	case err != nil:
		return 0, "", fmt.Errorf("count targets of %s: %w", q.List, err)
	case problem != "":
		return 0, problem, nil
	case n == 0:
		return 0, fmt.Sprintf("The list [[%s]] holds no targets.", q.List), nil
	case n > r.cfg.MaxTargets:
		return n, fmt.Sprintf("The list [[%s]] holds %d targets; at most %d are allowed "+
			"in one request.", q.List, n, r.cfg.MaxTargets), nil
	}
	return n, "", nil
}

// approve handles a revision that set status = approved.
func (r *Reviewer) approve(ctx context.Context, id int64, q parser.Request,
	rev Revision) error {
	req, err := r.cfg.Store.Request(ctx, id)
	if err != nil || req.State != store.StatePending {
		// Anything but a pending request keeps its state; the write-back
		// shows it again.
		return err
	}
	deny := ""
	switch ok, err := r.inGroups(ctx, rev.User, rev.Timestamp, r.cfg.ApproverGroups); {
	case err != nil:
		return err
	case !ok:
		deny = fmt.Sprintf("The approval by %s does not count: only members of %s may "+
			"approve requests.", rev.User, strings.Join(r.cfg.ApproverGroups, " or "))
	case normalUser(rev.User) == normalUser(req.Requester) && !r.cfg.SelfApproval:
		deny = fmt.Sprintf("The approval by %s does not count: requesters may not "+
			"approve their own requests; another approver must.", rev.User)
	}
	if deny != "" {
		req.Note = deny
		r.log.Info("approval undone", "request_id", id, "title", r.cfg.Requests,
			"user", rev.User, "rev_id", rev.ID)
		return r.cfg.Store.UpdateRequest(ctx, req)
	}

	// The content approved is the content of this revision.
	if err := r.validate(ctx, id, q, rev); err != nil {
		return err
	}
	if req, err = r.cfg.Store.Request(ctx, id); err != nil || req.State != store.StatePending {
		return err
	}
	return r.setApproved(ctx, req, rev.User, rev)
}

// setApproved records an approval given in rev: the list's revision and
// the message as they stood then are what will be delivered.
func (r *Reviewer) setApproved(ctx context.Context, req store.Request, approver string,
	rev Revision) error {
	list, ok, err := r.cfg.Wiki.RevisionAt(ctx, req.ListTitle, rev.Timestamp)
	if err != nil || !ok {
		return fmt.Errorf("read list %s at approval: %w (exists: %v)", req.ListTitle, err, ok)
	}
	if req.MessagePage != "" {
		page, _, err := r.cfg.Wiki.RevisionAt(ctx, req.MessagePage, rev.Timestamp)
		if err != nil {
			return fmt.Errorf("read message page %s at approval: %w", req.MessagePage, err)
		}
		req.Message = page.Text
	}
	req.State, req.Approver, req.ApprovedRev, req.ListRev = store.StateApproved, approver,
		rev.ID, list.ID
	req.Note = ""
	r.log.Info("request approved", "request_id", req.ID, "title", r.cfg.Requests,
		"approver", approver, "rev_id", rev.ID, "list", req.ListTitle, "list_rev", list.ID)
	return r.cfg.Store.UpdateRequest(ctx, req)
}

// changed handles an edit of a request's list or message. Before delivery
// starts it voids an approval; a pending or rejected request is checked
// again.
func (r *Reviewer) changed(ctx context.Context, id int64, q parser.Request,
	rev Revision) error {
	req, err := r.cfg.Store.Request(ctx, id)
	if err != nil {
		return err
	}
	switch req.State {
	case store.StatePending, store.StateRejected:
		if err := r.validate(ctx, id, q, rev); err != nil {
			return err
		}
		return r.trustSender(ctx, id, rev)
	case store.StateApproved:
		if err := r.validate(ctx, id, q, rev); err != nil {
			return err
		}
		req, err = r.cfg.Store.Request(ctx, id)
		if err != nil || req.State != store.StatePending {
			return err
		}
		req.Approver, req.ApprovedRev, req.ListRev = "", 0, 0
		req.Note = fmt.Sprintf("%s changed the request after it was approved, so the "+
			"approval no longer counts; an approver must approve it again.", rev.User)
		r.log.Info("approval voided by an edit", "request_id", id, "title", r.cfg.Requests,
			"user", rev.User, "rev_id", rev.ID)
		return r.cfg.Store.UpdateRequest(ctx, req)
	}
	return nil // delivering or finished: it goes out as approved
}

// cancel handles a revision that set status = cancel.
func (r *Reviewer) cancel(ctx context.Context, id int64, rev Revision) error {
	req, err := r.cfg.Store.Request(ctx, id)
	if err != nil {
		return err
	}
	allowed := normalUser(rev.User) == normalUser(req.Requester)
	if !allowed {
		if allowed, err = r.inGroups(ctx, rev.User, rev.Timestamp, r.cfg.ApproverGroups); err != nil {
			return err
		}
	}
	if !allowed {
		if req.State == store.StatePending || req.State == store.StateApproved ||
			req.State == store.StateDelivering {
			req.Note = fmt.Sprintf("The cancel by %s does not count: only the requester or "+
				"an approver may cancel a request.", rev.User)
			return r.cfg.Store.UpdateRequest(ctx, req)
		}
		return nil
	}
	switch req.State {
	case store.StatePending, store.StateApproved, store.StateRejected:
		req.State, req.Note = store.StateCancelled, fmt.Sprintf("Cancelled by %s.", rev.User)
		req.Finished = r.cfg.Now()
		r.log.Info("request cancelled", "request_id", id, "title", r.cfg.Requests,
			"user", rev.User)
		return r.cfg.Store.UpdateRequest(ctx, req)
	case store.StateDelivering:
		req.Note = fmt.Sprintf("Cancelled by %s.", rev.User)
		if err := r.cfg.Store.UpdateRequest(ctx, req); err != nil {
			return err
		}
		return r.stopDelivery(ctx, id, rev.User)
	}
	return nil
}
