// Package postgres implements iamd.Store on PostgreSQL (pgx), for several
// stateless iamd nodes sharing one database. Per-owner key limits hold
// across nodes by locking the owner's row in the writing transaction; key
// changes are announced with NOTIFY so that every node drops its cached
// credential at once.
package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"iamd"
	"iamd/internal/sqliam"
	"iamd/internal/sqlkit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// channel is the NOTIFY channel of changes: the payload is the ID of an
// access key updated or deleted, or policiesChanged.
const channel = "iamd_keys"

// policiesChanged is the payload announcing that what some user may do
// changed; it cannot be an access key ID.
const policiesChanged = "*"

// opTimeout bounds every database call, so that an outage fails requests
// instead of hanging them.
const opTimeout = 5 * time.Second

// Store is an iamd.Store on a PostgreSQL database.
type Store struct {
	*sqliam.Store // groups and policies

	pool *pgxpool.Pool
	cfg  *pgx.ConnConfig
}

var (
	_ iamd.Store      = (*Store)(nil)
	_ iamd.KeyWatcher = (*Store)(nil)
)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string). With migrate, it applies the embedded migrations; without, it
// requires the schema to be current. Either way it refuses a schema newer
// than this build knows.
func Open(ctx context.Context, dsn string, migrate bool) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("postgres: the connection string is malformed") // the error may quote a password
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, cfg: cfg.ConnConfig}
	s.Store = sqliam.New(s.policyDB())
	if err := s.checkSchema(ctx, migrate); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(names)
}

func (s *Store) checkSchema(ctx context.Context, migrate bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer tx.Rollback(ctx)
	// One node migrates at a time; the others wait here and then see the result.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7266178)`); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&have); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	switch {
	case have > len(names):
		return fmt.Errorf("postgres: database schema version %d is newer than this iamd knows (%d); upgrade iamd", have, len(names))
	case have == len(names):
		return nil
	case !migrate:
		return fmt.Errorf("postgres: database schema version %d is older than this iamd's (%d); run iamd migrate", have, len(names))
	}
	for i := have; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", names[i], err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM schema_version; INSERT INTO schema_version VALUES (`+fmt.Sprint(len(names))+`)`); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return tx.Commit(ctx)
}

// dbErr maps driver errors to domain kinds by SQLSTATE: lost connections,
// timeouts and a server shutting down are Unavailable.
func dbErr(err error) error {
	if err == nil || iamd.KindOf(err) != iamd.Internal {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57P"):
			return unavailable(err)
		}
		return err
	}
	// Anything else is a failure to reach the server or a deadline.
	return unavailable(err)
}

func unavailable(err error) error {
	return &iamd.Error{Kind: iamd.Unavailable, Message: "The database is unavailable.", Err: err}
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func isSerialization(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// write runs fn in a transaction and commits it, retrying a few times on
// serialization failures and deadlocks.
func (s *Store) write(ctx context.Context, fn func(pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if isSerialization(err) && attempt < 3 {
			continue
		}
		return dbErr(err)
	}
}

func (s *Store) read(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, opTimeout)
}

// Init records the account on first use.
func (s *Store) Init(ctx context.Context, a iamd.Account) (iamd.Account, error) {
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO meta(k, v) VALUES ('account_id', $1), ('account_created_at', $2), ('key_check', encode($3::bytea, 'base64'))
			ON CONFLICT (k) DO NOTHING`, a.ID, fmt.Sprint(sqlkit.MS(a.CreatedAt)), a.KeyCheck)
		return err
	})
	if err != nil {
		return iamd.Account{}, err
	}
	ctx, cancel := s.read(ctx)
	defer cancel()
	var out iamd.Account
	var created int64
	err = s.pool.QueryRow(ctx, `SELECT (SELECT v FROM meta WHERE k = 'account_id'), (SELECT v FROM meta WHERE k = 'account_created_at')::bigint,
		decode((SELECT v FROM meta WHERE k = 'key_check'), 'base64')`).Scan(&out.ID, &created, &out.KeyCheck)
	if err != nil {
		return iamd.Account{}, dbErr(err)
	}
	out.CreatedAt = sqlkit.FromMS(created)
	return out, nil
}

// ---- users ----

func (s *Store) CreateUser(ctx context.Context, u *iamd.User) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users(`+sqlkit.UserCols+`, name_fold) VALUES ($1, $2, $3, $4, $5, $6)`,
			u.ID, u.Name, u.Path, sqlkit.MS(u.CreatedAt), sqlkit.TagsJSON(u.Tags), iamd.FoldName(u.Name))
		if isUnique(err) {
			return iamd.UserExists(u.Name)
		}
		return err
	})
}

