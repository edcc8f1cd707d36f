package deskmail

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ViaEmail marks changes made by inbound mail in the audit log.
const ViaEmail auth.Via = "email"

// Envelope is how a message arrived.
type Envelope struct {
	Via   string   // "smtp" or "imap"
	Rcpts []string // envelope recipients (SMTP) or none (IMAP)
	Group string   // group for new tickets when no recipient names one
	// NullSender is an SMTP envelope with MAIL FROM:<>, which only
	// bounces and auto-replies use.
	NullSender bool
}

// Result is what Ingest did with a message.
type Result struct {
	Outcome   Outcome `json:"outcome"`
	Reason    string  `json:"reason,omitempty"`
	TicketID  int64   `json:"ticket_id,omitempty"`
	CommentID int64   `json:"comment_id,omitempty"`
}

// ErrInFlight means the same Message-ID is being processed right now; the
// sender should try again later.
var ErrInFlight = errors.New("deskmail: this message is being processed")

// staleClaim is how old an unfinished claim must be before a redelivery
// takes it over (the first try crashed).
const staleClaim = 2 * time.Minute

// subjectTag finds "[#1234]" in a subject.
var subjectTag = regexp.MustCompile(`\[#(\d{1,18})\]`)

// ReplyMarker heads every outbound mail; text below it in a reply is the
// quoted history and is cut.
const ReplyMarker = "##- Please type your reply above this line -##"

// Ingest turns one raw message into a ticket or a reply, or drops it with
// a recorded reason. It returns an error only when the message could not
// be processed now (database down, same message in flight): the caller
// must not acknowledge it, so it is delivered again. Everything it
// commits is keyed by Message-ID, so a redelivery is recognised.
func (s *Service) Ingest(ctx context.Context, raw []byte, env Envelope) (Result, error) {
	if int64(len(raw)) > s.cfg.MaxMessageBytes {
		return s.TooBig(ctx, raw, env)
	}
	m, err := Parse(raw)
	if err != nil {
		sum := sha256.Sum256(raw)
		rec := inbound{msgID: "sha256-" + hex.EncodeToString(sum[:16]) + "@opsdeck.invalid", via: env.Via, size: int64(len(raw))}
		return s.drop(ctx, rec, OutcomeRejected, oneLine(err.Error(), 200))
	}
	if env.NullSender {
		m.Loop["return-path"] = "<>"
	}
	rec := inbound{msgID: m.MessageID, via: env.Via, from: m.From, subject: m.Subject, size: int64(len(raw)), to: strings.Join(env.Rcpts, ", ")}
	if o, why := classify(m, s.own()); o != "" {
		return s.drop(ctx, rec, o, why)
	}
	if over, err := s.overRate(ctx, m.From); err != nil || over {
		if err != nil {
			return Result{}, err
		}
		return s.drop(ctx, rec, OutcomeRejected, fmt.Sprintf("over %d messages an hour from this sender", s.cfg.RatePerHour))
	}
	requester, err := s.requester(ctx, m)
	if err != nil {
		if _, ok := valid.As(err); ok {
			return s.drop(ctx, rec, OutcomeRejected, err.Error())
		}
		return Result{}, err
	}
	actor := auth.WithActor(ctx, auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: requester.id, Name: requester.username, Role: requester.role}, Via: ViaEmail})
	// The plan (a reply to which ticket, or a new one) is committed with
	// the claim, before the change, so a crashed try can be recognised.
	pl := plan{outcome: OutcomeTicket, requesterID: requester.id}
	if id := s.thread(ctx, actor, m); id != 0 {
		pl.outcome, pl.ticketID = OutcomeReply, id
	}
	claim, err := s.claim(ctx, &rec, pl)
	if err != nil {
		return Result{}, err
	}
	if claim.done {
		return s.duplicate(rec, claim.ticketID), nil
	}
	res, err := s.apply(ctx, actor, claim, &rec, m, env, requester, pl)
	if err != nil {
		return Result{}, err
	}
	if len(m.Files) > 0 || len(m.Notes) > 0 {
		if err := s.planned(ctx, rec.id, res.TicketID, res.CommentID); err != nil {
			return Result{}, err
		}
		s.attach(ctx, actor, res.TicketID, m)
	}
	if err := s.finish(ctx, rec, res); err != nil {
		return Result{}, err
	}
	s.counts[res.Outcome].Add(1)
	s.log.Info("mail received", "outcome", res.Outcome, "ticket", res.TicketID, "from", m.From, "message_id", m.MessageID, "via", env.Via)
	s.Wake()
	return res, nil
}

