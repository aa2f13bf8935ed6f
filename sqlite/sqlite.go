// Package sqlite implements iamd.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go). Writes go through one connection in WAL mode
// with synchronous=FULL, so a method that returns nil has its commit on disk;
// reads use a separate pool and never wait for writes.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"iamd"
	"iamd/internal/sqliam"
	"iamd/internal/sqlkit"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an iamd.Store backed by one SQLite file.
type Store struct {
	*sqliam.Store // groups and policies

	w  *sql.DB // one connection, used only by the writer goroutine
	r  *sql.DB // readers
	wc stmtCache
	rc stmtCache

	writes     chan *writeReq
	closed     chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

var _ iamd.Store = (*Store)(nil)

// Options tune durability.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: "FULL" (default) fsyncs
	// every commit; "NORMAL" survives a process crash but may lose the last
	// commits on power loss.
	Synchronous string
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
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn+"&mode=ro")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{w: w, r: r, wc: stmtCache{db: w}, rc: stmtCache{db: r},
		writes: make(chan *writeReq), closed: make(chan struct{}), writerDone: make(chan struct{})}
	if err := s.migrate(context.Background()); err != nil {
		close(s.writerDone)
		s.Close()
		return nil, err
	}
	s.Store = sqliam.New(s.policyDB())
	go s.writer()
	return s, nil
}

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

// writeReq is one write waiting for the writer goroutine.
type writeReq struct {
	ctx  context.Context
	fn   func(wtx) error
	done chan error
}

// maxBatch bounds how many writes share one commit.
const maxBatch = 128

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
	for {
		select {
		case req := <-s.writes:
			batch = append(batch[:0], req)
		case <-s.closed:
			return
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
		s.commit(batch)
	}
}

