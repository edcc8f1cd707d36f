package servicedesk

import (
	"context"
	"database/sql"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// saveMeasures keeps a ticket's per-ticket measures current, so that the
// metrics are plain aggregates over indexed columns:
//
//   - response_s: business seconds from opening to the first public agent
//     reply, on the ticket's SLA calendar (24×7 when it has no policy),
//     pending time excluded; NULL until that reply.
//   - resolution_s: business seconds the resolution clock ran until the
//     ticket was resolved, the same way; NULL while unresolved.
//   - reopens: how often it went from resolved back to open.
//   - agent_replies: public replies by operators or admins other than the
//     requester.
//
// It runs wherever the SLA state is recomputed (every change by people and
// the SLA job), in the same transaction.
func (s *Service) saveMeasures(ctx context.Context, tx *sql.Tx, t *Ticket, tg SLATargets, h []StatusChange, first, now time.Time) error {
	if tg.Clock == nil {
		tg.Clock = AllDayClock()
	}
	st := ComputeSLA(tg, h, first, now)
	var resp, res any
	if t.FirstResponse != nil {
		resp = int64(st.Response.Elapsed / time.Second)
	}
	if t.Status == StatusResolved || t.Status == StatusClosed {
		res = int64(st.Resolution.Elapsed / time.Second)
	}
	reopens := 0
	for i := 1; i < len(h); i++ {
		if h[i-1].Status == StatusResolved && h[i].Status == StatusOpen {
			reopens++
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE sd_tickets SET response_s = $1, resolution_s = $2, reopens = $3,
		agent_replies = (SELECT COUNT(*) FROM sd_comments c JOIN users u ON u.id = c.author_id
			WHERE c.ticket_id = $4 AND c.public AND c.author_id <> $5 AND u.role IN ($6, $7))
		WHERE id = $4`, resp, res, reopens, t.ID, t.RequesterID, string(auth.RoleOperator), string(auth.RoleAdmin))
	return err
}
