package incident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ServiceInput is what creating or changing a service takes.
type ServiceInput struct {
	Name               string   `json:"name"`
	Description        string   `json:"description"`
	EscalationPolicyID *int64   `json:"escalation_policy_id"`
	GroupBy            []string `json:"group_by"`
	GroupWindow        Duration `json:"group_window"`
	AutoResolve        *bool    `json:"auto_resolve"`
}

// DefaultGroupWindow is how long an incident keeps taking new alerts of its
// group after the last one joined.
const DefaultGroupWindow = time.Hour

var labelKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$`)

func (in *ServiceInput) normalize() error {
	in.Name = strings.TrimSpace(in.Name)
	if err := valid.Text("name", in.Name, true, 100, false); err != nil {
		return err
	}
	if err := valid.Text("description", in.Description, false, 2000, true); err != nil {
		return err
	}
	if in.EscalationPolicyID != nil && *in.EscalationPolicyID <= 0 {
		return valid.Errorf("escalation_policy_id", "must be a positive id or null")
	}
	if len(in.GroupBy) > 20 {
		return valid.Errorf("group_by", "can name at most 20 label keys")
	}
	seen := map[string]bool{}
	keys := in.GroupBy[:0:0]
	for _, k := range in.GroupBy {
		k = strings.TrimSpace(k)
		if k == "" || seen[k] {
			continue
		}
		if !labelKeyRE.MatchString(k) {
			return valid.Errorf("group_by", "%q is not a label key (letters, digits, _ . -)", k)
		}
		seen[k] = true
		keys = append(keys, k)
	}
	in.GroupBy = keys
	if in.GroupWindow == 0 {
		in.GroupWindow = Duration(DefaultGroupWindow)
	}
	if d := time.Duration(in.GroupWindow); d < time.Minute || d > 7*24*time.Hour {
		return valid.Errorf("group_window", "must be between 1m and 168h")
	}
	if in.AutoResolve == nil {
		t := true
		in.AutoResolve = &t
	}
	return nil
}

const serviceCols = `id, name, description, escalation_policy_id, group_by, group_window_ms, auto_resolve, created_at, updated_at`

func scanService(row interface{ Scan(...any) error }) (TechService, error) {
	var ts TechService
	var pol sql.NullInt64
	var groupBy string
	var win int64
	if err := row.Scan(&ts.ID, &ts.Name, &ts.Description, &pol, &groupBy, &win, &ts.AutoResolve, &ts.CreatedAt, &ts.UpdatedAt); err != nil {
		return ts, err
	}
	ts.EscalationPolicyID = ptrInt64(pol)
	ts.GroupBy = splitList(groupBy)
	ts.GroupWindow = Duration(time.Duration(win) * time.Millisecond)
	ts.CreatedAt, ts.UpdatedAt = ts.CreatedAt.UTC(), ts.UpdatedAt.UTC()
	return ts, nil
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// CreateService adds a technical service.
func (s *Service) CreateService(ctx context.Context, in ServiceInput) (TechService, error) {
	if err := in.normalize(); err != nil {
		return TechService{}, err
	}
	now := s.now().UTC()
	var ts TechService
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		ts, err = scanService(tx.QueryRowContext(ctx, `INSERT INTO services (name, description, escalation_policy_id, group_by, group_window_ms, auto_resolve, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+serviceCols,
			in.Name, in.Description, nullInt64(in.EscalationPolicyID), strings.Join(in.GroupBy, ","), time.Duration(in.GroupWindow).Milliseconds(), *in.AutoResolve, now))
		if err != nil {
			return fmt.Errorf("incident: create service: %w", store.MapError(err))
		}
		return auth.Audit(ctx, tx, "service.create", "service", strconv.FormatInt(ts.ID, 10), ts.Name)
	})
	return ts, err
}

// UpdateService replaces a service's settings.
func (s *Service) UpdateService(ctx context.Context, id int64, in ServiceInput) (TechService, error) {
	if err := in.normalize(); err != nil {
		return TechService{}, err
	}
	var ts TechService
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		ts, err = scanService(tx.QueryRowContext(ctx, `UPDATE services SET name = $2, description = $3, escalation_policy_id = $4, group_by = $5,
			group_window_ms = $6, auto_resolve = $7, updated_at = $8 WHERE id = $1 RETURNING `+serviceCols,
			id, in.Name, in.Description, nullInt64(in.EscalationPolicyID), strings.Join(in.GroupBy, ","), time.Duration(in.GroupWindow).Milliseconds(), *in.AutoResolve, s.now().UTC()))
		if err != nil {
			return fmt.Errorf("incident: update service %d: %w", id, store.MapError(err))
		}
		return auth.Audit(ctx, tx, "service.update", "service", strconv.FormatInt(id, 10), ts.Name)
	})
	return ts, err
}

// DeleteService removes a service and its integrations. A service with
// alerts or incidents is kept (store.ErrReference): history needs it.
func (s *Service) DeleteService(ctx context.Context, id int64) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("incident: delete service %d: %w", id, store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("incident: delete service %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "service.delete", "service", strconv.FormatInt(id, 10), "")
	})
	if err == nil {
		s.keys.clear()
	}
	return err
}

// GetService returns one service.
func (s *Service) GetService(ctx context.Context, id int64) (TechService, error) {
	ts, err := scanService(s.db.R.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE id = $1`, id))
	if err != nil {
		return ts, fmt.Errorf("incident: get service %d: %w", id, store.MapError(err))
	}
	return ts, nil
}

// ServiceByName returns the service with that name.
//
// An exact match wins; otherwise the name matches regardless of case,
// because monitor tags are stored in lower case ("service:databases"
// names the service "Databases").
func (s *Service) ServiceByName(ctx context.Context, name string) (TechService, error) {
	ts, err := scanService(s.db.R.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE name = $1`, name))
	if errors.Is(store.MapError(err), store.ErrNotFound) {
		ts, err = scanService(s.db.R.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE LOWER(name) = LOWER($1) ORDER BY id LIMIT 1`, name))
	}
	if err != nil {
		return ts, fmt.Errorf("incident: service %q: %w", name, store.MapError(err))
	}
	return ts, nil
}

// ListServices returns services by name, after the cursor id, at most limit.
func (s *Service) ListServices(ctx context.Context, after int64, limit int) ([]TechService, int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+serviceCols+` FROM services WHERE id > $1 ORDER BY id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("incident: list services: %w", store.MapError(err))
	}
	defer rows.Close()
	out := []TechService{}
	for rows.Next() {
		ts, err := scanService(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("incident: list services: %w", err)
		}
		out = append(out, ts)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("incident: list services: %w", err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}
