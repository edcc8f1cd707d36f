package change

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Input is what a person gives when opening or editing a change.
type Input struct {
	Type               Type       `json:"type"`
	Title              string     `json:"title"`
	Description        string     `json:"description"`
	Reason             string     `json:"reason"`
	Category           string     `json:"category"`
	Risk               Risk       `json:"risk"`
	RiskAnswers        *Answers   `json:"risk_answers"`
	Impact             string     `json:"impact"`
	ImplementationPlan string     `json:"implementation_plan"`
	BackoutPlan        string     `json:"backout_plan"`
	TestPlan           string     `json:"test_plan"`
	PlannedStart       *time.Time `json:"planned_start"`
	PlannedEnd         *time.Time `json:"planned_end"`
	ImplementerID      *int64     `json:"implementer_id"`
	CIIDs              []int64    `json:"ci_ids"`
	SkipMaintenance    bool       `json:"skip_maintenance"`
	TemplateID         *int64     `json:"template_id"`
}

// Limits of a change's fields.
const (
	MaxCIs       = 1000
	maxTitle     = 200
	maxShortText = 200
	maxLongText  = 20000
)

// check validates in, fills the risk from the questionnaire when it is not
// set by hand, and confirms the CIs exist. Errors name the field.
func (s *Service) check(ctx context.Context, in *Input) error {
	if _, err := ParseType("type", string(in.Type)); err != nil {
		return err
	}
	if err := valid.Text("title", in.Title, true, maxTitle, false); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"description", in.Description}, {"reason", in.Reason}, {"implementation_plan", in.ImplementationPlan},
		{"backout_plan", in.BackoutPlan}, {"test_plan", in.TestPlan}} {
		if err := valid.Text(f.name, f.v, false, maxLongText, true); err != nil {
			return err
		}
	}
	if err := valid.Text("category", in.Category, false, maxShortText, false); err != nil {
		return err
	}
	if err := valid.Text("impact", in.Impact, false, maxShortText, false); err != nil {
		return err
	}
	switch {
	case in.Risk != "":
		if _, err := ParseRisk("risk", string(in.Risk)); err != nil {
			return err
		}
	case in.RiskAnswers != nil:
		in.Risk = in.RiskAnswers.Risk()
	default:
		in.Risk = Medium
	}
	if err := checkSpan("planned_start", "planned_end", in.PlannedStart, in.PlannedEnd); err != nil {
		return err
	}
	if in.ImplementerID != nil && *in.ImplementerID <= 0 {
		return valid.Errorf("implementer_id", "must be a user id")
	}
	if len(in.CIIDs) > MaxCIs {
		return valid.Errorf("ci_ids", "at most %d CIs", MaxCIs)
	}
	slices.Sort(in.CIIDs)
	in.CIIDs = slices.Compact(in.CIIDs)
	if len(in.CIIDs) == 0 && in.Type != Standard {
		return valid.Errorf("ci_ids", "a %s change must name the CIs it affects", in.Type)
	}
	if s.opts.CMDB != nil && len(in.CIIDs) > 0 {
		known, err := s.opts.CMDB.Neighbourhood(ctx, in.CIIDs, 0)
		if err != nil {
			return fmt.Errorf("change: check CIs: %w", err)
		}
		for _, id := range in.CIIDs {
			if _, ok := known[id]; !ok {
				return valid.Errorf("ci_ids", "no CI has id %d", id)
			}
		}
	}
	return nil
}

