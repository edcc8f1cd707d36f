package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// scripted is a check whose results the test decides: scheduler and state
// logic are tested against it; the real probers have their own tests.
type scripted struct {
	mu       sync.Mutex
	next     []probe.Status
	sleep    time.Duration
	running  atomic.Int32
	maxPar   atomic.Int32
	calls    atomic.Int32
	fallback probe.Status
}

func (c *scripted) Target() string { return "scripted" }

func (c *scripted) Probe(ctx context.Context) probe.Result {
	n := c.running.Add(1)
	defer c.running.Add(-1)
	for {
		m := c.maxPar.Load()
		if n <= m || c.maxPar.CompareAndSwap(m, n) {
			break
		}
	}
	c.calls.Add(1)
	if c.sleep > 0 {
		select {
		case <-time.After(c.sleep):
		case <-ctx.Done():
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.fallback
	if len(c.next) > 0 {
		st, c.next = c.next[0], c.next[1:]
	}
	return probe.Result{Status: st, Latency: 1500 * time.Microsecond, Message: "scripted " + string(st),
		Metrics: []probe.Metric{{Name: "calls", Value: float64(c.calls.Load()), Unit: "c"}, {Name: "broken", Value: math.NaN()}}}
}

func (c *scripted) setFallback(s probe.Status) {
	c.mu.Lock()
	c.fallback = s
	c.mu.Unlock()
}

func (c *scripted) push(s ...probe.Status) {
	c.mu.Lock()
	c.next = append(c.next, s...)
	c.mu.Unlock()
}

// factory serves "scripted" checks by name from settings {"key": "..."}.
type factory struct {
	mu     sync.Mutex
	checks map[string]*scripted
}

func (f *factory) build(typ string, raw json.RawMessage) (probe.Check, error) {
	if typ != "scripted" {
		return nil, valid.Errorf("type", "unknown check type %q", typ)
	}
	var s struct {
		Key string `json:"key"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, valid.Errorf("key", "bad settings: %v", err)
	}
	if s.Key == "" {
		return nil, valid.Errorf("key", "is required")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.checks == nil {
		f.checks = map[string]*scripted{}
	}
	c := f.checks[s.Key]
	if c == nil {
		c = &scripted{fallback: probe.StatusUp}
		f.checks[s.Key] = c
	}
	return c, nil
}

func def(t testing.TB, js string) Definition {
	t.Helper()
	var d Definition
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseValidatesEveryField(t *testing.T) {
	f := &factory{}
	for _, tc := range []struct{ js, field string }{
		{`{"type":"scripted","key":"a"}`, "name"},
		{`{"name":"  ","type":"scripted","key":"a"}`, "name"},
		{`{"name":1,"type":"scripted","key":"a"}`, "name"},
		{`{"name":"x","key":"a"}`, "type"},
		{`{"name":"x","type":"nope","key":"a"}`, "type"},
		{`{"name":"x","type":"scripted"}`, "key"},
		{`{"name":"x","type":"scripted","key":"a","extra":1}`, "key"},
		{`{"name":"x","type":"scripted","key":"a","interval":"500ms"}`, "interval"},
		{`{"name":"x","type":"scripted","key":"a","interval":"48h"}`, "interval"},
		{`{"name":"x","type":"scripted","key":"a","interval":"soon"}`, "interval"},
		{`{"name":"x","type":"scripted","key":"a","interval":"10s","timeout":"20s"}`, "timeout"},
		{`{"name":"x","type":"scripted","key":"a","failure_threshold":0}`, "failure_threshold"},
		{`{"name":"x","type":"scripted","key":"a","success_threshold":101}`, "success_threshold"},
		{`{"name":"x","type":"scripted","key":"a","tags":["a b"]}`, "tags"},
		{`{"name":"x","type":"scripted","key":"a","tags":"web"}`, "tags"},
		{`{"name":"x","type":"scripted","key":"a","paused":"yes"}`, "paused"},
		{`{"name":"x\u0000","type":"scripted","key":"a"}`, "name"},
		{`{"name":"` + strings.Repeat("n", 201) + `","type":"scripted","key":"a"}`, "name"},
	} {
		_, _, err := Parse(def(t, tc.js), f.build)
		ve, ok := valid.As(err)
		if !ok || ve.Field != tc.field {
			t.Errorf("%s: err %v, want a field error on %s", tc.js, err, tc.field)
		}
	}
	m, _, err := Parse(def(t, `{"name":" web ","type":"scripted","key":"a","interval":30,"tags":["Prod","web","prod"]}`), f.build)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "web" || m.Interval != 30*time.Second || m.Timeout != 10*time.Second || m.FailureThreshold != 3 || m.SuccessThreshold != 1 ||
		strings.Join(m.Tags, ",") != "prod,web" || string(m.Settings) != `{"key":"a"}` {
		t.Fatalf("parsed %+v", m)
	}
	// A definition survives a round trip through Definition.
	m2, _, err := Parse(m.Definition(), f.build)
	if err != nil || m2.Name != m.Name || m2.Interval != m.Interval || string(m2.Settings) != string(m.Settings) {
		t.Fatalf("round trip: %+v %v", m2, err)
	}
}

func TestVerdictThresholds(t *testing.T) {
	U, D, G, X := probe.StatusUp, probe.StatusDown, probe.StatusDegraded, probe.StatusUnknown
	for _, tc := range []struct {
		name     string
		start    State
		fail, ok int
		results  []probe.Status
		want     []State // state after each result
	}{
		{"first up is up", StateUnknown, 3, 1, []probe.Status{U}, []State{StateUp}},
		{"down needs three", StateUp, 3, 1, []probe.Status{D, D, D}, []State{StateUp, StateUp, StateDown}},
		{"flap does not alert", StateUp, 3, 1, []probe.Status{D, D, U, D, D, U}, []State{StateUp, StateUp, StateUp, StateUp, StateUp, StateUp}},
		{"recovery needs two", StateDown, 3, 2, []probe.Status{U, D, U, U}, []State{StateDown, StateDown, StateDown, StateUp}},
		{"failing follows worst at once", StateDown, 3, 1, []probe.Status{G, X, D}, []State{StateDegraded, StateUnknown, StateDown}},
		{"degraded after threshold", StateUp, 2, 1, []probe.Status{G, G}, []State{StateUp, StateDegraded}},
		{"new monitor waits for threshold", StateUnknown, 3, 1, []probe.Status{D, D, D}, []State{StateUnknown, StateUnknown, StateDown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verdict{state: tc.start}
			for i, r := range tc.results {
				v.apply(r, time.Now(), tc.fail, tc.ok)
				if v.state != tc.want[i] {
					t.Fatalf("after result %d (%s): %s, want %s", i, r, v.state, tc.want[i])
				}
			}
		})
	}
}

func TestFirstRunsAreSpreadAndStable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seconds := map[int]int{}
	for id := int64(1); id <= 1000; id++ {
		a := firstRun(now, id, 10*time.Second)
		if a.Before(now) || !a.Before(now.Add(10*time.Second)) || !a.Equal(firstRun(now, id, 10*time.Second)) {
			t.Fatalf("monitor %d first run %v", id, a)
		}
		seconds[int(a.Sub(now)/time.Second)]++
	}
	for s := 0; s < 10; s++ {
		if seconds[s] < 50 || seconds[s] > 150 {
			t.Fatalf("first runs per second of the interval: %v; want about 100 each", seconds)
		}
	}
}

func startService(t *testing.T, db *store.DB, f *factory, onChange func(Change)) (*Service, func()) {
	t.Helper()
	opts := Options{Checks: f.build}
	if onChange != nil {
		opts.OnChange = func(_ context.Context, c Change) { onChange(c) }
	}
	s := NewService(db, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Started()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			// A hang here is a bug; show where every goroutine waits.
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
			t.Fatalf("Run did not return within 60s of cancel:\n%s", b.String())
		}
	}
	t.Cleanup(func() {
		select {
		case <-ctx.Done():
		default:
			stop()
		}
	})
	return s, stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := make(chan bool, 1)
		go func() { ok <- cond() }()
		select {
		case v := <-ok:
			if v {
				return
			}
		case <-time.After(60 * time.Second):
			// A condition that never returns (a blocked query) is a hang.
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
			t.Fatalf("checking %s blocked for 60s:\n%s", what, b.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServiceRunsChecksAndTracksState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := &factory{}
		var mu sync.Mutex
		var changes []Change
		s, stop := startService(t, db, f, func(c Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() })
		ctx := context.Background()
		w, err := s.Create(ctx, def(t, `{"name":"db1","type":"scripted","key":"db1","interval":"1s","timeout":"500ms"}`))
		if err != nil {
			t.Fatal(err)
		}
		if w.Status.State != StateUnknown {
			t.Fatalf("new monitor state %s", w.Status.State)
		}
		c := f.checks["db1"]
		waitFor(t, "up", func() bool { w, _ := s.Get(ctx, w.ID); return w.Status.State == StateUp })
		c.push(probe.StatusDown, probe.StatusDown, probe.StatusDown)
		waitFor(t, "down", func() bool { w, _ := s.Get(ctx, w.ID); return w.Status.State == StateDown })
		waitFor(t, "up again", func() bool { w, _ := s.Get(ctx, w.ID); return w.Status.State == StateUp })
		ev, _, err := s.Events(ctx, w.ID, 0, 10)
		if err != nil || len(ev) != 3 || ev[2].To != StateUp || ev[1].To != StateDown || ev[0].To != StateUp {
			t.Fatalf("events %+v %v", ev, err)
		}
		// Changes are handed over right after their commit.
		waitFor(t, "three changes handed over", func() bool { mu.Lock(); defer mu.Unlock(); return len(changes) >= 3 })
		mu.Lock()
		if len(changes) != 3 || changes[1].To != StateDown || changes[1].Monitor.Name != "db1" {
			t.Fatalf("changes %+v", changes)
		}
		mu.Unlock()
		res, err := s.Results(ctx, w.ID, time.Now().Add(time.Minute), 100)
		if err != nil || len(res) < 5 {
			t.Fatalf("results %d %v", len(res), err)
		}
		// Metrics are stored per check; NaN values are not.
		series, err := s.Metrics(ctx, w.ID, "", time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
		if err != nil || len(series) != 1 || series[0].Name != "calls" || series[0].Unit != "c" || len(series[0].Points) < 5 {
			t.Fatalf("metrics %+v %v", series, err)
		}
		// Pausing stops checks; the state says paused.
		if _, err := s.SetPaused(ctx, w.ID, true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // a check in flight may finish
		calls := c.calls.Load()
		time.Sleep(2500 * time.Millisecond)
		if got := c.calls.Load(); got != calls {
			t.Fatalf("paused monitor ran %d more checks", got-calls)
		}
		if w, _ := s.Get(ctx, w.ID); w.Status.State != StatePaused {
			t.Fatalf("paused state %s", w.Status.State)
		}
		// A check in flight at the pause commits after it: its result is
		// kept, the state stays paused.
		now := time.Now().UTC()
		late := resultRow{monitorID: w.ID, at: now, res: probe.Result{Status: probe.StatusUp, Message: "late"},
			v: verdict{state: StateUp, since: now, shown: StateUp, shownSince: now}}
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return s.writeResults(ctx, tx, []resultRow{late}) }); err != nil {
			t.Fatal(err)
		}
		if w, _ := s.Get(ctx, w.ID); w.Status.State != StatePaused || w.Status.LastMessage != "late" {
			t.Fatalf("after a late result: state %s, message %q", w.Status.State, w.Status.LastMessage)
		}
		if _, err := s.SetPaused(ctx, w.ID, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "resumed", func() bool { w, _ := s.Get(ctx, w.ID); return w.Status.State == StateUp })
		// Deleting stops it and removes its history.
		if err := s.Delete(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		stop()
		var n int
		if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM check_results`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("results after delete: %d %v", n, err)
		}
	})
}

