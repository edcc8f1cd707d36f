package backup

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// TypeRule is a CI type and whether its items should be backed up.
type TypeRule struct {
	TypeID   int64  `json:"type_id"`
	Key      string `json:"key"`
	Name     string `json:"name"`
	Required bool   `json:"backup_required"`
}

// TypeRules lists every CI type with its backup rule.
func (s *Service) TypeRules(ctx context.Context) ([]TypeRule, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT t.id, t.key, t.name, b.type_id IS NOT NULL FROM ci_types t
		LEFT JOIN backup_ci_types b ON b.type_id = t.id ORDER BY t.name, t.id`)
	if err != nil {
		return nil, wrap("type rules", err)
	}
	defer rows.Close()
	out := []TypeRule{}
	for rows.Next() {
		var r TypeRule
		if err := rows.Scan(&r.TypeID, &r.Key, &r.Name, &r.Required); err != nil {
			return nil, wrap("type rules", err)
		}
		out = append(out, r)
	}
	return out, wrap("type rules", rows.Err())
}

// SetTypeRequired marks a CI type as one whose items should (or need not)
// be backed up.
func (s *Service) SetTypeRequired(ctx context.Context, typeID int64, required bool) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var q string
		if required {
			q = `INSERT INTO backup_ci_types (type_id) VALUES ($1) ON CONFLICT (type_id) DO NOTHING`
		} else {
			q = `DELETE FROM backup_ci_types WHERE type_id = $1`
		}
		if _, err := tx.ExecContext(ctx, q, typeID); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "backup_coverage.set", "ci_type", strconv.FormatInt(typeID, 10), strconv.FormatBool(required))
	})
	return wrapTypeRef(err)
}

func wrapTypeRef(err error) error {
	err = wrap("coverage rule", err)
	if errors.Is(err, store.ErrReference) {
		return valid.Errorf("type_id", "no such CI type")
	}
	return err
}

// Uncovered lists the CIs of types that should be backed up and that no
// job protects, by type and name (at most limit, default 500).
func (s *Service) Uncovered(ctx context.Context, limit int) ([]CIRef, error) {
	if limit <= 0 || limit > 5000 {
		limit = 500
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, c.name, t.key FROM cis c JOIN ci_types t ON t.id = c.type_id
		JOIN backup_ci_types b ON b.type_id = c.type_id
		WHERE c.status <> 'retired' AND NOT EXISTS (SELECT 1 FROM backup_job_cis jc WHERE jc.ci_id = c.id)
		ORDER BY t.key, c.name, c.id LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("coverage", err)
	}
	defer rows.Close()
	out := []CIRef{}
	for rows.Next() {
		var c CIRef
		if err := rows.Scan(&c.ID, &c.Name, &c.Type); err != nil {
			return nil, wrap("coverage", err)
		}
		out = append(out, c)
	}
	return out, wrap("coverage", rows.Err())
}
