package servicedesk

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Matrix maps impact × urgency to a priority: Matrix[impact-1][urgency-1].
type Matrix [3][3]Priority

// Priority looks up the priority of an impact and urgency.
func (m Matrix) Priority(impact, urgency Level) Priority {
	if impact < 1 || impact > 3 || urgency < 1 || urgency > 3 {
		return 3
	}
	return m[impact-1][urgency-1]
}

func (m Matrix) check() error {
	for i := range m {
		for u := range m[i] {
			if p := m[i][u]; p < 1 || p > 5 {
				return valid.Errorf(fmt.Sprintf("matrix.%d.%d", i+1, u+1), "priority must be 1 to 5")
			}
		}
	}
	return nil
}

// PriorityMatrix returns the impact × urgency matrix.
func (s *Service) PriorityMatrix(ctx context.Context) (Matrix, error) {
	return s.matrix(ctx, s.db.R)
}

func (s *Service) matrix(ctx context.Context, q store.Querier) (Matrix, error) {
	m := Matrix{{1, 2, 3}, {2, 3, 4}, {3, 4, 5}}
	rows, err := q.QueryContext(ctx, `SELECT impact, urgency, priority FROM sd_priority_matrix`)
	if err != nil {
		return m, wrap("priority matrix", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i, u Level
		var p Priority
		if err := rows.Scan(&i, &u, &p); err != nil {
			return m, wrap("priority matrix", err)
		}
		if i >= 1 && i <= 3 && u >= 1 && u <= 3 {
			m[i-1][u-1] = p
		}
	}
	return m, wrap("priority matrix", rows.Err())
}

// SetPriorityMatrix replaces the matrix. Existing tickets keep their
// priority; new tickets and impact or urgency changes use the new one.
func (s *Service) SetPriorityMatrix(ctx context.Context, m Matrix) error {
	if err := m.check(); err != nil {
		return err
	}
	return wrap("set priority matrix", s.db.Tx(ctx, func(tx *sql.Tx) error {
		for i := range m {
			for u := range m[i] {
				if _, err := tx.ExecContext(ctx, `INSERT INTO sd_priority_matrix (impact, urgency, priority) VALUES ($1, $2, $3)
					ON CONFLICT (impact, urgency) DO UPDATE SET priority = excluded.priority`, i+1, u+1, int(m[i][u])); err != nil {
					return err
				}
			}
		}
		return auth.Audit(ctx, tx, "priority_matrix.update", "priority_matrix", "", fmt.Sprint(m))
	}))
}
