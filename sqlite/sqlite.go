// Package sqlite implements iamd.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go). Writes go through one connection in WAL mode
// with synchronous=FULL, so a method that returns nil has its commit on disk;
// reads use a separate pool and never wait for writes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"iamd"
	"iamd/internal/sqlstore"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an iamd.Store backed by one SQLite file.
type Store struct {
	*sqlstore.Store // groups and policies

	w  *sql.DB // one connection, used only by the writer goroutine
	r  *sql.DB // readers
	wc stmtCache
	rc stmtCache

	onCommit   func(int)
	changeLog  bool // Options.ChangeLog
	writes     chan *writeReq
	closed     chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

var (
	_ iamd.Store     = (*Store)(nil)
	_ iamd.ChangeLog = (*Store)(nil)
)

// Options tune durability.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: "FULL" (default) fsyncs
	// every commit; "NORMAL" survives a process crash but may lose the last
	// commits on power loss.
	Synchronous string
	// OnCommit, when set, is told the size of every group commit (metrics).
	OnCommit func(writes int)
	// ChangeLog writes every change to the change log, for a replica
	// (package replica) to follow. Off, the database is the node's own and
	// decisions read it directly; the log stays empty.
	ChangeLog bool
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(path string, opt Options) (*Store, error) {
	sync := strings.ToUpper(opt.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	if sync != "FULL" && sync != "NORMAL" {
		return nil, fmt.Errorf("sqlite: synchronous must be FULL or NORMAL, not %q", opt.Synchronous)
	}
	// SQLite's own words for an unreadable file are "unable to open
	// database file"; say what to check instead.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("sqlite: cannot open %s: %w (check the owner and permissions of the file and its directory)", path, errors.Unwrap(err))
	} else {
		f.Close()
	}
	// Commits sync with fdatasync(2), as SQLite built for Linux does: the
	// file's data and size reach the disk just as with fsync(2), without
	// the timestamp update that, on ext4, costs a journal commit each time.
	// Where the call does not exist, fsync stays.
	sqlite.Fdatasync(true)
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	// Readers' transactions (consistent views of the change log) are
	// deferred; the writer's take the write lock at once.
	rdsn := "file:" + path + "?" + q.Encode() + "&mode=ro"
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", rdsn)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{w: w, r: r, wc: stmtCache{db: w}, rc: stmtCache{db: r}, onCommit: opt.OnCommit, changeLog: opt.ChangeLog,
		writes: make(chan *writeReq), closed: make(chan struct{}), writerDone: make(chan struct{})}
	if err := s.migrate(context.Background()); err != nil {
		close(s.writerDone)
		s.Close()
		return nil, damaged(err)
	}
	if err := s.check(context.Background()); err != nil {
		close(s.writerDone)
		s.Close()
		return nil, err
	}
	s.Store = sqlstore.New(s.policyDB())
	go s.writer()
	if err := s.Store.Recall(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// In returns the Store of another account in the same database.
func (s *Store) In(account string) iamd.Store { return accountStore{s.Store.In(account), s} }

// accountStore is one account's Store: the database is the deployment's.
type accountStore struct {
	*sqlstore.Store
	db *Store
}

func (a accountStore) In(account string) iamd.Store { return a.db.In(account) }
func (accountStore) Close() error                   { return nil }

// Close closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	<-s.writerDone
	s.rc.close()
	s.wc.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int {
	n, _ := migrationFiles()
	return len(n)
}

func migrationFiles() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	return names, err
}

// migrate applies the embedded migrations newer than the database's
// user_version, and refuses a database newer than this build.
func (s *Store) migrate(ctx context.Context) error {
	names, err := migrationFiles()
	if err != nil {
		return err
	}
	var have int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return fmt.Errorf("sqlite: reading schema version: %w", err)
	}
	if have > len(names) {
		return fmt.Errorf("sqlite: database schema version %d is newer than this iamd knows (%d); upgrade iamd", have, len(names))
	}
	for i := have; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// damaged words a corrupt or foreign file's error as advice.
func damaged(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("sqlite: the database is damaged (%v): restore it from a backup (see docs/OPERATIONS.md)", err)
		}
	}
	return err
}

// check runs SQLite's quick_check: a damaged database is refused at start
// rather than answering errors later.
func (s *Store) check(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("sqlite: the database cannot be checked (%v): restore it from a backup (see docs/OPERATIONS.md)", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" && len(problems) < 3 {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: the database is damaged (%v): restore it from a backup (see docs/OPERATIONS.md)", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("sqlite: the database is damaged (%s): restore it from a backup (see docs/OPERATIONS.md)", strings.Join(problems, "; "))
	}
	return nil
}

// writeReq is one write waiting for the writer goroutine.
type writeReq struct {
	ctx  context.Context
	fn   func(wtx) error
	done chan error
}

// maxBatch bounds how many writes share one commit.
const maxBatch = 128

