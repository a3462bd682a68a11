package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TargetState is where one target of a request stands.
type TargetState string

// The states of a target. Sending is written before the edit and replaced
// after it, so a target found sending after a crash may or may not have
// its message, and must be checked on the wiki before anything is sent.
const (
	TargetQueued    TargetState = "queued"
	TargetSending   TargetState = "sending"
	TargetDelivered TargetState = "delivered"
	TargetSkipped   TargetState = "skipped"
	TargetFailed    TargetState = "failed"
)

// Target is one talk page of a request and its outcome.
type Target struct {
	RequestID int64
	Wiki      string
	Title     string
	Seq       int // order in the list
	State     TargetState
	Reason    string // the skip reason or the API's error code
	RevID     int64  // the delivered revision
	MarkedAt  time.Time
	Updated   time.Time
}

// Counts is how many targets of a request are in each state.
type Counts struct {
	Queued    int `json:"queued"`
	Sending   int `json:"sending"`
	Delivered int `json:"delivered"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
}

// Total returns the number of targets.
func (c Counts) Total() int {
	return c.Queued + c.Sending + c.Delivered + c.Skipped + c.Failed
}

// Done returns the number of targets with a final outcome.
func (c Counts) Done() int { return c.Delivered + c.Skipped + c.Failed }

// AddTargets records the targets of a request in one transaction. A target
// already recorded keeps its state, so adding the same list twice is safe.
func (s *Store) AddTargets(ctx context.Context, requestID int64, targets []Target) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO targets
	(request_id, wiki, title, seq, state, reason, updated) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("add targets of request %d: %w", requestID, err)
		}
		defer stmt.Close()
		t := now()
		for _, tg := range targets {
			state := tg.State
			if state == "" {
				state = TargetQueued
			}
			_, err := stmt.ExecContext(ctx, requestID, tg.Wiki, tg.Title, tg.Seq,
				string(state), tg.Reason, t)
			if err != nil {
				return fmt.Errorf("add target %s on %s to request %d: %w",
					tg.Title, tg.Wiki, requestID, err)
			}
		}
		return nil
	})
}

// MarkSending moves a queued target to sending; it must be called, and
// have returned, before the target's edit is made. It fails when the
// target is not queued, which is what keeps a target from being sent twice.
func (s *Store) MarkSending(ctx context.Context, requestID int64, wiki, title string) error {
	t := now()
	res, err := s.db.ExecContext(ctx, `UPDATE targets SET state = ?, marked_at = ?, updated = ?
WHERE request_id = ? AND wiki = ? AND title = ? AND state = ?`,
		string(TargetSending), t, t, requestID, wiki, title, string(TargetQueued))
	if err != nil {
		return fmt.Errorf("mark %s on %s sending for request %d: %w", title, wiki, requestID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("mark %s on %s sending for request %d: %w",
			title, wiki, requestID, ErrNotQueued)
	}
	return nil
}

// RecordOutcome gives a target its final state. A final outcome is never
// overwritten: recording one for a target that already has one fails.
func (s *Store) RecordOutcome(ctx context.Context, requestID int64, wiki, title string,
	state TargetState, reason string, revID int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE targets SET state = ?, reason = ?, rev_id = ?,
	updated = ?
WHERE request_id = ? AND wiki = ? AND title = ? AND state IN (?, ?)`,
		string(state), reason, revID, now(), requestID, wiki, title,
		string(TargetQueued), string(TargetSending))
	if err != nil {
		return fmt.Errorf("record %s for %s on %s, request %d: %w",
			state, title, wiki, requestID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("record %s for %s on %s, request %d: %w",
			state, title, wiki, requestID, ErrHasOutcome)
	}
	return nil
}

// Targets returns the targets of a request in list order.
func (s *Store) Targets(ctx context.Context, requestID int64) ([]Target, error) {
	return s.queryTargets(ctx, "WHERE request_id = ? ORDER BY seq, wiki, title", requestID)
}

// SendingTargets returns every target left sending, over all requests:
// the ones a crash may have left between edit and commit.
func (s *Store) SendingTargets(ctx context.Context) ([]Target, error) {
	return s.queryTargets(ctx, "WHERE state = ? ORDER BY request_id, seq",
		string(TargetSending))
}

func (s *Store) queryTargets(ctx context.Context, where string, args ...any) ([]Target, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT request_id, wiki, title, seq, state, reason,
	rev_id, marked_at, updated FROM targets `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	defer rows.Close()
	var out []Target
	for rows.Next() {
		var tg Target
		var state, marked, updated string
		err := rows.Scan(&tg.RequestID, &tg.Wiki, &tg.Title, &tg.Seq, &state, &tg.Reason,
			&tg.RevID, &marked, &updated)
		if err != nil {
			return nil, fmt.Errorf("list targets: %w", err)
		}
		tg.State = TargetState(state)
		tg.MarkedAt, tg.Updated = parseTime(marked), parseTime(updated)
		out = append(out, tg)
	}
	return out, rows.Err()
}

// TargetCounts returns how many targets of a request are in each state.
func (s *Store) TargetCounts(ctx context.Context, requestID int64) (Counts, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT state, COUNT(*) FROM targets WHERE request_id = ? GROUP BY state", requestID)
	if err != nil {
		return Counts{}, fmt.Errorf("count targets of request %d: %w", requestID, err)
	}
	defer rows.Close()
	var c Counts
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return Counts{}, fmt.Errorf("count targets of request %d: %w", requestID, err)
		}
		switch TargetState(state) {
		case TargetQueued:
			c.Queued = n
		case TargetSending:
			c.Sending = n
		case TargetDelivered:
			c.Delivered = n
		case TargetSkipped:
			c.Skipped = n
		case TargetFailed:
			c.Failed = n
		}
	}
	return c, rows.Err()
}
