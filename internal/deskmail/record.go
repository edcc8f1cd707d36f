package deskmail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// inbound is the row one received message keeps.
type inbound struct {
	id                        int64
	msgID, via, from, subject string
	to                        string
	size                      int64
}

// claimed is the state of a message's row when Ingest starts on it.
type claimed struct {
	done     bool      // finished before: a duplicate
	recover  bool      // a crashed try left it unfinished
	ticketID int64     // the ticket a finished or planned row names
	plan     Outcome   // what the unfinished try set out to do
	since    time.Time // when the unfinished try started
}

// plan is what a message is about to do: open a ticket, or reply to one.
type plan struct {
	outcome     Outcome
	ticketID    int64
	requesterID int64
}

// claim inserts the row for rec's Message-ID with its plan, or reads the
// one a former delivery left: finished (a duplicate), in flight
// (ErrInFlight), or abandoned by a crash (recover, with that try's plan).
func (s *Service) claim(ctx context.Context, rec *inbound, pl plan) (claimed, error) {
	now := s.now().UTC().Truncate(time.Second)
	err := s.db.W.QueryRowContext(ctx, `INSERT INTO desk_mail_messages (direction, message_id, via, from_addr, to_addr, subject, size, status,
		outcome, ticket_id, requester_id, created_at, updated_at)
		VALUES ('in', $1, $2, $3, $4, $5, $6, 'processing', $7, $8, $9, $10, $10) ON CONFLICT (direction, message_id) DO NOTHING RETURNING id`,
		rec.msgID, rec.via, rec.from, oneLine(rec.to, 500), rec.subject, rec.size, string(pl.outcome), nullID(pl.ticketID), nullID(pl.requesterID), now).Scan(&rec.id)
	if err == nil {
		return claimed{}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return claimed{}, fmt.Errorf("deskmail: record message: %w", store.MapError(err))
	}
	return s.existing(ctx, rec, now)
}

// existing reads the row a former delivery of rec left.
func (s *Service) existing(ctx context.Context, rec *inbound, now time.Time) (claimed, error) {
	var c claimed
	var status, plan string
	var tid sql.NullInt64
	var updated time.Time
	err := s.db.W.QueryRowContext(ctx, `SELECT id, status, outcome, ticket_id, created_at, updated_at FROM desk_mail_messages
		WHERE direction = 'in' AND message_id = $1`, rec.msgID).Scan(&rec.id, &status, &plan, &tid, &c.since, &updated)
	if err != nil {
		return claimed{}, fmt.Errorf("deskmail: read message: %w", store.MapError(err))
	}
	c.ticketID, c.plan = tid.Int64, Outcome(plan)
	if status == "done" {
		c.done = true
		return c, nil
	}
	if now.Sub(updated.UTC()) < staleClaim {
		return claimed{}, ErrInFlight
	}
	c.recover = true
	_, err = s.db.W.ExecContext(ctx, `UPDATE desk_mail_messages SET updated_at = $1 WHERE id = $2`, now, rec.id)
	return c, err
}

// replan records a changed plan before acting on it.
func (s *Service) replan(ctx context.Context, rowID int64, o Outcome, ticketID int64) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE desk_mail_messages SET outcome = $1, ticket_id = $2, updated_at = $3 WHERE id = $4`,
		string(o), nullID(ticketID), s.now().UTC(), rowID)
	if err != nil {
		return fmt.Errorf("deskmail: plan: %w", err)
	}
	return nil
}

// planned records the ticket and comment the change made.
func (s *Service) planned(ctx context.Context, rowID, ticketID, commentID int64) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE desk_mail_messages SET status = 'attaching', ticket_id = $1, comment_id = $2, updated_at = $3 WHERE id = $4`,
		ticketID, nullID(commentID), s.now().UTC(), rowID)
	if err != nil {
		return fmt.Errorf("deskmail: planned: %w", err)
	}
	return nil
}

// recoverClaim finishes a try that crashed: if its ticket or reply was
// committed (found by requester and time, after the plan), that is the
// result; otherwise the caller does the work again.
func (s *Service) recoverClaim(ctx context.Context, c claimed, rec *inbound, r requesterRow) (Result, bool, error) {
	var status string
	var tid, cid sql.NullInt64
	if err := s.db.W.QueryRowContext(ctx, `SELECT status, ticket_id, comment_id FROM desk_mail_messages WHERE id = $1`, rec.id).Scan(&status, &tid, &cid); err != nil {
		return Result{}, false, err
	}
	if status == "attaching" {
		return Result{Outcome: c.plan, TicketID: tid.Int64, CommentID: cid.Int64}, true, nil
	}
	since := c.since.UTC().Truncate(time.Second)
	switch c.plan {
	case OutcomeTicket:
		var id int64
		err := s.db.R.QueryRowContext(ctx, `SELECT id FROM sd_tickets WHERE requester_id = $1 AND subject = $2 AND created_at >= $3 ORDER BY id LIMIT 1`,
			r.id, rec.subject, since).Scan(&id)
		if err == nil {
			return Result{Outcome: OutcomeTicket, TicketID: id}, true, s.planned(ctx, rec.id, id, 0)
		}
	case OutcomeReply:
		var id int64
		err := s.db.R.QueryRowContext(ctx, `SELECT id FROM sd_comments WHERE ticket_id = $1 AND author_id = $2 AND created_at >= $3 ORDER BY id LIMIT 1`,
			c.ticketID, r.id, since).Scan(&id)
		if err == nil {
			return Result{Outcome: OutcomeReply, TicketID: c.ticketID, CommentID: id}, true, s.planned(ctx, rec.id, c.ticketID, id)
		}
	}
	return Result{}, false, nil
}

