package cmdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// rawEdge is a relationship as a plain list entry for the naive walk.
type rawEdge struct {
	rel, typ, src, tgt int64
}

// naiveReach is the reference: repeat "add every CI one hop from the set"
// over the plain edge list until nothing changes. No index, no queue.
func naiveReach(root int64, dir Direction, edges []rawEdge, impacts map[int64]Impact) map[int64]int {
	depth := map[int64]int{root: 0}
	for d := 1; ; d++ {
		var add []int64
		for _, e := range edges {
			im := impacts[e.typ]
			var from, to int64
			switch {
			case dir == Upstream && im.hurtsSource(), dir == Downstream && im.hurtsTarget():
				from, to = e.tgt, e.src
				if dd, ok := depth[from]; ok && dd == d-1 {
					if _, seen := depth[to]; !seen {
						add = append(add, to)
					}
				}
			}
			switch {
			case dir == Upstream && im.hurtsTarget(), dir == Downstream && im.hurtsSource():
				from, to = e.src, e.tgt
				if dd, ok := depth[from]; ok && dd == d-1 {
					if _, seen := depth[to]; !seen {
						add = append(add, to)
					}
				}
			}
		}
		if len(add) == 0 {
			delete(depth, root)
			return depth
		}
		for _, id := range add {
			if _, ok := depth[id]; !ok {
				depth[id] = d
			}
		}
	}
}

// randomGraph makes n nodes and m edges over four relationship types (one
// of each impact direction), with cycles and self-loops left out.
func randomGraph(r *rand.Rand, n, m int) (*graph, []rawEdge, map[int64]Impact) {
	g := newGraph()
	impacts := map[int64]Impact{1: ImpactTargetToSource, 2: ImpactSourceToTarget, 3: ImpactBoth, 4: ImpactNone}
	for id, im := range impacts {
		g.setRelType(id, fmt.Sprint(id), im)
	}
	g.setType(1, "host", false)
	g.setType(2, "business_service", true)
	for i := 1; i <= n; i++ {
		typ := int64(1)
		if r.IntN(5) == 0 {
			typ = 2
		}
		g.putCI(int64(i), fmt.Sprint("ci", i), typ)
	}
	var edges []rawEdge
	seen := map[[3]int64]bool{}
	for len(edges) < m {
		src, tgt := int64(1+r.IntN(n)), int64(1+r.IntN(n))
		typ := int64(1 + r.IntN(4))
		if src == tgt || seen[[3]int64{src, tgt, typ}] {
			continue
		}
		seen[[3]int64{src, tgt, typ}] = true
		e := rawEdge{rel: int64(len(edges) + 1), typ: typ, src: src, tgt: tgt}
		edges = append(edges, e)
		g.addEdge(e.rel, e.typ, e.src, e.tgt)
	}
	return g, edges, impacts
}

func TestWalkMatchesNaiveOnRandomGraphsWithCycles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 2 + r.IntN(40)
		m := r.IntN(n * 3)
		g, edges, impacts := randomGraph(r, n, m)
		// Remove some edges and a CI as the write path does, then compare.
		if round%3 == 0 && len(edges) > 0 {
			k := r.IntN(len(edges))
			g.removeEdge(edges[k].rel, edges[k].src, edges[k].tgt)
			edges = slices.Delete(edges, k, k+1)
		}
		if round%5 == 0 {
			gone := int64(1 + r.IntN(n))
			g.removeCI(gone)
			edges = slices.DeleteFunc(edges, func(e rawEdge) bool { return e.src == gone || e.tgt == gone })
		}
		for _, dir := range []Direction{Upstream, Downstream} {
			for root := int64(1); root <= int64(n); root++ {
				want := naiveReach(root, dir, edges, impacts)
				hops, truncated := g.walk(root, dir, 0, 0)
				if truncated {
					t.Fatalf("round %d: unlimited walk truncated", round)
				}
				got := map[int64]int{}
				for _, h := range hops {
					if _, dup := got[h.CI]; dup {
						t.Fatalf("round %d root %d %s: %d visited twice", round, root, dir, h.CI)
					}
					got[h.CI] = h.Depth
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("round %d root %d %s:\n got %v\nwant %v\nedges %v", round, root, dir, got, want, edges)
				}
				// Depth limits cut exactly at the depth.
				hops, _ = g.walk(root, dir, 2, 0)
				for _, h := range hops {
					if h.Depth > 2 || want[h.CI] != h.Depth {
						t.Fatalf("round %d: depth-limited walk reached %d at depth %d (want %d)", round, h.CI, h.Depth, want[h.CI])
					}
				}
				// Every hop's From was reached one level earlier.
				at := map[int64]int{root: 0}
				for _, h := range hops {
					at[h.CI] = h.Depth
				}
				for _, h := range hops {
					if at[h.From] != h.Depth-1 {
						t.Fatalf("round %d: hop to %d from %d at depth %d", round, h.CI, h.From, h.Depth)
					}
				}
			}
		}
	}
}

