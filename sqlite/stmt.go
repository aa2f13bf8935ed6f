package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each statement once per database handle; database/sql
// then keeps it prepared on every connection that runs it, so SQLite does
// not parse and plan the SQL again on every call.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
}

// readRow runs a single-row query on the read pool.
func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := s.rc.get(ctx, q)
	if err != nil {
		return s.r.QueryRowContext(ctx, q, args...) // carries the error
	}
	return st.QueryRowContext(ctx, args...)
}

// readRows runs a query on the read pool.
func (s *Store) readRows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.rc.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// wtx is a write transaction that runs statements the writer has already
// prepared. The writer has a single connection, which the transaction
// holds, so a statement seen for the first time runs unprepared and is
// prepared after the commit (see Store.write).
type wtx struct {
	*sql.Tx
	ctx     context.Context
	cache   *stmtCache
	pending *[]string
}

func (t wtx) stmt(q string) *sql.Stmt {
	if st, ok := t.cache.m.Load(q); ok {
		return t.Tx.StmtContext(t.ctx, st.(*sql.Stmt))
	}
	*t.pending = append(*t.pending, q)
	return nil
}

func (t wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

func (t wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}
