package incident

import (
	"context"
	"sync"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// pager records Start and Stop calls. It writes a row through the caller's
// transaction, so a test can prove paging commits (or rolls back) with the
// incident change.
type pager struct {
	mu     sync.Mutex
	starts []int64
	stops  []int64
}

func (p *pager) Start(ctx context.Context, q store.Querier, incidentID, policyID int64) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO incident_secrets (name, value) VALUES ($1, 'x') ON CONFLICT (name) DO NOTHING`, "page-test"); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starts = append(p.starts, incidentID)
	return nil
}

func (p *pager) Stop(ctx context.Context, q store.Querier, incidentID int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stops = append(p.stops, incidentID)
	return nil
}

func (p *pager) counts() (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.starts), len(p.stops)
}

// newTestService opens a Service on db with its intake writer running.
func newTestService(t testing.TB, db *store.DB, opts Options) *Service {
	t.Helper()
	s, err := Open(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func adminCtx() context.Context {
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: 1, Name: "alice", Role: auth.RoleAdmin}, Via: auth.ViaAPI})
}

// fixture makes a service with a policy and a PagerDuty integration.
func fixture(t testing.TB, s *Service, groupBy ...string) (TechService, Integration) {
	t.Helper()
	pol := int64(7)
	ts, err := s.CreateService(adminCtx(), ServiceInput{Name: "Checkout", EscalationPolicyID: &pol, GroupBy: groupBy})
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := s.CreateIntegration(adminCtx(), IntegrationInput{ServiceID: ts.ID, Name: "prom", Kind: KindPagerDuty})
	if err != nil {
		t.Fatal(err)
	}
	return ts, in
}

func trigger(key, summary, sev string, labels map[string]string) Event {
	return Event{Action: ActionTrigger, DedupKey: key, Summary: summary, Source: "test", Severity: sev, Labels: labels}
}