func (s *Store) GetUser(ctx context.Context, name string) (*iamd.User, error) {
	ctx, cancel := s.read(ctx)
	defer cancel()
	u, err := sqlkit.ScanUser(s.pool.QueryRow(ctx, `SELECT `+sqlkit.UserCols+` FROM users WHERE name_fold = $1`, iamd.FoldName(name)))
	if errors.Is(err, pgx.ErrNoRows) {
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
	ctx, cancel := s.read(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+sqlkit.UserCols+` FROM users
		WHERE name_fold > $1 AND substr(path, 1, $2) = $3 ORDER BY name_fold LIMIT $4`,
		after, len(pathPrefix), pathPrefix, p.MaxItems+1)
	if err != nil {
		return nil, "", dbErr(err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iamd.User, error) { return sqlkit.ScanUser(r) })
	if err != nil {
		return nil, "", dbErr(err)
	}
	next := ""
	if len(users) > p.MaxItems {
		users = users[:p.MaxItems]
		next = sqlkit.EncodeMarker(iamd.FoldName(users[len(users)-1].Name))
	}
	return users, next, nil
}

func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE name_fold = $1 FOR UPDATE`, iamd.FoldName(name)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return iamd.UserNotFound(name)
		}
		if err != nil {
			return err
		}
		var keys int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM access_keys WHERE owner_kind = 0 AND owner_id = $1`, id).Scan(&keys); err != nil {
			return err
		}
		if keys > 0 {
			return iamd.UserHasKeys()
		}
		if err := s.UserDependents(ctx, pgQ{tx}, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		return err
	})
}

// ---- access keys ----

// lockOwner resolves an owner to (kind, owner_id) and, when lock is set,
// locks its row until the transaction ends: the root's lock is the
// account_id meta row. It fills the stored spelling of the owner's name.
func lockOwner(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, o *iamd.Owner, lock bool) (int, *string, error) {
	suffix := ""
	if lock {
		suffix = " FOR UPDATE"
	}
	var query string
	switch o.Kind {
	case iamd.OwnerRoot:
		if lock {
			if err := q.QueryRow(ctx, `SELECT k FROM meta WHERE k = 'account_id' FOR UPDATE`).Scan(new(string)); err != nil {
				return 0, nil, err
			}
		}
		return int(iamd.OwnerRoot), nil, nil
	case iamd.OwnerUser:
		query = `SELECT id, name FROM users WHERE name_fold = $1`
	case iamd.OwnerBucket:
		query = `SELECT id, name FROM buckets WHERE name = $1`
	}
	key := o.Name
	if o.Kind == iamd.OwnerUser {
		key = iamd.FoldName(o.Name)
	}
	var id, name string
	err := q.QueryRow(ctx, query+suffix, key).Scan(&id, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, iamd.OwnerNotFound(*o)
	}
	if err != nil {
		return 0, nil, err
	}
	o.Name = name
	return int(o.Kind), &id, nil
}

