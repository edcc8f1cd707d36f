package backup

import (
	"context"
	"database/sql"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Plan is a disaster recovery plan: which services it brings back, the
// targets it promises, how (the runbook), who to call, and its exercises.
type Plan struct {
	ID                   int64      `json:"id"`
	Name                 string     `json:"name"`
	RTO                  Duration   `json:"rto"`
	RPO                  Duration   `json:"rpo"`
	Runbook              string     `json:"runbook"`
	Contacts             string     `json:"contacts"`
	ExerciseIntervalDays int        `json:"exercise_interval_days"`
	NextExerciseDue      *time.Time `json:"next_exercise_due,omitempty"`
	CIs                  []CIRef    `json:"services"`
	LastExercise         *Exercise  `json:"last_exercise,omitempty"`
	Overdue              bool       `json:"overdue"`
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

// PlanInput creates or replaces a plan. NextExerciseDue may be empty: it is
// then the last exercise plus the interval.
type PlanInput struct {
	Name                 string     `json:"name"`
	RTO                  string     `json:"rto"`
	RPO                  string     `json:"rpo"`
	Runbook              string     `json:"runbook"`
	Contacts             string     `json:"contacts"`
	ExerciseIntervalDays int        `json:"exercise_interval_days"`
	NextExerciseDue      *time.Time `json:"next_exercise_due"`
	CIIDs                []int64    `json:"service_ci_ids"`
}

// Exercise is one DR exercise of a plan.
type Exercise struct {
	ID         int64     `json:"id"`
	PlanID     int64     `json:"plan_id"`
	HeldAt     time.Time `json:"held_at"`
	Outcome    string    `json:"outcome"`
	RTO        Duration  `json:"measured_rto"`
	Notes      string    `json:"notes"`
	RecordedBy string    `json:"recorded_by"`
}

// ExerciseInput records an exercise; Outcome is passed, partial or failed.
type ExerciseInput struct {
	HeldAt  time.Time `json:"held_at"`
	Outcome string    `json:"outcome"`
	RTO     string    `json:"measured_rto"`
	Notes   string    `json:"notes"`
}

func (in *PlanInput) check() (rto, rpo time.Duration, err error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := valid.Text("name", in.Name, true, 200, false); err != nil {
		return 0, 0, err
	}
	if rto, err = parseDur("rto", in.RTO, time.Minute, year, true); err != nil {
		return 0, 0, err
	}
	if rpo, err = parseDur("rpo", in.RPO, time.Minute, year, true); err != nil {
		return 0, 0, err
	}
	if err := valid.Text("runbook", in.Runbook, false, 200_000, true); err != nil {
		return 0, 0, err
	}
	if err := valid.Text("contacts", in.Contacts, false, 5000, true); err != nil {
		return 0, 0, err
	}
	if in.ExerciseIntervalDays < 0 || in.ExerciseIntervalDays > 3660 {
		return 0, 0, valid.Errorf("exercise_interval_days", "must be from 0 (none) to 3660")
	}
	if in.NextExerciseDue != nil && (in.NextExerciseDue.Year() < 2000 || in.NextExerciseDue.Year() > 2200) {
		return 0, 0, valid.Errorf("next_exercise_due", "is not a plausible date")
	}
	if len(in.CIIDs) > 500 {
		return 0, 0, valid.Errorf("service_ci_ids", "at most 500 services per plan")
	}
	return rto, rpo, nil
}

// SavePlan creates a plan (id 0) or replaces one.
func (s *Service) SavePlan(ctx context.Context, id int64, in PlanInput) (Plan, error) {
	rto, rpo, err := in.check()
	if err != nil {
		return Plan{}, err
	}
	var due any
	if in.NextExerciseDue != nil {
		due = in.NextExerciseDue.UTC()
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		action := "dr_plan.update"
		if id == 0 {
			action = "dr_plan.create"
			if err := tx.QueryRowContext(ctx, `INSERT INTO dr_plans (name, rto_seconds, rpo_seconds, runbook, contacts, exercise_interval_days,
				next_exercise_due, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
				in.Name, secs(rto), secs(rpo), in.Runbook, in.Contacts, in.ExerciseIntervalDays, due, now).Scan(&id); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE dr_plans SET name = $1, rto_seconds = $2, rpo_seconds = $3, runbook = $4, contacts = $5,
				exercise_interval_days = $6, next_exercise_due = $7, updated_at = $8 WHERE id = $9`,
				in.Name, secs(rto), secs(rpo), in.Runbook, in.Contacts, in.ExerciseIntervalDays, due, now, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return sql.ErrNoRows
			}
		}
		if err := writeCIs(ctx, tx, "dr_plan_cis", "plan_id", id, in.CIIDs); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, action, "dr_plan", strconv.FormatInt(id, 10), in.Name)
	})
	if err != nil {
		err = wrapCI("save plan", err)
		if ve, ok := valid.As(err); ok && ve.Field == "protected_ci_ids" {
			err = valid.Errorf("service_ci_ids", "names a CI that does not exist")
		}
		return Plan{}, err
	}
	return s.Plan(ctx, id)
}

