package change

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// Conflict is another planned change whose time overlaps and whose CIs are
// the same as, or connected through the CMDB to, this change's CIs.
type Conflict struct {
	ChangeID     int64     `json:"change_id"`
	Title        string    `json:"title"`
	State        State     `json:"state"`
	PlannedStart time.Time `json:"planned_start"`
	PlannedEnd   time.Time `json:"planned_end"`
	// Pairs name the CI of the other change and the CI of this change it
	// touches (the same CI when Direct).
	Pairs []ConflictPair `json:"pairs"`
}

// ConflictPair is one CI of the other change and this change's CI it
// conflicts with.
type ConflictPair struct {
	TheirCI int64 `json:"their_ci"`
	OurCI   int64 `json:"our_ci"`
	Direct  bool  `json:"direct"`
}

// inChunk bounds the ids of one IN list (well under both engines' limits).
const inChunk = 900

// Conflicts returns the changes conflicting with change id.
func (s *Service) Conflicts(ctx context.Context, id int64) ([]Conflict, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.PlannedStart == nil || c.PlannedEnd == nil || !c.State.Open() {
		return []Conflict{}, nil
	}
	return s.ConflictsFor(ctx, id, *c.PlannedStart, *c.PlannedEnd, c.CIIDs())
}

// ConflictsFor finds the planned changes (assessment to implementing)
// other than self that overlap [start, end) and touch one of ciIDs or a
// CI within Options.ConflictDepth dependency hops of one (either way).
// It walks the CMDB graph once from all the CIs, then reads only the
// changes on the CIs reached, through the change_cis index, so its cost
// follows the neighbourhood's size, not the number of changes.
func (s *Service) ConflictsFor(ctx context.Context, self int64, start, end time.Time, ciIDs []int64) ([]Conflict, error) {
	out := []Conflict{}
	if len(ciIDs) == 0 {
		return out, nil
	}
	near := make(map[int64]int64, len(ciIDs))
	if s.opts.CMDB != nil {
		var err error
		if near, err = s.opts.CMDB.Neighbourhood(ctx, ciIDs, s.opts.ConflictDepth); err != nil {
			return nil, fmt.Errorf("change: conflicts: %w", err)
		}
	} else {
		for _, id := range ciIDs {
			near[id] = id
		}
	}
	ids := make([]int64, 0, len(near))
	for id := range near {
		ids = append(ids, id)
	}
	byChange := map[int64]int{}
	for lo := 0; lo < len(ids); lo += inChunk {
		chunk := ids[lo:min(lo+inChunk, len(ids))]
		ph, args := inList(chunk, 4)
		rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, c.title, c.state, c.planned_start, c.planned_end, cc.ci_id
			FROM change_cis cc JOIN changes c ON c.id = cc.change_id
			WHERE cc.ci_id IN (`+ph+`) AND c.id <> $1 AND c.state IN ('assessment', 'authorization', 'scheduled', 'implementing')
			AND c.planned_start < $2 AND c.planned_end > $3`, append([]any{self, end.UTC(), start.UTC()}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("change: conflicts: %w", err)
		}
		for rows.Next() {
			var cf Conflict
			var state string
			var ci int64
			var ps, pe store.NullTime
			if err := rows.Scan(&cf.ChangeID, &cf.Title, &state, &ps, &pe, &ci); err != nil {
				rows.Close()
				return nil, fmt.Errorf("change: conflicts: %w", err)
			}
			i, ok := byChange[cf.ChangeID]
			if !ok {
				cf.State, cf.PlannedStart, cf.PlannedEnd = State(state), ps.Time.UTC(), pe.Time.UTC()
				i = len(out)
				byChange[cf.ChangeID] = i
				out = append(out, cf)
			}
			ours := near[ci]
			out[i].Pairs = append(out[i].Pairs, ConflictPair{TheirCI: ci, OurCI: ours, Direct: ours == ci})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("change: conflicts: %w", err)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].PlannedStart.Equal(out[j].PlannedStart) {
			return out[i].PlannedStart.Before(out[j].PlannedStart)
		}
		return out[i].ChangeID < out[j].ChangeID
	})
	return out, nil
}
