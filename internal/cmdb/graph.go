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
//
// CIs get dense slot numbers so that adjacency lists and a walk's visited
// set are slices, not maps: a 50,000-CI walk then costs one small
// allocation for the visited set instead of a growing hash map. Slots of
// deleted CIs stay empty until the next start.
type graph struct {
	mu      sync.RWMutex
	slot    map[int64]int32
	nodes   []node
	types   map[int64]typeInfo
	impacts map[int64]Impact
	relKeys map[int64]string
	out     [][]edge // by source slot: edges to targets
	in      [][]edge // by target slot: edges from sources
	// bufs keeps walk buffers between walks: a whole-graph walk fills
	// megabytes of hops, and reusing them keeps impact analysis off the
	// garbage collector.
	bufs sync.Pool
}

// walkBuf holds one walk's working memory.
type walkBuf struct {
	hops           []Hop
	seen           []int32
	frontier, next []int32
}

func (g *graph) getBuf() *walkBuf {
	if b, ok := g.bufs.Get().(*walkBuf); ok {
		return b
	}
	return &walkBuf{}
}

// putBuf returns a buffer; the caller no longer uses its hops.
func (g *graph) putBuf(b *walkBuf) { g.bufs.Put(b) }

type node struct {
	id   int64 // 0 for a deleted CI's slot
	name string
	typ  int64
}

type typeInfo struct {
	key     string
	service bool
}

// edge is one relationship seen from one end; peer is the other end's slot.
// hurts caches its type's impact direction as bits, so a walk reads no map
// per edge; setRelType rewrites them when a type's direction changes.
type edge struct {
	rel, typ int64
	peer     int32
	hurts    uint8
}

// The bits of edge.hurts.
const (
	hurtsSource uint8 = 1 << iota // the target failing hurts the source
	hurtsTarget                   // the source failing hurts the target
)

func hurtsBits(im Impact) uint8 {
	var b uint8
	if im.hurtsSource() {
		b |= hurtsSource
	}
	if im.hurtsTarget() {
		b |= hurtsTarget
	}
	return b
}

func newGraph() *graph {
	return &graph{slot: map[int64]int32{}, types: map[int64]typeInfo{}, impacts: map[int64]Impact{}, relKeys: map[int64]string{}}
}

func (g *graph) setType(id int64, key string, service bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.types[id] = typeInfo{key: key, service: service}
}

func (g *graph) setRelType(relType int64, key string, im Impact) {
	g.mu.Lock()
	defer g.mu.Unlock()
	changed := g.impacts[relType] != im
	g.impacts[relType], g.relKeys[relType] = im, key
	if !changed {
		return
	}
	bits := hurtsBits(im)
	for _, lists := range [][][]edge{g.out, g.in} {
		for _, es := range lists {
			for i := range es {
				if es[i].typ == relType {
					es[i].hurts = bits
				}
			}
		}
	}
}

func (g *graph) putCI(id int64, name string, typ int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.putCILocked(id, name, typ)
}

func (g *graph) putCILocked(id int64, name string, typ int64) int32 {
	if s, ok := g.slot[id]; ok {
		g.nodes[s] = node{id: id, name: name, typ: typ}
		return s
	}
	s := int32(len(g.nodes))
	g.slot[id] = s
	g.nodes = append(g.nodes, node{id: id, name: name, typ: typ})
	g.out = append(g.out, nil)
	g.in = append(g.in, nil)
	return s
}

// removeCI drops a CI and every edge touching it, as the database's
// cascade does.
func (g *graph) removeCI(id int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.slot[id]
	if !ok {
		return
	}
	for _, e := range g.out[s] {
		g.in[e.peer] = dropEdge(g.in[e.peer], e.rel)
	}
	for _, e := range g.in[s] {
		g.out[e.peer] = dropEdge(g.out[e.peer], e.rel)
	}
	g.out[s], g.in[s], g.nodes[s] = nil, nil, node{}
	delete(g.slot, id)
}

func (g *graph) addEdge(rel, typ, source, target int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addEdgeLocked(rel, typ, source, target)
}

// addEdgeLocked adds an edge; an end the index does not know gets an
// empty slot (the database's foreign keys make that not happen).
func (g *graph) addEdgeLocked(rel, typ, source, target int64) {
	s, ok := g.slot[source]
	if !ok {
		s = g.putCILocked(source, "", 0)
	}
	t, ok := g.slot[target]
	if !ok {
		t = g.putCILocked(target, "", 0)
	}
	bits := hurtsBits(g.impacts[typ])
	g.out[s] = append(g.out[s], edge{rel: rel, typ: typ, peer: t, hurts: bits})
	g.in[t] = append(g.in[t], edge{rel: rel, typ: typ, peer: s, hurts: bits})
}

