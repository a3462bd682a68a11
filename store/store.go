// Package store keeps Courier's state in one SQLite file: the position in
// the recent-changes stream, the requests and their state, and one outcome
// for every (request, wiki, target), which is what makes delivery happen
// exactly once across crashes and restarts.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver
)

// Errors callers can test for.
var (
	// ErrLocked means another Courier process holds the state file.
	ErrLocked = errors.New("state file in use by another Courier process")

	// ErrNewerSchema means the file was written by a newer Courier.
	ErrNewerSchema = errors.New("state file has a newer schema than this Courier knows")

	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")

	// ErrNotQueued means MarkSending found the target not queued: it is
	// sending or has its outcome already (or does not exist).
	ErrNotQueued = errors.New("target not queued")

	// ErrHasOutcome means RecordOutcome found the target with a final
	// outcome already (or not at all).
	ErrHasOutcome = errors.New("target already has its outcome")
)

// Store is an open state file. Its methods are safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	lock *os.File
}

// Open opens (creating if need be) the state file at path, takes the
// process lock next to it, checks WAL mode and brings the schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	lock, err := acquireLock(path)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, lock: lock}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenReadOnly opens an existing state file for reading only, without the
// process lock, so "courier status" can read it while "courier run" works.
// It refuses a file whose schema is not the one this Courier writes.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open state file: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_busy_timeout", "10000")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		s.Close()
		return nil, fmt.Errorf("read schema version of %s: %w", path, err)
	}
	if version != len(migrations) {
		s.Close()
		return nil, fmt.Errorf("state file %s is at schema version %d, this Courier reads %d",
			path, version, len(migrations))
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+s.path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open state file %s: %w", s.path, err)
	}
	s.db = db

	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode of %s: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("state file %s: journal mode is %q, not wal "+
			"(is it on a file system without shared memory?)", s.path, mode)
	}
	return s.migrate(ctx)
}

// Close releases the database and the process lock.
func (s *Store) Close() error {
	var err error
	if s.db != nil {
		err = s.db.Close()
	}
	// The lock file stays: removing it while another process waits on
	// the same inode would let two processes hold two different locks.
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// Path returns the state file's path.
func (s *Store) Path() string { return s.path }

// DB returns the database, for packages that keep tables of their own.
func (s *Store) DB() *sql.DB { return s.db }

// Tx runs fn in one immediate transaction, committing when fn returns nil.
func (s *Store) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// acquireLock takes an exclusive, non-blocking lock on path+".lock" and
// writes this process's id into it. The kernel drops the lock when the
// process dies, so a crash never leaves the file locked.
func acquireLock(path string) (*os.File, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		pid := strings.TrimSpace(string(holder))
		if pid == "" {
			pid = "unknown"
		}
		return nil, fmt.Errorf("%w: %s is locked by process %s; "+
			"two Courier processes on one state file would deliver twice, so this one stops",
			ErrLocked, path, pid)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}
