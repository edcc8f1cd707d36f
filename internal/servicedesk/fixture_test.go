package servicedesk

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// fixture is a migrated database, a Service on a clock the test moves, the
// users of a small desk, and the SLA events the hook received.
type fixture struct {
	t      testing.TB
	db     *store.DB
	svc    *Service
	now    time.Time
	mu     sync.Mutex
	events []SLAEvent
	// users by name: admin, agent1, agent2 (operators), viewer, alice, bob
	// (requesters).
	users map[string]int64
	roles map[string]auth.Role
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	f := &fixture{t: t, db: db, now: time.Date(2026, 12, 2, 9, 0, 0, 0, berlin), users: map[string]int64{}, roles: map[string]auth.Role{}}
	f.svc = New(db, Options{
		Now:          func() time.Time { return f.now },
		ReopenWindow: 7 * 24 * time.Hour,
		OnSLAEvent: func(_ context.Context, e SLAEvent) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, e)
		},
	})
	for _, u := range []struct {
		name string
		role auth.Role
	}{{"admin", auth.RoleAdmin}, {"agent1", auth.RoleOperator}, {"agent2", auth.RoleOperator}, {"viewer", auth.RoleViewer},
		{"alice", auth.RoleRequester}, {"bob", auth.RoleRequester}} {
		var id int64
		err := db.W.QueryRowContext(context.Background(), `INSERT INTO users (username, role, password_hash, created_at, updated_at)
			VALUES ($1, $2, 'x', $3, $3) RETURNING id`, u.name, string(u.role), time.Now().UTC()).Scan(&id)
		if err != nil {
			t.Fatalf("user %s: %v", u.name, err)
		}
		f.users[u.name], f.roles[u.name] = id, u.role
	}
	return f
}

// as is a context acting as the named user.
func (f *fixture) as(name string) context.Context {
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: f.users[name], Name: name, Role: f.roles[name]}, Via: auth.ViaAPI})
}

// at sets the clock to a Berlin wall time.
func (f *fixture) at(s string) {
	f.t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ts, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
	if err != nil {
		f.t.Fatal(err)
	}
	f.now = ts
}

// office makes the Berlin office calendar and a policy for every ticket:
// first response 1h, resolution 8h business time, warning at 80 %.
func (f *fixture) office() (Calendar, SLAPolicy) {
	f.t.Helper()
	ctx := f.as("admin")
	c, err := f.svc.SaveCalendar(ctx, Calendar{Name: "Berlin office", TimeZone: "Europe/Berlin", Hours: weekdays("08:00-12:00", "13:00-17:00"),
		Holidays: []string{"2026-12-25"}})
	if err != nil {
		f.t.Fatalf("calendar: %v", err)
	}
	p, err := f.svc.SavePolicy(ctx, SLAPolicy{Name: "Standard", Position: 10, CalendarID: c.ID, ResponseMinutes: 60, ResolutionMinutes: 480, WarnPercent: 80})
	if err != nil {
		f.t.Fatalf("policy: %v", err)
	}
	return c, p
}

func (f *fixture) ticket(user, subject string) *Ticket {
	f.t.Helper()
	t, err := f.svc.CreateTicket(f.as(user), NewTicket{Subject: subject, Description: "details"})
	if err != nil {
		f.t.Fatalf("create ticket: %v", err)
	}
	return t
}

func (f *fixture) patch(user string, id int64, p TicketPatch) *Ticket {
	f.t.Helper()
	t, err := f.svc.UpdateTicket(f.as(user), id, p)
	if err != nil {
		f.t.Fatalf("update #%d: %v", id, err)
	}
	return t
}

func (f *fixture) sla(id int64) SLAStatus {
	f.t.Helper()
	t, err := f.svc.Ticket(f.as("admin"), id)
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := f.svc.SLA(f.as("admin"), t)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func ptr[T any](v T) *T { return &v }
