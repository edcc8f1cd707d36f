package servicedesk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// TicketPatch changes some of a ticket's fields; nil fields stay. Only
// agents patch tickets.
type TicketPatch struct {
	Type          *Type          `json:"type"`
	Subject       *string        `json:"subject"`
	Description   *string        `json:"description"`
	Organization  *string        `json:"organization"`
	AssigneeID    *int64         `json:"assignee_id"` // 0 unassigns
	GroupID       *int64         `json:"group_id"`    // 0 leaves the queue
	Category      *string        `json:"category"`
	Impact        *Level         `json:"impact"`
	Urgency       *Level         `json:"urgency"`
	Priority      *Priority      `json:"priority"` // overrides the matrix
	Tags          *[]string      `json:"tags"`
	DueAt         *time.Time     `json:"due_at"`
	ClearDue      bool           `json:"clear_due"`
	Status        *Status        `json:"status"`
	PendingReason *PendingReason `json:"pending_reason"`
}

// UpdateTicket applies a patch, records every changed field in the
// ticket's history, re-chooses the SLA policy when priority, category or
// organisation changed, and recomputes the SLA.
func (s *Service) UpdateTicket(ctx context.Context, id int64, p TicketPatch) (*Ticket, error) {
	if !isAgent(auth.ActorFrom(ctx)) {
		return nil, ErrForbidden
	}
	var events []SLAEvent
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		events, err = s.applyPatch(ctx, tx, id, p, "")
		return err
	})
	if err != nil {
		return nil, s.fail("update ticket", err)
	}
	s.emit(ctx, events)
	return s.Ticket(ctx, id)
}

// fail passes validation and lifecycle errors through and wraps the rest.
func (s *Service) fail(op string, err error) error {
	if _, ok := valid.As(err); ok || errors.Is(err, ErrForbidden) || errors.Is(err, ErrTransition) {
		return err
	}
	return wrap(op, err)
}

// change is one field's old and new text, for history.
type change struct{ field, old, new string }