// DeletePlan removes a plan and its exercises.
func (s *Service) DeletePlan(ctx context.Context, id int64) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dr_plans WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return auth.Audit(ctx, tx, "dr_plan.delete", "dr_plan", strconv.FormatInt(id, 10), "")
	})
	if err != nil {
		return wrap("delete plan", err)
	}
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	return s.sync(ctx, map[string]alert{}, planPrefix(id))
}

const planCols = `id, name, rto_seconds, rpo_seconds, runbook, contacts, exercise_interval_days, next_exercise_due, created_at, updated_at`

func (s *Service) scanPlans(ctx context.Context, where string, args ...any) ([]Plan, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+planCols+` FROM dr_plans`+where+` ORDER BY name, id`, args...)
	if err != nil {
		return nil, wrap("plans", err)
	}
	var out []Plan
	for rows.Next() {
		var p Plan
		var rto, rpo int64
		var due store.NullTime
		if err := rows.Scan(&p.ID, &p.Name, &rto, &rpo, &p.Runbook, &p.Contacts, &p.ExerciseIntervalDays, &due, &p.CreatedAt, &p.UpdatedAt); err != nil {
			rows.Close()
			return nil, wrap("plans", err)
		}
		p.RTO, p.RPO = Duration(time.Duration(rto)*time.Second), Duration(time.Duration(rpo)*time.Second)
		if due.Valid {
			p.NextExerciseDue = &due.Time
		}
		p.CreatedAt, p.UpdatedAt, p.CIs = p.CreatedAt.UTC(), p.UpdatedAt.UTC(), []CIRef{}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("plans", err)
	}
	now := s.now()
	for i := range out {
		p := &out[i]
		if p.CIs, err = s.cisOf(ctx, "dr_plan_cis", "plan_id", p.ID); err != nil {
			return nil, err
		}
		ex, err := s.Exercises(ctx, p.ID, 1)
		if err != nil {
			return nil, err
		}
		if len(ex) > 0 {
			p.LastExercise = &ex[0]
		}
		if p.NextExerciseDue == nil && p.ExerciseIntervalDays > 0 {
			base := p.CreatedAt
			if p.LastExercise != nil {
				base = p.LastExercise.HeldAt
			}
			due := base.AddDate(0, 0, p.ExerciseIntervalDays)
			p.NextExerciseDue = &due
		}
		p.Overdue = p.NextExerciseDue != nil && now.After(*p.NextExerciseDue)
	}
	return out, nil
}