// finish marks the row done with its outcome, ticket and comment.
func (s *Service) finish(ctx context.Context, rec inbound, res Result) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE desk_mail_messages SET status = 'done', outcome = $1, reason = $2, ticket_id = $3, comment_id = $4,
		updated_at = $5 WHERE id = $6`, string(res.Outcome), oneLine(res.Reason, 500), nullID(res.TicketID), nullID(res.CommentID), s.now().UTC(), rec.id)
	if err != nil {
		return fmt.Errorf("deskmail: finish: %w", err)
	}
	return nil
}

// drop records a message that changes nothing (a loop, bulk, too big,
// refused) in one statement. A message recorded before is a duplicate;
// one that a crashed try left unfinished is finished as dropped.
func (s *Service) drop(ctx context.Context, rec inbound, o Outcome, reason string) (Result, error) {
	now := s.now().UTC().Truncate(time.Second)
	res, err := s.db.W.ExecContext(ctx, `INSERT INTO desk_mail_messages (direction, message_id, via, from_addr, to_addr, subject, size, status, outcome, reason, created_at, updated_at)
		VALUES ('in', $1, $2, $3, $4, $5, $6, 'done', $7, $8, $9, $9) ON CONFLICT (direction, message_id) DO NOTHING`,
		rec.msgID, rec.via, rec.from, oneLine(rec.to, 500), rec.subject, rec.size, string(o), oneLine(reason, 500), now)
	if err != nil {
		return Result{}, fmt.Errorf("deskmail: record dropped message: %w", store.MapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c, err := s.existing(ctx, &rec, now)
		if err != nil {
			return Result{}, err
		}
		if c.done {
			return s.duplicate(rec, c.ticketID), nil
		}
		if err := s.finish(ctx, rec, Result{Outcome: o, Reason: reason}); err != nil {
			return Result{}, err
		}
	}
	s.counts[o].Add(1)
	s.log.Info("mail dropped", "outcome", o, "reason", reason, "from", rec.from, "message_id", rec.msgID, "via", rec.via)
	return Result{Outcome: o, Reason: reason}, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Record is one received or sent mail, as the admin page lists it.
type Record struct {
	ID        int64     `json:"id"`
	Direction string    `json:"direction"`
	MessageID string    `json:"message_id"`
	Via       string    `json:"via"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Size      int64     `json:"size"`
	Status    string    `json:"status"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	TicketID  int64     `json:"ticket_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Messages lists the newest received mail, limit rows (at most 500),
// optionally only one outcome.
func (s *Service) Messages(ctx context.Context, outcome string, limit int) ([]Record, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, direction, message_id, via, from_addr, to_addr, subject, size, status, outcome, reason,
		COALESCE(ticket_id, 0), created_at FROM desk_mail_messages WHERE direction = 'in' AND ($1 = '' OR outcome = $1) ORDER BY id DESC LIMIT $2`,
		outcome, limit)
	if err != nil {
		return nil, fmt.Errorf("deskmail: messages: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Direction, &r.MessageID, &r.Via, &r.From, &r.To, &r.Subject, &r.Size, &r.Status, &r.Outcome, &r.Reason,
			&r.TicketID, &r.CreatedAt); err != nil {
			return nil, fmt.Errorf("deskmail: messages: %w", err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// DayCount is how many messages had one outcome on one day (UTC).
type DayCount struct {
	Day     string `json:"day"`
	Outcome string `json:"outcome"`
	Count   int    `json:"count"`
}

// Daily counts received mail by day and outcome since the given time.
func (s *Service) Daily(ctx context.Context, since time.Time) ([]DayCount, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT created_at, outcome FROM desk_mail_messages WHERE direction = 'in' AND created_at >= $1`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("deskmail: daily: %w", err)
	}
	defer rows.Close()
	type key struct{ day, outcome string }
	counts := map[key]int{}
	for rows.Next() {
		var at time.Time
		var o string
		if err := rows.Scan(&at, &o); err != nil {
			return nil, fmt.Errorf("deskmail: daily: %w", err)
		}
		counts[key{at.UTC().Format(time.DateOnly), o}]++
	}
	out := []DayCount{}
	for d := since.UTC().Truncate(24 * time.Hour); !d.After(s.now().UTC()); d = d.Add(24 * time.Hour) {
		for _, o := range Outcomes() {
			if n := counts[key{d.Format(time.DateOnly), string(o)}]; n > 0 {
				out = append(out, DayCount{Day: d.Format(time.DateOnly), Outcome: string(o), Count: n})
			}
		}
	}
	return out, rows.Err()
}

// Counters are the outcomes counted since start.
func (s *Service) Counters() map[string]int64 {
	out := map[string]int64{}
	for o, c := range s.counts {
		out[string(o)] = c.Load()
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
