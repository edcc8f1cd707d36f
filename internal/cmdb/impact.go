package cmdb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Node is one CI an impact walk reached.
type Node struct {
	CI    CIRef `json:"ci"`
	Depth int   `json:"depth"`
	// Via is the CI it was first reached from (on a shortest path) and the
	// relationship between them.
	Via          int64  `json:"via"`
	Relationship int64  `json:"relationship_id"`
	RelType      string `json:"relationship_type"`
}

// ServicePath is a business service an impact walk reached and the
// shortest chain of CIs from the start to it.
type ServicePath struct {
	Service CIRef   `json:"service"`
	Depth   int     `json:"depth"`
	Path    []CIRef `json:"path"`
}

// ImpactResult is what an impact walk found.
type ImpactResult struct {
	Root      CIRef     `json:"root"`
	Direction Direction `json:"direction"`
	// MaxDepth is the depth limit (0: none).
	MaxDepth int    `json:"max_depth"`
	Nodes    []Node `json:"nodes"`
	// Services are the business services among the nodes, with paths.
	Services  []ServicePath `json:"services"`
	Truncated bool          `json:"truncated"`
}

// Limits of impact walks.
const (
	MaxImpactDepth = 50
	MaxImpactNodes = 10000
)

// ParseDirection checks a direction from outside input; empty is upstream.
func ParseDirection(field, s string) (Direction, error) {
	switch Direction(s) {
	case "", Upstream:
		return Upstream, nil
	case Downstream:
		return Downstream, nil
	}
	return "", valid.Errorf(field, "must be upstream or downstream")
}

// Impact walks the graph from a CI. Upstream finds everything the CI's
// failure hurts, up to the business services; downstream finds everything
// the CI needs. maxDepth limits the hops (0: no limit, at most
// MaxImpactDepth); at most MaxImpactNodes CIs are returned. Cycles are
// walked once.
func (s *Service) Impact(ctx context.Context, ciID int64, dir Direction, maxDepth int) (ImpactResult, error) {
	if !s.started {
		return ImpactResult{}, ErrNotStarted
	}
	if maxDepth < 0 || maxDepth > MaxImpactDepth {
		return ImpactResult{}, valid.Errorf("depth", "must be from 0 (no limit) to %d", MaxImpactDepth)
	}
	root, ok := s.g.ref(ciID)
	if !ok {
		return ImpactResult{}, fmt.Errorf("cmdb: impact of CI %d: %w", ciID, store.ErrNotFound)
	}
	// The walk is never cut by size, so every service is found; only the
	// node list returned is capped.
	buf := s.g.getBuf()
	defer s.g.putBuf(buf)
	s.g.mu.RLock()
	hops, seen, depthCut := s.g.walkLocked(buf, ciID, dir, maxDepth, 0)
	res := ImpactResult{Root: root, Direction: dir, MaxDepth: maxDepth, Truncated: depthCut || len(hops) > MaxImpactNodes, Services: []ServicePath{},
		Nodes: make([]Node, 0, min(len(hops), MaxImpactNodes))}
	for i, h := range hops {
		ref := s.g.refAt(h.at)
		if i < MaxImpactNodes {
			res.Nodes = append(res.Nodes, Node{CI: ref, Depth: h.Depth, Via: h.From, Relationship: h.Relationship, RelType: s.g.relKeys[h.RelType]})
		}
		if ref.Service {
			res.Services = append(res.Services, ServicePath{Service: ref, Depth: h.Depth, Path: s.g.pathLocked(hops, seen, root, i)})
		}
	}
	s.g.mu.RUnlock()
	if res.Nodes == nil {
		res.Nodes = []Node{}
	}
	slices.SortStableFunc(res.Services, func(a, b ServicePath) int { return strings.Compare(a.Service.Name, b.Service.Name) })
	return res, nil
}

// pathLocked follows the From links back from hop i to the root; the
// caller holds the read lock.
func (g *graph) pathLocked(hops []Hop, seen []int32, root CIRef, i int) []CIRef {
	rev := make([]CIRef, 0, hops[i].Depth+1)
	for i >= 0 {
		rev = append(rev, g.refAt(hops[i].at))
		i = int(seen[hops[i].from])
	}
	rev = append(rev, root)
	slices.Reverse(rev)
	return rev
}

// ImpactedServices returns every business service that the CI's failure
// hurts however deep, by name, as full CIs. A business service itself is
// not in its own result. The incident package calls this.
func (s *Service) ImpactedServices(ctx context.Context, ciID int64) ([]CI, error) {
	if !s.started {
		return nil, ErrNotStarted
	}
	if _, ok := s.g.ref(ciID); !ok {
		return nil, fmt.Errorf("cmdb: impacted services of CI %d: %w", ciID, store.ErrNotFound)
	}
	var svcs []CIRef
	buf := s.g.getBuf()
	defer s.g.putBuf(buf)
	s.g.mu.RLock()
	hops, _, _ := s.g.walkLocked(buf, ciID, Upstream, 0, 0)
	for _, h := range hops {
		if ref := s.g.refAt(h.at); ref.Service {
			svcs = append(svcs, ref)
		}
	}
	s.g.mu.RUnlock()
	slices.SortFunc(svcs, func(a, b CIRef) int { return strings.Compare(a.Name, b.Name) })
	ids := make([]int64, len(svcs))
	for i, r := range svcs {
		ids[i] = r.ID
	}
	// A service deleted since the walk is left out.
	return s.getMany(ctx, ids)
}
