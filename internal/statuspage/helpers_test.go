package statuspage

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/store"
)

// fixture is a database with a monitor service and a status page service
// sharing one clock.
type fixture struct {
	t    testing.TB
	db   *store.DB
	now  time.Time
	mons *monitor.Service
	sp   *Service
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, now: time.Date(2026, 3, 10, 12, 40, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.mons = monitor.NewService(db, monitor.Options{Checks: probe.New, Now: clock})
	f.sp = NewService(db, Options{Now: clock, Uptime: f.mons})
	return f
}

// monitor creates a heartbeat monitor (no target needed) and returns its id.
func (f *fixture) monitor(name string) int64 {
	f.t.Helper()
	def := monitor.Definition{}
	for k, v := range map[string]any{"name": name, "type": "heartbeat", "period": "1h"} {
		b, _ := json.Marshal(v)
		def[k] = b
	}
	m, err := f.mons.Create(context.Background(), def)
	if err != nil {
		f.t.Fatalf("create monitor %s: %v", name, err)
	}
	return m.ID
}

// setState writes a monitor's shown state as the scheduler would.
func (f *fixture) setState(id int64, st monitor.State) {
	f.t.Helper()
	if _, err := f.db.W.ExecContext(context.Background(), `UPDATE monitor_status SET state = $1 WHERE monitor_id = $2`, string(st), id); err != nil {
		f.t.Fatal(err)
	}
}

// results writes raw check results: one per step from `from` until `to`,
// with status chosen by fn(i).
func (f *fixture) results(id int64, from, to time.Time, step time.Duration, fn func(i int) string) {
	f.t.Helper()
	var rows [][]any
	for i, at := 0, from; at.Before(to); i, at = i+1, at.Add(step) {
		rows = append(rows, []any{id, at, fn(i), int64(1000), "secret message from a probe"})
	}
	if err := f.db.InsertMany(context.Background(), f.db.W, "check_results", []string{"monitor_id", "at", "status", "latency_us", "message"}, rows); err != nil {
		f.t.Fatal(err)
	}
}

// hourlyRollups writes hourly rollup rows directly, as the rollup job would,
// for hours [from, to) with total checks each and down(hour) of them down.
func (f *fixture) hourlyRollups(id int64, from, to time.Time, total int64, downOf func(time.Time) int64) {
	f.t.Helper()
	var rows [][]any
	for at := from; at.Before(to); at = at.Add(time.Hour) {
		down := downOf(at)
		rows = append(rows, []any{id, int64(3600), at, total, total - down, int64(0), down, 1, 1, 1, 1, 1, 1})
	}
	cols := []string{"monitor_id", "resolution", "bucket", "n_total", "n_up", "n_degraded", "n_down", "lat_min_us", "lat_avg_us", "lat_max_us", "lat_p50_us", "lat_p95_us", "lat_p99_us"}
	if err := f.db.InsertMany(context.Background(), f.db.W, "monitor_rollups", cols, rows); err != nil {
		f.t.Fatal(err)
	}
}

func entries(ids ...int64) []EntryInput {
	out := make([]EntryInput, len(ids))
	for i, id := range ids {
		out[i] = EntryInput{MonitorID: id}
	}
	return out
}

func intp(i int) *int { return &i }

func names(es []Entry) string {
	s := ""
	for _, e := range es {
		s += fmt.Sprintf("%d:%s/%s;", e.Position, e.Name(), e.Section)
	}
	return s
}
