package cmdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// Size of the benchmark graph: the 50,000 CIs and 200,000
// relationships.
const (
	benchLayers   = 20
	benchPerLayer = 2500
	benchOut      = 4
)

// benchGraph fills db with a layered graph: layer 0 holds 2,500 business
// services, each CI of layers 0-18 depends on 4 random CIs of the next
// layer, and one edge in a hundred points back up a layer (cycles). The
// deepest layer's CIs have a 19-hop upstream reaching nearly every CI.
// It returns one CI of the deepest layer.
func benchGraph(b *testing.B, db *store.DB) (*Service, int64) {
	b.Helper()
	ctx := context.Background()
	s := newTestService(b, db)
	svc, _ := s.TypeByKey(ctx, "business_service")
	app, _ := s.TypeByKey(ctx, "application")
	rts, _ := s.RelationshipTypes(ctx)
	var dep int64
	for _, rt := range rts {
		if rt.Key == "depends_on" {
			dep = rt.ID
		}
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	var cis [][]any
	id := func(layer, i int) int64 { return int64(layer*benchPerLayer + i + 1) }
	for l := range benchLayers {
		typ := app.ID
		if l == 0 {
			typ = svc.ID
		}
		for i := range benchPerLayer {
			cis = append(cis, []any{id(l, i), typ, fmt.Sprintf("ci-%02d-%04d", l, i), "medium", "prod", "active", "{}", now, now})
		}
	}
	if err := db.InsertMany(ctx, db.W, "cis", []string{"id", "type_id", "name", "criticality", "environment", "status", "attributes", "created_at", "updated_at"}, cis); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	seen := map[[2]int64]bool{}
	var rels [][]any
	for len(rels) < benchLayers*benchPerLayer*benchOut-benchPerLayer*benchOut {
		l := r.IntN(benchLayers - 1)
		src := id(l, r.IntN(benchPerLayer))
		tgt := id(l+1, r.IntN(benchPerLayer))
		if r.IntN(100) == 0 {
			src, tgt = tgt, src // a back edge: cycles
		}
		if seen[[2]int64{src, tgt}] {
			continue
		}
		seen[[2]int64{src, tgt}] = true
		rels = append(rels, []any{int64(len(rels) + 1), dep, src, tgt, now, "bench"})
	}
	// Top up to 200,000 with edges inside the last layer.
	for len(rels) < benchLayers*benchPerLayer*benchOut {
		src, tgt := id(benchLayers-1, r.IntN(benchPerLayer)), id(benchLayers-1, r.IntN(benchPerLayer))
		if src == tgt || seen[[2]int64{src, tgt}] {
			continue
		}
		seen[[2]int64{src, tgt}] = true
		rels = append(rels, []any{int64(len(rels) + 1), dep, src, tgt, now, "bench"})
	}
	if err := db.InsertMany(ctx, db.W, "ci_relationships", []string{"id", "type_id", "source_id", "target_id", "created_at", "created_by"}, rels); err != nil {
		b.Fatal(err)
	}
	if db.Dialect == store.Postgres {
		for _, q := range []string{`SELECT setval(pg_get_serial_sequence('cis', 'id'), 100000)`, `SELECT setval(pg_get_serial_sequence('ci_relationships', 'id'), 300000)`, `ANALYZE`} {
			if _, err := db.W.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	} else if _, err := db.W.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	return s, id(benchLayers-1, 0)
}

// cpuTime is the CPU time the process has used (user + system). On a
// shared, oversubscribed machine wall time per op mostly measures waiting
// for a core; CPU time per op is what the work costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ms/op from start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func engines() []struct {
	name string
	open func(testing.TB) *store.DB
} {
	return []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}}
}

// BenchmarkImpactUpstream50k walks the whole upstream of a deepest-layer
// CI (19 hops, ~47,000 CIs, 2,500 services with their paths) through the
// in-memory index, and, for comparison, the same reach with the recursive
// CTE in SQL.
func BenchmarkImpactUpstream50k(b *testing.B) {
	for _, eng := range engines() {
		b.Run(eng.name, func(b *testing.B) {
			s, root := benchGraph(b, eng.open(b))
			ctx := context.Background()
			b.Run("index-walk", func(b *testing.B) {
				var n int
				buf := &walkBuf{}
				start := cpuTime()
				for b.Loop() {
					s.g.mu.RLock()
					hops, _, _ := s.g.walkLocked(buf, root, Upstream, 0, 0)
					s.g.mu.RUnlock()
					n = len(hops)
				}
				reportCPU(b, start)
				b.ReportMetric(float64(n), "cis")
			})
			b.Run("index-impact", func(b *testing.B) {
				var n int
				start := cpuTime()
				for b.Loop() {
					res, err := s.Impact(ctx, root, Upstream, 0)
					if err != nil {
						b.Fatal(err)
					}
					n = len(res.Nodes)
				}
				reportCPU(b, start)
				b.ReportMetric(float64(n), "cis")
			})
			b.Run("index-impacted-services", func(b *testing.B) {
				var n int
				start := cpuTime()
				for b.Loop() {
					svcs, err := s.ImpactedServices(ctx, root)
					if err != nil {
						b.Fatal(err)
					}
					n = len(svcs)
				}
				reportCPU(b, start)
				b.ReportMetric(float64(n), "services")
			})
			b.Run("recursive-cte", func(b *testing.B) {
				var n int
				start := cpuTime()
				for b.Loop() {
					n = len(cteUpstream(b, s.db, root))
				}
				reportCPU(b, start) // PostgreSQL's own CPU is not counted
				b.ReportMetric(float64(n), "cis")
			})
		})
	}
}

// BenchmarkImpactMidGraph walks from a CI half way down (10 hops up) and a
// service's downstream to depth 3, the graph page's usual request.
func BenchmarkImpactMidGraph(b *testing.B) {
	s, _ := benchGraph(b, storetest.SQLite(b))
	ctx := context.Background()
	b.Run("upstream-from-layer-10", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Impact(ctx, 10*benchPerLayer+1, Upstream, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("service-downstream-depth-3", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Impact(ctx, 1, Downstream, 3); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStartLoads50k measures Start on the 50k/200k graph: seeding the
// built-in types and loading the whole index, as a server does on start.
func BenchmarkStartLoads50k(b *testing.B) {
	for _, eng := range engines() {
		b.Run(eng.name, func(b *testing.B) {
			s, _ := benchGraph(b, eng.open(b))
			ctx := context.Background()
			for b.Loop() {
				if err := s.Start(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
