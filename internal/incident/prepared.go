package incident

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/opsdeck/opsdeck/internal/store"
)

// preparedTx is a store.Querier over a transaction that prepares each SQL
// text once and reuses it for the rest of the transaction. An intake batch
// runs the same few statements hundreds of times; parsing them again for
// every event was a third of the intake's CPU (measured with pprof).
type preparedTx struct {
	tx    *sql.Tx
	cache *stmtCache
	stmts map[string]*sql.Stmt
}

// stmtCache keeps the intake's hot statements prepared on the writer pool
// for the Service's lifetime; a transaction binds them to its connection
// (on SQLite's one writer connection that reuses the prepared statement).
// They are prepared at Open, while the pool is free: preparing on the pool
// from inside a transaction would wait for the one writer connection that
// transaction holds.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(ctx context.Context, db *sql.DB, queries ...string) (*stmtCache, error) {
	c := &stmtCache{m: map[string]*sql.Stmt{}}
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.m[q] = st
	}
	return c, nil
}

func (c *stmtCache) get(query string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[query]
	return st, ok
}

// Close releases every statement.
func (c *stmtCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	clear(c.m)
	return errors.Join(errs...)
}

var _ store.Querier = (*preparedTx)(nil)

func newPreparedTx(tx *sql.Tx, cache *stmtCache) *preparedTx {
	return &preparedTx{tx: tx, cache: cache, stmts: map[string]*sql.Stmt{}}
}

func (p *preparedTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if shared, ok := p.cache.get(query); ok {
		st = p.tx.StmtContext(ctx, shared)
	} else {
		var err error
		if st, err = p.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
	}
	p.stmts[query] = st
	return st, nil
}

// ExecContext runs query as a prepared statement.
func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs query as a prepared statement.
func (p *preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs query as a prepared statement. A failed prepare
// falls back to the transaction, whose Row carries the error.
func (p *preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return p.tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// close releases the statements; the transaction's end would too.
func (p *preparedTx) close() error {
	var errs []error
	for _, st := range p.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}
