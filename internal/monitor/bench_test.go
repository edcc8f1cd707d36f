package monitor

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// Benchmarks for monitoring at 10,000 monitors (docs/performance.md,
// "Monitoring at 10,000 monitors"). The whole-process figures come from
// bench/run-monitors.sh; these isolate the parts:
//
//	go test ./internal/monitor -run '^$' -bench 'Queries10k' -count 6          # uptime and list queries, both engines
//	go test ./internal/monitor -run '^$' -bench 'IdleMemory' -benchtime 3x     # bytes per scheduled monitor, time to schedule
//	go test ./internal/monitor -run '^$' -bench 'HTTPChecks' -benchtime 30000x -cpuprofile /tmp/checks.prof
//
// Set OPSDECK_TEST_POSTGRES for the PostgreSQL variants.

// benchMonitors is the size of the fleet the issue asks about.
const benchMonitors = 10000

// seedMonitors stores n http monitors (and their status rows) directly, as
// an opsdeck that has been running would hold them, and returns their ids
// in order. url gives monitor i's URL.
func seedMonitors(tb testing.TB, db *store.DB, n int, interval time.Duration, url func(i int) string) []int64 {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{fmt.Sprintf("bench-%05d", i), "http", fmt.Sprintf(`{"url":%q}`, url(i)), "", "",
			interval.Milliseconds(), min(5*time.Second, interval).Milliseconds(), 3, 1, false, "api", now, now}
	}
	if err := db.InsertMany(ctx, db.W, "monitors", []string{"name", "type", "settings", "description", "tags", "interval_ms", "timeout_ms",
		"failure_threshold", "success_threshold", "paused", "source", "created_at", "updated_at"}, rows); err != nil {
		tb.Fatal(err)
	}
	q, err := db.R.QueryContext(ctx, `SELECT id FROM monitors ORDER BY id`)
	if err != nil {
		tb.Fatal(err)
	}
	var ids []int64
	for q.Next() {
		var id int64
		if err := q.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, id)
	}
	q.Close()
	status := make([][]any, len(ids))
	for i, id := range ids {
		status[i] = []any{id, string(StateUp), now}
	}
	if err := db.InsertMany(ctx, db.W, "monitor_status", []string{"monitor_id", "state", "state_since"}, status); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// seedRollups stores hourly rollups: 90 days for the first `long` monitors
// and one day for the rest, ending at end (an hour boundary). 90 days for
// all 10,000 would be 21.6M rows, more than a benchmark can seed; the query
// reads one monitor's rows through the primary key, so the other monitors'
// history changes the index depth, not the rows read.
func seedRollups(tb testing.TB, db *store.DB, ids []int64, long int, end time.Time) {
	tb.Helper()
	ctx := context.Background()
	cols := []string{"monitor_id", "resolution", "bucket", "n_total", "n_up", "n_degraded", "n_down",
		"lat_min_us", "lat_avg_us", "lat_max_us", "lat_p50_us", "lat_p95_us", "lat_p99_us"}
	var rows [][]any
	flush := func() {
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return db.InsertMany(ctx, tx, "monitor_rollups", cols, rows) }); err != nil {
			tb.Fatal(err)
		}
		rows = rows[:0]
	}
	for i, id := range ids {
		hours := 24
		if i < long {
			hours = 90 * 24
		}
		for h := hours; h > 0; h-- {
			rows = append(rows, []any{id, int64(resHour), end.Add(-time.Duration(h) * time.Hour), 360, 357, 2, 1,
				900, 1500, 9000, 1400, 2500, 4000})
		}
		if len(rows) >= 50000 {
			flush()
		}
	}
	flush()
}