// commit runs a batch of writes in one transaction.
func (s *Store) commit(batch []*writeReq) {
	errs := make([]error, len(batch))
	var pending []string
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			r.done <- dbErr(err)
		}
		return
	}
	t := wtx{Tx: tx, ctx: ctx, cache: &s.wc, pending: &pending}
	// A write alone in its batch needs no savepoint: its failure rolls
	// back the whole transaction.
	savepoints := len(batch) > 1
	ok := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if savepoints {
			if _, err := t.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				errs[i] = err
				continue
			}
		}
		if err := r.fn(wtx{Tx: tx, ctx: r.ctx, cache: &s.wc, pending: &pending}); err != nil {
			errs[i] = err
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

// Init records the account on first use.
func (s *Store) Init(ctx context.Context, a iamd.Account) (iamd.Account, error) {
	err := s.write(ctx, func(tx wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta(k, v) VALUES ('account_id', ?), ('account_created_at', ?), ('key_check', ?) ON CONFLICT(k) DO NOTHING`,
			a.ID, strconv.FormatInt(sqlkit.MS(a.CreatedAt), 10), base64.StdEncoding.EncodeToString(a.KeyCheck))
		return err
	})
	if err != nil {
		return iamd.Account{}, err
	}
	var id, created, check string
	if err := s.readRow(ctx, `SELECT (SELECT v FROM meta WHERE k='account_id'), (SELECT v FROM meta WHERE k='account_created_at'), (SELECT v FROM meta WHERE k='key_check')`).Scan(&id, &created, &check); err != nil {
		return iamd.Account{}, dbErr(err)
	}
	keyCheck, err := base64.StdEncoding.DecodeString(check)
	if err != nil {
		return iamd.Account{}, fmt.Errorf("sqlite: corrupt key_check: %w", err)
	}
	c, err := strconv.ParseInt(created, 10, 64)
	if err != nil {
		return iamd.Account{}, fmt.Errorf("sqlite: corrupt account_created_at %q", created)
	}
	return iamd.Account{ID: id, CreatedAt: sqlkit.FromMS(c), KeyCheck: keyCheck}, nil
}

// ---- users ----

func (s *Store) CreateUser(ctx context.Context, u *iamd.User) error {
	err := s.write(ctx, func(tx wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users(`+sqlkit.UserCols+`, name_fold) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.Name, u.Path, sqlkit.MS(u.CreatedAt), sqlkit.TagsJSON(u.Tags), iamd.FoldName(u.Name))
		if isUnique(err) {
			return iamd.UserExists(u.Name)
		}
		return err
	})
	return err
}

func (s *Store) GetUser(ctx context.Context, name string) (*iamd.User, error) {
	u, err := sqlkit.ScanUser(s.readRow(ctx, `SELECT `+sqlkit.UserCols+` FROM users WHERE name_fold = ?`, iamd.FoldName(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, iamd.UserNotFound(name)
	}
	return u, dbErr(err)
}

func (s *Store) ListUsers(ctx context.Context, pathPrefix string, p iamd.Page) ([]*iamd.User, string, error) {
	after := ""
	if p.Marker != "" {
		var err error
		if after, err = sqlkit.DecodeMarker(p.Marker); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.readRows(ctx, `SELECT `+sqlkit.UserCols+` FROM users
		WHERE name_fold > ? AND substr(path, 1, ?) = ? ORDER BY name_fold LIMIT ?`,
		after, len(pathPrefix), pathPrefix, p.MaxItems+1)
	if err != nil {
		return nil, "", dbErr(err)
	}
	defer rows.Close()
	var out []*iamd.User
	for rows.Next() {
		u, err := sqlkit.ScanUser(rows)
		if err != nil {
			return nil, "", dbErr(err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", dbErr(err)
	}
	next := ""
	if len(out) > p.MaxItems {
		out = out[:p.MaxItems]
		next = sqlkit.EncodeMarker(iamd.FoldName(out[len(out)-1].Name))
	}
	return out, next, nil
}

func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.write(ctx, func(tx wtx) error {
		var id string
		var keys int
		err := tx.QueryRowContext(ctx, `SELECT id, (SELECT count(*) FROM access_keys WHERE owner_kind = 0 AND owner_id = users.id) FROM users WHERE name_fold = ?`,
			iamd.FoldName(name)).Scan(&id, &keys)
		if errors.Is(err, sql.ErrNoRows) {
			return iamd.UserNotFound(name)
		}
		if err != nil {
			return err
		}
		if keys > 0 {
			return iamd.UserHasKeys()
		}
		if err := s.UserDependents(ctx, writeQ{tx}, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		return err
	})
}

// ---- access keys ----

type queryer interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// ownerID resolves an owner to (kind, owner_id), filling the stored
// spelling of its name. The root has owner_id NULL.
func ownerID(ctx context.Context, q queryer, o *iamd.Owner) (int, sql.NullString, error) {
	var query string
	switch o.Kind {
	case iamd.OwnerRoot:
		return 1, sql.NullString{}, nil
	case iamd.OwnerUser:
		query = `SELECT id, name FROM users WHERE name_fold = ?`
	case iamd.OwnerBucket:
		query = `SELECT id, name FROM buckets WHERE name = ?`
	}
	key := o.Name
	if o.Kind == iamd.OwnerUser {
		key = iamd.FoldName(o.Name)
	}
	var id, name string
	err := q.QueryRowContext(ctx, query, key).Scan(&id, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, sql.NullString{}, iamd.OwnerNotFound(*o)
	}
	if err != nil {
		return 0, sql.NullString{}, err
	}
	o.Name = name
	return int(o.Kind), sql.NullString{String: id, Valid: true}, nil
}

// ownerKeys resolves an owner as ownerID does and counts its keys, in one
// statement.
func ownerKeys(ctx context.Context, q queryer, o *iamd.Owner) (int, sql.NullString, int, error) {
	var query, key string
	switch o.Kind {
	case iamd.OwnerRoot:
		var n int
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM access_keys WHERE owner_kind = 1`).Scan(&n)
		return 1, sql.NullString{}, n, err
	case iamd.OwnerUser:
		query = `SELECT id, name, (SELECT count(*) FROM access_keys WHERE owner_kind = 0 AND owner_id = users.id) FROM users WHERE name_fold = ?`
		key = iamd.FoldName(o.Name)
	case iamd.OwnerBucket:
		query = `SELECT id, name, (SELECT count(*) FROM access_keys WHERE owner_kind = 2 AND owner_id = buckets.id) FROM buckets WHERE name = ?`
		key = o.Name
	}
	var id, name string
	var n int
	err := q.QueryRowContext(ctx, query, key).Scan(&id, &name, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, sql.NullString{}, 0, iamd.OwnerNotFound(*o)
	}
	if err != nil {
		return 0, sql.NullString{}, 0, err
	}
	o.Name = name
	return int(o.Kind), sql.NullString{String: id, Valid: true}, n, nil
}

func (s *Store) CreateAccessKey(ctx context.Context, k *iamd.AccessKey, limit int) error {
	return s.write(ctx, func(tx wtx) error {
		kind, uid, n, err := ownerKeys(ctx, tx, &k.Owner)
		if err != nil {
			return err
		}
		if n >= limit {
			return iamd.KeyLimit(k.Owner, limit)
		}
		var gone int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deleted_access_keys WHERE id = ?`, k.ID).Scan(&gone); err != nil || gone > 0 {
			return cmp.Or(err, error(iamd.KeyDeleted(k.ID)))
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO access_keys(id, owner_kind, owner_id, status, created_at, secret) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, kind, uid, string(k.Status), sqlkit.MS(k.CreatedAt), k.SealedSecret)
		if isUnique(err) {
			return iamd.Errorf(iamd.Conflict, "Access key %s already exists.", k.ID)
		}
		if kind == int(iamd.OwnerUser) {
			k.UserID = uid.String
		}
		return err
	})
}

func (s *Store) GetCredential(ctx context.Context, id string) (*iamd.Credential, error) {
	var c iamd.Credential
	var kind int
	var ownerID sql.NullString
	var created int64
	var lu sqlkit.LastUsed
	err := s.readRow(ctx, `SELECT owner_kind, owner_id, status, created_at, secret, last_used_at, last_used_region, last_used_service
		FROM access_keys WHERE id = ?`, id).Scan(&kind, &ownerID, &c.Key.Status, &created, &c.Key.SealedSecret, &lu.At, &lu.Region, &lu.Service)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, iamd.KeyNotFound(id)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	c.Key.ID = id
	c.Key.CreatedAt = sqlkit.FromMS(created)
	c.Key.LastUsed = lu.Value()
	switch iamd.OwnerKind(kind) {
	case iamd.OwnerRoot:
		c.Key.Owner = iamd.RootOwner
	case iamd.OwnerUser:
		c.User, err = sqlkit.ScanUser(s.readRow(ctx, `SELECT `+sqlkit.UserCols+` FROM users WHERE id = ?`, ownerID.String))
		if err != nil {
			return nil, dbErr(err)
		}
		c.Key.Owner = iamd.UserOwner(c.User.Name)
		c.Key.UserID = c.User.ID
	case iamd.OwnerBucket:
		c.Bucket, err = sqlkit.ScanBucket(s.readRow(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE id = ?`, ownerID.String))
		if err != nil {
			return nil, dbErr(err)
		}
		c.Key.Owner = iamd.BucketOwner(c.Bucket.Name)
	default:
		return nil, fmt.Errorf("sqlite: key %s has unknown owner kind %d", id, kind)
	}
	return &c, nil
}

