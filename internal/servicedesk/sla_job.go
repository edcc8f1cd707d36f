package servicedesk

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// statusHistory reads a ticket's status changes, oldest first.
func statusHistory(ctx context.Context, q store.Querier, id int64) ([]StatusChange, error) {
	rows, err := q.QueryContext(ctx, `SELECT at, new_value FROM sd_history WHERE ticket_id = $1 AND field = 'status' ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatusChange
	for rows.Next() {
		var c StatusChange
		if err := rows.Scan(&c.At, &c.Status); err != nil {
			return nil, err
		}
		c.At = c.At.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// targets is the ticket's snapshot of its policy, with its clock.
func (s *Service) targets(ctx context.Context, q store.Querier, t *Ticket) (SLATargets, error) {
	if t.PolicyID == 0 && t.resolveTarget == 0 {
		return SLATargets{}, nil
	}
	k, err := s.clock(ctx, q, t.calendarID)
	if err != nil {
		// A calendar deleted under a policy: count 24×7 rather than stop.
		k = AllDayClock()
	}
	return SLATargets{PolicyID: t.PolicyID, Clock: k, Response: t.responseTarget, Resolution: t.resolveTarget, WarnPct: t.warnPct}, nil
}

// SLA computes a ticket's SLA state now, from its status history.
func (s *Service) SLA(ctx context.Context, t *Ticket) (SLAStatus, error) {
	tg, err := s.targets(ctx, s.db.R, t)
	if err != nil {
		return SLAStatus{}, err
	}
	h, err := statusHistory(ctx, s.db.R, t.ID)
	if err != nil {
		return SLAStatus{}, wrap("sla", err)
	}
	var first time.Time
	if t.FirstResponse != nil {
		first = *t.FirstResponse
	}
	return ComputeSLA(tg, h, first, s.now()), nil
}

// refreshSLA recomputes a ticket's SLA in tx, stores what lists sort and
// filter by, and returns the threshold crossings since the last
// recomputation (recorded in the ticket history) for emit after commit.
func (s *Service) refreshSLA(ctx context.Context, tx *sql.Tx, t *Ticket, now time.Time) ([]SLAEvent, error) {
	tg, err := s.targets(ctx, tx, t)
	if err != nil {
		return nil, err
	}
	h, err := statusHistory(ctx, tx, t.ID)
	if err != nil {
		return nil, err
	}
	var first time.Time
	if t.FirstResponse != nil {
		first = *t.FirstResponse
	}
	st := ComputeSLA(tg, h, first, now)
	if err := s.saveMeasures(ctx, tx, t, tg, h, first, now, st); err != nil {
		return nil, err
	}
	var oldResp, oldRes string
	if err := tx.QueryRowContext(ctx, `SELECT sla_response_state, sla_resolution_state FROM sd_tickets WHERE id = $1`, t.ID).Scan(&oldResp, &oldRes); err != nil {
		return nil, err
	}
	var events []SLAEvent
	for _, c := range []struct {
		timer    string
		old, new SLAState
	}{{"first_response", SLAState(oldResp), st.Response.State}, {"resolution", SLAState(oldRes), st.Resolution.State}} {
		if c.new == c.old || (c.new != SLAWarning && c.new != SLABreached) || c.new.severity() < c.old.severity() {
			continue
		}
		if err := s.record(ctx, tx, t.ID, now, "sla."+c.timer, string(c.old), string(c.new)); err != nil {
			return nil, err
		}
		events = append(events, SLAEvent{TicketID: t.ID, Subject: t.Subject, Priority: t.Priority, GroupID: t.GroupID,
			AssigneeID: t.AssigneeID, Timer: c.timer, State: c.new, At: now})
	}
	due, next := noDue, noDue
	if d := st.nextDue(); d != nil {
		due = d.Unix()
	}
	if n := st.nextCheck(now); n != nil {
		next = n.Unix()
	}
	t.SLAState, t.SLAPaused = st.State, st.Paused
	_, err = tx.ExecContext(ctx, `UPDATE sd_tickets SET sla_state = $1, sla_response_state = $2, sla_resolution_state = $3,
		sla_paused = $4, sla_due = $5, sla_next_check = $6 WHERE id = $7`,
		string(st.State), string(st.Response.State), string(st.Resolution.State), st.Paused, due, next, t.ID)
	return events, err
}

// emit hands committed SLA events to the hook.
func (s *Service) emit(ctx context.Context, events []SLAEvent) {
	for _, e := range events {
		s.log.InfoContext(ctx, "sla threshold crossed", "ticket", e.TicketID, "timer", e.Timer, "state", e.State)
		if s.opts.OnSLAEvent != nil {
			s.opts.OnSLAEvent(ctx, e)
		}
	}
}

// slaBatch bounds the tickets one pass of the SLA job recomputes per
// transaction, so a backlog never holds the writer for long.
const slaBatch = 200

// CheckSLA recomputes every ticket whose timers crossed a threshold since
// they were last computed, records warnings and breaches, and returns how
// many tickets it looked at. The job calls it; tests call it directly.
func (s *Service) CheckSLA(ctx context.Context) (int, error) {
	ctx = auth.WithActor(ctx, auth.SystemActor())
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		now := s.now()
		var events []SLAEvent
		n := 0
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM sd_tickets WHERE sla_next_check <= $1 ORDER BY sla_next_check LIMIT $2`, now.Unix(), slaBatch)
			if err != nil {
				return err
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			n = len(ids)
			for _, id := range ids {
				t, err := s.ticket(ctx, tx, id, s.forUpdate())
				if err != nil {
					return err
				}
				ev, err := s.refreshSLA(ctx, tx, t, now)
				if err != nil {
					return err
				}
				for _, e := range ev {
					if err := auth.Audit(ctx, tx, "ticket.sla_"+string(e.State), "ticket", strconv.FormatInt(id, 10), e.Timer); err != nil {
						return err
					}
				}
				events = append(events, ev...)
			}
			return nil
		})
		if err != nil {
			return total, wrap("check sla", err)
		}
		s.emit(ctx, events)
		total += n
		if n < slaBatch {
			return total, nil
		}
	}
}

// Run checks SLA timers every SLACheckInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(s.opts.SLACheckInterval)
	defer tick.Stop()
	for {
		if _, err := s.CheckSLA(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "sla check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
