package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations brings a state file from version i to i+1 with
// migrations[i]. Append only: a released migration never changes, since
// files in the field already ran it.
var migrations = []string{
	// 1: the stream position, requests and per-target outcomes.
	`
CREATE TABLE stream_position (
	stream     TEXT PRIMARY KEY,      -- the stream URL, or "poll:" + wiki id
	event_id   TEXT NOT NULL,         -- the SSE id of the last handled event
	event_time TEXT NOT NULL,         -- its meta.dt, for a since= resume
	updated    TEXT NOT NULL
);

CREATE TABLE page_position (
	wiki    TEXT NOT NULL,
	title   TEXT NOT NULL,
	rev_id  INTEGER NOT NULL,         -- the newest revision handled
	updated TEXT NOT NULL,
	PRIMARY KEY (wiki, title)
);

CREATE TABLE requests (
	id           INTEGER PRIMARY KEY, -- the revision that added the request
	wiki         TEXT NOT NULL,       -- the home wiki
	page         TEXT NOT NULL,       -- where the request was filed
	requester    TEXT NOT NULL,
	approver     TEXT NOT NULL DEFAULT '',
	state        TEXT NOT NULL,
	list_title   TEXT NOT NULL DEFAULT '',
	list_rev     INTEGER NOT NULL DEFAULT 0,
	subject      TEXT NOT NULL DEFAULT '',
	message      TEXT NOT NULL DEFAULT '',
	message_page TEXT NOT NULL DEFAULT '',
	approved_rev INTEGER NOT NULL DEFAULT 0,
	note         TEXT NOT NULL DEFAULT '',
	created      TEXT NOT NULL,
	updated      TEXT NOT NULL,
	finished     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX requests_state ON requests (state);

CREATE TABLE targets (
	request_id INTEGER NOT NULL REFERENCES requests (id),
	wiki       TEXT NOT NULL,
	title      TEXT NOT NULL,
	seq        INTEGER NOT NULL,      -- order in the list
	state      TEXT NOT NULL,         -- queued, sending, delivered, skipped, failed
	reason     TEXT NOT NULL DEFAULT '', -- skip reason or the API's error code
	rev_id     INTEGER NOT NULL DEFAULT 0,
	marked_at  TEXT NOT NULL DEFAULT '', -- when it became sending
	updated    TEXT NOT NULL,
	UNIQUE (request_id, wiki, title)
);
CREATE INDEX targets_state ON targets (state);
`,
	// 2: the wikis of a farm, from the home wiki's site matrix.
	`
CREATE TABLE sitematrix (
	id      TEXT PRIMARY KEY,         -- the database name
	domain  TEXT NOT NULL,
	api     TEXT NOT NULL,
	fetched TEXT NOT NULL
);
`,
}

// SchemaVersion is the schema version this Courier writes.
var SchemaVersion = len(migrations)

// migrate runs each missing migration in a transaction of its own and
// refuses a file from a newer Courier.
func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version of %s: %w", s.path, err)
	}
	if version > len(migrations) {
		return fmt.Errorf("%w: %s is at version %d, this Courier knows up to %d; "+
			"run a newer Courier", ErrNewerSchema, s.path, version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s to schema version %d: %w", s.path, v+1, err)
		}
	}
	return nil
}
