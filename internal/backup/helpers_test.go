package backup

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// alerts records what the evaluator raised and cleared.
type alerts struct {
	mu     sync.Mutex
	open   map[string]incident.Signal
	raised []string
	fail   error
}

func newAlerts() *alerts { return &alerts{open: map[string]incident.Signal{}} }

func (a *alerts) Raise(ctx context.Context, sig incident.Signal) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	if sig.Source != Source || sig.Service != IncidentService {
		return errors.New("wrong source or service")
	}
	a.open[sig.Key] = sig
	a.raised = append(a.raised, sig.Key)
	return nil
}

func (a *alerts) Clear(ctx context.Context, source, service, key string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	delete(a.open, key)
	return nil
}

// states lists the open conditions as "job/1/late" style keys' last parts.
func (a *alerts) states() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for k := range a.open {
		out = append(out, k[strings.LastIndexByte(k, '/')+1:])
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

type fixture struct {
	t   *testing.T
	db  *store.DB
	clk *clock
	al  *alerts
	s   *Service
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, clk: &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}, al: newAlerts()}
	f.s = New(db, Options{Alerts: f.al, Now: f.clk.now})
	return f
}

func opCtx() context.Context {
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, Name: "alice", Role: auth.RoleOperator}, Via: auth.ViaAPI})
}

func (f *fixture) job(in JobInput) (Job, string) {
	f.t.Helper()
	j, key, err := f.s.CreateJob(opCtx(), in)
	if err != nil {
		f.t.Fatalf("create job: %v", err)
	}
	return j, key
}

func (f *fixture) checkIn(key string, k Kind, rep Report) Run {
	f.t.Helper()
	r, err := f.s.RecordCheckIn(context.Background(), key, CheckIn{Kind: k, Report: rep})
	if err != nil {
		f.t.Fatalf("check-in %s: %v", k, err)
	}
	return r
}

func (f *fixture) evaluate() {
	f.t.Helper()
	if err := f.s.Evaluate(context.Background()); err != nil {
		f.t.Fatalf("evaluate: %v", err)
	}
}

func (f *fixture) wantAlerts(want string) {
	f.t.Helper()
	if got := f.al.states(); got != want {
		f.t.Fatalf("open alerts %q, want %q", got, want)
	}
}

func (f *fixture) wantState(id int64, want State) Job {
	f.t.Helper()
	j, err := f.s.Job(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	if j.State != want {
		f.t.Fatalf("state %s (%s), want %s", j.State, j.StateDetail, want)
	}
	return j
}

func (f *fixture) cmdb() *cmdb.Service {
	f.t.Helper()
	c := cmdb.NewService(f.db, cmdb.Options{})
	if err := c.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func assertField(t *testing.T, err error, field string) {
	t.Helper()
	ve, ok := valid.As(err)
	if !ok {
		t.Fatalf("error %v is not a validation error (want field %s)", err, field)
	}
	if ve.Field != field {
		t.Fatalf("error names field %q (%v), want %q", ve.Field, err, field)
	}
}
