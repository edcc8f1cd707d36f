package monitor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func tp(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestWindowValidation(t *testing.T) {
	for _, tc := range []struct {
		w     Window
		field string
	}{
		{Window{StartsAt: tp("2026-01-01T00:00:00Z"), EndsAt: tp("2026-01-01T02:00:00Z"), MonitorIDs: []int64{1}}, "name"},
		{Window{Name: "x", MonitorIDs: []int64{1}}, "starts_at"},
		{Window{Name: "x", StartsAt: tp("2026-01-01T00:00:00Z"), MonitorIDs: []int64{1}}, "ends_at"},
		{Window{Name: "x", StartsAt: tp("2026-01-01T02:00:00Z"), EndsAt: tp("2026-01-01T01:00:00Z"), MonitorIDs: []int64{1}}, "ends_at"},
		{Window{Name: "x", StartsAt: tp("2026-01-01T00:00:00Z"), EndsAt: tp("2026-01-01T01:00:00Z"), Cron: "0 2 * * *", MonitorIDs: []int64{1}}, "cron"},
		{Window{Name: "x", Cron: "0 2 * * *", Duration: "soon", MonitorIDs: []int64{1}}, "duration"},
		{Window{Name: "x", Cron: "0 2 * * 9", Duration: "1h", MonitorIDs: []int64{1}}, "cron"},
		{Window{Name: "x", Cron: "0 2 * * *", Duration: "1h", Timezone: "Nowhere/Land", MonitorIDs: []int64{1}}, "timezone"},
		{Window{Name: "x", Cron: "0 2 * * *", Duration: "1h"}, "monitor_ids"},
		{Window{Name: "x", Cron: "0 2 * * *", Duration: "1h", Tags: []string{"a b"}}, "tags"},
	} {
		err := tc.w.validate()
		if ve, ok := valid.As(err); !ok || ve.Field != tc.field {
			t.Errorf("%+v: %v, want field %s", tc.w, err, tc.field)
		}
	}
}

func TestWindowActiveAt(t *testing.T) {
	once := Window{Name: "upgrade", StartsAt: tp("2026-03-07T21:00:00Z"), EndsAt: tp("2026-03-07T23:00:00Z"), MonitorIDs: []int64{7}}
	weekly := Window{Name: "patch sunday", Cron: "0 3 * * 0", Duration: "2h", Timezone: "Europe/Berlin", Tags: []string{"db"}}
	for _, w := range []*Window{&once, &weekly} {
		if err := w.validate(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		w    *Window
		at   string
		want bool
	}{
		{&once, "2026-03-07T20:59:59Z", false},
		{&once, "2026-03-07T21:00:00Z", true},
		{&once, "2026-03-07T22:59:59Z", true},
		{&once, "2026-03-07T23:00:00Z", false},
		// Sunday 03:00-05:00 Berlin: 02:00-04:00Z in winter, 01:00-03:00Z in summer.
		{&weekly, "2026-03-22T01:59:00Z", false},
		{&weekly, "2026-03-22T02:00:00Z", true},
		{&weekly, "2026-03-22T03:59:00Z", true},
		{&weekly, "2026-03-22T04:00:00Z", false},
		{&weekly, "2026-04-05T01:30:00Z", true},
		{&weekly, "2026-04-05T03:30:00Z", false},
		{&weekly, "2026-04-06T02:30:00Z", false}, // a Monday
	} {
		if got := tc.w.ActiveAt(*tp(tc.at)); got != tc.want {
			t.Errorf("%s at %s: %v, want %v", tc.w.Name, tc.at, got, tc.want)
		}
	}
	if !weekly.covers(Monitor{ID: 99, Tags: []string{"db", "prod"}}) || weekly.covers(Monitor{ID: 99, Tags: []string{"web"}}) ||
		!once.covers(Monitor{ID: 7}) || once.covers(Monitor{ID: 8}) {
		t.Fatal("covers matched the wrong monitors")
	}
}

// TestMaintenanceSilencesAlerts: a monitor failing inside a window shows
// maintenance and pages nobody; when the window goes, it shows down and
// that change is reported.
func TestMaintenanceSilencesAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := &factory{}
		var mu sync.Mutex
		var changes []Change
		s, _ := startService(t, db, f, func(c Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() })
		ctx := context.Background()
		w, err := s.Create(ctx, def(t, `{"name":"db1","type":"scripted","key":"db1","interval":"1s","failure_threshold":1,"tags":["db"]}`))
		if err != nil {
			t.Fatal(err)
		}
		state := func() State { m, _ := s.Get(ctx, w.ID); return m.Status.State }
		waitFor(t, "up", func() bool { return state() == StateUp })
		now := time.Now().UTC()
		win, err := s.SaveWindow(ctx, Window{Name: "db upgrade", StartsAt: ptr(now.Add(-time.Minute)), EndsAt: ptr(now.Add(time.Hour)), Tags: []string{"db"}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "maintenance", func() bool { return state() == StateMaintenance })
		f.checks["db1"].setFallback(probe.StatusDown)
		waitFor(t, "verdict down under maintenance", func() bool { m, _ := s.Get(ctx, w.ID); return m.Status.Verdict == StateDown })
		if state() != StateMaintenance {
			t.Fatalf("shown %s during maintenance", state())
		}
		mu.Lock()
		for _, c := range changes {
			if c.To == StateDown {
				t.Fatalf("paged during maintenance: %+v", c)
			}
		}
		mu.Unlock()
		if err := s.DeleteWindow(ctx, win.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "down after the window", func() bool { return state() == StateDown })
		// The change is handed over right after its commit.
		waitFor(t, "maintenance -> down handed to alerting", func() bool {
			mu.Lock()
			defer mu.Unlock()
			last := changes[len(changes)-1]
			return last.From == StateMaintenance && last.To == StateDown
		})
		if ws, _ := s.Windows(ctx); len(ws) != 0 {
			t.Fatalf("windows after delete: %d", len(ws))
		}
	})
}
