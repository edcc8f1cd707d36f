package statuspage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// TestViewAgreesWithMonitorUptime reads a page's batched uptime and checks
// every window and every day against monitor.Uptime and DailyUptime, which
// read one monitor at a time: 100 days of hourly rollups with some hours
// down, a raw tail after the newest rollup with down and degraded results,
// a monitor without any data, and one with raw results only.
func TestViewAgreesWithMonitorUptime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		a, b, c := f.monitor("a"), f.monitor("b"), f.monitor("c")
		rolled := f.now.Truncate(time.Hour) // 12:00: hours before it are rolled up
		start := rolled.Add(-100 * 24 * time.Hour)
		// Bad hours scattered over every day, so that each window's
		// partial first day and every bar have their own counts.
		f.hourlyRollups(a, start, rolled, 60, func(h time.Time) int64 {
			return int64((h.Hour()*7 + h.YearDay()) % 5)
		})
		f.results(a, rolled.Add(-2*time.Hour), f.now, time.Minute, func(i int) string {
			return []string{"up", "up", "degraded", "down", "up"}[i%5]
		})
		f.results(c, rolled.Add(-3*24*time.Hour), f.now, 10*time.Minute, func(i int) string {
			if i%4 == 0 {
				return "down"
			}
			return "up"
		})
		f.setState(a, monitor.StateUp)
		f.setState(c, monitor.StateDown)
		if _, err := f.sp.Create(ctx, Input{Slug: "p", Title: "P", Monitors: entries(a, b, c)}); err != nil {
			t.Fatal(err)
		}
		v, err := f.sp.ViewBySlug(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Monitors) != 3 || len(v.Days) != Days {
			t.Fatalf("view has %d monitors and %d days", len(v.Monitors), len(v.Days))
		}
		if v.Overall != PartialOutage || v.Monitors[2].State != monitor.StateDown || v.Monitors[1].State != monitor.StateUnknown {
			t.Fatalf("overall %s, states %s %s", v.Overall, v.Monitors[1].State, v.Monitors[2].State)
		}
		if !v.Days[Days-1].Equal(f.now.Truncate(24*time.Hour)) || v.Days[0].Hour() != 0 {
			t.Fatalf("days from %s to %s", v.Days[0], v.Days[Days-1])
		}
		for i, id := range []int64{a, b, c} {
			mv := v.Monitors[i]
			for w, d := range windowLengths {
				u, err := f.mons.Uptime(ctx, id, f.now.Add(-d), f.now)
				if err != nil {
					t.Fatal(err)
				}
				if got := mv.Windows[w]; got.Total != u.Total || got.Good != u.Up+u.Degraded {
					t.Errorf("%s %s: %+v, monitor.Uptime says %d checks, %d up, %d degraded", mv.Name, WindowNames[w], got, u.Total, u.Up, u.Degraded)
				}
			}
			days, err := f.mons.DailyUptime(ctx, id, Days, f.now)
			if err != nil {
				t.Fatal(err)
			}
			for d := range days {
				if got := mv.Daily[d]; got.Total != days[d].Total || got.Good != days[d].Up+days[d].Degraded {
					t.Errorf("%s %s: %+v, monitor.DailyUptime says %+v", mv.Name, days[d].From.Format(time.DateOnly), got, days[d])
				}
			}
		}
		if p, ok := v.Monitors[0].Windows[3].Percent(); !ok || p >= 100 || p < 95 {
			t.Errorf("a: 90-day uptime %v %v", p, ok)
		}
		if _, ok := v.Monitors[1].Windows[0].Percent(); ok {
			t.Error("b has no data but a percentage")
		}
	})
}

// TestViewAfterRealRollups lets the monitor service roll raw results up and
// checks the page counts each result exactly once.
func TestViewAfterRealRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		a := f.monitor("a")
		from := f.now.Add(-3*time.Hour - 40*time.Minute) // 09:00
		f.results(a, from, f.now, 30*time.Second, func(i int) string {
			if i%10 == 0 {
				return "down"
			}
			return "up"
		})
		if err := f.mons.RollUp(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sp.Create(ctx, Input{Slug: "p", Title: "P", Monitors: entries(a)}); err != nil {
			t.Fatal(err)
		}
		v, err := f.sp.ViewBySlug(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		total := int64(f.now.Sub(from) / (30 * time.Second))
		down := (total + 9) / 10
		for w := range windowLengths {
			if got := v.Monitors[0].Windows[w]; got.Total != total || got.Good != total-down {
				t.Errorf("%s: %+v, want %d checks, %d good", WindowNames[w], got, total, total-down)
			}
		}
		if got := v.Monitors[0].Daily[Days-1]; got.Total != total {
			t.Errorf("today %+v", got)
		}
	})
}

// TestViewLeaksNothing checks the view of a page carries only the chosen
// names: the monitor's own name is replaced by its display name, and no
// target or message is reachable from it.
func TestViewLeaksNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		a := f.monitor("db-prod-7.corp.internal")
		f.results(a, f.now.Add(-time.Hour), f.now, time.Minute, func(int) string { return "down" })
		if _, err := f.sp.Create(ctx, Input{Slug: "p", Title: "P", Monitors: []EntryInput{{MonitorID: a, DisplayName: "Database"}}}); err != nil {
			t.Fatal(err)
		}
		v, err := f.sp.ViewBySlug(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		dump := strings.ToLower(strings.Join([]string{v.Title, v.Description, v.Monitors[0].Name, v.Monitors[0].Section}, "|"))
		for _, bad := range []string{"corp.internal", "secret message"} {
			if strings.Contains(dump, bad) {
				t.Fatalf("view carries %q", bad)
			}
		}
	})
}
