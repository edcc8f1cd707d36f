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
	hops, truncated := s.g.walk(ciID, dir, maxDepth, MaxImpactNodes)
	res := ImpactResult{Root: root, Direction: dir, MaxDepth: maxDepth, Truncated: truncated, Nodes: make([]Node, len(hops)), Services: []ServicePath{}}
	ids := make([]int64, len(hops))
	for i, h := range hops {
		ids[i] = h.CI
	}
	refs := s.g.refs(ids)
	s.g.mu.RLock()
	at := make(map[int64]int, len(hops))
	for i, h := range hops {
		at[h.CI] = i
		res.Nodes[i] = Node{CI: refs[i], Depth: h.Depth, Via: h.From, Relationship: h.Relationship}
		res.Nodes[i].RelType = s.g.relKeyLocked(h.RelType)
	}
	s.g.mu.RUnlock()
	for i, n := range res.Nodes {
		if n.CI.Service {
			res.Services = append(res.Services, ServicePath{Service: n.CI, Depth: n.Depth, Path: pathTo(res.Nodes, at, root, i)})
		}
	}
	slices.SortStableFunc(res.Services, func(a, b ServicePath) int { return strings.Compare(a.Service.Name, b.Service.Name) })
	return res, nil
}

// pathTo follows the Via links back from node i to the root.
func pathTo(nodes []Node, at map[int64]int, root CIRef, i int) []CIRef {
	var rev []CIRef
	for {
		n := nodes[i]
		rev = append(rev, n.CI)
		j, ok := at[n.Via]
		if !ok {
			break
		}
		i = j
	}
	rev = append(rev, root)
	slices.Reverse(rev)
	return rev
}

// ImpactedServices returns every business service that the CI's failure
// hurts however deep, by name, as full CIs. A business service itself is
// not in its own result. The incident package calls this.
func (s *Service) ImpactedServices(ctx context.Context, ciID int64) ([]CI, error) {
	res, err := s.Impact(ctx, ciID, Upstream, 0)
	if err != nil {
		return nil, err
	}
	out := make([]CI, 0, len(res.Services))
	for _, sp := range res.Services {
		c, err := s.Get(ctx, sp.Service.ID)
		if isNotFound(err) {
			continue // deleted since the walk
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
