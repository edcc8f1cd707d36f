package oncall

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// recordPager keeps every page; it writes a row in the engine's
// transaction too, so a test can see that page and step commit together.
type recordPager struct {
	mu    sync.Mutex
	pages []Page
	fail  error
}

func (p *recordPager) Page(ctx context.Context, q store.Querier, pg Page) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, actor_kind, actor_name, action, detail, via) VALUES ($1, 'system', 'test', 'test.page', $2, 'test')`,
		time.Now().UTC(), fmt.Sprintf("%d/%d/%d", pg.IncidentID, pg.Level, pg.Round)); err != nil {
		return err
	}
	p.pages = append(p.pages, pg)
	return nil
}

func (p *recordPager) take() []Page {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.pages
	p.pages = nil
	return out
}

// pageText is "L<level>R<round> users [..] targets a; b".
func pageText(p Page) string {
	return fmt.Sprintf("L%dR%d %v %s", p.Level, p.Round, p.UserIDs, strings.Join(p.Targets, "; "))
}

type escFixture struct {
	db                *store.DB
	clock             *testClock
	pager             *recordPager
	svc               *Service
	alice, bob, carol int64
	primary           *Schedule
	policy            *Policy
}

// newEscFixture: alice, bob, carol; schedule Primary (daily 09:00 UTC,
// bob then carol from 2026-01-01); policy: L1 alice 5 min, L2 Primary
// 10 min, L3 alice+carol 15 min, repeated twice (three rounds).
func newEscFixture(t *testing.T, db *store.DB) *escFixture {
	f := &escFixture{db: db, clock: &testClock{t: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)}, pager: &recordPager{}}
	f.svc = NewService(db, Options{Pager: f.pager, Now: f.clock.Now})
	f.alice, f.bob, f.carol = mkUser(t, db, "alice"), mkUser(t, db, "bob"), mkUser(t, db, "carol")
	ctx := adminCtx()
	var err error
	f.primary, err = f.svc.SaveSchedule(ctx, Schedule{Name: "Primary", TimeZone: "UTC", Layers: []Layer{
		{Rotation: RotationDaily, Handoff: "09:00", StartDate: "2026-01-01", Participants: []int64{f.bob, f.carol}}}})
	if err != nil {
		t.Fatalf("save schedule: %v", err)
	}
	f.policy, err = f.svc.SavePolicy(ctx, Policy{Name: "Default", Repeats: 2, Levels: []Level{
		{DelayMinutes: 5, Targets: []Target{{TargetUser, f.alice}}},
		{DelayMinutes: 10, Targets: []Target{{TargetSchedule, f.primary.ID}}},
		{DelayMinutes: 15, Targets: []Target{{TargetUser, f.alice}, {TargetUser, f.carol}}},
	}})
	if err != nil {
		t.Fatalf("save policy: %v", err)
	}
	return f
}

func (f *escFixture) start(t *testing.T, incident int64) {
	t.Helper()
	inTx(t, f.db, func(tx *sql.Tx) error { return f.svc.Start(context.Background(), tx, incident, f.policy.ID) })
}

func (f *escFixture) due(t *testing.T) []string {
	t.Helper()
	if _, err := f.svc.EscalateDue(context.Background()); err != nil {
		t.Fatalf("escalate: %v", err)
	}
	var out []string
	for _, p := range f.pager.take() {
		out = append(out, pageText(p))
	}
	return out
}

func TestEscalationPagesLevelsInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newEscFixture(t, db)
		f.start(t, 42)
		a, b, c := f.alice, f.bob, f.carol
		// 2026-01-02 10:00 UTC: the daily rotation's second turn, carol.
		steps := []struct {
			after time.Duration
			want  []string
		}{
			{0, []string{fmt.Sprintf("L1R0 [%d] user alice", a)}},
			{4 * time.Minute, nil},
			{time.Minute, []string{fmt.Sprintf("L2R0 [%d] schedule Primary → carol", c)}},
			{10 * time.Minute, []string{fmt.Sprintf("L3R0 [%d %d] user alice; user carol", a, c)}},
			{14 * time.Minute, nil},
			{time.Minute, []string{fmt.Sprintf("L1R1 [%d] user alice", a)}},
			{5 * time.Minute, []string{fmt.Sprintf("L2R1 [%d] schedule Primary → carol", c)}},
			{10 * time.Minute, []string{fmt.Sprintf("L3R1 [%d %d] user alice; user carol", a, c)}},
			{15 * time.Minute, []string{fmt.Sprintf("L1R2 [%d] user alice", a)}},
			// The hand-off to bob happens at 09:00 the next day; move there.
			{23 * time.Hour, []string{fmt.Sprintf("L2R2 [%d] schedule Primary → bob", b)}},
			{10 * time.Minute, []string{fmt.Sprintf("L3R2 [%d %d] user alice; user carol", a, c)}},
			{24 * time.Hour, nil},
		}
		for i, st := range steps {
			f.clock.Add(st.after)
			if got := f.due(t); !slices.Equal(got, st.want) {
				t.Fatalf("step %d at %s: pages %q, want %q", i, f.clock.Now().Format(time.RFC3339), got, st.want)
			}
		}
		e, err := f.svc.Escalation(context.Background(), 42)
		if err != nil || e.State != EscalationExhausted {
			t.Fatalf("escalation = %+v, %v; want exhausted", e, err)
		}
		var n int
		if err := db.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'test.page'`).Scan(&n); err != nil || n != 9 {
			t.Fatalf("pages committed with their steps: %d, %v; want 9", n, err)
		}
	})
}

func TestEscalationStopAndRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newEscFixture(t, db)
		f.start(t, 1)
		f.start(t, 2)
		if got := f.due(t); len(got) != 2 {
			t.Fatalf("first pages: %q", got)
		}
		inTx(t, db, func(tx *sql.Tx) error { return f.svc.Stop(context.Background(), tx, 1) })
		// Stop in a transaction that rolls back changes nothing.
		_ = db.Tx(context.Background(), func(tx *sql.Tx) error {
			if err := f.svc.Stop(context.Background(), tx, 2); err != nil {
				return err
			}
			return errors.New("roll back")
		})
		// A new Service on the same database (a restart) resumes incident 2.
		f.svc = NewService(db, Options{Pager: f.pager, Now: f.clock.Now})
		f.clock.Add(5 * time.Minute)
		got := f.due(t)
		if len(got) != 1 || !strings.HasPrefix(got[0], "L2R0") {
			t.Fatalf("after restart: %q, want incident 2's level 2 only", got)
		}
		if e, _ := f.svc.Escalation(context.Background(), 1); e.State != EscalationStopped {
			t.Fatalf("incident 1 state %q, want stopped", e.State)
		}
		// Starting again (a reopened incident) starts over at level 1.
		f.start(t, 1)
		if got := f.due(t); len(got) != 1 || !strings.HasPrefix(got[0], "L1R0") {
			t.Fatalf("restart of incident 1: %q", got)
		}
		if err := f.svc.Stop(context.Background(), db.W, 99); err != nil {
			t.Fatalf("stop of an incident never escalated: %v", err)
		}
	})
}

func TestEscalationSurvivesDeletedTargets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newEscFixture(t, db)
		ctx := adminCtx()
		// Level 1 names a user that is removed; level 2's schedule is deleted.
		if _, err := db.W.Exec(`DELETE FROM users WHERE id = $1`, f.alice); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteSchedule(ctx, f.primary.ID); err != nil {
			t.Fatal(err)
		}
		f.start(t, 7)
		want := [][]string{
			{fmt.Sprintf("L1R0 [] user user #%d (no longer exists)", f.alice)},
			{fmt.Sprintf("L2R0 [] schedule #%d (deleted) → nobody", f.primary.ID)},
			{fmt.Sprintf("L3R0 [%d] user user #%d (no longer exists); user carol", f.carol, f.alice)},
		}
		for i, d := range []time.Duration{0, 5 * time.Minute, 10 * time.Minute} {
			f.clock.Add(d)
			if got := f.due(t); !slices.Equal(got, want[i]) {
				t.Fatalf("step %d: %q, want %q", i, got, want[i])
			}
		}
		// A deleted policy ends the escalation with a page saying so.
		if err := f.svc.DeletePolicy(ctx, f.policy.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(15 * time.Minute)
		got := f.due(t)
		if len(got) != 1 || !strings.Contains(got[0], "no longer exists; nobody paged") {
			t.Fatalf("deleted policy: %q", got)
		}
		if e, _ := f.svc.Escalation(context.Background(), 7); e.State != EscalationFailed {
			t.Fatalf("state %q, want failed", e.State)
		}
	})
}

func TestEscalationPagerFailureRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newEscFixture(t, db)
		f.start(t, 3)
		f.pager.fail = errors.New("outbox full")
		if got := f.due(t); len(got) != 0 {
			t.Fatalf("pages despite failure: %q", got)
		}
		e, _ := f.svc.Escalation(context.Background(), 3)
		if e.Level != 1 || e.Attempts != 1 || !strings.Contains(e.LastError, "outbox full") || !e.NextAt.After(f.clock.Now()) {
			t.Fatalf("after failure: %+v; want level 1 kept, one attempt, a later retry", e)
		}
		f.pager.fail = nil
		if got := f.due(t); len(got) != 0 {
			t.Fatalf("retried before its back-off: %q", got)
		}
		f.clock.Add(10 * time.Second)
		if got := f.due(t); len(got) != 1 || !strings.HasPrefix(got[0], "L1R0") {
			t.Fatalf("retry: %q", got)
		}
	})
}

func TestEscalationConcurrentEngines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newEscFixture(t, db)
		const incidents = 30
		for i := int64(1); i <= incidents; i++ {
			f.start(t, i)
		}
		// Three engines (as in three processes) race over the same steps.
		engines := []*Service{f.svc, NewService(db, Options{Pager: f.pager, Now: f.clock.Now}), NewService(db, Options{Pager: f.pager, Now: f.clock.Now})}
		for round := 0; round < 3; round++ {
			var wg sync.WaitGroup
			for _, e := range engines {
				wg.Go(func() {
					if _, err := e.EscalateDue(context.Background()); err != nil {
						t.Errorf("escalate: %v", err)
					}
				})
			}
			wg.Wait()
			pages := f.pager.take()
			seen := map[int64]bool{}
			for _, p := range pages {
				if seen[p.IncidentID] || p.Level != round+1 {
					t.Fatalf("round %d: incident %d paged twice or at level %d", round, p.IncidentID, p.Level)
				}
				seen[p.IncidentID] = true
			}
			if len(seen) != incidents {
				t.Fatalf("step %d: %d incidents paged, want %d", round, len(seen), incidents)
			}
			f.clock.Add(15 * time.Minute)
		}
	})
}

func TestRunWakesOnStart(t *testing.T) {
	db := storetest.SQLite(t)
	f := newEscFixture(t, db)
	got := make(chan Page, 2)
	f.svc = NewService(db, Options{Pager: pagerFunc(func(ctx context.Context, q store.Querier, p Page) error {
		got <- p
		return nil
	}), PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// Incident 4, started before Run, is paged by Run's first pass; after
	// it the engine sleeps until its level 2 is due, 5 minutes away.
	inTx(t, db, func(tx *sql.Tx) error { return f.svc.Start(ctx, tx, 4, f.policy.ID) })
	go func() { done <- f.svc.Run(ctx) }()
	select {
	case p := <-got:
		if p.IncidentID != 4 {
			t.Fatalf("first page %+v", p)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a speed check
		t.Fatal("Run's first pass paged nothing")
	}
	// Only Start's wake can page incident 5 before those 5 minutes.
	inTx(t, db, func(tx *sql.Tx) error { return f.svc.Start(ctx, tx, 5, f.policy.ID) })
	select {
	case p := <-got:
		if p.IncidentID != 5 || p.Level != 1 {
			t.Fatalf("page %+v", p)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a speed check
		t.Fatal("Run did not page after Start; it waited for its timer")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

type pagerFunc func(ctx context.Context, q store.Querier, p Page) error

func (f pagerFunc) Page(ctx context.Context, q store.Querier, p Page) error { return f(ctx, q, p) }
