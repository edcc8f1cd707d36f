package cmdb

import (
	"context"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// MaxNeighbourhoodDepth bounds Neighbourhood walks: past a few hops almost
// every CI of a real estate is connected to every other through shared
// infrastructure, and "related" stops meaning anything.
const MaxNeighbourhoodDepth = 5

// Neighbourhood returns the CIs within maxDepth hops of any of the roots,
// walking the dependency graph both ways (what the roots need and what
// needs them), each mapped to the root it was first reached from. The
// roots map to themselves; roots the CMDB does not know are left out.
// Change conflict detection calls this: one walk from every root at once
// costs what the reached part of the graph costs, however many roots.
func (s *Service) Neighbourhood(ctx context.Context, roots []int64, maxDepth int) (map[int64]int64, error) {
	if !s.started {
		return nil, ErrNotStarted
	}
	if maxDepth < 0 || maxDepth > MaxNeighbourhoodDepth {
		return nil, valid.Errorf("depth", "must be from 0 to %d", MaxNeighbourhoodDepth)
	}
	g := s.g
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make(map[int64]int64, len(roots)*4)
	// origin holds, by slot, the root a CI was reached from (its id);
	// only slots touched are recorded, so nothing scales with the graph.
	origin := make(map[int32]int64, len(roots)*4)
	frontier := make([]int32, 0, len(roots))
	for _, r := range roots {
		sl, ok := g.slot[r]
		if !ok {
			continue
		}
		if _, dup := origin[sl]; dup {
			continue
		}
		origin[sl] = r
		out[r] = r
		frontier = append(frontier, sl)
	}
	var next []int32
	for depth := 1; depth <= maxDepth && len(frontier) > 0; depth++ {
		next = next[:0]
		for _, sl := range frontier {
			root := origin[sl]
			visit := func(e edge) bool {
				if _, ok := origin[e.peer]; ok {
					return true
				}
				origin[e.peer] = root
				out[g.nodes[e.peer].id] = root
				next = append(next, e.peer)
				return true
			}
			g.neighbours(sl, Upstream, visit)
			g.neighbours(sl, Downstream, visit)
		}
		frontier, next = next, frontier
	}
	return out, nil
}
