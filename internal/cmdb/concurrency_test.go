package cmdb

import (
	"fmt"
	"sync"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// TestConcurrentWritesKeepTheIndexTrue relates and unrelates from several
// goroutines while others walk the graph; afterwards the index, as kept by
// the write path, must equal one loaded fresh from the database. Run with
// -race it also checks the locking.
func TestConcurrentWritesKeepTheIndexTrue(t *testing.T) {
	db := storetest.SQLite(t)
	s := newTestService(t, db)
	var ids []int64
	for i := range 12 {
		typ := "application"
		if i < 2 {
			typ = "business_service"
		}
		ids = append(ids, mustCI(t, s, typ, fmt.Sprint("c", i)).ID)
	}
	ctx := userCtx()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 30 {
				a, b := ids[(w*7+i)%len(ids)], ids[(w*3+i*5+1)%len(ids)]
				r, err := s.Relate(ctx, RelationshipInput{Type: "depends_on", SourceID: a, TargetID: b})
				if err == nil && i%3 == 0 {
					_ = s.Unrelate(ctx, r.ID)
				}
			}
		})
		wg.Go(func() {
			for i := range 50 {
				if _, err := s.Impact(ctx, ids[i%len(ids)], Upstream, 0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	fresh := newTestService(t, db)
	for _, id := range ids {
		for _, dir := range []Direction{Upstream, Downstream} {
			a, _ := s.Impact(ctx, id, dir, 0)
			b, _ := fresh.Impact(ctx, id, dir, 0)
			// Same CIs at the same depths (parents may differ among equally short paths).
			depths := func(ns []Node) map[int64]int {
				m := map[int64]int{}
				for _, n := range ns {
					m[n.CI.ID] = n.Depth
				}
				return m
			}
			if fmt.Sprint(depths(a.Nodes)) != fmt.Sprint(depths(b.Nodes)) {
				t.Fatalf("CI %d %s: kept index differs from a fresh load:\n%v\n%v", id, dir, a.Nodes, b.Nodes)
			}
		}
	}
}
