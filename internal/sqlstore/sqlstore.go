// Package sqlstore implements iamd.Store once for both SQL engines: every
// table and query is written here once (users, access keys, buckets,
// operations, groups, managed and inline policies, roles). Its SQL is the
// dialect SQLite and PostgreSQL share ($n placeholders, ON CONFLICT,
// COALESCE, IS NOT DISTINCT FROM); a store supplies what really differs:
// its connections and transactions, its error mapping, the FOR UPDATE
// clause where rows are locked, how other nodes hear of changes, and its
// migrations.
package sqlstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"iamd"
	"iamd/internal/sqlkit"
)

// Rows is what both drivers' result sets offer.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Q runs statements: a store's read connection or write transaction.
type Q interface {
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	QueryRow(ctx context.Context, q string, args ...any) sqlkit.Row
	Query(ctx context.Context, q string, args ...any) (Rows, error)
}

// DB is what a store gives the shared implementation.
type DB struct {
	// Read returns a Q for reads and the context to use with it; release
	// ends the read.
	Read func(ctx context.Context) (context.Context, Q, context.CancelFunc)
	// Write runs fn in a transaction and commits it; its error is already
	// mapped to domain kinds.
	Write func(ctx context.Context, fn func(Q) error) error
	// Lock is appended to a SELECT of a row the transaction must hold
	// until it ends (" FOR UPDATE"), or "" where writes are serialized.
	Lock string
	// NoRows is the driver's error for a single-row query without a row.
	NoRows error
	// IsUnique reports a unique-constraint violation.
	IsUnique func(error) bool
	// Err maps a driver error of a read to domain kinds.
	Err func(error) error
	// View, if set, runs fn in a read-only transaction that sees one
	// consistent state of the database (the change log and the records
	// of the same moment); without it reads go to Read.
	View func(ctx context.Context, fn func(context.Context, Q) error) error
	// Log is whether writes are written to the change log: always on
	// PostgreSQL, whose nodes follow it; on SQLite only when a replica
	// does (a SQLite database is one node's own).
	Log bool
	// LockLog, if set, is the statement that makes a transaction the only
	// one writing the change log until it ends, run before its entries are
	// numbered; "" where writes are serialized anyway.
	LockLog string
	// Logged, if set, runs in every transaction that logged changes, after
	// the entries are written (to wake other nodes: NOTIFY).
	Logged func(ctx context.Context, q Q) error
}

// Store implements iamd.Store, but for Close, on a DB, for one account.
//
// Several accounts share the database. A name is unique within its
// account: the tables keep it under the key nameKey returns, the
// account's ID, "/" and the folded name, so that one unique index keeps
// names apart per account and one index range holds an account's names.
// Keys, buckets and operations, whose IDs and names are the deployment's,
// name their account where their owner does not.
type Store struct {
	db    DB
	in    string // the account of a Store made by In; "" for the deployment's first
	hooks *hooks
}

// hooks are what every account's Store of one database shares.
type hooks struct {
	failed    atomic.Pointer[func(iamd.Kind)]
	committed atomic.Pointer[func(context.Context, *iamd.Delta)]
	first     atomic.Pointer[string] // the first account's ID, once known
}

// In returns the Store of the account of that ID in the same database.
func (s *Store) In(account string) *Store { return &Store{db: s.db, in: account, hooks: s.hooks} }

// acct is the ID of the account s serves: for the deployment's Store, the
// one recorded (see Init and Recall), "" before.
func (s *Store) acct() string {
	if s.in != "" {
		return s.in
	}
	if p := s.hooks.first.Load(); p != nil {
		return *p
	}
	return ""
}

// Recall has the deployment's Store serve the account the database
// recorded at Init, when there is one: a store calls it once it reaches
// the database.
func (s *Store) Recall(ctx context.Context) error {
	return s.read(ctx, func(ctx context.Context, q Q) error {
		a, err := readAccount(ctx, q)
		if errors.Is(err, errNoAccount) {
			return nil
		}
		if err == nil {
			s.hooks.first.Store(&a.ID)
		}
		return err
	})
}

// nameKey is the key name is unique under: see Store.
func (s *Store) nameKey(name string) string { return s.acct() + "/" + iamd.FoldName(name) }

// lo and hi bound the keys of the account's names: every one is above lo
// and below hi ('0' follows '/'), in byte order.
func (s *Store) lo() string { return s.acct() + "/" }
func (s *Store) hi() string { return s.acct() + "0" }

