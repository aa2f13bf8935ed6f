package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"iamd/internal/sqlkit"
	"iamd/internal/sqlstore"
)

// The shared store runs on SQLite through these adapters: reads on
// the read pool, writes in the writer's transactions. Writes are already
// serialized, so no row is locked.

func (s *Store) policyDB() sqlstore.DB {
	return sqlstore.DB{
		Log: s.changeLog,
		Read: func(ctx context.Context) (context.Context, sqlstore.Q, context.CancelFunc) {
			return ctx, readQ{s}, func() {}
		},
		Write: func(ctx context.Context, fn func(sqlstore.Q) error) error {
			return s.write(ctx, func(tx wtx) error { return fn(writeQ{tx}) })
		},
		View: func(ctx context.Context, fn func(context.Context, sqlstore.Q) error) error {
			// A read transaction in WAL mode sees one state of the file
			// from its first read to its end.
			tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				return err
			}
			defer tx.Rollback()
			return fn(ctx, txQ{tx, &s.rc})
		},
		NoRows:   sql.ErrNoRows,
		IsUnique: isUnique,
		Err:      dbErr,
	}
}

// txQ is a read transaction, running the read pool's prepared statements
// (database/sql keeps each prepared on every connection that ran it).
type txQ struct {
	tx    *sql.Tx
	cache *stmtCache
}

func (q txQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return 0, errors.New("sqlite: a write in a read transaction")
}

func (q txQ) QueryRow(ctx context.Context, query string, args ...any) sqlkit.Row {
	st, err := q.cache.get(ctx, query)
	if err != nil {
		return q.tx.QueryRowContext(ctx, query, args...) // carries the error
	}
	return q.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

func (q txQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	st, err := q.cache.get(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := q.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

type readQ struct{ s *Store }

// Exec refuses: the shared code writes only through Write, and the read
// pool is opened read-only anyway.
func (q readQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return 0, errors.New("sqlite: a write on the read pool")
}

func (q readQ) QueryRow(ctx context.Context, query string, args ...any) sqlkit.Row {
	return q.s.readRow(ctx, query, args...)
}

func (q readQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.s.readRows(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// writeQ runs a write's statements with the context the writer gave its
// transaction (see Store.run), not the one the shared code passes.
type writeQ struct{ tx wtx }

func (q writeQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.tx.ExecContext(q.tx.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q writeQ) QueryRow(ctx context.Context, query string, args ...any) sqlkit.Row {
	return q.tx.QueryRowContext(q.tx.ctx, query, args...)
}

func (q writeQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.tx.QueryContext(q.tx.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// sqlRows drops the error of Close, which Err already reports.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }
