package change

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// fakeMaintenance records the windows the service opens and deletes.
type fakeMaintenance struct {
	mu      sync.Mutex
	next    int64
	open    map[int64]monitor.Window
	deleted []int64
}

func (f *fakeMaintenance) SaveWindow(_ context.Context, w monitor.Window) (*monitor.Window, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	w.ID = f.next
	if f.open == nil {
		f.open = map[int64]monitor.Window{}
	}
	f.open[w.ID] = w
	return &w, nil
}

func (f *fakeMaintenance) DeleteWindow(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.open[id]; !ok {
		return store.ErrNotFound
	}
	delete(f.open, id)
	f.deleted = append(f.deleted, id)
	return nil
}

// fixture is a change service on a small CMDB:
//
//	web (application) depends_on db (database) runs_on host1 (host)
//	other (application), unrelated
//
// with users alice (requester), bob and carol (CAB), dave (nobody).
type fixture struct {
	db                      *store.DB
	s                       *Service
	cm                      *cmdb.Service
	maint                   *fakeMaintenance
	clock                   *time.Time
	web, dbCI, host, other  int64
	alice, bob, carol, dave int64
	notes                   []string
}

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := t0
	f := &fixture{db: db, clock: &clock, maint: &fakeMaintenance{}}
	now := func() time.Time { return *f.clock }
	f.cm = cmdb.NewService(db, cmdb.Options{Now: now})
	if err := f.cm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sys := auth.WithActor(ctx, auth.SystemActor())
	mk := func(typ, name string) int64 {
		c, err := f.cm.Create(sys, cmdb.CIInput{Type: typ, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	f.web, f.dbCI, f.host, f.other = mk("application", "web"), mk("database", "db"), mk("host", "host1"), mk("application", "other")
	for _, r := range []cmdb.RelationshipInput{{Type: "depends_on", SourceID: f.web, TargetID: f.dbCI}, {Type: "runs_on", SourceID: f.dbCI, TargetID: f.host}} {
		if _, err := f.cm.Relate(sys, r); err != nil {
			t.Fatal(err)
		}
	}
	as := auth.NewService(db, auth.Options{})
	user := func(name string) int64 {
		u, err := as.CreateUser(sys, auth.NewUser{Username: name, Role: auth.RoleOperator, Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	f.alice, f.bob, f.carol, f.dave = user("alice"), user("bob"), user("carol"), user("dave")
	f.s = New(db, Options{Now: now, CMDB: f.cm, Maintenance: f.maint, NoteIncident: func(_ context.Context, id int64, text string) error {
		f.notes = append(f.notes, text)
		return nil
	}})
	return f
}

// as is a request by user id through the API.
func (f *fixture) as(id int64) context.Context {
	names := map[int64]string{f.alice: "alice", f.bob: "bob", f.carol: "carol", f.dave: "dave"}
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: id, Name: names[id], Role: auth.RoleOperator}, Via: auth.ViaAPI})
}

func ptr[T any](v T) *T { return &v }

// normal is a complete normal change on the CIs, planned at start for an hour.
func (f *fixture) normal(start time.Time, cis ...int64) Input {
	return Input{Type: Normal, Title: "Upgrade", ImplementationPlan: "do it", BackoutPlan: "undo it", PlannedStart: ptr(start),
		PlannedEnd: ptr(start.Add(time.Hour)), CIIDs: cis, Risk: Medium}
}

// rows counts the rows of a table.
func rows(t testing.TB, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.R.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshot is what the bad-input tests compare before and after.
func snapshot(t testing.TB, f *fixture, id int64) string {
	t.Helper()
	c, err := f.s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return string(c.State) + "|" + c.UpdatedAt.String() + "|" + string(rune('0'+rows(t, f.db, "change_events"))) + "|" +
		string(rune('0'+rows(t, f.db, "change_approvals"))) + "|" + string(rune('0'+rows(t, f.db, "changes")))
}
