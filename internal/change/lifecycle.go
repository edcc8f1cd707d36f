package change

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Step is an action asked of a change, with what it needs.
type Step struct {
	Action Action `json:"action"`
	// Outcome is required to close.
	Outcome Outcome `json:"outcome"`
	// Comment goes on the timeline with the transition.
	Comment string `json:"comment"`
}

// Transition moves a change by the transition table. Illegal moves are
// refused with a validation error naming the field (state, outcome,
// planned_start, ci_ids...) and change nothing. Every move is timestamped
// on the change's timeline and in the audit log. Starting a change puts
// the monitors of its CIs in maintenance; closing or cancelling it ends
// that maintenance.
func (s *Service) Transition(ctx context.Context, id int64, st Step) (Change, error) {
	if _, err := ParseAction("action", string(st.Action)); err != nil {
		return Change{}, err
	}
	if err := valid.Text("comment", st.Comment, false, 4000, true); err != nil {
		return Change{}, err
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return Change{}, err
	}
	to, err := Next(c.Type, c.State, st.Action)
	if err != nil {
		return Change{}, err
	}
	if st.Action == Close {
		if _, err := ParseOutcome("outcome", string(st.Outcome)); err != nil {
			return Change{}, err
		}
	} else if st.Outcome != "" {
		return Change{}, valid.Errorf("outcome", "is given only when closing")
	}
	var flags []string
	inFreeze := c.InFreeze
	unapproved := c.Unapproved
	if st.Action == Submit {
		if err := s.readyToSubmit(c); err != nil {
			return Change{}, err
		}
		if err := s.checkFreeze(ctx, c.Type, c.PlannedStart, c.PlannedEnd); err != nil {
			f, ok := asFreezeHit(err)
			if !ok || c.Type != Emergency {
				return Change{}, err
			}
			inFreeze = true
			flags = append(flags, fmt.Sprintf("Scheduled inside the freeze %q: allowed because this is an emergency change", f.Name))
		}
		if c.Type == Emergency {
			unapproved = true
			flags = append(flags, "Emergency change: to be approved after the fact; flagged until it is")
		}
	}
	var needsNoApproval bool
	if st.Action == Authorize {
		terms, err := s.RuleFor(ctx, c.Risk)
		if err != nil {
			return Change{}, err
		}
		if len(terms) == 0 {
			needsNoApproval = true
		}
	}
	a := auth.ActorFrom(ctx)
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		set := `state = $1, updated_at = $2, in_freeze = $3, unapproved = $4`
		args := []any{string(to), now, inFreeze, unapproved}
		switch st.Action {
		case Submit:
			set += `, submitted_at = $5`
			args = append(args, now)
		case Start:
			set += `, actual_start = $5`
			args = append(args, now)
		case Finish:
			set += `, actual_end = $5`
			args = append(args, now)
		case Close:
			set += `, outcome = $5, closed_at = $6, actual_end = COALESCE(actual_end, $6)`
			args = append(args, string(st.Outcome), now)
		case Cancel:
			set += `, closed_at = $5`
			args = append(args, now)
		}
		args = append(args, id, string(c.State))
		res, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE changes SET %s WHERE id = $%d AND state = $%d`, set, len(args)-1, len(args)), args...)
		if err != nil {
			return fmt.Errorf("change: %s %d: %w", st.Action, id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return valid.Errorf("state", "the change moved on (it is no longer %s); reload it", c.State)
		}
		text := fmt.Sprintf("%s → %s", c.State, to)
		if st.Action == Close {
			text += " (" + string(st.Outcome) + ")"
		}
		if st.Comment != "" {
			text += ": " + st.Comment
		}
		if err := addEvent(ctx, tx, id, now, actorName(a), string(st.Action), c.State, to, text); err != nil {
			return err
		}
		for _, f := range flags {
			if err := addEvent(ctx, tx, id, now, "system", "flagged", "", "", f); err != nil {
				return err
			}
		}
		if needsNoApproval {
			if err := s.moveTx(ctx, tx, id, Authorization, Scheduled, fmt.Sprintf("No approval rule for %s risk: scheduled without approval", c.Risk)); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, "change."+string(st.Action), "change", fmt.Sprint(id), text)
	})
	if err != nil {
		return Change{}, err
	}
	switch st.Action {
	case Start:
		s.beginMaintenance(ctx, id)
	case Close, Cancel:
		s.endMaintenance(ctx, id)
	}
	return s.Get(ctx, id)
}

// moveTx moves a change from one state to another inside tx, with a
// system timeline entry; it is how approvals move changes.
func (s *Service) moveTx(ctx context.Context, tx *sql.Tx, id int64, from, to State, why string) error {
	now := s.now()
	res, err := tx.ExecContext(ctx, `UPDATE changes SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`, string(to), now, id, string(from))
	if err != nil {
		return fmt.Errorf("change: move %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return valid.Errorf("state", "the change is no longer %s; reload it", from)
	}
	if err := addEvent(ctx, tx, id, now, "system", "moved", from, to, fmt.Sprintf("%s → %s: %s", from, to, why)); err != nil {
		return err
	}
	return auth.Audit(ctx, tx, "change.move", "change", fmt.Sprint(id), fmt.Sprintf("%s→%s", from, to))
}

// readyToSubmit checks what a change needs before it leaves draft.
func (s *Service) readyToSubmit(c Change) error {
	if c.Type != Standard && len(c.CIs) == 0 {
		return valid.Errorf("ci_ids", "a %s change must name the CIs it affects", c.Type)
	}
	if c.PlannedStart == nil {
		return valid.Errorf("planned_start", "is required to submit the change")
	}
	if c.PlannedEnd == nil {
		return valid.Errorf("planned_end", "is required to submit the change")
	}
	if c.Type == Normal && c.ImplementationPlan == "" {
		return valid.Errorf("implementation_plan", "is required to submit a normal change")
	}
	if c.Type == Normal && c.BackoutPlan == "" {
		return valid.Errorf("backout_plan", "is required to submit a normal change")
	}
	return nil
}
