package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Position is where the watcher stands in a stream.
type Position struct {
	// EventID is the SSE id of the last handled event, sent back as
	// Last-Event-ID on a reconnect.
	EventID string

	// Time is that event's time, for a since= resume when the server
	// refuses the id.
	Time time.Time
}

// StreamPosition returns the saved position in stream; ok is false when
// none was saved yet.
func (s *Store) StreamPosition(ctx context.Context, stream string) (Position, bool, error) {
	var p Position
	var t string
	err := s.db.QueryRowContext(ctx,
		"SELECT event_id, event_time FROM stream_position WHERE stream = ?", stream).
		Scan(&p.EventID, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return Position{}, false, nil
	}
	if err != nil {
		return Position{}, false, fmt.Errorf("read position of stream %s: %w", stream, err)
	}
	p.Time = parseTime(t)
	return p, true, nil
}

// SetStreamPosition saves the position in stream.
func (s *Store) SetStreamPosition(ctx context.Context, stream string, p Position) error {
	_, err := s.db.ExecContext(ctx, `
INSERT INTO stream_position (stream, event_id, event_time, updated) VALUES (?, ?, ?, ?)
ON CONFLICT (stream) DO UPDATE SET
	event_id = excluded.event_id, event_time = excluded.event_time, updated = excluded.updated`,
		stream, p.EventID, formatTime(p.Time), now())
	if err != nil {
		return fmt.Errorf("save position of stream %s: %w", stream, err)
	}
	return nil
}

// PageRevision returns the newest revision of a page that was handled, or
// 0 when none was.
func (s *Store) PageRevision(ctx context.Context, wiki, title string) (int64, error) {
	var rev int64
	err := s.db.QueryRowContext(ctx,
		"SELECT rev_id FROM page_position WHERE wiki = ? AND title = ?", wiki, title).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read handled revision of %s on %s: %w", title, wiki, err)
	}
	return rev, nil
}

// SetPageRevision records rev as handled for a page; an older revision
// never replaces a newer one.
func (s *Store) SetPageRevision(ctx context.Context, wiki, title string, rev int64) error {
	_, err := s.db.ExecContext(ctx, `
INSERT INTO page_position (wiki, title, rev_id, updated) VALUES (?, ?, ?, ?)
ON CONFLICT (wiki, title) DO UPDATE SET rev_id = excluded.rev_id, updated = excluded.updated
WHERE excluded.rev_id > page_position.rev_id`,
		wiki, title, rev, now())
	if err != nil {
		return fmt.Errorf("save handled revision %d of %s on %s: %w", rev, title, wiki, err)
	}
	return nil
}

// Times are kept as UTC RFC 3339 text, which sorts as it reads.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// now is a variable so tests can fix the clock.
var now = func() string { return formatTime(time.Now()) }
