package security

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// recordingAlerts remembers what the service raised and cleared.
type recordingAlerts struct {
	mu     sync.Mutex
	raised []string
	clear  []string
}

func (r *recordingAlerts) Raise(_ context.Context, sig incident.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raised = append(r.raised, sig.Key)
	return nil
}

func (r *recordingAlerts) Clear(_ context.Context, source, service, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear = append(r.clear, key)
	return nil
}

func (r *recordingAlerts) take() (raised, cleared []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	raised, cleared, r.raised, r.clear = r.raised, r.clear, nil, nil
	return raised, cleared
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestService(t *testing.T, db *store.DB, opts Options) (*Service, *recordingAlerts, *clock) {
	t.Helper()
	alerts := &recordingAlerts{}
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	if opts.Alerts == nil {
		opts.Alerts = alerts
	}
	opts.Now = clk.now
	return New(db, opts), alerts, clk
}

func statusOf(t *testing.T, s *Service, source, key string) Status {
	t.Helper()
	list, _, err := s.List(context.Background(), Filter{Source: source, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range list {
		if f.Key == key {
			return f.Status
		}
	}
	return ""
}

func sig(key string, sev Severity) Signal {
	return Signal{Key: key, Title: "finding " + key, Severity: sev}
}

func TestSyncSemantics(t *testing.T) {
	type want struct {
		key    string
		status Status
	}
	steps := []struct {
		name    string
		scope   string
		signals []Signal
		want    []want
		raised  []string
		cleared []string
	}{
		{name: "new signals open findings", scope: "ci:1",
			signals: []Signal{sig("openssl", SeverityHigh), sig("zlib", SeverityLow)},
			want:    []want{{"openssl", StatusOpen}, {"zlib", StatusOpen}},
			raised:  []string{"agent-updates:openssl"}},
		{name: "present signals only refresh", scope: "ci:1",
			signals: []Signal{sig("openssl", SeverityHigh), sig("zlib", SeverityLow)},
			want:    []want{{"openssl", StatusOpen}, {"zlib", StatusOpen}}},
		{name: "another scope leaves the first alone", scope: "ci:2",
			signals: []Signal{sig("bash", SeverityMedium)},
			want:    []want{{"openssl", StatusOpen}, {"zlib", StatusOpen}, {"bash", StatusOpen}}},
		{name: "absent signals are fixed", scope: "ci:1",
			signals: []Signal{sig("zlib", SeverityLow)},
			want:    []want{{"openssl", StatusFixed}, {"zlib", StatusOpen}, {"bash", StatusOpen}},
			cleared: []string{"agent-updates:openssl"}},
		{name: "a fixed finding that comes back reopens", scope: "ci:1",
			signals: []Signal{sig("openssl", SeverityCritical), sig("zlib", SeverityLow)},
			want:    []want{{"openssl", StatusOpen}, {"zlib", StatusOpen}},
			raised:  []string{"agent-updates:openssl"}},
		{name: "a severity dropping below the alert level clears", scope: "ci:1",
			signals: []Signal{sig("openssl", SeverityMedium), sig("zlib", SeverityLow)},
			want:    []want{{"openssl", StatusOpen}},
			cleared: []string{"agent-updates:openssl"}},
		{name: "an empty report fixes the whole scope", scope: "ci:1",
			// Neither was at the alert level any more: nothing to clear.
			want: []want{{"openssl", StatusFixed}, {"zlib", StatusFixed}, {"bash", StatusOpen}}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, alerts, clk := newTestService(t, db, Options{})
		ctx := context.Background()
		for _, st := range steps {
			clk.add(time.Minute)
			if err := s.Sync(ctx, SourceAgentUpdates, st.scope, st.signals); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			for _, w := range st.want {
				if got := statusOf(t, s, SourceAgentUpdates, w.key); got != w.status {
					t.Errorf("%s: %s is %q, want %q", st.name, w.key, got, w.status)
				}
			}
			raised, cleared := alerts.take()
			if strings.Join(raised, ",") != strings.Join(st.raised, ",") {
				t.Errorf("%s: raised %v, want %v", st.name, raised, st.raised)
			}
			slicesSort(cleared)
			if strings.Join(cleared, ",") != strings.Join(st.cleared, ",") {
				t.Errorf("%s: cleared %v, want %v", st.name, cleared, st.cleared)
			}
		}
		// First seen stays, last seen moves.
		list, _, _ := s.List(ctx, Filter{Source: SourceAgentUpdates})
		for _, f := range list {
			if f.Key == "zlib" && !f.LastSeen.After(f.FirstSeen) {
				t.Errorf("zlib first %v last %v: last_seen not refreshed", f.FirstSeen, f.LastSeen)
			}
		}
	})
}

func slicesSort(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestAcceptAndExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, alerts, clk := newTestService(t, db, Options{})
		ctx := context.Background()
		if err := s.Report(ctx, SourceAgentUpdates, "ci:9", sig("sudo", SeverityHigh)); err != nil {
			t.Fatal(err)
		}
		list, _, _ := s.List(ctx, Filter{})
		id := list[0].ID
		alerts.take()
		if _, err := s.Accept(ctx, id, "", clk.now().Add(time.Hour)); !isField(err, "reason") {
			t.Errorf("accept without reason: %v", err)
		}
		if _, err := s.Accept(ctx, id, "vendor patch next week", clk.now().Add(-time.Hour)); !isField(err, "until") {
			t.Errorf("accept in the past: %v", err)
		}
		f, err := s.Accept(ctx, id, "vendor patch next week", clk.now().Add(48*time.Hour))
		if err != nil || f.Status != StatusAccepted || f.AcceptedReason == "" {
			t.Fatalf("accept: %+v %v", f, err)
		}
		if _, cleared := alerts.take(); len(cleared) != 1 {
			t.Errorf("accepting cleared %v, want the alert", cleared)
		}
		// Still reported: stays accepted.
		if err := s.Sync(ctx, SourceAgentUpdates, "ci:9", []Signal{sig("sudo", SeverityHigh)}); err != nil {
			t.Fatal(err)
		}
		if got := statusOf(t, s, SourceAgentUpdates, "sudo"); got != StatusAccepted {
			t.Errorf("after refresh: %s", got)
		}
		clk.add(49 * time.Hour)
		if err := s.ReopenExpired(ctx); err != nil {
			t.Fatal(err)
		}
		if got := statusOf(t, s, SourceAgentUpdates, "sudo"); got != StatusOpen {
			t.Errorf("after expiry: %s", got)
		}
		if raised, _ := alerts.take(); len(raised) != 1 {
			t.Errorf("expiry raised %v", raised)
		}
		if _, err := s.Fix(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing finding: %v", err)
		}
	})
}

func isField(err error, field string) bool {
	ve, ok := valid.As(err)
	return ok && ve.Field == field
}

func TestSyncHostileInput(t *testing.T) {
	s, _, _ := newTestService(t, storetest.SQLite(t), Options{})
	ctx := context.Background()
	long := strings.Repeat("x", 5000)
	cases := []struct {
		name, source, scope, field string
		sigs                       []Signal
	}{
		{"empty source", "", "s", "source", nil},
		{"spaced source", "a b", "s", "source", nil},
		{"empty scope", "x", "", "scope", nil},
		{"control in scope", "x", "a\x00b", "scope", nil},
		{"empty key", "x", "s", "signals[0].key", []Signal{{Title: "t", Severity: SeverityLow}}},
		{"long key", "x", "s", "signals[0].key", []Signal{{Key: long, Title: "t", Severity: SeverityLow}}},
		{"bad utf8 title", "x", "s", "signals[0].title", []Signal{{Key: "k", Title: "\xff\xfe", Severity: SeverityLow}}},
		{"unknown severity", "x", "s", "signals[0].severity", []Signal{{Key: "k", Title: "t", Severity: "apocalyptic"}}},
		{"negative ci", "x", "s", "signals[0].ci_id", []Signal{{Key: "k", Title: "t", Severity: SeverityLow, CIID: -1}}},
		{"huge evidence", "x", "s", "signals[0].evidence", []Signal{{Key: "k", Title: "t", Severity: SeverityLow, Evidence: map[string]any{"x": strings.Repeat("y", 20000)}}}},
		{"unmarshalable evidence", "x", "s", "signals[0].evidence", []Signal{{Key: "k", Title: "t", Severity: SeverityLow, Evidence: map[string]any{"x": make(chan int)}}}},
	}
	for _, c := range cases {
		if err := s.Sync(ctx, c.source, c.scope, c.sigs); !isField(err, c.field) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.field)
		}
	}
	if n, _, _ := s.List(ctx, Filter{}); len(n) != 0 {
		t.Errorf("hostile input stored %d findings", len(n))
	}
}
