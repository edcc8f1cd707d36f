package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// seedMonitors inserts n paused http monitors straight into the database,
// with states spread over up, degraded and down: far faster than the
// service for the thousands a benchmark needs, and invisible to the
// scheduler, which loaded its monitors when it started. It returns their
// ids in order.
func seedMonitors(t testing.TB, db *store.DB, prefix string, n int, now time.Time) []int64 {
	t.Helper()
	ctx := context.Background()
	var first int64
	if err := db.R.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM monitors`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	mons := make([][]any, 0, n)
	for i := range n {
		tags := ",prod,web,"
		if i%3 == 0 {
			tags = ",staging,"
		}
		mons = append(mons, []any{fmt.Sprintf("%s %05d", prefix, i), "http", fmt.Sprintf(`{"url":"https://service-%d.example.com/health"}`, i),
			"", tags, int64(60000), int64(10000), int64(3), int64(1), true, "api", now.Add(-91 * 24 * time.Hour), now.Add(-91 * 24 * time.Hour)})
	}
	if err := db.InsertMany(ctx, db.W, "monitors", []string{"name", "type", "settings", "description", "tags", "interval_ms", "timeout_ms",
		"failure_threshold", "success_threshold", "paused", "source", "created_at", "updated_at"}, mons); err != nil {
		t.Fatal(err)
	}
	rows, err := db.R.QueryContext(ctx, `SELECT id FROM monitors WHERE id > $1 ORDER BY id`, first)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	states := []string{"up", "up", "up", "up", "up", "up", "degraded", "down"}
	status := make([][]any, 0, n)
	for i, id := range ids {
		st := states[i%len(states)]
		msg := "HTTP 200"
		switch st {
		case "down":
			msg = "HTTP 503 (want 200-399)"
		case "degraded":
			msg = "slow: 2.4s (max 2s)"
		}
		status = append(status, []any{id, st, now.Add(-time.Duration(i%50+1) * time.Hour), now.Add(-time.Duration(i%60) * time.Second), st, int64(20000 + i%180*1000), msg})
	}
	if err := db.InsertMany(ctx, db.W, "monitor_status", []string{"monitor_id", "state", "state_since", "last_check_at", "last_status", "last_latency_us", "last_message"}, status); err != nil {
		t.Fatal(err)
	}
	return ids
}

// seedHistory writes, for each monitor, hourly rollups over `days` days
// and minute rollups over the last day up to the last whole minute, as the
// service's rollups would have left them, plus raw results for the current
// minute. Each monitor gets its own shape: steady, a bad day now and then,
// a weekly blip; latency follows a daily curve.
func seedHistory(t testing.TB, db *store.DB, ids []int64, days int, now time.Time) {
	t.Helper()
	ctx := context.Background()
	now = now.UTC()
	lastHour := now.Truncate(time.Hour)
	lastMinute := now.Truncate(time.Minute)
	cols := []string{"monitor_id", "resolution", "bucket", "n_total", "n_up", "n_degraded", "n_down", "lat_min_us", "lat_avg_us", "lat_max_us", "lat_p50_us", "lat_p95_us", "lat_p99_us"}
	var rows [][]any
	flush := func() {
		if err := db.InsertMany(ctx, db.W, "monitor_rollups", cols, rows); err != nil {
			t.Fatal(err)
		}
		rows = rows[:0]
	}
	latency := func(k int, at time.Time) int64 {
		base := 40.0 + float64(k%7)*25
		h := float64(at.Hour()) + float64(at.Minute())/60
		return int64((base + base*0.35*math.Sin(h/24*2*math.Pi) + 3*math.Sin(float64(at.Unix()/60)/7)) * 1000)
	}
	down := func(k int, at time.Time) int64 {
		day := int(at.Unix() / 86400)
		switch {
		case k%5 == 1 && day%17 == 0 && at.Hour() == 3:
			return 20 // a bad hour now and then
		case k%5 == 2 && day%7 == 0 && at.Hour() == 12:
			return 1 // a weekly blip
		}
		return 0
	}
	for k, id := range ids {
		for at := lastHour.Add(-time.Duration(days*24) * time.Hour); at.Before(lastHour); at = at.Add(time.Hour) {
			d := down(k, at)
			l := latency(k, at)
			rows = append(rows, []any{id, int64(3600), at, int64(60), 60 - d, int64(0), d, l / 2, l, l * 3, l, l * 2, l * 5 / 2})
		}
		for at := lastMinute.Add(-24 * time.Hour); at.Before(lastMinute); at = at.Add(time.Minute) {
			var d int64
			if down(k, at.Truncate(time.Hour)) > 0 && at.Minute() < 20 {
				d = 1
			}
			l := latency(k, at)
			rows = append(rows, []any{id, int64(60), at, int64(1), 1 - d, int64(0), d, l, l, l * 8 / 5, l, l * 8 / 5, l * 8 / 5})
		}
		if len(rows) > 20000 {
			flush()
		}
	}
	flush()
}

// BenchmarkMonitorListPage renders the first page of /monitors (100 rows
// with their 90-day bars, 24-hour uptimes and sparklines) over 10,000
// monitors, the first 200 of which have 90 days of history. Run with
// -bench MonitorListPage -benchtime 20x; each iteration is one request.
func BenchmarkMonitorListPage(b *testing.B) { benchmarkMonitorList(b, newTestEnv(b)) }

// BenchmarkMonitorListPagePostgres is the same on PostgreSQL; it skips
// without OPSDECK_TEST_POSTGRES.
func BenchmarkMonitorListPagePostgres(b *testing.B) {
	benchmarkMonitorList(b, newTestEnvOn(b, storetest.Postgres(b)))
}

func benchmarkMonitorList(b *testing.B, e *testEnv) {
	now := time.Now().UTC()
	ids := seedMonitors(b, e.db, "service", 10000, now)
	seedHistory(b, e.db, ids[:200], 90, now)
	h := e.srv.Handler()
	for _, path := range []string{"/monitors", "/monitors?q=service%2009&state=up", "/monitors/" + fmt.Sprint(ids[5])} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Authorization", "Bearer "+e.tokens[auth.RoleViewer])
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
