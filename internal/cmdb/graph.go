package cmdb

import (
	"slices"
	"sync"
)

// Direction is which way impact analysis walks.
type Direction string

// The directions.
const (
	// Upstream walks to what a CI's failure hurts: the CIs that depend on
	// it, however deep, up to the business services.
	Upstream Direction = "upstream"
	// Downstream walks to what a CI needs: its whole dependency tree.
	Downstream Direction = "downstream"
)

// graph is the in-memory index of the relationship graph that impact
// analysis walks. It is loaded from the database on start and changed by
// the service's write path after each commit (under the service's write
// lock, so the index applies changes in commit order). Reads take the read
// lock only.
type graph struct {
	mu      sync.RWMutex
	nodes   map[int64]node
	types   map[int64]typeInfo
	impacts map[int64]Impact
	relKeys map[int64]string
	out     map[int64][]edge // by source: edges to targets
	in      map[int64][]edge // by target: edges from sources
}

type node struct {
	name string
	typ  int64
}

type typeInfo struct {
	key     string
	service bool
}

// edge is one relationship seen from one end; peer is the other end.
type edge struct {
	rel, typ, peer int64
}

func newGraph() *graph {
	return &graph{nodes: map[int64]node{}, types: map[int64]typeInfo{}, impacts: map[int64]Impact{}, relKeys: map[int64]string{},
		out: map[int64][]edge{}, in: map[int64][]edge{}}
}

func (g *graph) setType(id int64, key string, service bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.types[id] = typeInfo{key: key, service: service}
}

func (g *graph) setRelType(relType int64, key string, im Impact) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.impacts[relType], g.relKeys[relType] = im, key
}

func (g *graph) putCI(id int64, name string, typ int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nodes[id] = node{name: name, typ: typ}
}

// removeCI drops a CI and every edge touching it, as the database's
// cascade does.
func (g *graph) removeCI(id int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.out[id] {
		g.in[e.peer] = dropEdge(g.in[e.peer], e.rel)
	}
	for _, e := range g.in[id] {
		g.out[e.peer] = dropEdge(g.out[e.peer], e.rel)
	}
	delete(g.out, id)
	delete(g.in, id)
	delete(g.nodes, id)
}

func (g *graph) addEdge(rel, typ, source, target int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addEdgeLocked(rel, typ, source, target)
}

func (g *graph) addEdgeLocked(rel, typ, source, target int64) {
	g.out[source] = append(g.out[source], edge{rel: rel, typ: typ, peer: target})
	g.in[target] = append(g.in[target], edge{rel: rel, typ: typ, peer: source})
}

func (g *graph) removeEdge(rel, source, target int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.out[source] = dropEdge(g.out[source], rel)
	g.in[target] = dropEdge(g.in[target], rel)
}

func dropEdge(es []edge, rel int64) []edge {
	return slices.DeleteFunc(es, func(e edge) bool { return e.rel == rel })
}

// Hop is one CI reached by a walk: its depth and the relationship it was
// first reached through from From (the previous CI on a shortest path).
type Hop struct {
	CI           int64
	Depth        int
	From         int64
	Relationship int64
	RelType      int64
}

// walk visits the CIs reachable from root in dir, breadth first, each once
// (so cycles end the walk instead of looping), up to maxDepth hops (0: no
// limit) and maxNodes CIs (0: no limit). The root is not in the result.
// truncated reports that a limit cut the walk short.
func (g *graph) walk(root int64, dir Direction, maxDepth, maxNodes int) (hops []Hop, truncated bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	seen := map[int64]struct{}{root: {}}
	frontier := []int64{root}
	for depth := 1; len(frontier) > 0; depth++ {
		if maxDepth > 0 && depth > maxDepth {
			// Anything beyond the limit means the picture is cut.
			for _, id := range frontier {
				if g.hasNext(id, dir, seen) {
					return hops, true
				}
			}
			return hops, false
		}
		var next []int64
		for _, id := range frontier {
			visit := func(e edge) bool {
				if _, ok := seen[e.peer]; ok {
					return true
				}
				if maxNodes > 0 && len(hops) >= maxNodes {
					truncated = true
					return false
				}
				seen[e.peer] = struct{}{}
				hops = append(hops, Hop{CI: e.peer, Depth: depth, From: id, Relationship: e.rel, RelType: e.typ})
				next = append(next, e.peer)
				return true
			}
			if !g.neighbours(id, dir, visit) {
				return hops, truncated
			}
		}
		frontier = next
	}
	return hops, false
}

// neighbours calls fn for every edge from id that impact travels along in
// dir, until fn returns false.
func (g *graph) neighbours(id int64, dir Direction, fn func(edge) bool) bool {
	// Upstream: what id failing hurts. An edge where id is the target hurts
	// the source when impact runs target→source; where id is the source, it
	// hurts the target when impact runs source→target. Downstream reverses.
	byTarget, bySource := g.in[id], g.out[id]
	hurtsViaTarget, hurtsViaSource := Impact.hurtsSource, Impact.hurtsTarget
	if dir == Downstream {
		byTarget, bySource = g.out[id], g.in[id]
	}
	for _, e := range byTarget {
		if hurtsViaTarget(g.impacts[e.typ]) && !fn(e) {
			return false
		}
	}
	for _, e := range bySource {
		if hurtsViaSource(g.impacts[e.typ]) && !fn(e) {
			return false
		}
	}
	return true
}

func (g *graph) hasNext(id int64, dir Direction, seen map[int64]struct{}) bool {
	found := false
	g.neighbours(id, dir, func(e edge) bool {
		if _, ok := seen[e.peer]; !ok {
			found = true
			return false
		}
		return true
	})
	return found
}

// ref returns what the index knows of a CI for showing it.
func (g *graph) ref(id int64) (CIRef, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.refLocked(id)
}

func (g *graph) refLocked(id int64) (CIRef, bool) {
	n, ok := g.nodes[id]
	if !ok {
		return CIRef{ID: id}, false
	}
	t := g.types[n.typ]
	return CIRef{ID: id, Name: n.name, Type: t.key, Service: t.service}, true
}

// refs returns the refs of many CIs under one lock.
func (g *graph) refs(ids []int64) []CIRef {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]CIRef, len(ids))
	for i, id := range ids {
		out[i], _ = g.refLocked(id)
	}
	return out
}

// isService reports whether a CI is of a business-service type.
func (g *graph) isService(id int64) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.types[g.nodes[id].typ].service
}

// relKeyLocked names a relationship type; the caller holds the lock.
func (g *graph) relKeyLocked(typ int64) string { return g.relKeys[typ] }
