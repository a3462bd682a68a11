package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RequestState is where a request stands in its lifecycle; the values are
// the ones written into the request's status parameter.
type RequestState string

// The states of a request.
const (
	StatePending    RequestState = "pending"
	StateApproved   RequestState = "approved"
	StateDelivering RequestState = "delivering"
	StateDone       RequestState = "done"
	StateRejected   RequestState = "rejected"
	StateCancelled  RequestState = "cancelled"
)

// Request is one delivery request as Courier keeps it.
type Request struct {
	ID          int64 // the revision that added the request
	Wiki        string
	Page        string
	Requester   string
	Approver    string
	State       RequestState
	ListTitle   string
	ListRev     int64 // the list's revision at approval
	Subject     string
	Message     string
	MessagePage string
	ApprovedRev int64 // the request page's revision that approved it
	Note        string
	Created     time.Time
	Updated     time.Time
	Finished    time.Time
}

const requestColumns = `id, wiki, page, requester, approver, state, list_title, list_rev,
	subject, message, message_page, approved_rev, note, created, updated, finished`

// CreateRequest records a new request; created is false when a request
// with its id was already known, which is left as it was.
func (s *Store) CreateRequest(ctx context.Context, r Request) (created bool, err error) {
	t := now()
	res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO requests (`+requestColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Wiki, r.Page, r.Requester, r.Approver, string(r.State), r.ListTitle, r.ListRev,
		r.Subject, r.Message, r.MessagePage, r.ApprovedRev, r.Note, t, t,
		formatTime(r.Finished))
	if err != nil {
		return false, fmt.Errorf("record request %d: %w", r.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UpdateRequest saves every field of r but its id and creation time.
func (s *Store) UpdateRequest(ctx context.Context, r Request) error {
	res, err := s.db.ExecContext(ctx, `UPDATE requests SET
	wiki = ?, page = ?, requester = ?, approver = ?, state = ?, list_title = ?, list_rev = ?,
	subject = ?, message = ?, message_page = ?, approved_rev = ?, note = ?, updated = ?,
	finished = ?
WHERE id = ?`,
		r.Wiki, r.Page, r.Requester, r.Approver, string(r.State), r.ListTitle, r.ListRev,
		r.Subject, r.Message, r.MessagePage, r.ApprovedRev, r.Note, now(),
		formatTime(r.Finished), r.ID)
	if err != nil {
		return fmt.Errorf("update request %d: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update request %d: %w", r.ID, ErrNotFound)
	}
	return nil
}

// TransitionRequest moves a request to state to only if it is in one of
// the states from, and reports whether it moved. This is how one delivery
// claims a request: two claims cannot both succeed.
func (s *Store) TransitionRequest(ctx context.Context, id int64, to RequestState,
	from ...RequestState) (bool, error) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(from)), ", ")
	args := []any{string(to), now(), id}
	for _, f := range from {
		args = append(args, string(f))
	}
	res, err := s.db.ExecContext(ctx,
		"UPDATE requests SET state = ?, updated = ? WHERE id = ? AND state IN ("+marks+")",
		args...)
	if err != nil {
		return false, fmt.Errorf("move request %d to %s: %w", id, to, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Request returns the request with the given id, or ErrNotFound.
func (s *Store) Request(ctx context.Context, id int64) (Request, error) {
	row := s.db.QueryRowContext(ctx, "SELECT "+requestColumns+" FROM requests WHERE id = ?", id)
	r, err := scanRequest(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fmt.Errorf("read request %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Request{}, fmt.Errorf("read request %d: %w", id, err)
	}
	return r, nil
}

// Requests returns the requests in any of the given states (all when none
// is given), oldest first.
func (s *Store) Requests(ctx context.Context, states ...RequestState) ([]Request, error) {
	query := "SELECT " + requestColumns + " FROM requests"
	var args []any
	if len(states) > 0 {
		query += " WHERE state IN (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ") + ")"
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	rows, err := s.db.QueryContext(ctx, query+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanRequest(row scanner) (Request, error) {
	var r Request
	var state, created, updated, finished string
	err := row.Scan(&r.ID, &r.Wiki, &r.Page, &r.Requester, &r.Approver, &state,
		&r.ListTitle, &r.ListRev, &r.Subject, &r.Message, &r.MessagePage, &r.ApprovedRev,
		&r.Note, &created, &updated, &finished)
	r.State = RequestState(state)
	r.Created, r.Updated, r.Finished = parseTime(created), parseTime(updated), parseTime(finished)
	return r, err
}