func (s *Store) CreateAccessKey(ctx context.Context, k *iamd.AccessKey, limit int) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		kind, oid, err := lockOwner(ctx, tx, &k.Owner, true)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM access_keys WHERE owner_kind = $1 AND owner_id IS NOT DISTINCT FROM $2`, kind, oid).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return iamd.KeyLimit(k.Owner, limit)
		}
		var gone int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM deleted_access_keys WHERE id = $1`, k.ID).Scan(&gone); err != nil || gone > 0 {
			return cmp.Or(err, error(iamd.KeyDeleted(k.ID)))
		}
		_, err = tx.Exec(ctx, `INSERT INTO access_keys(id, owner_kind, owner_id, status, created_at, secret) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, kind, oid, string(k.Status), sqlkit.MS(k.CreatedAt), k.SealedSecret)
		if isUnique(err) {
			return iamd.Errorf(iamd.Conflict, "Access key %s already exists.", k.ID)
		}
		if err == nil && k.Owner.Kind == iamd.OwnerUser {
			k.UserID = *oid
		}
		return err
	})
}

func (s *Store) GetCredential(ctx context.Context, id string) (*iamd.Credential, error) {
	ctx, cancel := s.read(ctx)
	defer cancel()
	var c iamd.Credential
	var kind int
	var ownerID *string
	var created int64
	var lu sqlkit.LastUsed
	err := s.pool.QueryRow(ctx, `SELECT owner_kind, owner_id, status, created_at, secret, last_used_at, last_used_region, last_used_service
		FROM access_keys WHERE id = $1`, id).Scan(&kind, &ownerID, &c.Key.Status, &created, &c.Key.SealedSecret, &lu.At, &lu.Region, &lu.Service)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, iamd.KeyNotFound(id)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	c.Key.ID = id
	c.Key.CreatedAt = sqlkit.FromMS(created)
	c.Key.LastUsed = lu.Value()
	var oid string // NULL only for the root
	if ownerID != nil {
		oid = *ownerID
	}
	switch iamd.OwnerKind(kind) {
	case iamd.OwnerRoot:
		c.Key.Owner = iamd.RootOwner
	case iamd.OwnerUser:
		if c.User, err = sqlkit.ScanUser(s.pool.QueryRow(ctx, `SELECT `+sqlkit.UserCols+` FROM users WHERE id = $1`, oid)); err != nil {
			return nil, dbErr(err)
		}
		c.Key.Owner = iamd.UserOwner(c.User.Name)
		c.Key.UserID = c.User.ID
	case iamd.OwnerBucket:
		if c.Bucket, err = sqlkit.ScanBucket(s.pool.QueryRow(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE id = $1`, oid)); err != nil {
			return nil, dbErr(err)
		}
		c.Key.Owner = iamd.BucketOwner(c.Bucket.Name)
	default:
		return nil, fmt.Errorf("postgres: key %s has unknown owner kind %d", id, kind)
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
	ctx, cancel := s.read(ctx)
	defer cancel()
	kind, oid, err := lockOwner(ctx, s.pool, &owner, false)
	if err != nil {
		return nil, "", dbErr(err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, status, created_at, last_used_at, last_used_region, last_used_service FROM access_keys
		WHERE owner_kind = $1 AND owner_id IS NOT DISTINCT FROM $2 AND (created_at > $3 OR (created_at = $3 AND id > $4))
		ORDER BY created_at, id LIMIT $5`, kind, oid, afterAt, afterID, p.MaxItems+1)
	if err != nil {
		return nil, "", dbErr(err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iamd.AccessKey, error) {
		k := &iamd.AccessKey{Owner: owner}
		if owner.Kind == iamd.OwnerUser {
			k.UserID = *oid
		}
		var created int64
		var lu sqlkit.LastUsed
		if err := r.Scan(&k.ID, &k.Status, &created, &lu.At, &lu.Region, &lu.Service); err != nil {
			return nil, err
		}
		k.CreatedAt = sqlkit.FromMS(created)
		k.LastUsed = lu.Value()
		return k, nil
	})
	if err != nil {
		return nil, "", dbErr(err)
	}
	next := ""
	if len(keys) > p.MaxItems {
		keys = keys[:p.MaxItems]
		last := keys[len(keys)-1]
		next = sqlkit.TimeIDMarker(last.CreatedAt, last.ID)
	}
	return keys, next, nil
}

// changeKey runs stmt ($1 the key ID, $2 and $3 its owner, more after) and
// announces the change to every node in the same transaction.
func (s *Store) changeKey(ctx context.Context, owner iamd.Owner, id, stmt string, args ...any) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		kind, oid, err := lockOwner(ctx, tx, &owner, false)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, stmt, append([]any{id, kind, oid}, args...)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return iamd.KeyNotFound(id)
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, id)
		return err
	})
}

func (s *Store) UpdateAccessKey(ctx context.Context, owner iamd.Owner, id string, status iamd.KeyStatus) error {
	return s.changeKey(ctx, owner, id, `UPDATE access_keys SET status = $4 WHERE id = $1 AND owner_kind = $2 AND owner_id IS NOT DISTINCT FROM $3`, string(status))
}

func (s *Store) DeleteAccessKey(ctx context.Context, owner iamd.Owner, id string) error {
	return s.changeKey(ctx, owner, id, `DELETE FROM access_keys WHERE id = $1 AND owner_kind = $2 AND owner_id IS NOT DISTINCT FROM $3`)
}

// RecordKeyUse writes a batch in one statement. Rows are updated in ID
// order so that two nodes' batches cannot deadlock, and a use older than
// the stored one is ignored, so no node's update is lost to another's.
func (s *Store) RecordKeyUse(ctx context.Context, uses []iamd.KeyUse) error {
	if len(uses) == 0 {
		return nil
	}
	sorted := append([]iamd.KeyUse(nil), uses...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].AccessKeyID < sorted[j].AccessKeyID })
	ids := make([]string, len(sorted))
	ats := make([]int64, len(sorted))
	regions := make([]string, len(sorted))
	services := make([]string, len(sorted))
	for i, u := range sorted {
		ids[i], ats[i], regions[i], services[i] = u.AccessKeyID, sqlkit.MS(u.At), u.Region, u.Service
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE access_keys AS k SET last_used_at = u.at, last_used_region = u.region, last_used_service = u.service
			FROM (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS x(id, at, region, service) ORDER BY id) AS u
			WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`, ids, ats, regions, services)
		return err
	})
}

// WatchKeys listens for key changes on a connection of its own, and
// reconnects (calling reset) whenever that connection is lost.
func (s *Store) WatchKeys(ctx context.Context, c iamd.Changes) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx, c, func() {
			backoff = 100 * time.Millisecond
			c.Reset() // changes made while not listening were missed
		})
		if ctx.Err() != nil || err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

func (s *Store) listen(ctx context.Context, c iamd.Changes, listening func()) error {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	conn, err := pgx.ConnectConfig(cctx, s.cfg.Copy())
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == policiesChanged {
			c.Policies()
		} else {
			c.Key(n.Payload)
		}
	}
}
