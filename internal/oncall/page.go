package oncall

import (
	"context"
	"fmt"
)

// SchedulesPage returns up to limit schedules with ids above after, by id,
// and the last id when more may follow (0 otherwise): the API's cursor.
func (s *Service) SchedulesPage(ctx context.Context, after int64, limit int) ([]*Schedule, int64, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+scheduleCols+` FROM oncall_schedules WHERE id > $1 ORDER BY id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("oncall: schedules: %w", err)
	}
	defer rows.Close()
	out := []*Schedule{}
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("oncall: schedules: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("oncall: schedules: %w", err)
	}
	if len(out) > limit {
		out = out[:limit]
		return out, out[limit-1].ID, nil
	}
	return out, 0, nil
}

// PoliciesPage is SchedulesPage for escalation policies.
func (s *Service) PoliciesPage(ctx context.Context, after int64, limit int) ([]*Policy, int64, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+policyCols+` FROM escalation_policies WHERE id > $1 ORDER BY id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("oncall: policies: %w", err)
	}
	defer rows.Close()
	out := []*Policy{}
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("oncall: policies: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("oncall: policies: %w", err)
	}
	if len(out) > limit {
		out = out[:limit]
		return out, out[limit-1].ID, nil
	}
	return out, 0, nil
}
