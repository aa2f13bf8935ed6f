package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"iamd/internal/sqlkit"
	"iamd/internal/sqlstore"
)

// The shared store runs on PostgreSQL through these adapters. Rows that
// bound a limit or a deletion are locked FOR UPDATE; every key updated or
// deleted, and every change to what a user may do (policiesChanged), is
// announced on the key channel, so that other nodes drop what they cached.

func (s *Store) policyDB() sqlstore.DB {
	return sqlstore.DB{
		Read: func(ctx context.Context) (context.Context, sqlstore.Q, context.CancelFunc) {
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
		Changed: func(ctx context.Context, q sqlstore.Q) error {
			_, err := q.Exec(ctx, `SELECT pg_notify('`+channel+`', '`+policiesChanged+`')`)
			return err
		},
		KeyChanged: func(ctx context.Context, q sqlstore.Q, id string) error {
			_, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, id)
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