func (g *graph) removeEdge(rel, source, target int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.slot[source]; ok {
		g.out[s] = dropEdge(g.out[s], rel)
	}
	if t, ok := g.slot[target]; ok {
		g.in[t] = dropEdge(g.in[t], rel)
	}
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
	// at is the slot of CI, from the slot of From.
	at, from int32
}

// walk visits the CIs reachable from root in dir, breadth first, each once
// (so cycles end the walk instead of looping), up to maxDepth hops (0: no
// limit) and maxNodes CIs (0: no limit). The root is not in the result.
// truncated reports that a limit cut the walk short.
func (g *graph) walk(root int64, dir Direction, maxDepth, maxNodes int) (hops []Hop, truncated bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	hops, _, truncated = g.walkLocked(&walkBuf{}, root, dir, maxDepth, maxNodes)
	return hops, truncated
}

// walkLocked is walk under the caller's read lock. It also returns, by
// slot, where each reached CI is in hops (-1 for the root, -2 for CIs not
// reached), for following paths back.
func (g *graph) walkLocked(buf *walkBuf, root int64, dir Direction, maxDepth, maxNodes int) (hops []Hop, seen []int32, truncated bool) {
	rs, ok := g.slot[root]
	if !ok {
		return nil, nil, false
	}
	if cap(buf.seen) < len(g.nodes) {
		buf.seen = make([]int32, len(g.nodes))
	}
	seen = buf.seen[:len(g.nodes)]
	for i := range seen {
		seen[i] = -2
	}
	seen[rs] = -1
	hops = buf.hops[:0]
	frontier := append(buf.frontier[:0], rs)
	next := buf.next[:0]
	defer func() { buf.hops, buf.frontier, buf.next = hops, frontier, next }()
	for depth := 1; len(frontier) > 0; depth++ {
		if maxDepth > 0 && depth > maxDepth {
			// Anything beyond the limit means the picture is cut.
			for _, s := range frontier {
				if g.hasNext(s, dir, seen) {
					return hops, seen, true
				}
			}
			return hops, seen, false
		}
		next = next[:0]
		for _, s := range frontier {
			from := g.nodes[s].id
			visit := func(e edge) bool {
				if seen[e.peer] != -2 {
					return true
				}
				if maxNodes > 0 && len(hops) >= maxNodes {
					truncated = true
					return false
				}
				seen[e.peer] = int32(len(hops))
				hops = append(hops, Hop{CI: g.nodes[e.peer].id, Depth: depth, From: from, Relationship: e.rel, RelType: e.typ, at: e.peer, from: s})
				next = append(next, e.peer)
				return true
			}
			if !g.neighbours(s, dir, visit) {
				return hops, seen, truncated
			}
		}
		frontier, next = next, frontier
	}
	return hops, seen, false
}

// neighbours calls fn for every edge from id that impact travels along in
// dir, until fn returns false.
func (g *graph) neighbours(id int32, dir Direction, fn func(edge) bool) bool {
	// Upstream: what id failing hurts. An edge where id is the target hurts
	// the source when impact runs target→source; where id is the source, it
	// hurts the target when impact runs source→target. Downstream reverses.
	byTarget, bySource := g.in[id], g.out[id]
	if dir == Downstream {
		byTarget, bySource = g.out[id], g.in[id]
	}
	for _, e := range byTarget {
		if e.hurts&hurtsSource != 0 && !fn(e) {
			return false
		}
	}
	for _, e := range bySource {
		if e.hurts&hurtsTarget != 0 && !fn(e) {
			return false
		}
	}
	return true
}

func (g *graph) hasNext(id int32, dir Direction, seen []int32) bool {
	found := false
	g.neighbours(id, dir, func(e edge) bool {
		if seen[e.peer] == -2 {
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
	s, ok := g.slot[id]
	if !ok {
		return CIRef{ID: id}, false
	}
	return g.refAt(s), true
}

// refAt is the ref of the CI in slot s; the caller holds the lock.
func (g *graph) refAt(s int32) CIRef {
	n := g.nodes[s]
	t := g.types[n.typ]
	return CIRef{ID: n.id, Name: n.name, Type: t.key, Service: t.service}
}
