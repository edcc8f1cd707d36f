package servicedesk

import (
	"cmp"
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// noDue is the sla_due / sla_next_check value meaning "none": the last
// second of year 9999, so it sorts after every real time.
const noDue int64 = 253402300799

const ticketCols = `t.id, t.type, t.status, t.pending_reason, t.subject, t.description, t.requester_id, COALESCE(r.username, ''),
	t.organization, COALESCE(t.assignee_id, 0), COALESCE(a.username, ''), COALESCE(t.group_id, 0), COALESCE(g.name, ''),
	t.category, t.impact, t.urgency, t.priority, t.tags, t.due_at, COALESCE(t.merged_into, 0), t.created_at, t.updated_at,
	t.resolved_at, t.first_response_at, COALESCE(t.sla_policy_id, 0), COALESCE(t.sla_calendar_id, 0), t.sla_response_s,
	t.sla_resolution_s, t.sla_warn_percent, t.sla_state, t.sla_paused, t.sla_due`

const ticketFrom = ` FROM sd_tickets t LEFT JOIN users r ON r.id = t.requester_id LEFT JOIN users a ON a.id = t.assignee_id
	LEFT JOIN sd_groups g ON g.id = t.group_id`

func scanTicket(row interface{ Scan(...any) error }) (*Ticket, error) {
	var t Ticket
	var tags string
	var due, resolved, first store.NullTime
	var respS, resS, slaDue int64
	err := row.Scan(&t.ID, &t.Type, &t.Status, &t.PendingReason, &t.Subject, &t.Description, &t.RequesterID, &t.Requester,
		&t.Organization, &t.AssigneeID, &t.Assignee, &t.GroupID, &t.Group,
		&t.Category, &t.Impact, &t.Urgency, &t.Priority, &tags, &due, &t.MergedInto, &t.CreatedAt, &t.UpdatedAt,
		&resolved, &first, &t.PolicyID, &t.calendarID, &respS,
		&resS, &t.warnPct, &t.SLAState, &t.SLAPaused, &slaDue)
	if err != nil {
		return nil, err
	}
	t.Tags = splitList(tags)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	t.DueAt, t.ResolvedAt, t.FirstResponse = timePtr(due), timePtr(resolved), timePtr(first)
	t.responseTarget, t.resolveTarget = time.Duration(respS)*time.Second, time.Duration(resS)*time.Second
	if slaDue != noDue {
		d := time.Unix(slaDue, 0).UTC()
		t.SLADue = &d
	}
	return &t, nil
}

func timePtr(n store.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time.UTC()
	return &t
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// CreateTicket opens a ticket. A requester always opens it for
// themselves; agents may name another requester. The priority comes from
// the matrix, the group and assignee from the assignment rules when not
// given, and the SLA policy from the first that matches.
func (s *Service) CreateTicket(ctx context.Context, in NewTicket) (*Ticket, error) {
	a := auth.ActorFrom(ctx)
	if !isAgent(a) {
		in.RequesterID, in.AssigneeID, in.GroupID, in.Organization = a.UserID, 0, 0, ""
	} else if in.RequesterID == 0 {
		in.RequesterID = a.UserID
	}
	return s.openTicket(ctx, in, nil)
}

// openTicket opens a ticket for in.RequesterID as given (the caller has
// decided who may set what); then, if not nil, runs in the same
// transaction once the ticket has its id. A ticket without an
// organisation takes its requester's.
func (s *Service) openTicket(ctx context.Context, in NewTicket, then func(tx *sql.Tx, t *Ticket) error) (*Ticket, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	if in.RequesterID == 0 {
		return nil, valid.Errorf("requester_id", "is required: an API token of no user must name the requester")
	}
	now := s.now()
	t := &Ticket{Type: in.Type, Status: StatusNew, Subject: in.Subject, Description: in.Description, RequesterID: in.RequesterID,
		Organization: in.Organization, AssigneeID: in.AssigneeID, GroupID: in.GroupID, Category: in.Category,
		Impact: in.Impact, Urgency: in.Urgency, Tags: in.Tags, DueAt: in.DueAt, CreatedAt: now, UpdatedAt: now}
	var events []SLAEvent
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkPeople(ctx, tx, t); err != nil {
			return err
		}
		if t.Organization == "" {
			_, org, _, err := orgOf(ctx, tx, t.RequesterID)
			if err != nil {
				return err
			}
			t.Organization = org
		}
		m, err := s.matrix(ctx, tx)
		if err != nil {
			return err
		}
		t.Priority = m.Priority(t.Impact, t.Urgency)
		if err := s.route(ctx, tx, t); err != nil {
			return err
		}
		if err := s.choosePolicy(ctx, tx, t); err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO sd_tickets (type, status, subject, description, requester_id, organization,
			assignee_id, group_id, category, impact, urgency, priority, tags, due_at, created_at, updated_at,
			sla_policy_id, sla_calendar_id, sla_response_s, sla_resolution_s, sla_warn_percent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id`,
			string(t.Type), string(t.Status), t.Subject, t.Description, t.RequesterID, t.Organization,
			nullID(t.AssigneeID), nullID(t.GroupID), t.Category, int(t.Impact), int(t.Urgency), int(t.Priority), strings.Join(t.Tags, ","),
			nullTime(t.DueAt), now, now, nullID(t.PolicyID), nullID(t.calendarID), int64(t.responseTarget.Seconds()),
			int64(t.resolveTarget.Seconds()), t.warnPct).Scan(&t.ID)
		if err != nil {
			return err
		}
		if err := s.record(ctx, tx, t.ID, now, "status", "", string(StatusNew)); err != nil {
			return err
		}
		if then != nil {
			if err := then(tx, t); err != nil {
				return err
			}
		}
		if events, err = s.refreshSLA(ctx, tx, t, now); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "ticket.create", "ticket", strconv.FormatInt(t.ID, 10), t.Subject)
	})
	if err != nil {
		if _, ok := valid.As(err); ok {
			return nil, err
		}
		return nil, wrap("create ticket", err)
	}
	s.emit(ctx, events)
	return s.Ticket(ctx, t.ID)
}

// checkPeople checks that the requester exists and that the assignee and
// group exist and the assignee may work tickets.
func (s *Service) checkPeople(ctx context.Context, q store.Querier, t *Ticket) error {
	var role string
	if err := q.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1`, t.RequesterID).Scan(&role); err != nil {
		return valid.Errorf("requester_id", "no such user")
	}
	if t.AssigneeID != 0 {
		if err := q.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1 AND NOT disabled`, t.AssigneeID).Scan(&role); err != nil {
			return valid.Errorf("assignee_id", "no such user")
		}
		if !auth.Role(role).Allows(auth.RoleOperator) {
			return valid.Errorf("assignee_id", "must be an operator or admin")
		}
	}
	if t.GroupID != 0 {
		var one int
		if err := q.QueryRowContext(ctx, `SELECT 1 FROM sd_groups WHERE id = $1`, t.GroupID).Scan(&one); err != nil {
			return valid.Errorf("group_id", "no such group")
		}
	}
	return nil
}

// Ticket returns one ticket the caller may see; a requester asking for
// someone else's ticket gets store.ErrNotFound, as if it did not exist.
func (s *Service) Ticket(ctx context.Context, id int64) (*Ticket, error) {
	return s.ticket(ctx, s.db.R, id, "")
}

func (s *Service) ticket(ctx context.Context, q store.Querier, id int64, lock string) (*Ticket, error) {
	query := `SELECT ` + ticketCols + ticketFrom + ` WHERE t.id = $1`
	if lock != "" {
		// A locking read names no outer-joined table (PostgreSQL refuses
		// FOR UPDATE on the nullable side), so lock first, then read.
		var one int
		if err := q.QueryRowContext(ctx, `SELECT 1 FROM sd_tickets WHERE id = $1`+lock, id).Scan(&one); err != nil {
			return nil, wrap("ticket "+strconv.FormatInt(id, 10), err)
		}
	}
	t, err := scanTicket(q.QueryRowContext(ctx, query, id))
	if err != nil {
		return nil, wrap("ticket "+strconv.FormatInt(id, 10), err)
	}
	if a := auth.ActorFrom(ctx); isRequesterOnly(a) {
		if ok, err := requesterSees(ctx, q, a, t); err != nil || !ok {
			return nil, wrap("ticket "+strconv.FormatInt(id, 10), cmp.Or(err, store.ErrNotFound))
		}
	}
	return t, nil
}

// record writes one history row.
func (s *Service) record(ctx context.Context, q store.Querier, ticketID int64, at time.Time, field, old, new string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO sd_history (ticket_id, at, actor, field, old_value, new_value) VALUES ($1, $2, $3, $4, $5, $6)`,
		ticketID, at, auth.ActorFrom(ctx).Name, field, old, new)
	return err
}
