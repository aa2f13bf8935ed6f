// Package postgres implements iamd.Store on PostgreSQL (pgx), for several
// stateless iamd nodes sharing one database. Per-owner key limits hold
// across nodes by locking the owner's row in the writing transaction; key
// changes are announced with NOTIFY so that every node drops its cached
// credential at once.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"iamd"
	"iamd/internal/sqlkit"
	"iamd/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// channel is the NOTIFY channel of the change log: a notification says
// that the log grew, and nothing else (the log itself is the record).
const channel = "iamd_changes"

// opTimeout bounds every database call, so that an outage fails requests
// instead of hanging them.
const opTimeout = 5 * time.Second

// Store is an iamd.Store on a PostgreSQL database.
type Store struct {
	*sqlstore.Store // groups and policies

	pool *pgxpool.Pool
	cfg  *pgx.ConnConfig
	opt  Options

	readyMu sync.Mutex
	ready   atomic.Bool // connected once and the schema checked

	// unreplicated holds the connections (*pgconn.PgConn) whose server
	// said it cancelled a commit's wait for the synchronous standby.
	unreplicated *sync.Map
}

// Options say how a Store is opened.
type Options struct {
	// Migrate applies the embedded migrations; without it the schema must
	// be current. Either way a schema newer than this build is refused.
	Migrate bool
	// ReadOnly opens a standby to read from (a replica far from the
	// primary follows its change log): its schema is checked, never
	// written.
	ReadOnly bool
	// Lazy returns the Store even when the database cannot be reached;
	// its calls fail with Unavailable until it can be, and the schema is
	// checked then. A node restarted during an outage serves from its
	// replica's snapshot meanwhile.
	Lazy bool
}

var (
	_ iamd.Store          = (*Store)(nil)
	_ iamd.ChangeLog      = (*Store)(nil)
	_ iamd.ChangeNotifier = (*Store)(nil)
)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string). With migrate, it applies the embedded migrations; without, it
// requires the schema to be current. Either way it refuses a schema newer
// than this build knows.
func Open(ctx context.Context, dsn string, migrate bool) (*Store, error) {
	return OpenWith(ctx, dsn, Options{Migrate: migrate})
}

// OpenWith is Open with Options.
func OpenWith(ctx context.Context, dsn string, opt Options) (*Store, error) {
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
	// A commit whose wait for the synchronous standby is cancelled (its
	// deadline passed while no standby confirmed it, as during a failover)
	// is committed on the primary alone, and PostgreSQL says so only in a
	// WARNING: such a write must not be acknowledged, since the standby
	// that becomes the primary may not have it.
	unreplicated := &sync.Map{}
	cfg.ConnConfig.OnNotice = func(c *pgconn.PgConn, n *pgconn.Notice) {
		if strings.HasPrefix(n.Message, "canceling wait for synchronous replication") {
			unreplicated.Store(c, struct{}{})
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, cfg: cfg.ConnConfig, opt: opt, unreplicated: unreplicated}
	s.Store = sqlstore.New(s.policyDB())
	if err := s.ensure(ctx); err != nil {
		if opt.Lazy && iamd.KindOf(err) == iamd.Unavailable {
			return s, nil
		}
		pool.Close()
		return nil, err
	}
	return s, nil
}

// ensure connects and checks the schema, once: until it succeeds, every
// call tries again and fails with Unavailable if the database cannot be
// reached.
func (s *Store) ensure(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.ready.Load() {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := s.pool.Ping(pctx); err != nil {
		return &iamd.Error{Kind: iamd.Unavailable, Message: "The database is unavailable.", Err: connectError(s.cfg, err)}
	}
	if err := s.checkSchema(ctx, s.opt.Migrate && !s.opt.ReadOnly); err != nil {
		return err
	}
	s.ready.Store(true)
	if err := s.Store.Recall(ctx); err != nil {
		s.ready.Store(false)
		return err
	}
	return nil
}

// In returns the Store of another account in the same database.
func (s *Store) In(account string) iamd.Store { return accountStore{s.Store.In(account), s} }

// accountStore is one account's Store: the database is the deployment's.
type accountStore struct {
	*sqlstore.Store
	db *Store
}

func (a accountStore) RecordKeyUse(ctx context.Context, uses []iamd.KeyUse) error {
	return a.db.RecordKeyUse(ctx, uses)
}
func (a accountStore) In(account string) iamd.Store { return a.db.In(account) }
func (accountStore) Close() error                   { return nil }

// connectError is one line for a failure to connect: where, the innermost
// cause (pgx lists each attempt), and what to check. It never holds the
// password.
func connectError(cfg *pgx.ConnConfig, err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = msg[i+1:]
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "…")
	}
	return fmt.Errorf("postgres: cannot connect to %s:%d as %s (%s): check that PostgreSQL runs there and that --db is right", cfg.Host, cfg.Port, cfg.User, strings.TrimSpace(msg))
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
	if s.opt.ReadOnly {
		var have int
		if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&have); err != nil {
			return fmt.Errorf("postgres: reading the schema version of the standby: %w", err)
		}
		if have != len(names) {
			return fmt.Errorf("postgres: the standby's schema version is %d, this iamd's %d: migrate the primary, and let the standby replay it", have, len(names))
		}
		return nil
	}
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
	if s.opt.ReadOnly {
		return errors.New("postgres: a write to a store opened read-only")
	}
	if err := s.ensure(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := s.tx(ctx, fn)
		if isSerialization(err) && attempt < 3 {
			continue
		}
		return dbErr(err)
	}
}

// errUnreplicated answers a commit PostgreSQL did not confirm on the
// synchronous standby: its outcome is unknown to the client.
var errUnreplicated = unavailable(errors.New("the commit's wait for the synchronous standby was cancelled: it may not survive a failover"))

// tx runs fn in a transaction on a connection of its own, and refuses a
// commit the synchronous standby did not confirm.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	s.unreplicated.Delete(pc)
	err = pgx.BeginFunc(ctx, conn, fn)
	if _, cancelled := s.unreplicated.LoadAndDelete(pc); cancelled {
		return errUnreplicated
	}
	return err
}

func (s *Store) read(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, opTimeout)
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

// NotifyChanges listens on a connection of its own and calls wake for
// every notification, and once whenever it (re)starts listening (changes
// made while it was not may not have woken anyone). It reconnects with a
// backoff until ctx ends.
func (s *Store) NotifyChanges(ctx context.Context, wake func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx, wake, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil || err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		// Short: until it listens again, the replica relies on its poll.
		backoff = min(2*backoff, time.Second)
	}
}

func (s *Store) listen(ctx context.Context, wake func(), listening func()) error {
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
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
