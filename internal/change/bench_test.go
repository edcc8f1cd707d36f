package change

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// The figure: a change touching 100 CIs checked against 10,000
// scheduled changes on a 50,000-CI graph.
const (
	benchLayers   = 20
	benchPerLayer = 2500
	benchOut      = 4
	benchChanges  = 10000
	benchTouch    = 100
)

// benchWorld builds the CMDB benchmark's layered graph (as
// internal/cmdb/bench_test.go does: 50,000 CIs, 200,000 depends_on
// relationships, some back edges) and 10,000 scheduled changes of 1-5 CIs
// each, all in the same week, so every one overlaps the change checked.
func benchWorld(b *testing.B, db *store.DB) (*Service, []int64, time.Time) {
	b.Helper()
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	cm := cmdb.NewService(db, cmdb.Options{Now: func() time.Time { return now }})
	if err := cm.Start(ctx); err != nil {
		b.Fatal(err)
	}
	app, _ := cm.TypeByKey(ctx, "application")
	rts, _ := cm.RelationshipTypes(ctx)
	var dep int64
	for _, rt := range rts {
		if rt.Key == "depends_on" {
			dep = rt.ID
		}
	}
	n := benchLayers * benchPerLayer
	var cis [][]any
	for i := 1; i <= n; i++ {
		cis = append(cis, []any{int64(i), app.ID, fmt.Sprintf("ci-%05d", i), "medium", "prod", "active", "{}", now, now})
	}
	if err := db.InsertMany(ctx, db.W, "cis", []string{"id", "type_id", "name", "criticality", "environment", "status", "attributes", "created_at", "updated_at"}, cis); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	seen := map[[2]int64]bool{}
	var rels [][]any
	for len(rels) < n*benchOut {
		l := r.IntN(benchLayers - 1)
		src := int64(l*benchPerLayer + r.IntN(benchPerLayer) + 1)
		tgt := int64((l+1)*benchPerLayer + r.IntN(benchPerLayer) + 1)
		if r.IntN(100) == 0 {
			src, tgt = tgt, src
		}
		if seen[[2]int64{src, tgt}] {
			continue
		}
		seen[[2]int64{src, tgt}] = true
		rels = append(rels, []any{int64(len(rels) + 1), dep, src, tgt, now, "bench"})
	}
	if err := db.InsertMany(ctx, db.W, "ci_relationships", []string{"id", "type_id", "source_id", "target_id", "created_at", "created_by"}, rels); err != nil {
		b.Fatal(err)
	}
	start := now.Add(24 * time.Hour)
	var chs, links [][]any
	for i := 1; i <= benchChanges; i++ {
		ps := start.Add(time.Duration(r.IntN(7*24)) * time.Hour)
		chs = append(chs, []any{int64(i), "normal", "scheduled", fmt.Sprintf("change %d", i), "medium", ps, ps.Add(4 * time.Hour), "bench", now, now})
		k := 1 + r.IntN(5)
		mine := map[int64]bool{}
		for len(mine) < k {
			mine[int64(r.IntN(n)+1)] = true
		}
		for ci := range mine {
			links = append(links, []any{int64(i), ci})
		}
	}
	if err := db.InsertMany(ctx, db.W, "changes", []string{"id", "type", "state", "title", "risk", "planned_start", "planned_end", "requester", "created_at", "updated_at"}, chs); err != nil {
		b.Fatal(err)
	}
	if err := db.InsertMany(ctx, db.W, "change_cis", []string{"change_id", "ci_id"}, links); err != nil {
		b.Fatal(err)
	}
	if db.Dialect == store.Postgres {
		for _, q := range []string{`SELECT setval(pg_get_serial_sequence('changes', 'id'), 100000)`, `ANALYZE`} {
			if _, err := db.W.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	} else if _, err := db.W.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	if err := cm.Start(ctx); err != nil {
		b.Fatal(err)
	}
	touch := make([]int64, benchTouch)
	for i := range touch {
		touch[i] = int64(r.IntN(n) + 1)
	}
	return New(db, Options{CMDB: cm}), touch, start
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConflicts checks a 100-CI change spanning the whole week
// (overlapping all 10,000 changes) at dependency depth 1 and 2.
func BenchmarkConflicts(b *testing.B) {
	for _, e := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(e.name, func(b *testing.B) {
			s, touch, start := benchWorld(b, e.open(b))
			for _, depth := range []int{1, 2} {
				b.Run(fmt.Sprintf("depth%d", depth), func(b *testing.B) {
					s.opts.ConflictDepth = depth
					ctx := context.Background()
					var found int
					cpu := cpuTime()
					for b.Loop() {
						cs, err := s.ConflictsFor(ctx, 0, start, start.Add(7*24*time.Hour), touch)
						if err != nil {
							b.Fatal(err)
						}
						found = len(cs)
					}
					b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
					b.ReportMetric(float64(found), "conflicts")
				})
			}
		})
	}
}
