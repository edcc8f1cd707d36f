package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/statuspage"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// bigStatusPage makes a public page of n monitors, each with 90 days of
// hourly rollups (one bad hour in seven) and an hour of raw results.
func bigStatusPage(b *testing.B, db *store.DB, n int) *testEnv {
	b.Helper()
	e := newTestEnvOn(b, db)
	ctx := context.Background()
	now := time.Now().UTC()
	rolled := now.Truncate(time.Hour)
	entries := ""
	for i := range n {
		id := createMonitorAPI(b, e, fmt.Sprintf(`{"name":"service-%02d","type":"heartbeat","period":"1h"}`, i))
		var rows, raw [][]any
		for h, at := 0, rolled.Add(-90*24*time.Hour); at.Before(rolled); h, at = h+1, at.Add(time.Hour) {
			down := int64(0)
			if (h+i)%7 == 0 {
				down = 2
			}
			rows = append(rows, []any{id, int64(3600), at, int64(60), 60 - down, int64(0), down, 1, 1, 1, 1, 1, 1})
		}
		for at := rolled; at.Before(now); at = at.Add(time.Minute) {
			raw = append(raw, []any{id, at, "up", int64(1000), ""})
		}
		cols := []string{"monitor_id", "resolution", "bucket", "n_total", "n_up", "n_degraded", "n_down", "lat_min_us", "lat_avg_us", "lat_max_us", "lat_p50_us", "lat_p95_us", "lat_p99_us"}
		if err := db.InsertMany(ctx, db.W, "monitor_rollups", cols, rows); err != nil {
			b.Fatal(err)
		}
		if err := db.InsertMany(ctx, db.W, "check_results", []string{"monitor_id", "at", "status", "latency_us", "message"}, raw); err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			entries += ","
		}
		entries += fmt.Sprintf(`{"monitor_id":%d,"display_name":"Service %d","section":"Group %d"}`, id, i, i/10)
	}
	resp := e.do("POST", "/api/v1/status-pages", auth.RoleOperator, `{"slug":"big","title":"Big","public":true,"monitors":[`+entries+`]}`)
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("create page: %d", resp.StatusCode)
	}
	return e
}

// BenchmarkStatusPage50 serves the public page of 50 monitors: "cold" reads the database and renders every time
// (what the first visitor after a change waits for), "cached" is every
// other visitor within 30 s.
func BenchmarkStatusPage50(b *testing.B) {
	for _, eng := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(eng.name, func(b *testing.B) {
			e := bigStatusPage(b, eng.open(b), 50)
			// The handlers of the server's own table are closures; a second
			// set on the same server lets the benchmark empty the cache.
			sp := &statusPages{s: e.srv, pages: statuspage.NewService(e.db, statuspage.Options{Uptime: e.mons}), cache: newStatusCache(statusCacheTTL, statusCacheSize, time.Now)}
			gz := false
			serve := func() int {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/status/big", nil)
				req.SetPathValue("slug", "big")
				if gz {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				sp.publicPage(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
				return rec.Body.Len()
			}
			b.Run("cold", func(b *testing.B) {
				size := 0
				for b.Loop() {
					sp.cache.clear()
					size = serve()
				}
				b.ReportMetric(float64(size)/1024, "KiB/page")
			})
			b.Run("cold-gzip", func(b *testing.B) {
				gz = true
				defer func() { gz = false }()
				size := 0
				for b.Loop() {
					sp.cache.clear()
					size = serve()
				}
				b.ReportMetric(float64(size)/1024, "KiB/page")
			})
			b.Run("cached", func(b *testing.B) {
				serve()
				for b.Loop() {
					serve()
				}
			})
		})
	}
}
