package change

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Template is a pre-approved standard change: opening a change from it
// skips assessment and approval.
type Template struct {
	ID                 int64     `json:"id"`
	Name               string    `json:"name"`
	Description        string    `json:"description"`
	Category           string    `json:"category"`
	Risk               Risk      `json:"risk"`
	Impact             string    `json:"impact"`
	ImplementationPlan string    `json:"implementation_plan"`
	BackoutPlan        string    `json:"backout_plan"`
	TestPlan           string    `json:"test_plan"`
	Duration           string    `json:"duration"`
	CIIDs              []int64   `json:"ci_ids"`
	CreatedBy          string    `json:"created_by"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

const templateCols = `id, name, description, category, risk, impact, implementation_plan, backout_plan, test_plan, duration_ms, ci_ids, created_by, created_at, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (Template, error) {
	var t Template
	var risk, ids string
	var durMS int64
	if err := row.Scan(&t.ID, &t.Name, &t.Description, &t.Category, &risk, &t.Impact, &t.ImplementationPlan, &t.BackoutPlan, &t.TestPlan,
		&durMS, &ids, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return t, store.MapError(err)
	}
	t.Risk, t.CIIDs = Risk(risk), parseIDs(ids)
	t.Duration = (time.Duration(durMS) * time.Millisecond).String()
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// Templates returns every template by name.
func (s *Service) Templates(ctx context.Context) ([]Template, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+templateCols+` FROM change_templates ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("change: templates: %w", err)
	}
	defer rows.Close()
	out := []Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("change: templates: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Template returns one template.
func (s *Service) Template(ctx context.Context, id int64) (Template, error) {
	t, err := scanTemplate(s.db.R.QueryRowContext(ctx, `SELECT `+templateCols+` FROM change_templates WHERE id = $1`, id))
	if err != nil {
		return t, fmt.Errorf("change: template %d: %w", id, err)
	}
	return t, nil
}

// SaveTemplate creates (ID 0) or replaces a template.
func (s *Service) SaveTemplate(ctx context.Context, t Template) (Template, error) {
	if err := valid.Text("name", t.Name, true, 200, false); err != nil {
		return Template{}, err
	}
	probe := Input{Type: Standard, Title: t.Name, Description: t.Description, Category: t.Category, Risk: t.Risk, Impact: t.Impact,
		ImplementationPlan: t.ImplementationPlan, BackoutPlan: t.BackoutPlan, TestPlan: t.TestPlan, CIIDs: t.CIIDs}
	if t.Risk == "" {
		probe.Risk = Low
	}
	if err := s.check(ctx, &probe); err != nil {
		return Template{}, err
	}
	t.Risk, t.CIIDs = probe.Risk, probe.CIIDs
	if t.CIIDs == nil {
		t.CIIDs = []int64{}
	}
	if t.Duration == "" {
		t.Duration = "1h"
	}
	d, err := time.ParseDuration(t.Duration)
	if err != nil || d < time.Minute || d > 7*24*time.Hour {
		return Template{}, valid.Errorf("duration", "must be a duration from 1m to 7 days, such as \"30m\"")
	}
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if t.ID == 0 {
			if err := tx.QueryRowContext(ctx, `INSERT INTO change_templates (name, description, category, risk, impact, implementation_plan, backout_plan,
				test_plan, duration_ms, ci_ids, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id`,
				t.Name, t.Description, t.Category, string(t.Risk), t.Impact, t.ImplementationPlan, t.BackoutPlan, t.TestPlan, d.Milliseconds(), idsText(t.CIIDs),
				actorName(auth.ActorFrom(ctx)), now).Scan(&t.ID); err != nil {
				if errorsIs(store.MapError(err), store.ErrConflict) {
					return valid.Errorf("name", "a template with this name exists")
				}
				return fmt.Errorf("change: create template: %w", store.MapError(err))
			}
			return auth.Audit(ctx, tx, "change.template.create", "change_template", fmt.Sprint(t.ID), "name="+t.Name)
		}
		res, err := tx.ExecContext(ctx, `UPDATE change_templates SET name = $1, description = $2, category = $3, risk = $4, impact = $5, implementation_plan = $6,
			backout_plan = $7, test_plan = $8, duration_ms = $9, ci_ids = $10, updated_at = $11 WHERE id = $12`,
			t.Name, t.Description, t.Category, string(t.Risk), t.Impact, t.ImplementationPlan, t.BackoutPlan, t.TestPlan, d.Milliseconds(), idsText(t.CIIDs), now, t.ID)
		if err != nil {
			if errorsIs(store.MapError(err), store.ErrConflict) {
				return valid.Errorf("name", "a template with this name exists")
			}
			return fmt.Errorf("change: update template: %w", store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("change: template %d: %w", t.ID, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "change.template.update", "change_template", fmt.Sprint(t.ID), "name="+t.Name)
	})
	if err != nil {
		return Template{}, err
	}
	return s.Template(ctx, t.ID)
}

// DeleteTemplate removes a template; changes opened from it keep their
// copy of its fields.
func (s *Service) DeleteTemplate(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "change_templates", "change_template", "change.template.delete", id)
}

// StandardInput opens a standard change from a template (what a pipeline
// sends). Empty fields take the template's values; the plan starts now
// unless PlannedStart is given, and lasts the template's duration.
type StandardInput struct {
	TemplateID    int64      `json:"template_id"`
	Title         string     `json:"title"`
	Description   string     `json:"description"`
	PlannedStart  *time.Time `json:"planned_start"`
	CIIDs         []int64    `json:"ci_ids"`
	ImplementerID *int64     `json:"implementer_id"`
	// Start also marks the change implementing at once.
	Start bool `json:"start"`
}

// OpenStandard opens a standard change from a template: it is submitted
// and scheduled at once (no approval step), unless its plan falls in a
// freeze, which refuses it.
func (s *Service) OpenStandard(ctx context.Context, in StandardInput) (Change, error) {
	if in.TemplateID <= 0 {
		return Change{}, valid.Errorf("template_id", "is required")
	}
	t, err := s.Template(ctx, in.TemplateID)
	if err != nil {
		return Change{}, valid.Errorf("template_id", "no template has id %d", in.TemplateID)
	}
	d, _ := time.ParseDuration(t.Duration)
	start := s.now()
	if in.PlannedStart != nil {
		start = in.PlannedStart.UTC()
	}
	end := start.Add(d)
	title := in.Title
	if title == "" {
		title = t.Name
	}
	desc := in.Description
	if desc == "" {
		desc = t.Description
	}
	ids := append(slices.Clone(t.CIIDs), in.CIIDs...)
	tid := t.ID
	c, err := s.Create(ctx, Input{Type: Standard, Title: title, Description: desc, Category: t.Category, Risk: t.Risk, Impact: t.Impact,
		ImplementationPlan: t.ImplementationPlan, BackoutPlan: t.BackoutPlan, TestPlan: t.TestPlan, PlannedStart: &start, PlannedEnd: &end,
		ImplementerID: in.ImplementerID, CIIDs: ids, TemplateID: &tid})
	if err != nil {
		return Change{}, err
	}
	draft := c.ID
	if c, err = s.Transition(ctx, draft, Step{Action: Submit, Comment: "standard change from template " + t.Name}); err != nil {
		if derr := s.discard(ctx, draft); derr != nil {
			s.opts.Logger.Warn("change: refused standard change not discarded", "change", draft, "err", derr)
		}
		return Change{}, err
	}
	if in.Start {
		return s.Transition(ctx, c.ID, Step{Action: Start})
	}
	return c, nil
}

// discard deletes a draft that could not be submitted (a standard change
// refused by a freeze), so a refused pipeline call leaves nothing behind.
func (s *Service) discard(ctx context.Context, id int64) error {
	_, err := s.db.W.ExecContext(ctx, `DELETE FROM changes WHERE id = $1 AND state = 'draft'`, id)
	return err
}