// span is where a listing by name starts, after its marker's name, and
// where it ends.
func (s *Store) span(p iamd.Page) (from, to string, err error) {
	m, err := after(p)
	return s.lo() + m, s.hi(), err
}

// OnFailure has f told of every call that fails in the store itself
// (Unavailable or Internal; not NotFound and the like), for metrics.
func (s *Store) OnFailure(f func(iamd.Kind)) { s.hooks.failed.Store(&f) }

// fail tells OnFailure's function of err if the store failed, and
// returns err.
func (s *Store) fail(err error) error {
	if err == nil {
		return nil
	}
	if k := iamd.KindOf(err); k == iamd.Internal || k == iamd.Unavailable {
		if f := s.hooks.failed.Load(); f != nil {
			(*f)(k)
		}
	}
	return err
}

// writeTx is a write transaction's Q with the changes it logs.
type writeTx struct {
	Q
	changes []iamd.LogEntry
	gone    map[iamd.LogEntry]bool // deleted in it: no record to read back
}

// logChange records that the transaction of q changes entity id of kind:
// the entry is written at the end of the transaction (see write).
func logChange(q Q, kind iamd.ChangeKind, id string) {
	w := q.(*writeTx)
	for _, c := range w.changes {
		if c.Kind == kind && c.ID == id {
			return
		}
	}
	w.changes = append(w.changes, iamd.LogEntry{Kind: kind, ID: id})
}

// logGone is logChange for an entity the transaction deletes.
func logGone(q Q, kind iamd.ChangeKind, id string) {
	logChange(q, kind, id)
	w := q.(*writeTx)
	if w.gone == nil {
		w.gone = map[iamd.LogEntry]bool{}
	}
	w.gone[iamd.LogEntry{Kind: kind, ID: id}] = true
}