func TestWalkTruncates(t *testing.T) {
	g, _, _ := randomGraph(rand.New(rand.NewPCG(3, 4)), 10, 0)
	for i := int64(2); i <= 10; i++ {
		g.addEdge(i, 1, i, 1) // everything depends on 1
	}
	if hops, tr := g.walk(1, Upstream, 0, 3); len(hops) != 3 || !tr {
		t.Fatalf("node limit: %d hops, truncated %v", len(hops), tr)
	}
	g.putCI(11, "ci11", 1)
	g.addEdge(100, 1, 11, 2) // 11 depends on 2: depth 2 from 1
	if _, tr := g.walk(1, Upstream, 1, 0); !tr {
		t.Fatal("depth limit with more beyond: not truncated")
	}
	if _, tr := g.walk(1, Upstream, 2, 0); tr {
		t.Fatal("depth limit with nothing beyond: truncated")
	}
}

// cteReach is the recursive-CTE alternative to the in-memory index, the
// same walk in SQL on both engines; UNION (not UNION ALL) keeps each CI
// once, which is what makes it end on cycles.
const cteReach = `WITH RECURSIVE e(a, b) AS (
	SELECT r.target_id, r.source_id FROM ci_relationships r JOIN ci_relationship_types t ON t.id = r.type_id
		WHERE t.impact IN ('target_to_source', 'both')
	UNION ALL
	SELECT r.source_id, r.target_id FROM ci_relationships r JOIN ci_relationship_types t ON t.id = r.type_id
		WHERE t.impact IN ('source_to_target', 'both')
), up(id) AS (
	SELECT CAST($1 AS BIGINT)
	UNION
	SELECT e.b FROM e JOIN up ON e.a = up.id
)
SELECT id FROM up WHERE id <> $1 ORDER BY id`

func cteUpstream(t testing.TB, db *store.DB, root int64) []int64 {
	t.Helper()
	rows, err := db.R.QueryContext(context.Background(), cteReach, root)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImpactMatchesRecursiveCTE builds random graphs with cycles through
// the service (so the index is kept by the write path, not loaded) and
// checks every CI's upstream against the recursive CTE, then again after
// a restart loads the index from the database.
func TestImpactMatchesRecursiveCTE(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db)
		ctx := userCtx()
		rtypes := []string{"depends_on", "runs_on", "backed_up_by", "pushes_to"}
		if _, err := s.CreateRelationshipType(ctx, RelationshipTypeInput{Key: "pushes_to", Name: "pushes to", ReverseName: "receives from", Impact: ImpactSourceToTarget}); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(5, 6))
		const n = 40
		var ids []int64
		for i := range n {
			typ := "host"
			if i%6 == 0 {
				typ = "business_service"
			}
			ids = append(ids, mustCI(t, s, typ, fmt.Sprint("ci-", i)).ID)
		}
		var rels []Relationship
		for len(rels) < 90 {
			a, b := ids[r.IntN(n)], ids[r.IntN(n)]
			rel, err := s.Relate(ctx, RelationshipInput{Type: rtypes[r.IntN(len(rtypes))], SourceID: a, TargetID: b})
			if err != nil {
				continue // self-links and duplicates are refused; tested elsewhere
			}
			rels = append(rels, rel)
		}
		for _, rel := range rels[:10] {
			if err := s.Unrelate(ctx, rel.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, ids[7]); err != nil {
			t.Fatal(err)
		}
		check := func(s *Service) {
			for _, id := range ids {
				if id == ids[7] {
					continue
				}
				res, err := s.Impact(ctx, id, Upstream, 0)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, nd := range res.Nodes {
					got = append(got, nd.CI.ID)
				}
				slices.Sort(got)
				if want := cteUpstream(t, db, id); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("CI %d upstream:\n got %v\nwant %v", id, got, want)
				}
			}
		}
		check(s)
		check(newTestService(t, db))
	})
}