func (s *Service) cisOf(ctx context.Context, table, col string, id int64) ([]CIRef, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, c.name, t.key FROM `+table+` x JOIN cis c ON c.id = x.ci_id JOIN ci_types t ON t.id = c.type_id
		WHERE x.`+col+` = $1 ORDER BY c.name, c.id`, id)
	if err != nil {
		return nil, wrap("CIs", err)
	}
	defer rows.Close()
	out := []CIRef{}
	for rows.Next() {
		var c CIRef
		if err := rows.Scan(&c.ID, &c.Name, &c.Type); err != nil {
			return nil, wrap("CIs", err)
		}
		out = append(out, c)
	}
	return out, wrap("CIs", rows.Err())
}

// Plans lists every DR plan by name.
func (s *Service) Plans(ctx context.Context) ([]Plan, error) {
	ps, err := s.scanPlans(ctx, "")
	if ps == nil && err == nil {
		ps = []Plan{}
	}
	return ps, err
}

// Plan returns one DR plan.
func (s *Service) Plan(ctx context.Context, id int64) (Plan, error) {
	ps, err := s.scanPlans(ctx, ` WHERE id = $1`, id)
	if err != nil {
		return Plan{}, err
	}
	if len(ps) == 0 {
		return Plan{}, wrap("plan", sql.ErrNoRows)
	}
	return ps[0], nil
}

// RunbookHTML renders a plan's Markdown runbook safely (the knowledge
// base's renderer: no raw HTML, vetted link schemes).
func (s *Service) RunbookHTML(p Plan) (template.HTML, error) { return s.md.Render(p.Runbook) }

// AddExercise records a DR exercise. When the plan has an interval, its
// explicit next due date is cleared so the interval counts from now on.
func (s *Service) AddExercise(ctx context.Context, planID int64, in ExerciseInput) (Exercise, error) {
	switch in.Outcome {
	case TestPassed, TestPartial, TestFailed:
	default:
		return Exercise{}, valid.Errorf("outcome", "must be passed, partial or failed")
	}
	now := s.now()
	if in.HeldAt.IsZero() {
		in.HeldAt = now
	}
	if in.HeldAt.After(now.Add(time.Hour)) || in.HeldAt.Year() < 2000 {
		return Exercise{}, valid.Errorf("held_at", "must be a past date")
	}
	rto, err := parseDur("measured_rto", in.RTO, 0, 30*24*time.Hour, false)
	if err != nil {
		return Exercise{}, err
	}
	if err := valid.Text("notes", in.Notes, false, 5000, true); err != nil {
		return Exercise{}, err
	}
	var rtoArg any
	if in.RTO != "" {
		rtoArg = secs(rto)
	}
	by := auth.ActorFrom(ctx).Name
	var id int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO dr_exercises (plan_id, held_at, outcome, rto_seconds, notes, recorded_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, planID, in.HeldAt.UTC(), in.Outcome, rtoArg, in.Notes, by, now).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dr_plans SET next_exercise_due = NULL WHERE id = $1 AND exercise_interval_days > 0`, planID); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "dr_exercise.create", "dr_plan", strconv.FormatInt(planID, 10), in.Outcome)
	})
	if err != nil {
		return Exercise{}, wrap("exercise", err)
	}
	if err := s.Evaluate(ctx); err != nil {
		s.log.Warn("evaluate after DR exercise", "plan", planID, "err", err)
	}
	return Exercise{ID: id, PlanID: planID, HeldAt: in.HeldAt.UTC(), Outcome: in.Outcome, RTO: Duration(rto), Notes: in.Notes, RecordedBy: by}, nil
}

// Exercises lists a plan's exercises, newest first.
func (s *Service) Exercises(ctx context.Context, planID int64, limit int) ([]Exercise, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, plan_id, held_at, outcome, rto_seconds, notes, recorded_by FROM dr_exercises
		WHERE plan_id = $1 ORDER BY held_at DESC, id DESC LIMIT $2`, planID, limit)
	if err != nil {
		return nil, wrap("exercises", err)
	}
	defer rows.Close()
	out := []Exercise{}
	for rows.Next() {
		var e Exercise
		var rto sql.NullInt64
		if err := rows.Scan(&e.ID, &e.PlanID, &e.HeldAt, &e.Outcome, &rto, &e.Notes, &e.RecordedBy); err != nil {
			return nil, wrap("exercises", err)
		}
		e.HeldAt, e.RTO = e.HeldAt.UTC(), Duration(time.Duration(rto.Int64)*time.Second)
		out = append(out, e)
	}
	return out, wrap("exercises", rows.Err())
}

// overduePlans returns an alert for every plan whose next exercise is due.
func (s *Service) overduePlans(ctx context.Context) (map[string]alert, error) {
	ps, err := s.Plans(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]alert{}
	for _, p := range ps {
		if p.Overdue {
			out[planPrefix(p.ID)+"overdue"] = alert{state: "exercise_overdue", severity: incident.SeverityWarning,
				summary: "DR plan " + p.Name + ": the exercise due " + fmtTime(*p.NextExerciseDue) + " has not been held"}
		}
	}
	return out, nil
}
