package asset

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Stocktake is an audit run: it covers the assets on hand (not ordered,
// not disposed), at Location or everywhere; people mark assets seen by
// tag, and the missing are those in scope not seen.
type Stocktake struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Location  string     `json:"location"`
	Closed    bool       `json:"closed"`
	StartedAt time.Time  `json:"started_at"`
	StartedBy string     `json:"started_by"`
	ClosedAt  *time.Time `json:"closed_at"`
	// InScope and Seen count the assets the run covers and those seen.
	InScope int64 `json:"in_scope"`
	Seen    int64 `json:"seen"`
}

// scope is the condition on assets a (and the arguments from $2) that a
// stocktake at location covers.
func scope(location string) (string, []any) {
	cond := `a.status NOT IN ('ordered', 'disposed')`
	if location != "" {
		return cond + ` AND a.location = $2`, []any{location}
	}
	return cond, nil
}

// StartStocktake opens an audit run.
func (s *Service) StartStocktake(ctx context.Context, name, location string) (Stocktake, error) {
	name, location = strings.TrimSpace(name), strings.TrimSpace(location)
	if err := valid.Text("name", name, true, 200, false); err != nil {
		return Stocktake{}, err
	}
	if err := valid.Text("location", location, false, 200, false); err != nil {
		return Stocktake{}, err
	}
	var id int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO asset_audits (name, location, started_at, started_by) VALUES ($1, $2, $3, $4) RETURNING id`,
			name, location, s.now(), clip(auth.ActorFrom(ctx).Name, 200)).Scan(&id); err != nil {
			return fmt.Errorf("asset: start stocktake: %w", err)
		}
		return auth.Audit(ctx, tx, "asset_stocktake.start", "asset_stocktake", strconv.FormatInt(id, 10), name)
	})
	if err != nil {
		return Stocktake{}, err
	}
	return s.Stocktake(ctx, id)
}

// Stocktake returns an audit run with its counts.
func (s *Service) Stocktake(ctx context.Context, id int64) (Stocktake, error) {
	var st Stocktake
	var closedAt store.NullTime
	err := s.db.R.QueryRowContext(ctx, `SELECT id, name, location, closed, started_at, started_by, closed_at FROM asset_audits WHERE id = $1`, id).
		Scan(&st.ID, &st.Name, &st.Location, &st.Closed, &st.StartedAt, &st.StartedBy, &closedAt)
	if err != nil {
		return st, fmt.Errorf("asset: stocktake %d: %w", id, store.MapError(err))
	}
	st.StartedAt = st.StartedAt.UTC()
	if closedAt.Valid {
		t := closedAt.Time.UTC()
		st.ClosedAt = &t
	}
	cond, args := scope(st.Location)
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*), count(v.asset_id) FROM assets a
		LEFT JOIN asset_audit_seen v ON v.asset_id = a.id AND v.audit_id = $1 WHERE `+cond, append([]any{id}, args...)...).Scan(&st.InScope, &st.Seen); err != nil {
		return st, fmt.Errorf("asset: stocktake %d: %w", id, err)
	}
	return st, nil
}

// Stocktakes lists the audit runs, newest first.
func (s *Service) Stocktakes(ctx context.Context) ([]Stocktake, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id FROM asset_audits ORDER BY id DESC LIMIT 200`)
	if err != nil {
		return nil, fmt.Errorf("asset: stocktakes: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("asset: stocktakes: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("asset: stocktakes: %w", err)
	}
	out := make([]Stocktake, 0, len(ids))
	for _, id := range ids {
		st, err := s.Stocktake(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// MarkSeen records that the asset with tag was seen in an open run.
// Seeing it twice is not an error. A tag outside the run's scope is
// refused naming the field, so a scan at the wrong site shows at once.
func (s *Service) MarkSeen(ctx context.Context, id int64, tag string) (Asset, error) {
	tag = strings.TrimSpace(tag)
	if err := valid.Text("tag", tag, true, 64, false); err != nil {
		return Asset{}, err
	}
	var a Asset
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var closed bool
		var location string
		if err := tx.QueryRowContext(ctx, `SELECT closed, location FROM asset_audits WHERE id = $1`, id).Scan(&closed, &location); err != nil {
			return fmt.Errorf("asset: mark seen: %w", store.MapError(err))
		}
		if closed {
			return &Refusal{Msg: "asset: this stocktake is closed"}
		}
		var err error
		a, err = scanAsset(tx.QueryRowContext(ctx, `SELECT `+assetCols+assetFrom+` WHERE a.tag = $1`, tag))
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return valid.Errorf("tag", "%q is not the tag of any asset", clip(tag, 64))
		} else if err != nil {
			return fmt.Errorf("asset: mark seen: %w", err)
		}
		if a.Status == StatusOrdered || a.Status == StatusDisposed {
			return valid.Errorf("tag", "%s is %s: not on hand", a.Tag, strings.ToLower(a.Status.Label()))
		}
		if location != "" && a.Location != location {
			return valid.Errorf("tag", "%s belongs at %q, not %q", a.Tag, a.Location, location)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO asset_audit_seen (audit_id, asset_id, seen_at, seen_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			id, a.ID, s.now(), clip(auth.ActorFrom(ctx).Name, 200))
		if err != nil {
			return fmt.Errorf("asset: mark seen: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // seen before
		}
		return auth.Audit(ctx, tx, "asset_stocktake.seen", "asset_stocktake", strconv.FormatInt(id, 10), a.Tag)
	})
	return a, err
}

// Missing lists the assets a run covers that were not seen, by tag.
func (s *Service) Missing(ctx context.Context, id int64) ([]Asset, error) {
	st, err := s.Stocktake(ctx, id)
	if err != nil {
		return nil, err
	}
	cond, args := scope(st.Location)
	return s.query(ctx, `SELECT `+assetCols+assetFrom+` WHERE `+cond+`
		AND NOT EXISTS (SELECT 1 FROM asset_audit_seen v WHERE v.audit_id = $1 AND v.asset_id = a.id) ORDER BY a.tag LIMIT 5000`,
		append([]any{id}, args...)...)
}

// CloseStocktake ends a run: no more assets can be marked seen.
func (s *Service) CloseStocktake(ctx context.Context, id int64) (Stocktake, error) {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE asset_audits SET closed = TRUE, closed_at = $1 WHERE id = $2 AND NOT closed`, s.now(), id)
		if err != nil {
			return fmt.Errorf("asset: close stocktake: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM asset_audits WHERE id = $1`, id).Scan(&one); err != nil {
				return fmt.Errorf("asset: close stocktake: %w", store.MapError(err))
			}
			return &Refusal{Msg: "asset: this stocktake is already closed"}
		}
		return auth.Audit(ctx, tx, "asset_stocktake.close", "asset_stocktake", strconv.FormatInt(id, 10), "")
	})
	if err != nil {
		return Stocktake{}, err
	}
	return s.Stocktake(ctx, id)
}
