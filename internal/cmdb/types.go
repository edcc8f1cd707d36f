package cmdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

const typeCols = `id, key, name, description, builtin, service, attributes, created_at, updated_at`

func scanType(row interface{ Scan(...any) error }) (CIType, error) {
	var t CIType
	var attrs string
	if err := row.Scan(&t.ID, &t.Key, &t.Name, &t.Description, &t.Builtin, &t.Service, &attrs, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(attrs), &t.Attributes); err != nil {
		return t, fmt.Errorf("cmdb: type %s: stored attributes: %w", t.Key, err)
	}
	if t.Attributes == nil {
		t.Attributes = Schema{}
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// Types lists the CI types by name.
func (s *Service) Types(ctx context.Context) ([]CIType, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+typeCols+` FROM ci_types ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("cmdb: list types: %w", err)
	}
	defer rows.Close()
	var out []CIType
	for rows.Next() {
		t, err := scanType(rows)
		if err != nil {
			return nil, fmt.Errorf("cmdb: list types: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cmdb: list types: %w", err)
	}
	return out, nil
}

// Type returns the CI type with id.
func (s *Service) Type(ctx context.Context, id int64) (CIType, error) {
	return s.typeWhere(ctx, s.db.R, `id = $1`, id)
}

// TypeByKey returns the CI type with key.
func (s *Service) TypeByKey(ctx context.Context, key string) (CIType, error) {
	return s.typeWhere(ctx, s.db.R, `key = $1`, key)
}

func (s *Service) typeWhere(ctx context.Context, q store.Querier, where string, arg any) (CIType, error) {
	t, err := scanType(q.QueryRowContext(ctx, `SELECT `+typeCols+` FROM ci_types WHERE `+where, arg))
	if err != nil {
		return t, fmt.Errorf("cmdb: get type: %w", store.MapError(err))
	}
	return t, nil
}

// CreateType adds an admin-defined CI type.
func (s *Service) CreateType(ctx context.Context, in CITypeInput) (CIType, error) {
	if err := in.normalize(); err != nil {
		return CIType{}, err
	}
	var t CIType
	err := s.write(ctx, func(tx *sql.Tx) (func(), error) {
		attrs, _ := json.Marshal(in.Attributes)
		now := s.now()
		var err error
		t, err = scanType(tx.QueryRowContext(ctx, `INSERT INTO ci_types (key, name, description, builtin, service, attributes, created_at, updated_at)
			VALUES ($1, $2, $3, FALSE, $4, $5, $6, $6) RETURNING `+typeCols,
			in.Key, in.Name, in.Description, in.Service, string(attrs), now))
		if err != nil {
			return nil, fmt.Errorf("cmdb: create type: %w", store.MapError(err))
		}
		if err := auth.Audit(ctx, tx, "ci_type.create", "ci_type", strconv.FormatInt(t.ID, 10), t.Key); err != nil {
			return nil, err
		}
		return func() { s.g.setType(t.ID, t.Key, t.Service) }, nil
	})
	return t, err
}

// UpdateType changes a CI type. A built-in type keeps its key and service
// flag. Existing CIs are not re-checked: each is checked against the new
// schema when it is next changed.
func (s *Service) UpdateType(ctx context.Context, id int64, in CITypeInput) (CIType, error) {
	var t CIType
	err := s.write(ctx, func(tx *sql.Tx) (func(), error) {
		old, err := s.typeWhere(ctx, tx, `id = $1`, id)
		if err != nil {
			return nil, err
		}
		if old.Builtin {
			if in.Key != "" && in.Key != old.Key {
				return nil, &Refusal{Msg: "a built-in type keeps its key"}
			}
			in.Key, in.Service = old.Key, old.Service
		}
		if err := in.normalize(); err != nil {
			return nil, err
		}
		attrs, _ := json.Marshal(in.Attributes)
		t, err = scanType(tx.QueryRowContext(ctx, `UPDATE ci_types SET key = $1, name = $2, description = $3, service = $4, attributes = $5, updated_at = $6
			WHERE id = $7 RETURNING `+typeCols, in.Key, in.Name, in.Description, in.Service, string(attrs), s.now(), id))
		if err != nil {
			return nil, fmt.Errorf("cmdb: update type: %w", store.MapError(err))
		}
		if err := auth.Audit(ctx, tx, "ci_type.update", "ci_type", strconv.FormatInt(t.ID, 10), t.Key); err != nil {
			return nil, err
		}
		return func() { s.g.setType(t.ID, t.Key, t.Service) }, nil
	})
	return t, err
}

// DeleteType removes an admin-defined CI type that no CI uses.
func (s *Service) DeleteType(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) (func(), error) {
		old, err := s.typeWhere(ctx, tx, `id = $1`, id)
		if err != nil {
			return nil, err
		}
		if old.Builtin {
			return nil, &Refusal{Msg: "built-in types cannot be deleted"}
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cis WHERE type_id = $1`, id).Scan(&n); err != nil {
			return nil, fmt.Errorf("cmdb: delete type: %w", err)
		}
		if n > 0 {
			return nil, &Refusal{Msg: fmt.Sprintf("the type is used by %d configuration items; change or delete them first", n)}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ci_types WHERE id = $1`, id); err != nil {
			return nil, fmt.Errorf("cmdb: delete type: %w", store.MapError(err))
		}
		return nil, auth.Audit(ctx, tx, "ci_type.delete", "ci_type", strconv.FormatInt(id, 10), old.Key)
	})
}

const relTypeCols = `id, key, name, reverse_name, description, impact, builtin, created_at, updated_at`

func scanRelType(row interface{ Scan(...any) error }) (RelationshipType, error) {
	var t RelationshipType
	var im string
	err := row.Scan(&t.ID, &t.Key, &t.Name, &t.ReverseName, &t.Description, &im, &t.Builtin, &t.CreatedAt, &t.UpdatedAt)
	t.Impact, t.CreatedAt, t.UpdatedAt = Impact(im), t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

// RelationshipTypes lists the relationship types by key.
func (s *Service) RelationshipTypes(ctx context.Context) ([]RelationshipType, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+relTypeCols+` FROM ci_relationship_types ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("cmdb: list relationship types: %w", err)
	}
	defer rows.Close()
	var out []RelationshipType
	for rows.Next() {
		t, err := scanRelType(rows)
		if err != nil {
			return nil, fmt.Errorf("cmdb: list relationship types: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cmdb: list relationship types: %w", err)
	}
	return out, nil
}

// RelationshipType returns the relationship type with id.
func (s *Service) RelationshipType(ctx context.Context, id int64) (RelationshipType, error) {
	return s.relTypeWhere(ctx, s.db.R, `id = $1`, id)
}

func (s *Service) relTypeWhere(ctx context.Context, q store.Querier, where string, arg any) (RelationshipType, error) {
	t, err := scanRelType(q.QueryRowContext(ctx, `SELECT `+relTypeCols+` FROM ci_relationship_types WHERE `+where, arg))
	if err != nil {
		return t, fmt.Errorf("cmdb: get relationship type: %w", store.MapError(err))
	}
	return t, nil
}

// CreateRelationshipType adds an admin-defined relationship type.
func (s *Service) CreateRelationshipType(ctx context.Context, in RelationshipTypeInput) (RelationshipType, error) {
	if err := in.normalize(); err != nil {
		return RelationshipType{}, err
	}
	var t RelationshipType
	err := s.write(ctx, func(tx *sql.Tx) (func(), error) {
		var err error
		t, err = scanRelType(tx.QueryRowContext(ctx, `INSERT INTO ci_relationship_types (key, name, reverse_name, description, impact, builtin, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) RETURNING `+relTypeCols,
			in.Key, in.Name, in.ReverseName, in.Description, string(in.Impact), s.now()))
		if err != nil {
			return nil, fmt.Errorf("cmdb: create relationship type: %w", store.MapError(err))
		}
		if err := auth.Audit(ctx, tx, "ci_relationship_type.create", "ci_relationship_type", strconv.FormatInt(t.ID, 10), t.Key); err != nil {
			return nil, err
		}
		return func() { s.g.setRelType(t.ID, t.Key, t.Impact) }, nil
	})
	return t, err
}

// UpdateRelationshipType changes a relationship type's names and impact
// direction; impact analysis follows the new direction at once. A built-in
// type keeps its key.
func (s *Service) UpdateRelationshipType(ctx context.Context, id int64, in RelationshipTypeInput) (RelationshipType, error) {
	var t RelationshipType
	err := s.write(ctx, func(tx *sql.Tx) (func(), error) {
		old, err := s.relTypeWhere(ctx, tx, `id = $1`, id)
		if err != nil {
			return nil, err
		}
		if old.Builtin {
			if in.Key != "" && in.Key != old.Key {
				return nil, &Refusal{Msg: "a built-in relationship type keeps its key"}
			}
			in.Key = old.Key
		}
		if err := in.normalize(); err != nil {
			return nil, err
		}
		t, err = scanRelType(tx.QueryRowContext(ctx, `UPDATE ci_relationship_types SET key = $1, name = $2, reverse_name = $3, description = $4, impact = $5, updated_at = $6
			WHERE id = $7 RETURNING `+relTypeCols, in.Key, in.Name, in.ReverseName, in.Description, string(in.Impact), s.now(), id))
		if err != nil {
			return nil, fmt.Errorf("cmdb: update relationship type: %w", store.MapError(err))
		}
		detail := t.Key
		if old.Impact != t.Impact {
			detail += " impact " + string(old.Impact) + " → " + string(t.Impact)
		}
		if err := auth.Audit(ctx, tx, "ci_relationship_type.update", "ci_relationship_type", strconv.FormatInt(t.ID, 10), detail); err != nil {
			return nil, err
		}
		return func() { s.g.setRelType(t.ID, t.Key, t.Impact) }, nil
	})
	return t, err
}

// DeleteRelationshipType removes an admin-defined relationship type that no
// relationship uses.
func (s *Service) DeleteRelationshipType(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) (func(), error) {
		old, err := s.relTypeWhere(ctx, tx, `id = $1`, id)
		if err != nil {
			return nil, err
		}
		if old.Builtin {
			return nil, &Refusal{Msg: "built-in relationship types cannot be deleted"}
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ci_relationships WHERE type_id = $1`, id).Scan(&n); err != nil {
			return nil, fmt.Errorf("cmdb: delete relationship type: %w", err)
		}
		if n > 0 {
			return nil, &Refusal{Msg: fmt.Sprintf("the relationship type is used by %d relationships; remove them first", n)}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ci_relationship_types WHERE id = $1`, id); err != nil {
			return nil, fmt.Errorf("cmdb: delete relationship type: %w", store.MapError(err))
		}
		return nil, auth.Audit(ctx, tx, "ci_relationship_type.delete", "ci_relationship_type", strconv.FormatInt(id, 10), old.Key)
	})
}

// isNotFound reports a missing row.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
