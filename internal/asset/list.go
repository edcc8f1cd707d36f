package asset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// MaxExpiryDays bounds the "expiring within N days" filters.
const MaxExpiryDays = 3650

// List returns a page of assets matching f and the cursor of the next page
// (0 on the last). Keyset pagination: the cursor is the id of the last row,
// whose place in the sort order the next page continues after.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Asset, int64, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 1000:
		f.Limit = 1000
	}
	if f.Sort == "" {
		f.Sort = "tag"
	}
	desc := strings.HasPrefix(f.Sort, "-")
	var col, keyCol string
	switch strings.TrimPrefix(f.Sort, "-") {
	case "tag":
		col, keyCol = "a.tag", "tag"
	case "updated":
		col, keyCol = "a.updated_at", "updated_at"
	case "warranty":
		col, keyCol = "a.warranty_end", "warranty_end"
	default:
		return nil, 0, valid.Errorf("sort", "must be one of %s", strings.Join(Sorts(), ", "))
	}
	where, args, err := s.where(f)
	if err != nil {
		return nil, 0, err
	}
	add := func(cond string, vs ...any) {
		n := make([]any, len(vs))
		for i, v := range vs {
			args = append(args, v)
			n[i] = len(args)
		}
		where = append(where, fmt.Sprintf(cond, n...))
	}
	if f.After > 0 {
		var key any
		if keyCol == "updated_at" {
			var t time.Time
			err = s.db.R.QueryRowContext(ctx, `SELECT updated_at FROM assets WHERE id = $1`, f.After).Scan(&t)
			key = t.UTC()
		} else {
			var v string
			err = s.db.R.QueryRowContext(ctx, `SELECT `+keyCol+` FROM assets WHERE id = $1`, f.After).Scan(&v)
			key = v
		}
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return nil, 0, valid.Errorf("cursor", "points to an asset that no longer exists; start from the first page")
		} else if err != nil {
			return nil, 0, fmt.Errorf("asset: list: %w", err)
		}
		op := ">"
		if desc {
			op = "<"
		}
		add(fmt.Sprintf("(%s %s $%%d OR (%s = $%%d AND a.id %s $%%d))", col, op, col, op), key, key, f.After)
	}
	q := `SELECT ` + assetCols + assetFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	args = append(args, f.Limit+1)
	q += fmt.Sprintf(" ORDER BY %s %s, a.id %s LIMIT $%d", col, dir, dir, len(args))
	out, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// where turns the filters of f into conditions and their arguments.
func (s *Service) where(f ListFilter) ([]string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, vs ...any) {
		n := make([]any, len(vs))
		for i, v := range vs {
			args = append(args, v)
			n[i] = len(args)
		}
		where = append(where, fmt.Sprintf(cond, n...))
	}
	if f.Status != "" {
		if !slices.Contains(Statuses(), f.Status) {
			return nil, nil, valid.Errorf("status", "must be one of ordered, in_stock, deployed, in_repair, retired, disposed")
		}
		add("a.status = $%d", string(f.Status))
	}
	if f.Category != "" {
		add("a.category = $%d", f.Category)
	}
	if f.Location != "" {
		add("a.location = $%d", f.Location)
	}
	if f.AssigneeID != 0 {
		add("a.assignee_id = $%d", f.AssigneeID)
	}
	today := s.today()
	if f.WarrantyWithin < 0 || f.WarrantyWithin > MaxExpiryDays {
		return nil, nil, valid.Errorf("warranty_within", "must be a number of days from 0 to %d", MaxExpiryDays)
	}
	if f.ExpiringWithin < 0 || f.ExpiringWithin > MaxExpiryDays {
		return nil, nil, valid.Errorf("expiring_within", "must be a number of days from 0 to %d", MaxExpiryDays)
	}
	if f.WarrantyWithin > 0 {
		add("(a.warranty_end >= $%d AND a.warranty_end <= $%d)", today, s.dayAfter(f.WarrantyWithin))
	}
	if f.ExpiringWithin > 0 {
		end := s.dayAfter(f.ExpiringWithin)
		add("a.status NOT IN ('retired', 'disposed') AND ((a.warranty_end >= $%d AND a.warranty_end <= $%d) OR (a.lease_end >= $%d AND a.lease_end <= $%d))", today, end, today, end)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		pat := "%" + likeEscape(strings.ToLower(q)) + "%"
		add(`a.search LIKE $%d ESCAPE '\'`, pat)
	}
	return where, args, nil
}

func (s *Service) dayAfter(days int) string {
	return s.now().AddDate(0, 0, days).Format(dateLayout)
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (s *Service) query(ctx context.Context, q string, args ...any) ([]Asset, error) {
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("asset: list: %w", err)
	}
	defer rows.Close()
	var out []Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, fmt.Errorf("asset: list: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("asset: list: %w", err)
	}
	return out, nil
}

// Expiring returns the assets, not yet retired or disposed, whose warranty
// or lease ends within the coming window (today included), soonest first.
// The notification wiring calls it.
func (s *Service) Expiring(ctx context.Context, within time.Duration) ([]Asset, error) {
	if within < 0 {
		return nil, valid.Errorf("within", "must not be negative")
	}
	today, end := s.today(), s.now().Add(within).Format(dateLayout)
	return s.query(ctx, `SELECT `+assetCols+assetFrom+` WHERE a.status NOT IN ('retired', 'disposed')
		AND ((a.warranty_end >= $1 AND a.warranty_end <= $2) OR (a.lease_end >= $1 AND a.lease_end <= $2))
		ORDER BY CASE WHEN a.warranty_end >= $1 AND a.warranty_end <= $2 THEN a.warranty_end ELSE a.lease_end END, a.id`, today, end)
}

// ExpiresSoon reports whether a's warranty or lease ends within days of
// today (the list's badge); never for a retired or disposed asset.
func (s *Service) ExpiresSoon(a Asset, days int) bool {
	if a.Status == StatusRetired || a.Status == StatusDisposed {
		return false
	}
	today, end := s.today(), s.dayAfter(days)
	in := func(d string) bool { return d != "" && d >= today && d <= end }
	return in(a.WarrantyEnd) || in(a.LeaseEnd)
}