// duplicate counts and logs a message received before.
func (s *Service) duplicate(rec inbound, ticketID int64) Result {
	s.counts[OutcomeDuplicate].Add(1)
	s.log.Info("duplicate message ignored", "message_id", rec.msgID, "from", rec.from)
	return Result{Outcome: OutcomeDuplicate, TicketID: ticketID, Reason: "already received"}
}

// TooBig records a message over the size cap from what of it arrived.
func (s *Service) TooBig(ctx context.Context, partial []byte, env Envelope) (Result, error) {
	sum := sha256.Sum256(partial)
	rec := inbound{msgID: "sha256-" + hex.EncodeToString(sum[:16]) + "@opsdeck.invalid", via: env.Via, size: int64(len(partial))}
	if m, err := Parse(partial[:min(len(partial), maxHeaderBytes)]); err == nil {
		rec.msgID, rec.from, rec.subject = m.MessageID, m.From, m.Subject
	}
	return s.drop(ctx, rec, OutcomeTooBig, fmt.Sprintf("over the %d-byte cap", s.cfg.MaxMessageBytes))
}

// overRate reports whether the sender already made RatePerHour tickets
// and replies in the last hour. It counts the message log, so the cap
// holds across restarts and for 'opsdeck mail deliver' processes.
func (s *Service) overRate(ctx context.Context, from string) (bool, error) {
	if s.cfg.RatePerHour <= 0 {
		return false, nil
	}
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_mail_messages WHERE direction = 'in' AND from_addr = $1 AND created_at > $2
		AND outcome IN ('ticket', 'reply')`, from, s.now().UTC().Add(-time.Hour)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("deskmail: rate: %w", err)
	}
	return n >= s.cfg.RatePerHour, nil
}

// own lists the addresses mail from which is opsdeck talking to itself.
func (s *Service) own() []string {
	var out []string
	if s.cfg.Address != "" {
		out = append(out, s.cfg.Address)
	}
	if from := s.outboundFrom(); from != "" {
		out = append(out, from)
	}
	return out
}

// apply carries out the plan: a public reply as the sender, or a new
// ticket. A reply the ticket refuses (closed, past the reopen window, a
// sender who may not reply) becomes a new ticket that says so; the row's
// plan is changed first.
func (s *Service) apply(ctx, actor context.Context, c claimed, rec *inbound, m *Message, env Envelope, r requesterRow, pl plan) (Result, error) {
	if c.recover {
		if res, ok, err := s.recoverClaim(ctx, c, rec, r); err != nil || ok {
			return res, err
		}
		pl.outcome, pl.ticketID = c.plan, c.ticketID
	}
	note := ""
	if pl.outcome == OutcomeReply {
		body := replyText(m.Text, len(m.Files) > 0)
		cm, err := s.desk.AddComment(actor, pl.ticketID, true, cut(body, servicedesk.MaxComment))
		if err == nil {
			return Result{Outcome: OutcomeReply, TicketID: pl.ticketID, CommentID: cm.ID}, nil
		}
		ve, isValid := valid.As(err)
		if !isValid && !errors.Is(err, servicedesk.ErrForbidden) {
			return Result{}, err
		}
		if isValid {
			note = fmt.Sprintf("Follow-up to #%d, which could not take a reply: %s.\n\n", pl.ticketID, ve.Msg)
		} else {
			note = fmt.Sprintf("Follow-up to #%d.\n\n", pl.ticketID)
		}
		if err := s.replan(ctx, rec.id, OutcomeTicket, 0); err != nil {
			return Result{}, err
		}
	}
	group, err := s.groupFor(ctx, env)
	if err != nil {
		return Result{}, err
	}
	subject := strings.TrimSpace(m.Subject)
	if subject == "" {
		subject = "(no subject)"
	}
	system := auth.WithActor(ctx, auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "email", Role: auth.RoleAdmin}, Via: ViaEmail})
	t, err := s.desk.CreateTicket(system, servicedesk.NewTicket{Subject: subject, Description: cut(note+strings.TrimSpace(m.Text), servicedesk.MaxDescription),
		RequesterID: r.id, GroupID: group})
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: OutcomeTicket, TicketID: t.ID}, nil
}

// thread finds the ticket a message answers: the subject's [#id] first,
// then In-Reply-To and References against Message-IDs opsdeck sent or
// received. A ticket counts only if the sender may see it, so a stranger
// naming someone else's ticket number opens a ticket of their own. A
// merged ticket's replies go to the ticket it was merged into.
func (s *Service) thread(ctx, actor context.Context, m *Message) int64 {
	var candidates []int64
	for _, sm := range subjectTag.FindAllStringSubmatch(m.Subject, 3) {
		if id, err := strconv.ParseInt(sm[1], 10, 64); err == nil {
			candidates = append(candidates, id)
		}
	}
	ids := append(append([]string{}, m.InReplyTo...), reverse(m.References)...)
	if len(ids) > 0 {
		if id, err := s.ticketByMessageIDs(ctx, ids); err == nil && id != 0 {
			candidates = append(candidates, id)
		}
	}
	for _, id := range candidates {
		for range 3 {
			t, err := s.desk.Ticket(actor, id)
			if err != nil {
				break
			}
			if t.MergedInto == 0 {
				return t.ID
			}
			id = t.MergedInto
		}
	}
	return 0
}

func reverse(in []string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[len(in)-1-i] = v
	}
	return out
}

// ticketByMessageIDs returns the ticket of the first known Message-ID in
// ids, in the order given.
func (s *Service) ticketByMessageIDs(ctx context.Context, ids []string) (int64, error) {
	if len(ids) > maxIDs {
		ids = ids[:maxIDs]
	}
	args := make([]any, len(ids))
	ph := make([]string, len(ids))
	for i, id := range ids {
		args[i], ph[i] = id, "$"+strconv.Itoa(i+1)
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT message_id, ticket_id FROM desk_mail_messages
		WHERE message_id IN (`+strings.Join(ph, ", ")+`) AND ticket_id IS NOT NULL`, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	found := map[string]int64{}
	for rows.Next() {
		var mid string
		var tid int64
		if err := rows.Scan(&mid, &tid); err != nil {
			return 0, err
		}
		found[mid] = tid
	}
	for _, id := range ids {
		if t := found[id]; t != 0 {
			return t, nil
		}
	}
	return 0, rows.Err()
}