// applyPatch is UpdateTicket inside a transaction. fieldPrefix names
// fields in errors ("" for a single ticket, "#12 " in a bulk update).
func (s *Service) applyPatch(ctx context.Context, tx *sql.Tx, id int64, p TicketPatch, prefix string) ([]SLAEvent, error) {
	t, err := s.ticket(ctx, tx, id, s.forUpdate())
	if err != nil {
		return nil, err
	}
	if t.Status == StatusClosed {
		return nil, fmt.Errorf("%w: %sticket #%d is closed", ErrTransition, prefix, id)
	}
	now := s.now()
	var changes []change
	set := func(field, old, new string) {
		if old != new {
			changes = append(changes, change{field, old, new})
		}
	}
	if p.Type != nil {
		if !slices.Contains(Types(), *p.Type) {
			return nil, valid.Errorf("type", "must be incident, service_request or question")
		}
		set("type", string(t.Type), string(*p.Type))
		t.Type = *p.Type
	}
	if p.Subject != nil {
		sub := strings.TrimSpace(*p.Subject)
		if err := valid.Text("subject", sub, true, MaxSubject, false); err != nil {
			return nil, err
		}
		set("subject", t.Subject, sub)
		t.Subject = sub
	}
	if p.Description != nil {
		if err := valid.Text("description", *p.Description, false, MaxDescription, true); err != nil {
			return nil, err
		}
		set("description", t.Description, *p.Description)
		t.Description = *p.Description
	}
	if p.Organization != nil {
		org := strings.TrimSpace(*p.Organization)
		if err := valid.Text("organization", org, false, MaxCategory, false); err != nil {
			return nil, err
		}
		set("organization", t.Organization, org)
		t.Organization = org
	}
	if p.Category != nil {
		c := *p.Category
		if err := checkCategory(&c); err != nil {
			return nil, err
		}
		set("category", t.Category, c)
		t.Category = c
	}
	if p.AssigneeID != nil {
		set("assignee", strconv.FormatInt(t.AssigneeID, 10), strconv.FormatInt(*p.AssigneeID, 10))
		t.AssigneeID = *p.AssigneeID
	}
	if p.GroupID != nil {
		set("group", strconv.FormatInt(t.GroupID, 10), strconv.FormatInt(*p.GroupID, 10))
		t.GroupID = *p.GroupID
	}
	if err := s.checkPeople(ctx, tx, t); err != nil {
		return nil, err
	}
	if p.Impact != nil || p.Urgency != nil {
		imp, urg := t.Impact, t.Urgency
		if p.Impact != nil {
			imp = *p.Impact
		}
		if p.Urgency != nil {
			urg = *p.Urgency
		}
		if err := checkLevel("impact", imp); err != nil {
			return nil, err
		}
		if err := checkLevel("urgency", urg); err != nil {
			return nil, err
		}
		m, err := s.matrix(ctx, tx)
		if err != nil {
			return nil, err
		}
		set("impact", t.Impact.String(), imp.String())
		set("urgency", t.Urgency.String(), urg.String())
		set("priority", t.Priority.String(), m.Priority(imp, urg).String())
		t.Impact, t.Urgency, t.Priority = imp, urg, m.Priority(imp, urg)
	}
	if p.Priority != nil {
		if *p.Priority < 1 || *p.Priority > 5 {
			return nil, valid.Errorf("priority", "must be 1 (critical) to 5 (planning)")
		}
		set("priority", t.Priority.String(), p.Priority.String())
		t.Priority = *p.Priority
	}
	if p.Tags != nil {
		tags, err := CleanTags(*p.Tags)
		if err != nil {
			return nil, err
		}
		set("tags", strings.Join(t.Tags, ","), strings.Join(tags, ","))
		t.Tags = tags
	}
	if p.DueAt != nil || p.ClearDue {
		old := fmtTime(t.DueAt)
		t.DueAt = p.DueAt
		if p.ClearDue {
			t.DueAt = nil
		}
		set("due_at", old, fmtTime(t.DueAt))
	}
	repolicy := slices.ContainsFunc(changes, func(c change) bool {
		return c.field == "priority" || c.field == "category" || c.field == "organization"
	})
	if p.Status != nil && *p.Status != t.Status {
		if err := s.move(ctx, tx, t, *p.Status, p.PendingReason, now, &changes); err != nil {
			if _, ok := valid.As(err); ok {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %sticket #%d: %v", ErrTransition, prefix, id, err)
		}
	} else if p.PendingReason != nil && t.Status == StatusPending {
		if err := checkReason(*p.PendingReason); err != nil {
			return nil, err
		}
		set("pending_reason", string(t.PendingReason), string(*p.PendingReason))
		t.PendingReason = *p.PendingReason
	}
	if len(changes) == 0 {
		return nil, nil
	}
	if repolicy {
		if err := s.choosePolicy(ctx, tx, t); err != nil {
			return nil, err
		}
	}
	for _, c := range changes {
		if err := s.record(ctx, tx, t.ID, now, c.field, c.old, c.new); err != nil {
			return nil, err
		}
	}
	if err := s.saveTicket(ctx, tx, t, now); err != nil {
		return nil, err
	}
	events, err := s.refreshSLA(ctx, tx, t, now)
	if err != nil {
		return nil, err
	}
	fields := make([]string, len(changes))
	for i, c := range changes {
		fields[i] = c.field
	}
	return events, auth.Audit(ctx, tx, "ticket.update", "ticket", strconv.FormatInt(t.ID, 10), strings.Join(fields, ","))
}

func checkReason(r PendingReason) error {
	if r != PendingRequester && r != PendingThirdParty {
		return valid.Errorf("pending_reason", "must be requester or third_party")
	}
	return nil
}

// move changes a ticket's status if the lifecycle allows it.
func (s *Service) move(ctx context.Context, tx *sql.Tx, t *Ticket, to Status, reason *PendingReason, now time.Time, changes *[]change) error {
	if !slices.Contains(Statuses(), to) {
		return valid.Errorf("status", "must be one of new, open, pending, resolved, closed")
	}
	if !CanMove(t.Status, to) {
		return fmt.Errorf("cannot go from %s to %s", t.Status, to)
	}
	if t.Status == StatusResolved && to == StatusOpen && t.ResolvedAt != nil && now.Sub(*t.ResolvedAt) > s.opts.ReopenWindow {
		return fmt.Errorf("resolved more than %s ago; open a new ticket instead", s.opts.ReopenWindow)
	}
	newReason := PendingReason("")
	if to == StatusPending {
		newReason = PendingRequester
		if reason != nil {
			if err := checkReason(*reason); err != nil {
				return err
			}
			newReason = *reason
		}
	}
	*changes = append(*changes, change{"status", string(t.Status), string(to)})
	if newReason != t.PendingReason {
		*changes = append(*changes, change{"pending_reason", string(t.PendingReason), string(newReason)})
	}
	t.Status, t.PendingReason = to, newReason
	switch to {
	case StatusResolved:
		t.ResolvedAt = &now
	case StatusOpen, StatusPending:
		t.ResolvedAt = nil
	}
	return nil
}

// saveTicket writes a ticket's fields back.
func (s *Service) saveTicket(ctx context.Context, tx *sql.Tx, t *Ticket, now time.Time) error {
	t.UpdatedAt = now
	_, err := tx.ExecContext(ctx, `UPDATE sd_tickets SET type = $1, status = $2, pending_reason = $3, subject = $4, description = $5,
		organization = $6, assignee_id = $7, group_id = $8, category = $9, impact = $10, urgency = $11, priority = $12, tags = $13,
		due_at = $14, updated_at = $15, resolved_at = $16, first_response_at = $17, sla_policy_id = $18, sla_calendar_id = $19,
		sla_response_s = $20, sla_resolution_s = $21, sla_warn_percent = $22, merged_into = $23 WHERE id = $24`,
		string(t.Type), string(t.Status), string(t.PendingReason), t.Subject, t.Description, t.Organization, nullID(t.AssigneeID),
		nullID(t.GroupID), t.Category, int(t.Impact), int(t.Urgency), int(t.Priority), strings.Join(t.Tags, ","), nullTime(t.DueAt),
		now, nullTime(t.ResolvedAt), nullTime(t.FirstResponse), nullID(t.PolicyID), nullID(t.calendarID),
		int64(t.responseTarget.Seconds()), int64(t.resolveTarget.Seconds()), t.warnPct, nullID(t.MergedInto), t.ID)
	return err
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// MaxBulk bounds a bulk update.
const MaxBulk = 500

// BulkPatch is what a bulk update may change.
type BulkPatch struct {
	IDs        []int64   `json:"ids"`
	Status     *Status   `json:"status"`
	AssigneeID *int64    `json:"assignee_id"`
	GroupID    *int64    `json:"group_id"`
	Priority   *Priority `json:"priority"`
}

// BulkUpdate applies one change to many tickets in one transaction: all
// change or, when one cannot (a closed ticket, a move the lifecycle
// refuses), none does and the error names the ticket.
func (s *Service) BulkUpdate(ctx context.Context, b BulkPatch) (int, error) {
	if !isAgent(auth.ActorFrom(ctx)) {
		return 0, ErrForbidden
	}
	slices.Sort(b.IDs)
	b.IDs = slices.Compact(b.IDs)
	if len(b.IDs) == 0 {
		return 0, valid.Errorf("ids", "select at least one ticket")
	}
	if len(b.IDs) > MaxBulk {
		return 0, valid.Errorf("ids", "at most %d tickets at once", MaxBulk)
	}
	if b.Status == nil && b.AssigneeID == nil && b.GroupID == nil && b.Priority == nil {
		return 0, valid.Errorf("status", "choose a status, assignee, group or priority to set")
	}
	p := TicketPatch{Status: b.Status, AssigneeID: b.AssigneeID, GroupID: b.GroupID, Priority: b.Priority}
	var events []SLAEvent
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range b.IDs {
			ev, err := s.applyPatch(ctx, tx, id, p, "")
			if err != nil {
				if ve, ok := valid.As(err); ok {
					return valid.Errorf(ve.Field, "ticket #%d: %s", id, ve.Msg)
				}
				return err
			}
			events = append(events, ev...)
		}
		return nil
	})
	if err != nil {
		return 0, s.fail("bulk update", err)
	}
	s.emit(ctx, events)
	return len(b.IDs), nil
}

