package auth

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// testPassword is long enough for ValidPassword.
const testPassword = "correct horse battery"

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t testing.TB, db *store.DB, opts Options) *Service {
	t.Helper()
	return NewService(db, opts)
}

func mustCreateUser(t testing.TB, s *Service, username string, role Role) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), NewUser{Username: username, Name: username, Role: role, Password: testPassword})
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// wantField fails unless err is a *valid.Error naming field.
func wantField(t testing.TB, err error, field string) {
	t.Helper()
	ve, ok := valid.As(err)
	if !ok {
		t.Fatalf("error = %v (%T), want *valid.Error for field %q", err, err, field)
	}
	if ve.Field != field {
		t.Fatalf("error field = %q (%v), want %q", ve.Field, ve, field)
	}
}

// auditActions returns the actions recorded for filter f, oldest first.
func auditActions(t testing.TB, db *store.DB, f AuditFilter) []string {
	t.Helper()
	f.Limit = 500
	es, _, err := ListAudit(context.Background(), db, f)
	if err != nil {
		t.Fatalf("list audit: %v", err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e.Action
	}
	return out
}

func countRows(t testing.TB, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.R.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func adminCtx() context.Context {
	return WithActor(context.Background(), Actor{Principal: Principal{Kind: ActorUser, UserID: 1, Name: "root", Role: RoleAdmin}, Via: ViaUI})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
