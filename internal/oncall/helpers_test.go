package oncall

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// adminCtx is a request context of an admin, as audit needs.
func adminCtx() context.Context {
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: 1, Name: "root", Role: auth.RoleAdmin}, Via: auth.ViaAPI})
}

// mkUser creates a user row and returns its id.
func mkUser(t testing.TB, db *store.DB, username string) int64 {
	t.Helper()
	var id int64
	now := time.Now().UTC()
	err := db.W.QueryRowContext(context.Background(), `INSERT INTO users (username, name, email, role, password_hash, created_at, updated_at)
		VALUES ($1, $1, '', 'operator', 'x', $2, $2) RETURNING id`, username, now).Scan(&id)
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return id
}

// inTx runs fn in a committed transaction, failing the test on error.
func inTx(t testing.TB, db *store.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	if err := db.Tx(context.Background(), fn); err != nil {
		t.Fatalf("tx: %v", err)
	}
}
