package cmdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// CIRef names a CI where another object refers to it.
type CIRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	// Service is set for business services.
	Service bool `json:"service,omitempty"`
}

// Relationship is a typed, directed link from Source to Target, read as
// "Source <Name> Target" ("web depends on db").
type Relationship struct {
	ID          int64     `json:"id"`
	Type        string    `json:"type"`
	Name        string    `json:"name"`
	ReverseName string    `json:"reverse_name"`
	Impact      Impact    `json:"impact"`
	Source      CIRef     `json:"source"`
	Target      CIRef     `json:"target"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// Text reads the relationship as a sentence, for history.
func (r Relationship) Text() string {
	return r.Source.Name + " " + r.Name + " " + r.Target.Name
}

// RelationshipInput is what relating two CIs takes. Type is the
// relationship type's key.
type RelationshipInput struct {
	Type     string `json:"type"`
	SourceID int64  `json:"source_id"`
	TargetID int64  `json:"target_id"`
}

const relSelect = `SELECT r.id, rt.key, rt.name, rt.reverse_name, rt.impact,
	r.source_id, s.name, st.key, st.service, r.target_id, g.name, gt.key, gt.service, r.created_at, r.created_by
	FROM ci_relationships r
	JOIN ci_relationship_types rt ON rt.id = r.type_id
	JOIN cis s ON s.id = r.source_id JOIN ci_types st ON st.id = s.type_id
	JOIN cis g ON g.id = r.target_id JOIN ci_types gt ON gt.id = g.type_id`

func scanRel(row interface{ Scan(...any) error }) (Relationship, error) {
	var r Relationship
	var im string
	err := row.Scan(&r.ID, &r.Type, &r.Name, &r.ReverseName, &im, &r.Source.ID, &r.Source.Name, &r.Source.Type, &r.Source.Service,
		&r.Target.ID, &r.Target.Name, &r.Target.Type, &r.Target.Service, &r.CreatedAt, &r.CreatedBy)
	r.Impact, r.CreatedAt = Impact(im), r.CreatedAt.UTC()
	return r, err
}

// Relationships lists the relationships of a CI, both ways, by type and
// the other end's name.
func (s *Service) Relationships(ctx context.Context, ciID int64) ([]Relationship, error) {
	if _, err := s.getCI(ctx, s.db.R, ciID); err != nil {
		return nil, err
	}
	return s.relationshipsOf(ctx, s.db.R, ciID)
}

func (s *Service) relationshipsOf(ctx context.Context, q store.Querier, ciID int64) ([]Relationship, error) {
	rows, err := q.QueryContext(ctx, relSelect+` WHERE r.source_id = $1 OR r.target_id = $1 ORDER BY rt.key, s.name, g.name, r.id`, ciID)
	if err != nil {
		return nil, fmt.Errorf("cmdb: list relationships: %w", err)
	}
	defer rows.Close()
	var out []Relationship
	for rows.Next() {
		r, err := scanRel(rows)
		if err != nil {
			return nil, fmt.Errorf("cmdb: list relationships: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cmdb: list relationships: %w", err)
	}
	return out, nil
}

// Relationship returns the relationship with id.
func (s *Service) Relationship(ctx context.Context, id int64) (Relationship, error) {
	r, err := scanRel(s.db.R.QueryRowContext(ctx, relSelect+` WHERE r.id = $1`, id))
	if err != nil {
		return r, fmt.Errorf("cmdb: get relationship: %w", store.MapError(err))
	}
	return r, nil
}

// Relate adds a relationship. A CI cannot relate to itself; the same
// relationship twice is a conflict (store.ErrConflict). Cycles are allowed:
// every walk of the graph is safe on them.
func (s *Service) Relate(ctx context.Context, in RelationshipInput) (Relationship, error) {
	in.Type = strings.TrimSpace(in.Type)
	if in.Type == "" {
		return Relationship{}, valid.Errorf("type", "is required")
	}
	if in.SourceID <= 0 {
		return Relationship{}, valid.Errorf("source_id", "is required")
	}
	if in.TargetID <= 0 {
		return Relationship{}, valid.Errorf("target_id", "is required")
	}
	if in.SourceID == in.TargetID {
		return Relationship{}, valid.Errorf("target_id", "must be another CI: a CI cannot relate to itself")
	}
	var r Relationship
	err := s.write(ctx, func(tx *sql.Tx) (func(), error) {
		rt, err := s.relTypeWhere(ctx, tx, `key = $1`, in.Type)
		if isNotFound(err) {
			return nil, valid.Errorf("type", "%q is not a relationship type", clip(in.Type, 64))
		}
		if err != nil {
			return nil, err
		}
		for _, end := range []struct {
			field string
			id    int64
		}{{"source_id", in.SourceID}, {"target_id", in.TargetID}} {
			if _, err := s.getCI(ctx, tx, end.id); isNotFound(err) {
				return nil, valid.Errorf(end.field, "no CI has id %d", end.id)
			} else if err != nil {
				return nil, err
			}
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO ci_relationships (type_id, source_id, target_id, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, rt.ID, in.SourceID, in.TargetID, s.now(), actorName(ctx)).Scan(&id); err != nil {
			return nil, fmt.Errorf("cmdb: relate: %w", store.MapError(err))
		}
		if r, err = scanRel(tx.QueryRowContext(ctx, relSelect+` WHERE r.id = $1`, id)); err != nil {
			return nil, fmt.Errorf("cmdb: relate: %w", err)
		}
		for _, ci := range []int64{r.Source.ID, r.Target.ID} {
			if err := s.history(ctx, tx, ci, "relationship_added", "relationship", "", r.Text()); err != nil {
				return nil, err
			}
		}
		if err := auth.Audit(ctx, tx, "ci_relationship.create", "ci_relationship", strconv.FormatInt(id, 10), r.Text()); err != nil {
			return nil, err
		}
		return func() { s.g.addEdge(id, rt.ID, in.SourceID, in.TargetID) }, nil
	})
	return r, err
}

// Unrelate removes a relationship.
func (s *Service) Unrelate(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) (func(), error) {
		r, err := scanRel(tx.QueryRowContext(ctx, relSelect+` WHERE r.id = $1`, id))
		if err != nil {
			return nil, fmt.Errorf("cmdb: unrelate: %w", store.MapError(err))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ci_relationships WHERE id = $1`, id); err != nil {
			return nil, fmt.Errorf("cmdb: unrelate: %w", err)
		}
		for _, ci := range []int64{r.Source.ID, r.Target.ID} {
			if err := s.history(ctx, tx, ci, "relationship_removed", "relationship", r.Text(), ""); err != nil {
				return nil, err
			}
		}
		if err := auth.Audit(ctx, tx, "ci_relationship.delete", "ci_relationship", strconv.FormatInt(id, 10), r.Text()); err != nil {
			return nil, err
		}
		return func() { s.g.removeEdge(id, r.Source.ID, r.Target.ID) }, nil
	})
}

func actorName(ctx context.Context) string {
	return clip(auth.ActorFrom(ctx).Name, 200)
}
