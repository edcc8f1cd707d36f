package servicedesk

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// SLAPolicy sets first-response and resolution targets for the tickets it
// matches. Policies are tried in Position order; the first whose every set
// condition matches applies (an empty condition matches anything).
type SLAPolicy struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Position int    `json:"position"`
	// MatchPriority is 1-5, or 0 for any priority.
	MatchPriority     Priority `json:"match_priority"`
	MatchCategory     string   `json:"match_category"`
	MatchOrganization string   `json:"match_organization"`
	// CalendarID names the business-hours calendar; 0 is 24×7.
	CalendarID        int64     `json:"calendar_id"`
	ResponseMinutes   int       `json:"response_minutes"`
	ResolutionMinutes int       `json:"resolution_minutes"`
	WarnPercent       int       `json:"warn_percent"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// maxTargetMinutes bounds targets at a year of 24×7 minutes.
const maxTargetMinutes = 366 * 24 * 60

func (p *SLAPolicy) check() error {
	p.Name = strings.TrimSpace(p.Name)
	if err := valid.Text("name", p.Name, true, 100, false); err != nil {
		return err
	}
	if p.MatchPriority < 0 || p.MatchPriority > 5 {
		return valid.Errorf("match_priority", "must be 1 to 5, or 0 for any")
	}
	p.MatchCategory = strings.ToLower(strings.TrimSpace(p.MatchCategory))
	if err := valid.Text("match_category", p.MatchCategory, false, MaxCategory, false); err != nil {
		return err
	}
	p.MatchOrganization = strings.TrimSpace(p.MatchOrganization)
	if err := valid.Text("match_organization", p.MatchOrganization, false, MaxCategory, false); err != nil {
		return err
	}
	if p.ResponseMinutes < 1 || p.ResponseMinutes > maxTargetMinutes {
		return valid.Errorf("response_minutes", "must be 1 to %d", maxTargetMinutes)
	}
	if p.ResolutionMinutes < 1 || p.ResolutionMinutes > maxTargetMinutes {
		return valid.Errorf("resolution_minutes", "must be 1 to %d", maxTargetMinutes)
	}
	if p.WarnPercent == 0 {
		p.WarnPercent = 80
	}
	if p.WarnPercent < 1 || p.WarnPercent > 99 {
		return valid.Errorf("warn_percent", "must be 1 to 99")
	}
	if p.Position < 0 {
		return valid.Errorf("position", "must be 0 or more")
	}
	return nil
}

// Matches reports whether the policy applies to a ticket.
func (p *SLAPolicy) Matches(t *Ticket) bool {
	return (p.MatchPriority == 0 || p.MatchPriority == t.Priority) &&
		(p.MatchCategory == "" || p.MatchCategory == t.Category) &&
		(p.MatchOrganization == "" || strings.EqualFold(p.MatchOrganization, t.Organization))
}

const policyCols = `id, name, position, match_priority, match_category, match_organization, COALESCE(calendar_id, 0),
	response_minutes, resolution_minutes, warn_percent, updated_at`

func scanPolicy(row interface{ Scan(...any) error }) (SLAPolicy, error) {
	var p SLAPolicy
	err := row.Scan(&p.ID, &p.Name, &p.Position, &p.MatchPriority, &p.MatchCategory, &p.MatchOrganization, &p.CalendarID,
		&p.ResponseMinutes, &p.ResolutionMinutes, &p.WarnPercent, &p.UpdatedAt)
	p.UpdatedAt = p.UpdatedAt.UTC()
	return p, err
}

// Policies lists SLA policies in the order they are tried.
func (s *Service) Policies(ctx context.Context) ([]SLAPolicy, error) {
	return s.policies(ctx, s.db.R)
}

func (s *Service) policies(ctx context.Context, q store.Querier) ([]SLAPolicy, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+policyCols+` FROM sd_sla_policies ORDER BY position, id`)
	if err != nil {
		return nil, wrap("list policies", err)
	}
	defer rows.Close()
	out := []SLAPolicy{}
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, wrap("list policies", err)
		}
		out = append(out, p)
	}
	return out, wrap("list policies", rows.Err())
}

// Policy returns one SLA policy.
func (s *Service) Policy(ctx context.Context, id int64) (SLAPolicy, error) {
	p, err := scanPolicy(s.db.R.QueryRowContext(ctx, `SELECT `+policyCols+` FROM sd_sla_policies WHERE id = $1`, id))
	if err != nil {
		return p, wrap("policy "+strconv.FormatInt(id, 10), err)
	}
	return p, nil
}

// SavePolicy creates (ID 0) or replaces an SLA policy. Open tickets keep
// the targets they were given until their priority, category or
// organisation changes.
func (s *Service) SavePolicy(ctx context.Context, p SLAPolicy) (SLAPolicy, error) {
	if err := p.check(); err != nil {
		return p, err
	}
	p.UpdatedAt = s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if p.CalendarID != 0 {
			if _, err := s.clock(ctx, tx, p.CalendarID); err != nil {
				return valid.Errorf("calendar_id", "no such calendar")
			}
		}
		action := "sla_policy.update"
		args := []any{p.Name, p.Position, p.MatchPriority, p.MatchCategory, p.MatchOrganization, nullID(p.CalendarID),
			p.ResponseMinutes, p.ResolutionMinutes, p.WarnPercent, p.UpdatedAt}
		if p.ID == 0 {
			action = "sla_policy.create"
			if err := tx.QueryRowContext(ctx, `INSERT INTO sd_sla_policies (name, position, match_priority, match_category, match_organization,
				calendar_id, response_minutes, resolution_minutes, warn_percent, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, args...).Scan(&p.ID); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE sd_sla_policies SET name = $1, position = $2, match_priority = $3, match_category = $4,
				match_organization = $5, calendar_id = $6, response_minutes = $7, resolution_minutes = $8, warn_percent = $9, updated_at = $10
				WHERE id = $11`, append(args, p.ID)...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
		}
		return auth.Audit(ctx, tx, action, "sla_policy", strconv.FormatInt(p.ID, 10), p.Name)
	})
	if err != nil {
		if _, ok := valid.As(err); ok {
			return p, err
		}
		return p, wrap("save policy", err)
	}
	return p, nil
}

// DeletePolicy removes a policy; tickets that used it keep their snapshot
// of its targets.
func (s *Service) DeletePolicy(ctx context.Context, id int64) error {
	return wrap("delete policy", s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sd_sla_policies WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return auth.Audit(ctx, tx, "sla_policy.delete", "sla_policy", strconv.FormatInt(id, 10), "")
	}))
}

// choosePolicy snapshots the first matching policy's targets on t, or
// clears them when none matches.
func (s *Service) choosePolicy(ctx context.Context, q store.Querier, t *Ticket) error {
	ps, err := s.policies(ctx, q)
	if err != nil {
		return err
	}
	t.PolicyID, t.calendarID, t.responseTarget, t.resolveTarget, t.warnPct = 0, 0, 0, 0, 0
	for _, p := range ps {
		if p.Matches(t) {
			t.PolicyID, t.calendarID, t.warnPct = p.ID, p.CalendarID, p.WarnPercent
			t.responseTarget = time.Duration(p.ResponseMinutes) * time.Minute
			t.resolveTarget = time.Duration(p.ResolutionMinutes) * time.Minute
			return nil
		}
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