// write runs fn in a write transaction. The changes fn logged are written
// to the change log at its end, under the next sequence numbers: the log
// stays locked (LockLog) until the commit, so entries are numbered in
// commit order without gaps. Once committed, OnCommit's function is told.
func (s *Store) write(ctx context.Context, fn func(Q) error) error {
	var logged *iamd.Delta
	err := s.db.Write(ctx, func(q Q) error {
		w := &writeTx{Q: q}
		logged = nil // a retried transaction starts over
		if err := fn(w); err != nil {
			return err
		}
		if len(w.changes) == 0 || !s.db.Log {
			return nil
		}
		if s.db.LockLog != "" {
			if _, err := q.Exec(ctx, s.db.LockLog); err != nil {
				return err
			}
		}
		var seq int64
		if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM change_log`).Scan(&seq); err != nil {
			return err
		}
		at := time.Now().UTC().Truncate(time.Millisecond)
		for i := range w.changes {
			c := &w.changes[i]
			seq++
			c.Seq, c.At = seq, at
			if _, err := q.Exec(ctx, `INSERT INTO change_log(seq, kind, id, at) VALUES ($1, $2, $3, $4)`, c.Seq, string(c.Kind), c.ID, sqlkit.MS(at)); err != nil {
				return err
			}
		}
		last := w.changes[len(w.changes)-1].Seq
		if first := w.changes[0].Seq; first/pruneEvery != last/pruneEvery || first%pruneEvery == 0 {
			// Now and then, entries past the log's retention go.
			if _, err := q.Exec(ctx, `DELETE FROM change_log WHERE seq <= $1 AND at < $2`, last-LogKeep, sqlkit.MS(at.Add(-LogRetention))); err != nil {
				return err
			}
		}
		if s.db.Logged != nil {
			if err := s.db.Logged(ctx, q); err != nil {
				return err
			}
		}
		if f := s.hooks.committed.Load(); f != nil {
			// What the entries name, as this transaction leaves it.
			d := &iamd.Delta{Entries: w.changes}
			named := map[iamd.ChangeKind][]string{}
			for _, c := range w.changes {
				if c.Kind == iamd.ChangeAll {
					named = nil
					break
				}
				if !w.gone[iamd.LogEntry{Kind: c.Kind, ID: c.ID}] {
					named[c.Kind] = append(named[c.Kind], c.ID)
				}
			}
			if named != nil {
				if err := loadRecords(ctx, q, &d.Records, named); err != nil {
					return err
				}
			}
			logged = d
		}
		return nil
	})
	if err == nil && logged != nil {
		if f := s.hooks.committed.Load(); f != nil {
			(*f)(ctx, logged)
		}
	}
	return s.fail(err)
}

// The change log keeps its entries for LogRetention, and the last LogKeep
// of them whatever their age; they are pruned every pruneEvery entries. A
// replica whose position is older than what is kept loads in full.
const (
	LogRetention = 7 * 24 * time.Hour
	LogKeep      = 10000
	pruneEvery   = 1000
)

// OnCommit has fn told of every commit's log entries, before the write
// returns (see iamd.ChangeLog).
func (s *Store) OnCommit(fn func(context.Context, *iamd.Delta)) { s.hooks.committed.Store(&fn) }

// New returns the Store of db.
func New(db DB) *Store { return &Store{db: db, hooks: &hooks{}} }

// entity_kind values.
const (
	kindUser  = 0
	kindGroup = 1
	kindRole  = 2
)

func entityTable(k iamd.EntityKind) (string, int) {
	switch k {
	case iamd.EntityGroup:
		return "iam_groups", kindGroup
	case iamd.EntityRole:
		return "iam_roles", kindRole
	}
	return "users", kindUser
}

// entityChange is the change-log kind of an entity of kind k.
func entityChange(k iamd.EntityKind) iamd.ChangeKind {
	switch k {
	case iamd.EntityGroup:
		return iamd.ChangeGroup
	case iamd.EntityRole:
		return iamd.ChangeRole
	}
	return iamd.ChangeUser
}

// entityID resolves e to its row ID, locking the row when lock is set.
func (s *Store) entityID(ctx context.Context, q Q, e iamd.Entity, lock bool) (string, error) {
	table, _ := entityTable(e.Kind)
	suffix := ""
	if lock {
		suffix = s.db.Lock
	}
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM `+table+` WHERE name_fold = $1`+suffix, s.nameKey(e.Name)).Scan(&id)
	if errors.Is(err, s.db.NoRows) {
		return "", iamd.EntityNotFound(e)
	}
	return id, err
}

// read runs fn on a read connection.
func (s *Store) read(ctx context.Context, fn func(context.Context, Q) error) error {
	ctx, q, release := s.db.Read(ctx)
	defer release()
	err := fn(ctx, q)
	if iamd.KindOf(err) == iamd.Internal {
		err = s.db.Err(err)
	}
	return s.fail(err)
}

// collect reads every row with scan.
func collect[T any](rows Rows, err error, scan func(sqlkit.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// page cuts a result fetched with LIMIT MaxItems+1 to the page and
// returns the marker of the next one.
func page[T any](items []T, p iamd.Page, key func(T) string) ([]T, string) {
	if len(items) <= p.MaxItems {
		return items, ""
	}
	items = items[:p.MaxItems]
	return items, sqlkit.EncodeMarker(key(items[len(items)-1]))
}

func after(p iamd.Page) (string, error) {
	if p.Marker == "" {
		return "", nil
	}
	return sqlkit.DecodeMarker(p.Marker)
}

// listByPath lists the entities of table (users, groups, roles) whose path
// starts with prefix, by folded name, a page at a time.
func listByPath[T any](ctx context.Context, s *Store, table, cols string, scan func(sqlkit.Row) (T, error), key func(T) string,
	prefix string, p iamd.Page) (items []T, next string, err error) {
	from, to, err := s.span(p)
	if err != nil {
		return nil, "", err
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		rows, err := q.Query(ctx, `SELECT `+cols+` FROM `+table+` WHERE name_fold > $1 AND name_fold < $5 AND substr(path, 1, $2) = $3 ORDER BY name_fold LIMIT $4`,
			from, len(prefix), prefix, p.MaxItems+1, to)
		items, err = collect(rows, err, scan)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	items, next = page(items, p, key)
	return items, next, nil
}

// getByName reads the entity of table whose folded name is name's.
func getByName[T any](ctx context.Context, s *Store, table, cols string, scan func(sqlkit.Row) (T, error), name string,
	notFound func(string) *iamd.Error) (v T, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		v, err = scan(q.QueryRow(ctx, `SELECT `+cols+` FROM `+table+` WHERE name_fold = $1`, s.nameKey(name)))
		if errors.Is(err, s.db.NoRows) {
			return notFound(name)
		}
		return err
	})
	return v, err
}
