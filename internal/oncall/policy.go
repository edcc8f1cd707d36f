package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// The kinds of escalation target.
const (
	TargetUser     = "user"
	TargetSchedule = "schedule"
)

// Limits of an escalation policy.
const (
	MaxLevels       = 10
	MaxTargets      = 20
	MaxRepeats      = 9
	MaxDelayMinutes = 24 * 60
)

// Policy is an escalation policy: when an incident triggers, level 1's
// targets are paged; if nobody acknowledges within its delay, level 2's,
// and so on. After the last level (and its delay) the whole policy runs
// again, Repeats more times, then escalation ends.
type Policy struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Repeats     int       `json:"repeats"`
	Levels      []Level   `json:"levels"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Level is one step of a policy: who is paged, and how many minutes they
// get to acknowledge before the next level is paged.
type Level struct {
	DelayMinutes int      `json:"delay_minutes"`
	Targets      []Target `json:"targets"`
}

// Target is a user or a schedule (whoever is on call on it when the level
// is paged).
type Target struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
}

// validate checks the policy's shape; Service.SavePolicy also checks that
// targets exist.
func (p *Policy) validate() error {
	if err := valid.Text("name", p.Name, true, 200, false); err != nil {
		return err
	}
	if err := valid.Text("description", p.Description, false, 2000, true); err != nil {
		return err
	}
	if p.Repeats < 0 || p.Repeats > MaxRepeats {
		return valid.Errorf("repeats", "must be 0 to %d", MaxRepeats)
	}
	if len(p.Levels) == 0 {
		return valid.Errorf("levels", "add at least one level")
	}
	if len(p.Levels) > MaxLevels {
		return valid.Errorf("levels", "at most %d levels", MaxLevels)
	}
	for i, l := range p.Levels {
		f := fmt.Sprintf("levels[%d]", i)
		if l.DelayMinutes < 1 || l.DelayMinutes > MaxDelayMinutes {
			return valid.Errorf(f+".delay_minutes", "must be 1 to %d minutes", MaxDelayMinutes)
		}
		if len(l.Targets) == 0 {
			return valid.Errorf(f+".targets", "a level needs at least one user or schedule")
		}
		if len(l.Targets) > MaxTargets {
			return valid.Errorf(f+".targets", "at most %d targets", MaxTargets)
		}
		for j, t := range l.Targets {
			tf := fmt.Sprintf("%s.targets[%d]", f, j)
			if t.Type != TargetUser && t.Type != TargetSchedule {
				return valid.Errorf(tf+".type", "must be user or schedule")
			}
			if t.ID <= 0 {
				return valid.Errorf(tf+".id", "is required")
			}
		}
	}
	return nil
}

const policyCols = `id, name, description, repeats, levels, created_at, updated_at`

func scanPolicy(row interface{ Scan(...any) error }) (*Policy, error) {
	p := &Policy{}
	var levels string
	if err := row.Scan(&p.ID, &p.Name, &p.Description, &p.Repeats, &levels, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, store.MapError(err)
	}
	if err := json.Unmarshal([]byte(levels), &p.Levels); err != nil {
		return nil, fmt.Errorf("policy %d levels: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

// Policies returns every escalation policy by name.
func (s *Service) Policies(ctx context.Context) ([]*Policy, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+policyCols+` FROM escalation_policies ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("oncall: policies: %w", err)
	}
	defer rows.Close()
	out := []*Policy{}
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("oncall: policies: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Policy returns one escalation policy.
func (s *Service) Policy(ctx context.Context, id int64) (*Policy, error) {
	return getPolicy(ctx, s.db.R, id)
}

func getPolicy(ctx context.Context, q store.Querier, id int64) (*Policy, error) {
	p, err := scanPolicy(q.QueryRowContext(ctx, `SELECT `+policyCols+` FROM escalation_policies WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("oncall: policy %d: %w", id, err)
	}
	return p, nil
}

// PolicyExists reports whether an escalation policy exists, for
// validating references from services and integrations.
func (s *Service) PolicyExists(ctx context.Context, id int64) (bool, error) {
	_, err := s.Policy(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SavePolicy creates (ID 0) or replaces an escalation policy. Every target
// must exist when saved.
func (s *Service) SavePolicy(ctx context.Context, in Policy) (*Policy, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	levels, err := json.Marshal(in.Levels)
	if err != nil {
		return nil, fmt.Errorf("oncall: encode levels: %w", err)
	}
	now := s.now().UTC()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, l := range in.Levels {
			for j, t := range l.Targets {
				f := fmt.Sprintf("levels[%d].targets[%d].id", i, j)
				if t.Type == TargetUser {
					if err := checkUsers(ctx, tx, f, []int64{t.ID}); err != nil {
						return err
					}
					continue
				}
				if _, err := getSchedule(ctx, tx, t.ID); errors.Is(err, store.ErrNotFound) {
					return valid.Errorf(f, "schedule %d does not exist", t.ID)
				} else if err != nil {
					return err
				}
			}
		}
		detail := fmt.Sprintf("name=%s levels=%d repeats=%d", in.Name, len(in.Levels), in.Repeats)
		if in.ID == 0 {
			if err := tx.QueryRowContext(ctx, `INSERT INTO escalation_policies (name, description, repeats, levels, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, in.Name, in.Description, in.Repeats, string(levels), now).Scan(&in.ID); err != nil {
				return nameConflict(fmt.Errorf("oncall: create policy: %w", store.MapError(err)))
			}
			return auth.Audit(ctx, tx, "escalation_policy.create", "escalation_policy", strconv.FormatInt(in.ID, 10), detail)
		}
		res, err := tx.ExecContext(ctx, `UPDATE escalation_policies SET name = $1, description = $2, repeats = $3, levels = $4, updated_at = $5 WHERE id = $6`,
			in.Name, in.Description, in.Repeats, string(levels), now, in.ID)
		if err != nil {
			return nameConflict(fmt.Errorf("oncall: update policy: %w", store.MapError(err)))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("oncall: policy %d: %w", in.ID, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "escalation_policy.update", "escalation_policy", strconv.FormatInt(in.ID, 10), detail)
	})
	if err != nil {
		return nil, err
	}
	return s.Policy(ctx, in.ID)
}

// DeletePolicy removes an escalation policy. Escalations running on it end
// at their next step with a page that says the policy is gone.
func (s *Service) DeletePolicy(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM escalation_policies WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("oncall: delete policy: %w", store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("oncall: policy %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "escalation_policy.delete", "escalation_policy", strconv.FormatInt(id, 10), "")
	})
}
