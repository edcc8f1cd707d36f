package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// TestRollupsAndUptime writes three hours of known results, rolls them up,
// and checks uptime, daily bars, percentiles and that the rollups agree
// with the raw results they came from.
func TestRollupsAndUptime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 10, 12, 40, 0, 0, time.UTC)
		f := &factory{}
		s := NewService(db, Options{Checks: f.build, Now: func() time.Time { return now }})
		w, err := s.Create(ctx, def(t, `{"name":"api","type":"scripted","key":"a","interval":"10s"}`))
		if err != nil {
			t.Fatal(err)
		}
		// 09:00-12:40, one result every 10 s: latency i ms; every 10th is down,
		// every 10th+1 degraded.
		start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		var rows [][]any
		var total, down, degraded int64
		for i := 0; start.Add(time.Duration(i) * 10 * time.Second).Before(now); i++ {
			st := "up"
			switch i % 10 {
			case 0:
				st, down = "down", down+1
			case 1:
				st, degraded = "degraded", degraded+1
			}
			total++
			rows = append(rows, []any{w.ID, start.Add(time.Duration(i) * 10 * time.Second), st, int64(i%360+1) * 1000, ""})
		}
		if err := db.InsertMany(ctx, db.W, "check_results", []string{"monitor_id", "at", "status", "latency_us", "message"}, rows); err != nil {
			t.Fatal(err)
		}
		if err := s.RollUp(ctx); err != nil {
			t.Fatal(err)
		}
		// Hours 09, 10, 11 are rolled (12:00 ends 13:00, not yet); minutes up to 12:39.
		var hours, minutes int
		db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM monitor_rollups WHERE resolution = 3600 AND n_total > 0`).Scan(&hours)
		db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM monitor_rollups WHERE resolution = 60 AND n_total > 0`).Scan(&minutes)
		if hours != 3 || minutes != 219 {
			t.Fatalf("rolled %d hours and %d minutes, want 3 and 219", hours, minutes)
		}
		// A second run adds nothing.
		if err := s.RollUp(ctx); err != nil {
			t.Fatal(err)
		}
		var again int
		db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM monitor_rollups`).Scan(&again)
		if again != 3+219 {
			t.Fatalf("rollup rows after second run: %d", again)
		}
		var hp50, hp95, hp99, hmax int64
		db.R.QueryRowContext(ctx, `SELECT lat_p50_us, lat_p95_us, lat_p99_us, lat_max_us FROM monitor_rollups WHERE resolution = 3600 AND bucket = $1`,
			time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)).Scan(&hp50, &hp95, &hp99, &hmax)
		if hp50 != 180000 || hp95 != 342000 || hp99 != 357000 || hmax != 360000 { // nearest rank over 1..360 ms
			t.Fatalf("hour percentiles %d %d %d max %d", hp50, hp95, hp99, hmax)
		}

		// Uptime over 24 h: rollups for 09-12, raw results for 12:00-12:40.
		u, err := s.Uptime(ctx, w.ID, now.Add(-24*time.Hour), now)
		if err != nil {
			t.Fatal(err)
		}
		wantPct := float64(total-down) * 100 / float64(total)
		if u.Total != total || u.Down != down || u.Degraded != degraded || u.Percent == nil || *u.Percent != wantPct {
			t.Fatalf("uptime %+v (pct %v), want total %d down %d degraded %d pct %v", u, *u.Percent, total, down, degraded, wantPct)
		}
		// A range with no checks has no percentage.
		if u, err := s.Uptime(ctx, w.ID, now.Add(-72*time.Hour), now.Add(-48*time.Hour)); err != nil || u.Percent != nil || u.Total != 0 {
			t.Fatalf("empty range %+v %v", u, err)
		}
		days, err := s.DailyUptime(ctx, w.ID, 90, now)
		if err != nil || len(days) != 90 {
			t.Fatalf("daily %d %v", len(days), err)
		}
		if last := days[89]; last.Total != total || days[88].Percent != nil {
			t.Fatalf("today %+v yesterday %+v", last, days[88])
		}
		pts, err := s.Latency(ctx, w.ID, now.Add(-24*time.Hour), now)
		if err != nil || len(pts) != 219 {
			t.Fatalf("latency points %d %v", len(pts), err)
		}
	})
}

func TestRetentionDropsOldResults(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f := &factory{}
	s := NewService(db, Options{Checks: f.build, Now: func() time.Time { return now }, RawRetention: 24 * time.Hour})
	w, err := s.Create(ctx, def(t, `{"name":"api","type":"scripted","key":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for i := range 12000 {
		rows = append(rows, []any{w.ID, now.Add(-time.Duration(i) * 10 * time.Second), "up", 1000, ""})
	}
	if err := db.InsertMany(ctx, db.W, "check_results", []string{"monitor_id", "at", "status", "latency_us", "message"}, rows); err != nil {
		t.Fatal(err)
	}
	if err := s.applyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM check_results`).Scan(&n)
	if n != 8641 { // 24 h of 10 s results, both ends included
		t.Fatalf("kept %d results, want 8641", n)
	}
}