// checkSpan checks a planned or window span: both or neither, end after
// start, at most a year.
func checkSpan(startField, endField string, start, end *time.Time) error {
	switch {
	case start == nil && end == nil:
		return nil
	case start == nil:
		return valid.Errorf(startField, "is required with %s", endField)
	case end == nil:
		return valid.Errorf(endField, "is required with %s", startField)
	case !end.After(*start):
		return valid.Errorf(endField, "must be after %s", startField)
	case end.Sub(*start) > 366*24*time.Hour:
		return valid.Errorf(endField, "a change can last at most a year")
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func answersText(a *Answers) string {
	if a == nil {
		return ""
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// Create opens a change as a draft. The caller is its requester.
func (s *Service) Create(ctx context.Context, in Input) (Change, error) {
	if err := s.check(ctx, &in); err != nil {
		return Change{}, err
	}
	if in.Type == Standard && in.TemplateID == nil {
		return Change{}, valid.Errorf("template_id", "a standard change comes from a template; open it from one")
	}
	if in.TemplateID != nil {
		if _, err := s.Template(ctx, *in.TemplateID); err != nil {
			return Change{}, valid.Errorf("template_id", "no template has id %d", *in.TemplateID)
		}
	}
	var id int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.insert(ctx, tx, in, Draft)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	return s.Get(ctx, id)
}

// insert writes a new change in state st with its CIs, a timeline entry
// and an audit row.
func (s *Service) insert(ctx context.Context, tx *sql.Tx, in Input, st State) (int64, error) {
	a := auth.ActorFrom(ctx)
	now := s.now()
	var req *int64
	if a.UserID != 0 {
		req = &a.UserID
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO changes (type, state, title, description, reason, category, risk, risk_answers, impact,
		implementation_plan, backout_plan, test_plan, planned_start, planned_end, implementer_id, requester_id, requester, template_id,
		skip_maintenance, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) RETURNING id`,
		string(in.Type), string(st), in.Title, in.Description, in.Reason, in.Category, string(in.Risk), answersText(in.RiskAnswers), in.Impact,
		in.ImplementationPlan, in.BackoutPlan, in.TestPlan, utcPtr(in.PlannedStart), utcPtr(in.PlannedEnd), in.ImplementerID, req, actorName(a),
		in.TemplateID, in.SkipMaintenance, now).Scan(&id); err != nil {
		if err := store.MapError(err); isReference(err) {
			return 0, valid.Errorf("implementer_id", "no user has id %d", deref(in.ImplementerID))
		}
		return 0, fmt.Errorf("change: create: %w", store.MapError(err))
	}
	if err := writeCIs(ctx, tx, id, in.CIIDs); err != nil {
		return 0, err
	}
	if err := addEvent(ctx, tx, id, now, actorName(a), "created", "", st, fmt.Sprintf("%s change opened: %s", in.Type, in.Title)); err != nil {
		return 0, err
	}
	return id, auth.Audit(ctx, tx, "change.create", "change", fmt.Sprint(id), "type="+string(in.Type))
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func isReference(err error) bool {
	return err != nil && (errorsIs(err, store.ErrReference) || errorsIs(err, store.ErrNotFound))
}

func actorName(a auth.Actor) string {
	if a.Name == "" {
		return "system"
	}
	return a.Name
}

func writeCIs(ctx context.Context, tx *sql.Tx, id int64, ids []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM change_cis WHERE change_id = $1`, id); err != nil {
		return fmt.Errorf("change: CIs of %d: %w", id, err)
	}
	for _, ci := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO change_cis (change_id, ci_id) VALUES ($1, $2)`, id, ci); err != nil {
			if isReference(store.MapError(err)) {
				return valid.Errorf("ci_ids", "no CI has id %d", ci)
			}
			return fmt.Errorf("change: CIs of %d: %w", id, store.MapError(err))
		}
	}
	return nil
}

// Update edits a change that is still a draft or in assessment. The type
// of a change is fixed once opened.
func (s *Service) Update(ctx context.Context, id int64, in Input) (Change, error) {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return Change{}, err
	}
	if in.Type == "" {
		in.Type = cur.Type
	}
	if in.Type != cur.Type {
		return Change{}, valid.Errorf("type", "the type of a change cannot change; cancel it and open a %s change", in.Type)
	}
	if cur.State != Draft && cur.State != Assessment {
		return Change{}, valid.Errorf("state", "a change in state %s cannot be edited", cur.State)
	}
	if err := s.check(ctx, &in); err != nil {
		return Change{}, err
	}
	if cur.State == Assessment {
		if err := s.checkFreeze(ctx, in.Type, in.PlannedStart, in.PlannedEnd); err != nil {
			return Change{}, err
		}
	}
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE changes SET title = $1, description = $2, reason = $3, category = $4, risk = $5, risk_answers = $6,
			impact = $7, implementation_plan = $8, backout_plan = $9, test_plan = $10, planned_start = $11, planned_end = $12, implementer_id = $13,
			skip_maintenance = $14, updated_at = $15 WHERE id = $16 AND state = $17`,
			in.Title, in.Description, in.Reason, in.Category, string(in.Risk), answersText(in.RiskAnswers), in.Impact, in.ImplementationPlan,
			in.BackoutPlan, in.TestPlan, utcPtr(in.PlannedStart), utcPtr(in.PlannedEnd), in.ImplementerID, in.SkipMaintenance, now, id, string(cur.State))
		if err != nil {
			if isReference(store.MapError(err)) {
				return valid.Errorf("implementer_id", "no user has id %d", deref(in.ImplementerID))
			}
			return fmt.Errorf("change: update %d: %w", id, store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return valid.Errorf("state", "the change moved on while you edited it; reload it")
		}
		if err := writeCIs(ctx, tx, id, in.CIIDs); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, id, now, actorName(auth.ActorFrom(ctx)), "edited", "", "", "The change was edited"); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "change.update", "change", fmt.Sprint(id), "")
	})
	if err != nil {
		return Change{}, err
	}
	return s.Get(ctx, id)
}

