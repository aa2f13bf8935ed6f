package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"iamd/internal/sqlkit"
	"iamd/internal/sqlstore"
)

// The shared store runs on PostgreSQL through these adapters. Rows that
// bound a limit or a deletion are locked FOR UPDATE; every transaction that
// logs changes NOTIFYs the channel, so that other nodes' replicas read the
// log at once rather than at their next poll.

func (s *Store) policyDB() sqlstore.DB {
	return sqlstore.DB{
		Log: true,
		Read: func(ctx context.Context) (context.Context, sqlstore.Q, context.CancelFunc) {
			if err := s.ensure(ctx); err != nil {
				return ctx, failQ{err}, func() {}
			}
			ctx, cancel := s.read(ctx)
			return ctx, pgQ{s.pool}, cancel
		},
		Write: func(ctx context.Context, fn func(sqlstore.Q) error) error {
			return s.write(ctx, func(tx pgx.Tx) error { return fn(pgQ{tx}) })
		},
		Lock:     " FOR UPDATE",
		NoRows:   pgx.ErrNoRows,
		IsUnique: isUnique,
		Err:      dbErr,
		View: func(ctx context.Context, fn func(context.Context, sqlstore.Q) error) error {
			if err := s.ensure(ctx); err != nil {
				return err
			}
			ctx, cancel := s.read(ctx)
			defer cancel()
			return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
				func(tx pgx.Tx) error { return fn(ctx, pgQ{tx}) })
		},
		LockLog: `LOCK TABLE change_log IN EXCLUSIVE MODE`,
		Logged: func(ctx context.Context, q sqlstore.Q) error {
			_, err := q.Exec(ctx, `SELECT pg_notify('`+channel+`', '')`)
			return err
		},
	}
}

// pgQ is a pool or a transaction.
type pgQ struct {
	q interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
		QueryRow(context.Context, string, ...any) pgx.Row
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}
}

func (q pgQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (q pgQ) QueryRow(ctx context.Context, query string, args ...any) sqlkit.Row {
	return q.q.QueryRow(ctx, query, args...)
}

func (q pgQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return q.q.Query(ctx, query, args...)
}

// failQ answers every statement with err: the database could not be
// reached (or its schema is not this build's).
type failQ struct{ err error }

func (q failQ) Exec(context.Context, string, ...any) (int64, error) { return 0, q.err }
func (q failQ) QueryRow(context.Context, string, ...any) sqlkit.Row { return errRow{q.err} }
func (q failQ) Query(context.Context, string, ...any) (sqlstore.Rows, error) {
	return nil, q.err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
