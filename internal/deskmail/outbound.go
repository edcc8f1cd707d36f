package deskmail

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/store"
)

// The outbound side reads the service desk's new public replies and
// status changes as a change feed (rows past a stored cursor), queues one
// rendered mail per recipient in desk_mail_outbox in the same transaction
// that moves the cursor, and sends the outbox through notify's email
// channel. Internal notes are never read.

// Outbox statuses.
const (
	outPending = "pending"
	outSent    = "sent"
	outGivenUp = "given_up"
)

// maxSendAttempts gives an outbound mail up after this many failures.
const maxSendAttempts = 10

// RunOutbound reads the feed and sends due mail until ctx ends; without
// an outbound channel it does nothing.
func (s *Service) RunOutbound(ctx context.Context) {
	if s.cfg.OutboundChannel == "" {
		return
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		s.refreshFrom(ctx)
		if _, err := s.Feed(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("outbound feed", "err", err)
		}
		if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("outbound send", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// refreshFrom caches the outbound channel's From address, which is one
// of opsdeck's own addresses for loop protection.
func (s *Service) refreshFrom(ctx context.Context) {
	from, err := s.notify.EmailFrom(ctx, s.cfg.OutboundChannel)
	if err != nil {
		s.log.Warn("outbound channel unusable", "channel", s.cfg.OutboundChannel, "err", err)
		return
	}
	s.mu.Lock()
	s.from = strings.ToLower(from)
	s.mu.Unlock()
}

func (s *Service) outboundFrom() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.from
}

// feedRow is one comment or status change the feed read.
type feedRow struct {
	id, ticketID, authorID  int64
	author, body            string
	oldStatus, newStatus    string
	subject, status         string
	requesterID, assigneeID int64
	requesterName           string
	requesterMail           string
	assigneeMail            string
	// rateLink is the signed satisfaction-rating link put in the mail
	// that tells the requester their ticket is resolved.
	rateLink string
}

const feedTicket = ` JOIN sd_tickets t ON t.id = x.ticket_id JOIN users r ON r.id = t.requester_id LEFT JOIN users a ON a.id = t.assignee_id`

// Feed queues mail for status changes and public replies past the
// cursors (status changes first, so a new ticket's receipt leads), and returns how many mails it queued. On first run the cursors
// start at the newest rows: history from before is not mailed.
func (s *Service) Feed(ctx context.Context) (int, error) {
	n := 0
	for _, f := range []struct {
		name, query string
	}{
		{"history", `SELECT x.id, x.ticket_id, 0, x.actor, '', x.old_value, x.new_value, t.subject, t.status, t.requester_id,
			COALESCE(t.assignee_id, 0), r.username, COALESCE(r.email, ''), COALESCE(a.email, '') FROM sd_history x` + feedTicket +
			` WHERE x.id > $1 AND x.field = 'status' ORDER BY x.id LIMIT 200`},
		{"comments", `SELECT x.id, x.ticket_id, COALESCE(x.author_id, 0), x.author, x.body, '', '', t.subject, t.status, t.requester_id,
			COALESCE(t.assignee_id, 0), r.username, COALESCE(r.email, ''), COALESCE(a.email, '') FROM sd_comments x` + feedTicket +
			` WHERE x.id > $1 AND x.public ORDER BY x.id LIMIT 200`},
	} {
		k, err := s.feed(ctx, f.name, f.query)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *Service) feed(ctx context.Context, name, query string) (int, error) {
	var cursor int64
	err := s.db.R.QueryRowContext(ctx, `SELECT last_id FROM desk_mail_cursors WHERE name = $1`, name).Scan(&cursor)
	if errors.Is(store.MapError(err), store.ErrNotFound) {
		table := map[string]string{"comments": "sd_comments", "history": "sd_history"}[name]
		_, err = s.db.W.ExecContext(ctx, `INSERT INTO desk_mail_cursors (name, last_id) SELECT $1, COALESCE(MAX(id), 0) FROM `+table+
			` WHERE TRUE ON CONFLICT (name) DO NOTHING`, name)
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("deskmail: cursor %s: %w", name, err)
	}
	rows, err := s.db.R.QueryContext(ctx, query, cursor)
	if err != nil {
		return 0, fmt.Errorf("deskmail: feed %s: %w", name, err)
	}
	var batch []feedRow
	for rows.Next() {
		var r feedRow
		if err := rows.Scan(&r.id, &r.ticketID, &r.authorID, &r.author, &r.body, &r.oldStatus, &r.newStatus, &r.subject, &r.status,
			&r.requesterID, &r.assigneeID, &r.requesterName, &r.requesterMail, &r.assigneeMail); err != nil {
			rows.Close()
			return 0, fmt.Errorf("deskmail: feed %s: %w", name, err)
		}
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(batch) == 0 {
		return 0, err
	}
	// Rating links are made before the transaction: making the first one
	// writes the signing key, and SQLite has one writer.
	for i := range batch {
		if r := &batch[i]; r.newStatus == "resolved" && s.cfg.BaseURL != "" {
			if link, err := s.desk.RatingLink(ctx, s.cfg.BaseURL, r.ticketID); err == nil {
				r.rateLink = link
			} else {
				s.log.Warn("desk mail: no rating link", "ticket", r.ticketID, "err", err)
			}
		}
	}
	n := 0
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range batch {
			for _, m := range s.mailsFor(name, r) {
				ok, err := s.enqueue(ctx, tx, m)
				if err != nil {
					return err
				}
				if ok {
					n++
				}
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE desk_mail_cursors SET last_id = $1 WHERE name = $2`, batch[len(batch)-1].id, name)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("deskmail: feed %s: %w", name, err)
	}
	return n, nil
}

// outMail is one mail about to be queued.
type outMail struct {
	key, to       string
	ticketID      int64
	subject, text string
	auto          bool
}

// mailsFor decides who hears of a feed row: a public reply by anyone but
// the requester goes to the requester; the requester's reply goes to the
// assignee. A status change goes to the requester unless the requester
// caused it, or it is the automatic new → open of a first reply.
func (s *Service) mailsFor(feed string, r feedRow) []outMail {
	subject := fmt.Sprintf("[#%d] %s", r.ticketID, r.subject)
	link := ""
	if s.cfg.BaseURL != "" {
		link = "\n\n" + strings.TrimRight(s.cfg.BaseURL, "/") + "/tickets/" + strconv.FormatInt(r.ticketID, 10)
	}
	key := fmt.Sprintf("%s/%d", feed, r.id)
	if feed == "comments" {
		if r.authorID == r.requesterID {
			if r.assigneeMail == "" || r.assigneeID == r.authorID {
				return nil
			}
			text := ReplyMarker + "\n\n" + r.author + " replied to #" + strconv.FormatInt(r.ticketID, 10) + ":\n\n" + r.body + "\n\nStatus: " + r.status + link
			return []outMail{{key: key + "/a", to: r.assigneeMail, ticketID: r.ticketID, subject: subject, text: text}}
		}
		if r.requesterMail == "" {
			return nil
		}
		text := ReplyMarker + "\n\n" + r.author + " replied:\n\n" + r.body + "\n\nStatus: " + r.status + link
		return []outMail{{key: key + "/r", to: r.requesterMail, ticketID: r.ticketID, subject: subject, text: text}}
	}
	if r.requesterMail == "" || r.author == r.requesterName || (r.oldStatus == "new" && r.newStatus == "open") {
		return nil
	}
	var text string
	switch {
	case r.oldStatus == "":
		text = fmt.Sprintf("We received your request and opened ticket #%d. Reply to this mail to add to it; keep [#%d] in the subject.", r.ticketID, r.ticketID)
	case r.newStatus == "resolved":
		text = fmt.Sprintf("Ticket #%d is resolved. If it is not, reply to this mail to reopen it.", r.ticketID)
		if r.rateLink != "" {
			text += "\n\nHow did we do? Rate the help you got: " + r.rateLink
		}
	default:
		text = fmt.Sprintf("Ticket #%d changed from %s to %s.", r.ticketID, r.oldStatus, r.newStatus)
	}
	return []outMail{{key: key + "/r", to: r.requesterMail, ticketID: r.ticketID, subject: subject, text: ReplyMarker + "\n\n" + text + link, auto: true}}
}

// msgDomain is the domain of the Message-IDs opsdeck makes.
func (s *Service) msgDomain() string {
	if _, d, ok := cutAt(s.cfg.Address); ok {
		return d
	}
	return "opsdeck.invalid"
}

// enqueue writes one mail to the outbox and its Message-ID to the
// message log (so replies to it thread), chained by In-Reply-To and
// References to the ticket's earlier mail. A key already queued adds
// nothing.
func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, m outMail) (bool, error) {
	sum := sha256.Sum256([]byte(m.key))
	msgID := fmt.Sprintf("desk-%d-%s@%s", m.ticketID, hex.EncodeToString(sum[:10]), s.msgDomain())
	rows, err := tx.QueryContext(ctx, `SELECT message_id FROM desk_mail_messages WHERE ticket_id = $1 ORDER BY id DESC LIMIT 10`, m.ticketID)
	if err != nil {
		return false, err
	}
	var refs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, err
		}
		if !strings.HasPrefix(id, "sha256-") {
			refs = append(refs, id)
		}
	}
	rows.Close()
	inReplyTo := ""
	if len(refs) > 0 {
		inReplyTo = refs[0]
	}
	refs = reverse(refs)
	now := s.now().UTC()
	res, err := tx.ExecContext(ctx, `INSERT INTO desk_mail_outbox (idem_key, ticket_id, to_addr, subject, body, message_id, in_reply_to, references_ids,
		status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10) ON CONFLICT (idem_key) DO NOTHING`,
		m.key, m.ticketID, m.to, cut(m.subject, 250), m.text, msgID, inReplyTo, strings.Join(refs, " "), pendingOrAuto(m.auto), now)
	if err != nil {
		return false, err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return false, nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO desk_mail_messages (direction, message_id, via, from_addr, to_addr, subject, status, outcome, ticket_id, created_at, updated_at)
		VALUES ('out', $1, 'smtp', $2, $3, $4, 'queued', '', $5, $6, $6) ON CONFLICT (direction, message_id) DO NOTHING`,
		msgID, s.cfg.Address, m.to, cut(m.subject, 250), m.ticketID, now)
	return err == nil, err
}

// pendingOrAuto is the outbox status a new mail starts in; automatic
// notices carry it in a suffix so the sender marks them Auto-Submitted.
func pendingOrAuto(auto bool) string {
	if auto {
		return outPending + ":auto"
	}
	return outPending
}

// SendDue sends the outbox rows that are due and returns how many went.
func (s *Service) SendDue(ctx context.Context) (int, error) {
	now := s.now().UTC()
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, to_addr, subject, body, message_id, in_reply_to, references_ids, status, attempts
		FROM desk_mail_outbox WHERE status LIKE 'pending%' AND next_attempt_at <= $1 ORDER BY id LIMIT 50`, now)
	if err != nil {
		return 0, fmt.Errorf("deskmail: due mail: %w", err)
	}
	type due struct {
		id                                      int64
		to, subject, body, msgID, irt, refs, st string
		attempts                                int
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.to, &d.subject, &d.body, &d.msgID, &d.irt, &d.refs, &d.st, &d.attempts); err != nil {
			rows.Close()
			return 0, fmt.Errorf("deskmail: due mail: %w", err)
		}
		list = append(list, d)
	}
	rows.Close()
	sent := 0
	for _, d := range list {
		if ctx.Err() != nil {
			break
		}
		hdr := [][2]string{{"Reply-To", s.cfg.Address}}
		if d.irt != "" {
			hdr = append(hdr, [2]string{"In-Reply-To", "<" + d.irt + ">"})
		}
		if d.refs != "" {
			hdr = append(hdr, [2]string{"References", "<" + strings.Join(strings.Fields(d.refs), "> <") + ">"})
		}
		if strings.HasSuffix(d.st, ":auto") {
			hdr = append(hdr, [2]string{"Auto-Submitted", "auto-generated"})
		}
		err := s.notify.SendEmail(ctx, s.cfg.OutboundChannel, notify.RawEmail{To: d.to, Subject: d.subject, MessageID: "<" + d.msgID + ">", Headers: hdr, Text: d.body})
		now := s.now().UTC()
		var perm *notify.PermanentError
		switch {
		case err == nil:
			sent++
			_, err = s.db.W.ExecContext(ctx, `UPDATE desk_mail_outbox SET status = $1, attempts = attempts + 1, sent_at = $2, last_error = '' WHERE id = $3`, outSent, now, d.id)
			if err == nil {
				_, err = s.db.W.ExecContext(ctx, `UPDATE desk_mail_messages SET status = 'done', outcome = 'sent', updated_at = $1 WHERE direction = 'out' AND message_id = $2`, now, d.msgID)
			}
		case errors.As(err, &perm) || d.attempts+1 >= maxSendAttempts:
			s.log.Warn("outbound mail given up", "id", d.id, "err", err)
			_, err = s.db.W.ExecContext(ctx, `UPDATE desk_mail_outbox SET status = $1, attempts = attempts + 1, last_error = $2 WHERE id = $3`, outGivenUp, cut(err.Error(), 500), d.id)
		default:
			wait := min(time.Duration(1<<min(d.attempts, 7))*30*time.Second, time.Hour)
			_, err = s.db.W.ExecContext(ctx, `UPDATE desk_mail_outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3`,
				now.Add(wait), cut(err.Error(), 500), d.id)
		}
		if err != nil {
			return sent, fmt.Errorf("deskmail: record send: %w", err)
		}
	}
	return sent, nil
}

// OutboxCounts counts outbound mail by status.
func (s *Service) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT status, COUNT(*) FROM desk_mail_outbox GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("deskmail: outbox counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(st, ":auto")] += n
	}
	return out, rows.Err()
}