// groupFor resolves the group new tickets from this envelope go to.
func (s *Service) groupFor(ctx context.Context, env Envelope) (int64, error) {
	name := env.Group
	for _, r := range env.Rcpts {
		if rt, ok := accept(s.routes, r); ok && rt.group != "" {
			name = rt.group
			break
		}
	}
	if name == "" {
		return 0, nil
	}
	var id int64
	err := s.db.R.QueryRowContext(ctx, `SELECT id FROM sd_groups WHERE name = $1`, name).Scan(&id)
	if errors.Is(store.MapError(err), store.ErrNotFound) {
		s.log.Warn("mail routed to a group that does not exist; the ticket is left without a group", "group", name)
		return 0, nil
	}
	return id, err
}

// replyText is the new part of a reply: the text above opsdeck's reply
// marker, without a trailing quoted block.
func replyText(text string, hasFiles bool) string {
	if i := strings.Index(text, ReplyMarker); i >= 0 {
		text = text[:i]
		// The "On … wrote:" line the mailer put above the quote goes too.
		lines := strings.Split(strings.TrimRight(text, "\n> \t"), "\n")
		if n := len(lines); n > 0 && strings.HasSuffix(strings.TrimSpace(lines[n-1]), ":") {
			lines = lines[:n-1]
		}
		text = strings.Join(lines, "\n")
	}
	lines := strings.Split(strings.TrimRight(text, "\n \t"), "\n")
	for len(lines) > 0 && strings.HasPrefix(strings.TrimSpace(lines[len(lines)-1]), ">") {
		lines = lines[:len(lines)-1]
	}
	text = strings.TrimSpace(strings.Join(lines, "\n"))
	switch {
	case text != "":
		return text
	case hasFiles:
		return "(attachments only)"
	default:
		return "(empty message)"
	}
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// attach stores the message's files on the ticket through the service
// desk's attachment path (its size cap and type check); refused files
// and parser notes become an internal note. A file already on the ticket
// (a redelivery after a crash) is not stored twice.
func (s *Service) attach(ctx, actor context.Context, ticketID int64, m *Message) {
	if ticketID == 0 || (len(m.Files) == 0 && len(m.Notes) == 0) {
		return
	}
	have := map[string]bool{}
	if list, err := s.desk.Attachments(actor, ticketID); err == nil {
		for _, a := range list {
			have[a.SHA256] = true
		}
	}
	notes := append([]string{}, m.Notes...)
	for _, f := range m.Files {
		sum := sha256.Sum256(f.Data)
		if have[hex.EncodeToString(sum[:])] {
			continue
		}
		if _, err := s.desk.AddAttachment(actor, ticketID, f.Name, f.Data); err != nil {
			msg := err.Error()
			if ve, ok := valid.As(err); ok {
				msg = ve.Msg
			}
			notes = append(notes, fmt.Sprintf("attachment %q refused: %s", oneLine(f.Name, 100), msg))
		}
	}
	if len(notes) == 0 {
		return
	}
	system := auth.WithActor(ctx, auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "email", Role: auth.RoleAdmin}, Via: ViaEmail})
	body := "Email from " + m.From + ":\n- " + strings.Join(notes, "\n- ")
	if _, err := s.desk.AddComment(system, ticketID, false, cut(body, servicedesk.MaxComment)); err != nil {
		s.log.Warn("could not note refused attachments", "ticket", ticketID, "err", err)
	}
}

