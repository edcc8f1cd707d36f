package servicedesk

import (
	"context"
	"database/sql"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// measures are a ticket's per-ticket metric columns and what places it in
// the daily rollup (sd_metrics_daily):
//
//   - responseS: business seconds from opening to the first public agent
//     reply, on the ticket's SLA calendar (24×7 when it has no policy),
//     pending time excluded; nil until that reply.
//   - resolutionS: business seconds the resolution clock ran until the
//     ticket was resolved, the same way; nil while unresolved.
//   - reopens: how often it went from resolved back to open.
//   - agentReplies: public replies by operators or admins other than the
//     requester.
//   - counted, open: the ticket counts in the rollup (not merged), and as
//     unresolved there (the backlog).
type measures struct {
	day, group                     int64
	counted, open                  bool
	responseS, resolutionS         sql.NullInt64
	responseState, resolutionState string
	agentReplies, reopens, csat    int64
}

// rollup is one ticket's contribution to its day and group.
func (m measures) rollup() [13]int64 {
	var r [13]int64
	if !m.counted {
		return r
	}
	b := func(ok bool) int64 {
		if ok {
			return 1
		}
		return 0
	}
	r[0] = 1
	r[1], r[2] = b(m.responseS.Valid), m.responseS.Int64
	r[3], r[4] = b(m.resolutionS.Valid), m.resolutionS.Int64
	r[5], r[6] = b(m.responseState == string(SLAMet)), b(m.responseState == string(SLABreached))
	r[7], r[8] = b(m.resolutionState == string(SLAMet)), b(m.resolutionState == string(SLABreached))
	r[9] = b(m.resolutionS.Valid && m.agentReplies <= 1 && m.reopens == 0)
	r[10], r[11] = b(m.csat > 0), m.csat
	r[12] = b(m.open)
	return r
}

// dayOf is the UTC day number (days since 1970-01-01) of t.
func dayOf(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// remeasure reads a ticket's measures, lets change set the new ones, and
// writes them back with the difference to the rollup, all in tx. The
// ticket's row records where it is counted (rollup_group; NULL: nowhere,
// as merged duplicates), because its group may already have changed.
func (s *Service) remeasure(ctx context.Context, tx *sql.Tx, id int64, change func(*measures) error) error {
	var old measures
	var created time.Time
	var group int64
	var merged bool
	var status Status
	var counted sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT created_at, COALESCE(group_id, 0), merged_into IS NOT NULL, status, rollup_group, rollup_open,
		response_s, resolution_s, sla_response_state, sla_resolution_state, agent_replies, reopens, csat_score FROM sd_tickets WHERE id = $1`, id).
		Scan(&created, &group, &merged, &status, &counted, &old.open, &old.responseS, &old.resolutionS, &old.responseState, &old.resolutionState,
			&old.agentReplies, &old.reopens, &old.csat); err != nil {
		return err
	}
	old.day, old.group, old.counted = dayOf(created), counted.Int64, counted.Valid
	cur := old
	cur.group, cur.counted = group, !merged
	cur.open = status == StatusNew || status == StatusOpen || status == StatusPending
	if err := change(&cur); err != nil {
		return err
	}
	rollupGroup := sql.NullInt64{Int64: cur.group, Valid: cur.counted}
	if _, err := tx.ExecContext(ctx, `UPDATE sd_tickets SET response_s = $1, resolution_s = $2, reopens = $3, agent_replies = $4,
		csat_score = $5, rollup_group = $6, rollup_open = $7 WHERE id = $8`, cur.responseS, cur.resolutionS, cur.reopens, cur.agentReplies, cur.csat,
		rollupGroup, cur.open && cur.counted, id); err != nil {
		return err
	}
	before, after := old.rollup(), cur.rollup()
	if old.day == cur.day && old.group == cur.group {
		for i := range after {
			after[i] -= before[i]
		}
		return s.addRollup(ctx, tx, cur.day, cur.group, after)
	}
	for i := range before {
		before[i] = -before[i]
	}
	// Lower key first, so two transactions moving tickets between the same
	// days lock the rows in the same order.
	first, second := [2]int64{old.day, old.group}, [2]int64{cur.day, cur.group}
	d1, d2 := before, after
	if second[0] < first[0] || (second[0] == first[0] && second[1] < first[1]) {
		first, second, d1, d2 = second, first, d2, d1
	}
	if err := s.addRollup(ctx, tx, first[0], first[1], d1); err != nil {
		return err
	}
	return s.addRollup(ctx, tx, second[0], second[1], d2)
}

// addRollup adds d to one day and group of the rollup.
func (s *Service) addRollup(ctx context.Context, q store.Querier, day, group int64, d [13]int64) error {
	if d == ([13]int64{}) {
		return nil
	}
	args := []any{day, group}
	for _, v := range d {
		args = append(args, v)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO sd_metrics_daily (day, group_id, tickets, responded, response_sum, resolved, resolution_sum,
		response_met, response_breached, resolution_met, resolution_breached, first_contact, rated, csat_sum, unresolved)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (day, group_id) DO UPDATE SET tickets = sd_metrics_daily.tickets + excluded.tickets,
		responded = sd_metrics_daily.responded + excluded.responded, response_sum = sd_metrics_daily.response_sum + excluded.response_sum,
		resolved = sd_metrics_daily.resolved + excluded.resolved, resolution_sum = sd_metrics_daily.resolution_sum + excluded.resolution_sum,
		response_met = sd_metrics_daily.response_met + excluded.response_met,
		response_breached = sd_metrics_daily.response_breached + excluded.response_breached,
		resolution_met = sd_metrics_daily.resolution_met + excluded.resolution_met,
		resolution_breached = sd_metrics_daily.resolution_breached + excluded.resolution_breached,
		first_contact = sd_metrics_daily.first_contact + excluded.first_contact,
		rated = sd_metrics_daily.rated + excluded.rated, csat_sum = sd_metrics_daily.csat_sum + excluded.csat_sum,
		unresolved = sd_metrics_daily.unresolved + excluded.unresolved`, args...)
	return err
}

// saveMeasures keeps a ticket's measures and the rollup current. It runs
// wherever the SLA state is recomputed (every change by people and the SLA
// job), in the same transaction, with the SLA state just computed.
func (s *Service) saveMeasures(ctx context.Context, tx *sql.Tx, t *Ticket, tg SLATargets, h []StatusChange, first, now time.Time, sla SLAStatus) error {
	if tg.Clock == nil {
		tg.Clock = AllDayClock()
	}
	st := ComputeSLA(tg, h, first, now)
	var replies int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sd_comments c JOIN users u ON u.id = c.author_id
		WHERE c.ticket_id = $1 AND c.public AND c.author_id <> $2 AND u.role IN ($3, $4)`,
		t.ID, t.RequesterID, string(auth.RoleOperator), string(auth.RoleAdmin)).Scan(&replies); err != nil {
		return err
	}
	return s.remeasure(ctx, tx, t.ID, func(m *measures) error {
		m.responseS, m.resolutionS = sql.NullInt64{}, sql.NullInt64{}
		if t.FirstResponse != nil {
			m.responseS = sql.NullInt64{Int64: int64(st.Response.Elapsed / time.Second), Valid: true}
		}
		if t.Status == StatusResolved || t.Status == StatusClosed {
			m.resolutionS = sql.NullInt64{Int64: int64(st.Resolution.Elapsed / time.Second), Valid: true}
		}
		m.reopens = 0
		for i := 1; i < len(h); i++ {
			if h[i-1].Status == StatusResolved && h[i].Status == StatusOpen {
				m.reopens++
			}
		}
		m.agentReplies = replies
		m.responseState, m.resolutionState = string(sla.Response.State), string(sla.Resolution.State)
		return nil
	})
}
