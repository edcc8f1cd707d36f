package cmdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// LinkKind is the kind of object another domain links to a CI.
type LinkKind string

// The kinds of linked object.
const (
	LinkMonitor  LinkKind = "monitor"
	LinkIncident LinkKind = "incident"
	LinkTicket   LinkKind = "ticket"
	LinkChange   LinkKind = "change"
	LinkAsset    LinkKind = "asset"
)

// LinkKinds lists every kind of linked object.
func LinkKinds() []LinkKind {
	return []LinkKind{LinkMonitor, LinkIncident, LinkTicket, LinkChange, LinkAsset}
}

// ParseLinkKind checks a link kind from outside input.
func ParseLinkKind(field, s string) (LinkKind, error) {
	k := LinkKind(s)
	if !slices.Contains(LinkKinds(), k) {
		return "", valid.Errorf(field, "must be one of monitor, incident, ticket, change, asset")
	}
	return k, nil
}

// Link ties an object of another domain (a monitor, an incident...) to a CI.
type Link struct {
	ID        int64     `json:"id"`
	CI        CIRef     `json:"ci"`
	Kind      LinkKind  `json:"kind"`
	ObjectID  int64     `json:"object_id"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

const linkSelect = `SELECT l.id, l.ci_id, c.name, t.key, t.service, l.kind, l.object_id, l.created_at, l.created_by
	FROM ci_links l JOIN cis c ON c.id = l.ci_id JOIN ci_types t ON t.id = c.type_id`

func scanLink(row interface{ Scan(...any) error }) (Link, error) {
	var l Link
	var kind string
	err := row.Scan(&l.ID, &l.CI.ID, &l.CI.Name, &l.CI.Type, &l.CI.Service, &kind, &l.ObjectID, &l.CreatedAt, &l.CreatedBy)
	l.Kind, l.CreatedAt = LinkKind(kind), l.CreatedAt.UTC()
	return l, err
}

// LinkObject links the object (kind, objectID) to a CI. Linking twice is a
// conflict (store.ErrConflict). With Options.CheckObject set, the object
// must exist.
func (s *Service) LinkObject(ctx context.Context, ciID int64, kind LinkKind, objectID int64) (Link, error) {
	if _, err := ParseLinkKind("kind", string(kind)); err != nil {
		return Link{}, err
	}
	if objectID <= 0 {
		return Link{}, valid.Errorf("object_id", "is required")
	}
	if s.opts.CheckObject != nil {
		if err := s.opts.CheckObject(ctx, kind, objectID); errors.Is(err, store.ErrNotFound) {
			return Link{}, valid.Errorf("object_id", "no %s has id %d", kind, objectID)
		} else if err != nil {
			return Link{}, fmt.Errorf("cmdb: link: %w", err)
		}
	}
	var l Link
	err := s.write(ctx, func(tx *sql.Tx) (func(), error) {
		if _, err := s.getCI(ctx, tx, ciID); err != nil {
			return nil, err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO ci_links (ci_id, kind, object_id, created_at, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			ciID, string(kind), objectID, s.now(), actorName(ctx)).Scan(&id); err != nil {
			return nil, fmt.Errorf("cmdb: link: %w", store.MapError(err))
		}
		var err error
		if l, err = scanLink(tx.QueryRowContext(ctx, linkSelect+` WHERE l.id = $1`, id)); err != nil {
			return nil, fmt.Errorf("cmdb: link: %w", err)
		}
		what := string(kind) + " " + strconv.FormatInt(objectID, 10)
		if err := s.history(ctx, tx, ciID, "link_added", "link", "", what); err != nil {
			return nil, err
		}
		return nil, auth.Audit(ctx, tx, "ci_link.create", "ci", strconv.FormatInt(ciID, 10), what)
	})
	return l, err
}

// Unlink removes a link by its id.
func (s *Service) Unlink(ctx context.Context, linkID int64) error {
	return s.write(ctx, func(tx *sql.Tx) (func(), error) {
		l, err := scanLink(tx.QueryRowContext(ctx, linkSelect+` WHERE l.id = $1`, linkID))
		if err != nil {
			return nil, fmt.Errorf("cmdb: unlink: %w", store.MapError(err))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ci_links WHERE id = $1`, linkID); err != nil {
			return nil, fmt.Errorf("cmdb: unlink: %w", err)
		}
		what := string(l.Kind) + " " + strconv.FormatInt(l.ObjectID, 10)
		if err := s.history(ctx, tx, l.CI.ID, "link_removed", "link", what, ""); err != nil {
			return nil, err
		}
		return nil, auth.Audit(ctx, tx, "ci_link.delete", "ci", strconv.FormatInt(l.CI.ID, 10), what)
	})
}

// GetLink returns the link with id.
func (s *Service) GetLink(ctx context.Context, id int64) (Link, error) {
	l, err := scanLink(s.db.R.QueryRowContext(ctx, linkSelect+` WHERE l.id = $1`, id))
	if err != nil {
		return l, fmt.Errorf("cmdb: get link: %w", store.MapError(err))
	}
	return l, nil
}

// Links lists the objects linked to a CI, by kind and id.
func (s *Service) Links(ctx context.Context, ciID int64) ([]Link, error) {
	return s.links(ctx, ` WHERE l.ci_id = $1 ORDER BY l.kind, l.object_id`, ciID)
}

// LinksOf lists the links of an object (kind, id) to CIs, by CI name.
func (s *Service) LinksOf(ctx context.Context, kind LinkKind, id int64) ([]Link, error) {
	return s.links(ctx, ` WHERE l.kind = $1 AND l.object_id = $2 ORDER BY c.name, c.id`, string(kind), id)
}

func (s *Service) links(ctx context.Context, where string, args ...any) ([]Link, error) {
	rows, err := s.db.R.QueryContext(ctx, linkSelect+where, args...)
	if err != nil {
		return nil, fmt.Errorf("cmdb: list links: %w", err)
	}
	defer rows.Close()
	var out []Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, fmt.Errorf("cmdb: list links: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cmdb: list links: %w", err)
	}
	return out, nil
}

// LinkedCIs returns the CIs an object of another domain is linked to, by
// name: the incident package asks which CIs an incident touches.
func (s *Service) LinkedCIs(ctx context.Context, kind string, id int64) ([]CI, error) {
	k, err := ParseLinkKind("kind", kind)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+ciCols+ciFrom+` JOIN ci_links l ON l.ci_id = c.id
		WHERE l.kind = $1 AND l.object_id = $2 ORDER BY c.name, c.id`, string(k), id)
	if err != nil {
		return nil, fmt.Errorf("cmdb: linked CIs: %w", err)
	}
	defer rows.Close()
	var out []CI
	for rows.Next() {
		c, err := scanCI(rows)
		if err != nil {
			return nil, fmt.Errorf("cmdb: linked CIs: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cmdb: linked CIs: %w", err)
	}
	return out, s.fillTags(ctx, s.db.R, out)
}