// requesterRow is the user a sender's address belongs to.
type requesterRow struct {
	id       int64
	username string
	role     auth.Role
}

var usernameUnsafe = regexp.MustCompile(`[^a-z0-9._-]+`)

// requester finds the user with the sender's address, or makes a
// requester for it: a user who cannot sign in (no password) until an
// admin sets one, which tickets can name and replies can come from.
func (s *Service) requester(ctx context.Context, m *Message) (requesterRow, error) {
	var r requesterRow
	var role string
	var disabled bool
	err := s.db.R.QueryRowContext(ctx, `SELECT id, username, role, disabled FROM users WHERE lower(email) = $1 ORDER BY id LIMIT 1`, m.From).
		Scan(&r.id, &r.username, &role, &disabled)
	if err == nil {
		if disabled {
			return r, valid.Errorf("from", "%s belongs to a disabled user", m.From)
		}
		r.role = auth.Role(role)
		return r, nil
	}
	if !errors.Is(store.MapError(err), store.ErrNotFound) {
		return r, fmt.Errorf("deskmail: find requester: %w", err)
	}
	local, _, _ := strings.Cut(m.From, "@")
	base := strings.Trim(usernameUnsafe.ReplaceAllString(local, "-"), "-._")
	if base == "" {
		base = "requester"
	}
	base = cut(base, 40)
	sum := sha256.Sum256([]byte(m.From))
	name := m.FromName
	if name == "" {
		name = local
	}
	now := s.now().UTC()
	r.role = auth.RoleRequester
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, cand := range []string{base, base + "-" + hex.EncodeToString(sum[:3]), base + "-" + hex.EncodeToString(sum[:6])} {
			err := tx.QueryRowContext(ctx, `INSERT INTO users (username, name, email, role, password_hash, must_change_password, created_at, updated_at)
				VALUES ($1, $2, $3, $4, '!', TRUE, $5, $5) ON CONFLICT (username) DO NOTHING RETURNING id`,
				cand, cut(name, 200), m.From, string(auth.RoleRequester), now).Scan(&r.id)
			if err == nil {
				r.username = cand
				break
			}
			if !errors.Is(err, sql.ErrNoRows) || i == 2 {
				return err
			}
		}
		sys := auth.WithActor(ctx, auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "email", Role: auth.RoleAdmin}, Via: ViaEmail})
		return auth.Audit(sys, tx, "user.create", "user", strconv.FormatInt(r.id, 10), "requester from email "+m.From)
	})
	if err != nil {
		return r, fmt.Errorf("deskmail: create requester %s: %w", m.From, store.MapError(err))
	}
	s.log.Info("requester created from email", "user", r.username, "email", m.From)
	return r, nil
}