// seedRaw stores raw results every 10 s from `from` to `to` for ids.
func seedRaw(tb testing.TB, db *store.DB, ids []int64, from, to time.Time) {
	tb.Helper()
	var rows [][]any
	for _, id := range ids {
		for at := from; at.Before(to); at = at.Add(10 * time.Second) {
			rows = append(rows, []any{id, at, string(StateUp), int64(1500), "HTTP 200 OK"})
		}
	}
	if err := db.InsertMany(context.Background(), db.W, "check_results", []string{"monitor_id", "at", "status", "latency_us", "message"}, rows); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkQueries10k times the reads a dashboard makes with 10,000
// monitors stored: one monitor's uptime over 90 days (target < 20 ms), its
// 90 daily bars, and the first page of the list at 100 and 1,000 per page.
// Seeding (about 450k rollup rows) is not timed.
func BenchmarkQueries10k(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var db *store.DB
			if engine == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			ctx := context.Background()
			now := time.Now().UTC()
			end := now.Truncate(time.Hour)
			ids := seedMonitors(b, db, benchMonitors, 10*time.Second, func(i int) string { return fmt.Sprintf("http://127.0.0.1:9/m/%d", i) })
			const long = 100
			seedRollups(b, db, ids, long, end)
			seedRaw(b, db, ids[:long], end, now)
			s := NewService(db, Options{Checks: probe.New})

			b.Run("Uptime90d", func(b *testing.B) {
				want := int64(90*24*360) + int64(now.Sub(end)/(10*time.Second))
				if now.Sub(end)%(10*time.Second) != 0 {
					want++
				}
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					u, err := s.Uptime(ctx, ids[i%long], now.Add(-90*24*time.Hour), now)
					if err != nil {
						b.Fatal(err)
					}
					if u.Total != want {
						b.Fatalf("uptime counted %d checks, want %d", u.Total, want)
					}
				}
			})
			b.Run("DailyUptime90d", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if _, err := s.DailyUptime(ctx, ids[i%long], 90, now); err != nil {
						b.Fatal(err)
					}
				}
			})
			for _, limit := range []int{100, 1000} {
				b.Run(fmt.Sprintf("List/limit=%d", limit), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						ms, _, err := s.List(ctx, ListFilter{Limit: limit})
						if err != nil || len(ms) != limit {
							b.Fatalf("list: %d monitors, %v", len(ms), err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkIdleMemory measures what 10,000 scheduled http monitors that do
// not run (interval 24 h) keep on the heap, and how long Run takes to load
// and schedule them. Heap figures are after a GC: the live heap with the
// Service running minus the live heap before it started (with the database
// open and warmed by one read of every monitor), per monitor; the Service's
// fixed part is included, so the figure errs high by a few bytes.
func BenchmarkIdleMemory(b *testing.B) {
	db := storetest.SQLite(b)
	seedMonitors(b, db, benchMonitors, 24*time.Hour, func(i int) string { return fmt.Sprintf("http://127.0.0.1:9/m/%d", i) })
	ctx := context.Background()
	var live, inuse, sched float64
	for b.Loop() {
		s := NewService(db, Options{Checks: probe.New})
		if ms, _, err := s.List(ctx, ListFilter{Limit: benchMonitors}); err != nil || len(ms) != benchMonitors {
			b.Fatalf("warm-up list: %d, %v", len(ms), err)
		}
		var m0, m1 goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&m0)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- s.Run(runCtx) }()
		select {
		case <-s.Started():
		case err := <-done:
			b.Fatal(err)
		}
		sched += time.Since(start).Seconds()
		goruntime.GC()
		goruntime.ReadMemStats(&m1)
		live += float64(int64(m1.HeapAlloc) - int64(m0.HeapAlloc))
		inuse += float64(int64(m1.HeapInuse) - int64(m0.HeapInuse))
		stop()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(live/n/benchMonitors, "live-B/monitor")
	b.ReportMetric(inuse/n/benchMonitors, "inuse-B/monitor")
	b.ReportMetric(1000*sched/n, "ms-to-scheduled")
}

// BenchmarkHTTPChecks runs the scheduler in-process with 10,000 http
// monitors every 10 s (1,000 checks/s) against an httptest target on
// loopback, SQLite storing every result, until b.N checks have run. It
// reports the CPU the process used per check (client, target and storage
// together; the profile separates them) and the start delay, and is the
// place to take a CPU profile of the check path:
//
//	go test ./internal/monitor -run '^$' -bench HTTPChecks -benchtime 30000x -cpuprofile /tmp/checks.prof
func BenchmarkHTTPChecks(b *testing.B) {
	var hits atomic.Int64
	tgt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("ok"))
	}))
	defer tgt.Close()
	db := storetest.SQLite(b)
	seedMonitors(b, db, benchMonitors, 10*time.Second, func(i int) string { return fmt.Sprintf("%s/m/%d", tgt.URL, i) })
	s := NewService(db, Options{Checks: probe.New})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Started()

	d0 := delayHistogram(b, s)
	r0, h0, t0 := cpuTime(), hits.Load(), time.Now()
	b.ResetTimer()
	for hits.Load()-h0 < int64(b.N) {
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	cpu, wall := cpuTime()-r0, time.Since(t0)
	d1 := delayHistogram(b, s)
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	n := float64(hits.Load() - h0)
	b.ReportMetric(cpu.Seconds()*1e6/n, "cpu-µs/check")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
	b.ReportMetric(n/wall.Seconds(), "checks/s")
	var skipped dto.Metric
	if err := s.stats.skipped.Write(&skipped); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(skipped.GetCounter().GetValue(), "skipped")
	b.ReportMetric(1000*histQuantile(.99, d0, d1), "p99-delay-ms")
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func delayHistogram(b *testing.B, s *Service) *dto.Histogram {
	var m dto.Metric
	if err := s.stats.startDelay.Write(&m); err != nil {
		b.Fatal(err)
	}
	return m.GetHistogram()
}

// histQuantile estimates a quantile of the observations between two
// readings of a histogram, linearly within the bucket, like PromQL's
// histogram_quantile.
func histQuantile(q float64, before, after *dto.Histogram) float64 {
	total := float64(after.GetSampleCount() - before.GetSampleCount())
	if total == 0 {
		return 0
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for i, bk := range after.GetBucket() {
		c := float64(bk.GetCumulativeCount() - before.GetBucket()[i].GetCumulativeCount())
		if c >= rank {
			if c == prevCount {
				return bk.GetUpperBound()
			}
			return prevBound + (bk.GetUpperBound()-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = bk.GetUpperBound(), c
	}
	return prevBound // beyond the last bucket
}

// BenchmarkRollUpHour times the hourly rollup of a full hour at 10,000
// monitors every 10 s: 3.6M raw results read, one latency slice per
// monitor sorted, 10,000 rollup rows written. It runs once an hour (30 s
// after the hour ends) inside a running server, so its time and memory are
// a stall and an RSS peak the 5-minute load run does not see. Seeding the
// hour is not timed (about a minute on SQLite).
func BenchmarkRollUpHour(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var db *store.DB
			if engine == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			ctx := context.Background()
			ids := seedMonitors(b, db, benchMonitors, 10*time.Second, func(i int) string { return fmt.Sprintf("http://127.0.0.1:9/m/%d", i) })
			hour := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
			cols := []string{"monitor_id", "at", "status", "latency_us", "message"}
			rows := make([][]any, 0, 100000)
			for k := range 360 {
				at := hour.Add(time.Duration(k) * 10 * time.Second)
				for i, id := range ids {
					rows = append(rows, []any{id, at.Add(time.Duration(i) * time.Millisecond), string(StateUp), int64(1000 + i%5000), "HTTP 200 OK"})
				}
				if len(rows) >= 100000 || k == 359 {
					if err := db.Tx(ctx, func(tx *sql.Tx) error { return db.InsertMany(ctx, tx, "check_results", cols, rows) }); err != nil {
						b.Fatal(err)
					}
					rows = rows[:0]
				}
			}
			s := NewService(db, Options{Checks: probe.New})
			var peak atomic.Uint64
			for b.Loop() {
				stop := make(chan struct{})
				sampled := make(chan struct{})
				go func() {
					defer close(sampled)
					var m goruntime.MemStats
					for {
						goruntime.ReadMemStats(&m)
						if m.HeapInuse > peak.Load() {
							peak.Store(m.HeapInuse)
						}
						select {
						case <-stop:
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}()
				if err := s.rollBucket(ctx, resHour, hour); err != nil {
					b.Fatal(err)
				}
				close(stop)
				<-sampled
			}
			var n int
			if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM monitor_rollups WHERE resolution = 3600 AND n_total = 360`).Scan(&n); err != nil || n != benchMonitors {
				b.Fatalf("rolled up %d monitors (%v), want %d", n, err, benchMonitors)
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		})
	}
}