func (s *Store) ListAccessKeys(ctx context.Context, owner iamd.Owner, p iamd.Page) ([]*iamd.AccessKey, string, error) {
	var afterAt int64 = -1
	afterID := ""
	if p.Marker != "" {
		var err error
		if afterAt, afterID, err = sqlkit.DecodeTimeIDMarker(p.Marker); err != nil {
			return nil, "", err
		}
	}
	// One statement resolves the owner and lists its keys: a row per key,
	// or one row of NULL key columns when it has none, or no row when the
	// owner does not exist (the root always exists: one row of meta).
	var q string
	key := owner.Name
	switch owner.Kind {
	case iamd.OwnerRoot:
		q = `SELECT NULL, '', k.id, k.status, k.created_at, k.last_used_at, k.last_used_region, k.last_used_service
			FROM meta o LEFT JOIN access_keys k ON k.owner_kind = 1`
		key = "account_id"
	case iamd.OwnerUser:
		q = `SELECT o.id, o.name, k.id, k.status, k.created_at, k.last_used_at, k.last_used_region, k.last_used_service
			FROM users o LEFT JOIN access_keys k ON k.owner_kind = 0 AND k.owner_id = o.id`
		key = iamd.FoldName(owner.Name)
	case iamd.OwnerBucket:
		q = `SELECT o.id, o.name, k.id, k.status, k.created_at, k.last_used_at, k.last_used_region, k.last_used_service
			FROM buckets o LEFT JOIN access_keys k ON k.owner_kind = 2 AND k.owner_id = o.id`
	}
	keyCol := map[iamd.OwnerKind]string{iamd.OwnerRoot: "o.k", iamd.OwnerUser: "o.name_fold", iamd.OwnerBucket: "o.name"}[owner.Kind]
	rows, err := s.readRows(ctx, q+` AND (k.created_at > ? OR (k.created_at = ? AND k.id > ?))
		WHERE `+keyCol+` = ? ORDER BY k.created_at, k.id LIMIT ?`, afterAt, afterAt, afterID, key, p.MaxItems+1)
	if err != nil {
		return nil, "", dbErr(err)
	}
	defer rows.Close()
	var out []*iamd.AccessKey
	found := false
	for rows.Next() {
		found = true
		var ownerID sql.NullString
		var name string
		var id, status sql.NullString
		var created sql.NullInt64
		var lu sqlkit.LastUsed
		if err := rows.Scan(&ownerID, &name, &id, &status, &created, &lu.At, &lu.Region, &lu.Service); err != nil {
			return nil, "", dbErr(err)
		}
		if owner.Kind != iamd.OwnerRoot {
			owner.Name = name
		}
		if !id.Valid {
			continue // the owner has no (more) keys
		}
		k := &iamd.AccessKey{ID: id.String, Owner: owner, Status: iamd.KeyStatus(status.String), CreatedAt: sqlkit.FromMS(created.Int64), LastUsed: lu.Value()}
		if owner.Kind == iamd.OwnerUser {
			k.UserID = ownerID.String
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", dbErr(err)
	}
	if !found {
		return nil, "", iamd.OwnerNotFound(owner)
	}
	for _, k := range out {
		k.Owner = owner
	}
	next := ""
	if len(out) > p.MaxItems {
		out = out[:p.MaxItems]
		last := out[len(out)-1]
		next = sqlkit.TimeIDMarker(last.CreatedAt, last.ID)
	}
	return out, next, nil
}

// ownerMatch is the condition that an access_keys row belongs to the
// owner: its placeholders take ownerArgs.
func ownerMatch(o iamd.Owner) (string, []any) {
	switch o.Kind {
	case iamd.OwnerRoot:
		return `owner_kind = 1`, nil
	case iamd.OwnerBucket:
		return `owner_kind = 2 AND owner_id = (SELECT id FROM buckets WHERE name = ?)`, []any{o.Name}
	}
	return `owner_kind = 0 AND owner_id = (SELECT id FROM users WHERE name_fold = ?)`, []any{iamd.FoldName(o.Name)}
}

// changeKey runs stmt, whose WHERE clause ends with the owner condition,
// and reports NotFound when no key of that owner matched: the owner's if it
// does not exist, else the key's.
func (s *Store) changeKey(ctx context.Context, owner iamd.Owner, stmt string, args ...any) error {
	cond, ownerArgs := ownerMatch(owner)
	id := args[len(args)-1].(string)
	return s.write(ctx, func(tx wtx) error {
		res, err := tx.ExecContext(ctx, stmt+cond, append(args, ownerArgs...)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		if _, _, err := ownerID(ctx, tx, &owner); err != nil {
			return err
		}
		return iamd.KeyNotFound(id)
	})
}

func (s *Store) UpdateAccessKey(ctx context.Context, owner iamd.Owner, id string, status iamd.KeyStatus) error {
	return s.changeKey(ctx, owner, `UPDATE access_keys SET status = ? WHERE id = ? AND `, string(status), id)
}

func (s *Store) DeleteAccessKey(ctx context.Context, owner iamd.Owner, id string) error {
	return s.changeKey(ctx, owner, `DELETE FROM access_keys WHERE id = ? AND `, id)
}

func (s *Store) RecordKeyUse(ctx context.Context, uses []iamd.KeyUse) error {
	if len(uses) == 0 {
		return nil
	}
	return s.write(ctx, func(tx wtx) error {
		for _, u := range uses {
			at := sqlkit.MS(u.At)
			if _, err := tx.ExecContext(ctx, `UPDATE access_keys SET last_used_at = ?, last_used_region = ?, last_used_service = ?
				WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, at, u.Region, u.Service, u.AccessKeyID, at); err != nil {
				return err
			}
		}
		return nil
	})
}