func TestSlowCheckNeverRunsTwiceAtOnce(t *testing.T) {
	db := storetest.SQLite(t)
	f := &factory{}
	s, stop := startService(t, db, f, nil)
	if _, err := f.build("scripted", json.RawMessage(`{"key":"slow"}`)); err != nil {
		t.Fatal(err)
	}
	f.checks["slow"].sleep = 2500 * time.Millisecond
	if _, err := s.Create(context.Background(), def(t, `{"name":"slow","type":"scripted","key":"slow","interval":"1s","timeout":"1s"}`)); err != nil {
		t.Fatal(err)
	}
	// The timeout (1s) ends each probe; the interval equals it, so turns
	// collide and the scheduler must skip rather than overlap.
	time.Sleep(4 * time.Second)
	stop()
	if p := f.checks["slow"].maxPar.Load(); p != 1 {
		t.Fatalf("%d runs of one monitor at once", p)
	}
	if f.checks["slow"].calls.Load() == 0 {
		t.Fatal("never ran")
	}
}

func TestRestartKeepsStateAndSchedules(t *testing.T) {
	db := storetest.SQLite(t)
	f := &factory{}
	s, stop := startService(t, db, f, nil)
	ctx := context.Background()
	var ids []int64
	for i := range 20 {
		w, err := s.Create(ctx, def(t, fmt.Sprintf(`{"name":"m%d","type":"scripted","key":"k%d","interval":"1s"}`, i, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
	}
	waitFor(t, "all up", func() bool {
		ws, _, _ := s.List(ctx, ListFilter{State: StateUp, Limit: 100})
		return len(ws) == 20
	})
	stop()
	s2, _ := startService(t, db, f, nil)
	before := f.checks["k3"].calls.Load()
	waitFor(t, "checks after restart", func() bool { return f.checks["k3"].calls.Load() > before })
	w, err := s2.Get(ctx, ids[3])
	if err != nil || w.Status.State != StateUp {
		t.Fatalf("after restart: %+v %v", w.Status, err)
	}
}
