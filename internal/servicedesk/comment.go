package servicedesk

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Comment is a public reply (seen by the requester) or an internal note
// (agents only).
type Comment struct {
	ID        int64     `json:"id"`
	TicketID  int64     `json:"ticket_id"`
	AuthorID  int64     `json:"author_id,omitempty"`
	Author    string    `json:"author"`
	Public    bool      `json:"public"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// HistoryEntry is one recorded change of a ticket.
type HistoryEntry struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Field string    `json:"field"`
	Old   string    `json:"old"`
	New   string    `json:"new"`
}

// AddComment adds a reply or note. Requesters only reply publicly, to
// their own tickets; their reply to a ticket pending on them reopens it
// (the SLA clock resumes), and to a resolved one reopens it within the
// reopen window. An agent's first public reply stops the first-response
// timer and opens a new ticket.
func (s *Service) AddComment(ctx context.Context, ticketID int64, public bool, body string) (Comment, error) {
	a := auth.ActorFrom(ctx)
	agent := isAgent(a)
	if !agent {
		public = true
	}
	if a.Role == auth.RoleViewer {
		return Comment{}, ErrForbidden
	}
	if err := valid.Text("body", body, true, MaxComment, true); err != nil {
		return Comment{}, err
	}
	var c Comment
	var events []SLAEvent
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.ticket(ctx, tx, ticketID, s.forUpdate())
		if err != nil {
			return err
		}
		if t.Status == StatusClosed {
			return valid.Errorf("body", "this ticket is closed; open a new one")
		}
		now := s.now()
		if c, err = s.insertComment(ctx, tx, t.ID, public, body, now); err != nil {
			return err
		}
		var changes []change
		switch {
		case agent && public && t.FirstResponse == nil && t.RequesterID != a.UserID:
			t.FirstResponse = &now
			changes = append(changes, change{"first_response", "", now.Format(time.RFC3339)})
			if t.Status == StatusNew {
				_ = s.move(ctx, tx, t, StatusOpen, nil, now, &changes)
			}
		case !agent && t.Status == StatusPending:
			_ = s.move(ctx, tx, t, StatusOpen, nil, now, &changes)
		case !agent && t.Status == StatusResolved:
			if err := s.move(ctx, tx, t, StatusOpen, nil, now, &changes); err != nil {
				return valid.Errorf("body", "%v", err)
			}
		}
		for _, ch := range changes {
			if err := s.record(ctx, tx, t.ID, now, ch.field, ch.old, ch.new); err != nil {
				return err
			}
		}
		if err := s.saveTicket(ctx, tx, t, now); err != nil {
			return err
		}
		if events, err = s.refreshSLA(ctx, tx, t, now); err != nil {
			return err
		}
		action := "ticket.reply"
		if !public {
			action = "ticket.note"
		}
		return auth.Audit(ctx, tx, action, "ticket", strconv.FormatInt(t.ID, 10), "comment "+strconv.FormatInt(c.ID, 10))
	})
	if err != nil {
		return Comment{}, s.fail("add comment", err)
	}
	s.emit(ctx, events)
	return c, nil
}

func (s *Service) insertComment(ctx context.Context, tx *sql.Tx, ticketID int64, public bool, body string, now time.Time) (Comment, error) {
	a := auth.ActorFrom(ctx)
	c := Comment{TicketID: ticketID, AuthorID: a.UserID, Author: a.Name, Public: public, Body: body, CreatedAt: now}
	err := tx.QueryRowContext(ctx, `INSERT INTO sd_comments (ticket_id, author_id, author, public, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, ticketID, nullID(a.UserID), a.Name, public, body, now).Scan(&c.ID)
	return c, err
}

// Comments lists a ticket's conversation, oldest first. Requesters see
// only public replies.
func (s *Service) Comments(ctx context.Context, ticketID int64) ([]Comment, error) {
	if _, err := s.Ticket(ctx, ticketID); err != nil {
		return nil, err
	}
	onlyPublic := !auth.ActorFrom(ctx).Role.Allows(auth.RoleViewer)
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, ticket_id, COALESCE(author_id, 0), author, public, body, created_at FROM sd_comments
		WHERE ticket_id = $1 AND (public OR NOT $2) ORDER BY id`, ticketID, onlyPublic)
	if err != nil {
		return nil, wrap("comments", err)
	}
	defer rows.Close()
	out := []Comment{}
	for rows.Next() {
		var c Comment
		if err := rows.Scan(&c.ID, &c.TicketID, &c.AuthorID, &c.Author, &c.Public, &c.Body, &c.CreatedAt); err != nil {
			return nil, wrap("comments", err)
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, c)
	}
	return out, wrap("comments", rows.Err())
}

// History lists a ticket's recorded changes, oldest first. Requesters see
// status changes only.
func (s *Service) History(ctx context.Context, ticketID int64) ([]HistoryEntry, error) {
	if _, err := s.Ticket(ctx, ticketID); err != nil {
		return nil, err
	}
	onlyStatus := !auth.ActorFrom(ctx).Role.Allows(auth.RoleViewer)
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, at, actor, field, old_value, new_value FROM sd_history
		WHERE ticket_id = $1 AND (field = 'status' OR NOT $2) ORDER BY id`, ticketID, onlyStatus)
	if err != nil {
		return nil, wrap("history", err)
	}
	defer rows.Close()
	out := []HistoryEntry{}
	for rows.Next() {
		var h HistoryEntry
		if err := rows.Scan(&h.ID, &h.At, &h.Actor, &h.Field, &h.Old, &h.New); err != nil {
			return nil, wrap("history", err)
		}
		h.At = h.At.UTC()
		out = append(out, h)
	}
	return out, wrap("history", rows.Err())
}
