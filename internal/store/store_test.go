package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestMigrateIsIdempotentAndReady(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n, err := db.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second migrate: applied %d, err %v; want 0, nil", n, err)
		}
		cur, latest, err := db.MigrationState(ctx)
		if err != nil || cur != latest || cur == 0 {
			t.Fatalf("state = %d/%d, %v", cur, latest, err)
		}
	})
}

func TestErrorsMapToSentinels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		ins := `INSERT INTO users (username, role, password_hash, created_at, updated_at) VALUES ($1, 'viewer', 'x', $2, $2)`
		if _, err := db.W.ExecContext(ctx, ins, "dup", now); err != nil {
			t.Fatal(err)
		}
		_, err := db.W.ExecContext(ctx, ins, "dup", now)
		if !errors.Is(store.MapError(err), store.ErrConflict) {
			t.Fatalf("duplicate insert: %v; want ErrConflict", err)
		}
		_, err = db.W.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ('h', 999999, 'c', $1, $1)`, now)
		if !errors.Is(store.MapError(err), store.ErrReference) {
			t.Fatalf("dangling reference: %v; want ErrReference", err)
		}
		var id int64
		err = db.R.QueryRowContext(ctx, `SELECT id FROM users WHERE username = $1`, "nobody").Scan(&id)
		if !errors.Is(store.MapError(err), store.ErrNotFound) {
			t.Fatalf("missing row: %v; want ErrNotFound", err)
		}
	})
}

func TestTxRollsBackOnErrorAndPanic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (username, role, password_hash, created_at, updated_at) VALUES ('a', 'viewer', 'x', $1, $1)`, now); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx err = %v", err)
		}
		func() {
			defer func() { _ = recover() }()
			_ = db.Tx(ctx, func(tx *sql.Tx) error {
				_, _ = tx.ExecContext(ctx, `INSERT INTO users (username, role, password_hash, created_at, updated_at) VALUES ('b', 'viewer', 'x', $1, $1)`, now)
				panic("bad")
			})
		}()
		var n int
		if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("users after rollbacks = %d, %v; want 0", n, err)
		}
		// The writer connection must be usable after the panic.
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return nil }); err != nil {
			t.Fatalf("tx after panic: %v", err)
		}
	})
}

func TestTimesReadBackInUTC(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		loc := time.FixedZone("X", 5*3600+1800)
		at := time.Date(2026, 3, 29, 1, 30, 15, 123456000, loc)
		if _, err := db.W.ExecContext(ctx, `INSERT INTO users (username, role, password_hash, created_at, updated_at) VALUES ('t', 'viewer', 'x', $1, $1)`, at); err != nil {
			t.Fatal(err)
		}
		var got time.Time
		if err := db.R.QueryRowContext(ctx, `SELECT created_at FROM users WHERE username = 't'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(at) {
			t.Fatalf("read back %v, want instant %v", got, at)
		}
	})
}

func TestBatcherCommitsEveryItemOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := db.W.ExecContext(ctx, `CREATE TABLE batch_probe (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var batches int
		b := store.NewBatcher(db, store.BatchOptions{MaxItems: 64}, func(ctx context.Context, tx *sql.Tx, items []int) error {
			mu.Lock()
			batches++
			mu.Unlock()
			rows := make([][]any, len(items))
			for i, it := range items {
				rows[i] = []any{fmt.Sprint("k", it), it}
			}
			return db.InsertMany(ctx, tx, "batch_probe", []string{"k", "v"}, rows)
		})
		done := make(chan struct{})
		go func() { b.Run(ctx); close(done) }()
		const n = 1000
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- b.Add(ctx, i) }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// A failing batch reports its error to every waiter in it.
		if err := b.Add(ctx, 5); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate key through batcher: %v; want ErrConflict", err)
		}
		cancel()
		<-done
		if err := b.Add(context.Background(), 1); !errors.Is(err, store.ErrBatcherClosed) {
			t.Fatalf("Add after close: %v", err)
		}
		var count, sum int64
		if err := db.R.QueryRowContext(context.Background(), `SELECT COUNT(*), SUM(v) FROM batch_probe`).Scan(&count, &sum); err != nil {
			t.Fatal(err)
		}
		if count != n || sum != n*(n-1)/2 {
			t.Fatalf("rows = %d sum %d; want %d, %d", count, sum, n, n*(n-1)/2)
		}
		if batches >= n/2 {
			t.Fatalf("%d transactions for %d items: batching did not group", batches, n)
		}
	})
}

func TestInsertManyRejectsRaggedRows(t *testing.T) {
	db := storetest.SQLite(t)
	err := db.InsertMany(context.Background(), db.W, "users", []string{"a", "b"}, [][]any{{1}})
	if err == nil {
		t.Fatal("want error for short row")
	}
}