// Merge closes a duplicate ticket into another: the duplicate is closed
// with merged_into set, both histories say so, and the target gets an
// internal note linking the duplicate.
func (s *Service) Merge(ctx context.Context, duplicateID, intoID int64) (*Ticket, error) {
	if !isAgent(auth.ActorFrom(ctx)) {
		return nil, ErrForbidden
	}
	if duplicateID == intoID {
		return nil, valid.Errorf("into", "a ticket cannot be merged into itself")
	}
	var events []SLAEvent
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		dup, err := s.ticket(ctx, tx, duplicateID, s.forUpdate())
		if err != nil {
			return err
		}
		into, err := s.ticket(ctx, tx, intoID, s.forUpdate())
		if err != nil {
			return valid.Errorf("into", "no such ticket")
		}
		if dup.Status == StatusClosed || into.Status == StatusClosed {
			return fmt.Errorf("%w: closed tickets cannot be merged", ErrTransition)
		}
		now := s.now()
		if err := s.record(ctx, tx, dup.ID, now, "merged_into", "", strconv.FormatInt(into.ID, 10)); err != nil {
			return err
		}
		if dup.Status != StatusResolved {
			if err := s.record(ctx, tx, dup.ID, now, "status", string(dup.Status), string(StatusResolved)); err != nil {
				return err
			}
		}
		if err := s.record(ctx, tx, dup.ID, now, "status", string(StatusResolved), string(StatusClosed)); err != nil {
			return err
		}
		if dup.ResolvedAt == nil {
			dup.ResolvedAt = &now
		}
		dup.Status, dup.PendingReason, dup.MergedInto = StatusClosed, "", into.ID
		if err := s.saveTicket(ctx, tx, dup, now); err != nil {
			return err
		}
		if events, err = s.refreshSLA(ctx, tx, dup, now); err != nil {
			return err
		}
		if err := s.record(ctx, tx, into.ID, now, "merged_from", "", strconv.FormatInt(dup.ID, 10)); err != nil {
			return err
		}
		if _, err := s.insertComment(ctx, tx, into.ID, false, fmt.Sprintf("Ticket #%d (%s) was merged into this one.", dup.ID, dup.Subject), now); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "ticket.merge", "ticket", strconv.FormatInt(dup.ID, 10), "into #"+strconv.FormatInt(into.ID, 10))
	})
	if err != nil {
		return nil, s.fail("merge", err)
	}
	s.emit(ctx, events)
	return s.Ticket(ctx, intoID)
}