// Comment puts a comment on a change's timeline.
func (s *Service) Comment(ctx context.Context, id int64, text string) error {
	if err := valid.Text("text", text, true, 4000, true); err != nil {
		return err
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := addEvent(ctx, tx, id, s.now(), actorName(auth.ActorFrom(ctx)), "comment", "", "", text); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "change.comment", "change", fmt.Sprint(id), "")
	})
}

// ParseLinkKind checks a link kind from outside input.
func ParseLinkKind(field, s string) (LinkKind, error) {
	switch k := LinkKind(s); k {
	case LinkTicket, LinkProblem, LinkIncident:
		return k, nil
	}
	return "", valid.Errorf(field, "must be ticket, problem or incident")
}

// AddLink ties a change to a ticket, problem or incident. With
// Options.CheckLink set, the record must exist.
func (s *Service) AddLink(ctx context.Context, id int64, kind LinkKind, objectID int64) error {
	if _, err := ParseLinkKind("kind", string(kind)); err != nil {
		return err
	}
	if objectID <= 0 {
		return valid.Errorf("object_id", "is required")
	}
	if s.opts.CheckLink != nil {
		if err := s.opts.CheckLink(ctx, kind, objectID); errorsIs(err, store.ErrNotFound) {
			return valid.Errorf("object_id", "no %s has id %d", kind, objectID)
		} else if err != nil {
			return fmt.Errorf("change: link: %w", err)
		}
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	a := auth.ActorFrom(ctx)
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO change_links (change_id, kind, object_id, caused, created_at, created_by) VALUES ($1, $2, $3, FALSE, $4, $5)`,
			id, string(kind), objectID, now, actorName(a)); err != nil {
			return fmt.Errorf("change: link: %w", store.MapError(err))
		}
		if err := addEvent(ctx, tx, id, now, actorName(a), "linked", "", "", fmt.Sprintf("Linked %s #%d", kind, objectID)); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "change.link", "change", fmt.Sprint(id), fmt.Sprintf("%s=%d", kind, objectID))
	})
}

// RemoveLink unties a change from a record.
func (s *Service) RemoveLink(ctx context.Context, id int64, kind LinkKind, objectID int64) error {
	a := auth.ActorFrom(ctx)
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM change_links WHERE change_id = $1 AND kind = $2 AND object_id = $3`, id, string(kind), objectID)
		if err != nil {
			return fmt.Errorf("change: unlink: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("change: link of %d: %w", id, store.ErrNotFound)
		}
		if err := addEvent(ctx, tx, id, s.now(), actorName(a), "unlinked", "", "", fmt.Sprintf("Unlinked %s #%d", kind, objectID)); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "change.unlink", "change", fmt.Sprint(id), fmt.Sprintf("%s=%d", kind, objectID))
	})
}