// commitDelay is how long a write may wait for others to share its commit.
const commitDelay = 200 * time.Microsecond

// write runs fn in a write transaction and returns once it is committed
// (with synchronous=FULL: on disk). Writes that arrive while a commit is
// in progress share the next one (group commit); each runs in a savepoint
// of its own, so one that fails leaves the others unaffected.
func (s *Store) write(ctx context.Context, fn func(wtx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return dbErr(ctx.Err())
	case <-s.closed:
		return errors.New("sqlite: store is closed")
	}
	return <-req.done
}

// writer serves write requests in batches until the store is closed.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*writeReq, 0, maxBatch)
	wait := time.NewTimer(0)
	last := 0 // the size of the last batch
	for {
		select {
		case req := <-s.writes:
			batch = append(batch[:0], req)
		case <-s.closed:
			return
		}
		// A write alone while others have just shared a commit waits a
		// moment for company, as PostgreSQL's commit_delay does: one
		// commit (and its fsync) for several writes costs less than one
		// each.
		if last > 1 {
			wait.Reset(commitDelay)
		gather:
			for len(batch) < last {
				select {
				case req := <-s.writes:
					batch = append(batch, req)
				case <-wait.C:
					break gather
				}
			}
			wait.Stop()
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case req := <-s.writes:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		last = len(batch)
		s.commit(batch)
	}
}

// commit runs a batch of writes in one transaction. Most writes succeed:
// the batch runs first without savepoints; if a write fails, that
// transaction is rolled back and the batch runs again with each write in
// a savepoint of its own, so that one failing leaves the others as they
// would be alone.
func (s *Store) commit(batch []*writeReq) {
	if len(batch) > 1 && s.run(batch, false) {
		return
	}
	s.run(batch, true)
}

// run runs batch in one transaction and answers every write, unless,
// without savepoints, a write fails: then it rolls back, answers none and
// reports false.
func (s *Store) run(batch []*writeReq, savepoints bool) bool {
	errs := make([]error, len(batch))
	var pending []string
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			r.done <- dbErr(err)
		}
		return true
	}
	t := wtx{Tx: tx, ctx: ctx, cache: &s.wc, pending: &pending}
	// A write alone in its batch needs no savepoint: its failure rolls
	// back the whole transaction.
	savepoints = savepoints && len(batch) > 1
	ok := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			if !savepoints && len(batch) > 1 {
				tx.Rollback()
				return false
			}
			continue
		}
		if savepoints {
			if _, err := t.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				errs[i] = err
				continue
			}
		}
		// The write's statements run without its cancellation: the
		// driver would watch a cancellable context with a goroutine and a
		// progress handler on every statement, and a write is checked
		// for cancellation just above, before any of it runs.
		if err := r.fn(wtx{Tx: tx, ctx: context.WithoutCancel(r.ctx), cache: &s.wc, pending: &pending}); err != nil {
			errs[i] = err
			if !savepoints && len(batch) > 1 {
				tx.Rollback()
				return false
			}
			if savepoints {
				if _, rerr := t.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
					errs[i] = errors.Join(err, rerr)
				}
			}
		} else {
			ok++
		}
		if savepoints {
			if _, err := t.ExecContext(ctx, "RELEASE w"); err != nil && errs[i] == nil {
				errs[i] = err
			}
		}
	}
	if ok > 0 {
		err = tx.Commit()
		if s.onCommit != nil {
			s.onCommit(len(batch))
		}
	} else {
		err = tx.Rollback()
	}
	for i, r := range batch {
		if errs[i] == nil && err != nil {
			errs[i] = err
		}
		r.done <- dbErr(errs[i])
	}
	for _, q := range pending {
		s.wc.get(ctx, q) // a failure only means the statement stays unprepared
	}
	return true
}

// dbErr maps driver errors to domain kinds by SQLite result code.
func dbErr(err error) error {
	if err == nil || iamd.KindOf(err) != iamd.Internal {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return &iamd.Error{Kind: iamd.Unavailable, Message: "The database is unavailable.", Err: err}
		}
	}
	return err
}

func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// Backup writes a consistent copy of the database at path to the new file
// to (VACUUM INTO, on a read-only connection of its own), while a server
// may be using the database. The copy is a plain SQLite database of the
// same schema; its secrets open with the same master key.
func Backup(ctx context.Context, path, to string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if _, err := os.Stat(to); err == nil {
		return fmt.Errorf("sqlite: %s exists: back up to a new file", to)
	}
	// Commits sync with fdatasync(2), as SQLite built for Linux does: the
	// file's data and size reach the disk just as with fsync(2), without
	// the timestamp update that, on ext4, costs a journal commit each time.
	// Where the call does not exist, fsync stays.
	sqlite.Fdatasync(true)
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("mode", "ro")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", to); err != nil {
		os.Remove(to)
		return fmt.Errorf("sqlite: backup of %s: %w", path, err)
	}
	return nil
}
