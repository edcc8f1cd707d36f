package servicedesk

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Rating is a requester's satisfaction with a resolved ticket: a score
// from 1 (very unhappy) to 5 (very happy) and an optional comment. A
// ticket is rated at most once.
type Rating struct {
	TicketID  int64     `json:"ticket_id"`
	Score     int       `json:"score"`
	Comment   string    `json:"comment"`
	RatedBy   string    `json:"rated_by"`
	Via       string    `json:"via"` // "portal" or "link"
	CreatedAt time.Time `json:"created_at"`
}

// MaxRatingComment bounds a rating's comment.
const MaxRatingComment = 2000

// RatingLinkTTL is how long a signed rating link works.
const RatingLinkTTL = 30 * 24 * time.Hour

// ErrBadRatingLink means a rating link is malformed, forged or expired.
var ErrBadRatingLink = errors.New("servicedesk: the rating link is not valid or has expired")

func checkRating(score int, comment string) error {
	if score < 1 || score > 5 {
		return valid.Errorf("score", "must be 1 (very unhappy) to 5 (very happy)")
	}
	return valid.Text("comment", comment, false, MaxRatingComment, true)
}

// Rate records the caller's rating of their own resolved (or closed)
// ticket. Only the ticket's requester may rate it, once; colleagues who
// see it through their organisation may not.
func (s *Service) Rate(ctx context.Context, ticketID int64, score int, comment string) (Rating, error) {
	a := auth.ActorFrom(ctx)
	if err := checkRating(score, comment); err != nil {
		return Rating{}, err
	}
	t, err := s.Ticket(ctx, ticketID)
	if err != nil {
		return Rating{}, err
	}
	if t.RequesterID != a.UserID {
		return Rating{}, ErrForbidden
	}
	return s.saveRating(ctx, t, score, comment, "portal")
}

func (s *Service) saveRating(ctx context.Context, t *Ticket, score int, comment, via string) (Rating, error) {
	if t.Status != StatusResolved && t.Status != StatusClosed {
		return Rating{}, valid.Errorf("score", "a ticket can be rated once it is resolved")
	}
	if t.MergedInto != 0 {
		return Rating{}, valid.Errorf("score", "this ticket was merged into #%d; rate that one", t.MergedInto)
	}
	r := Rating{TicketID: t.ID, Score: score, Comment: comment, RatedBy: t.Requester, Via: via, CreatedAt: s.now()}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM sd_ratings WHERE ticket_id = $1`, t.ID).Scan(&one)
		if err == nil {
			return valid.Errorf("score", "this ticket has been rated already")
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sd_ratings (ticket_id, score, comment, rated_by, via, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, score, comment, r.RatedBy, via, r.CreatedAt); err != nil {
			return err
		}
		if err := s.remeasure(ctx, tx, t.ID, func(m *measures) error { m.csat = int64(score); return nil }); err != nil {
			return err
		}
		if err := s.record(ctx, tx, t.ID, r.CreatedAt, "csat", "", strconv.Itoa(score)); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "ticket.rate", "ticket", strconv.FormatInt(t.ID, 10), strconv.Itoa(score)+" via "+via)
	})
	if err != nil {
		if _, ok := valid.As(err); ok {
			return Rating{}, err
		}
		if errors.Is(store.MapError(err), store.ErrConflict) {
			return Rating{}, valid.Errorf("score", "this ticket has been rated already")
		}
		return Rating{}, wrap("rate", err)
	}
	return r, nil
}

// TicketRating returns a ticket's rating, or nil when it has none, if the
// caller may see the ticket.
func (s *Service) TicketRating(ctx context.Context, ticketID int64) (*Rating, error) {
	if _, err := s.Ticket(ctx, ticketID); err != nil {
		return nil, err
	}
	return s.rating(ctx, ticketID)
}

func (s *Service) rating(ctx context.Context, ticketID int64) (*Rating, error) {
	var r Rating
	err := s.db.R.QueryRowContext(ctx, `SELECT ticket_id, score, comment, rated_by, via, created_at FROM sd_ratings WHERE ticket_id = $1`,
		ticketID).Scan(&r.TicketID, &r.Score, &r.Comment, &r.RatedBy, &r.Via, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil //nolint:nilnil // no rating is not an error
	}
	if err != nil {
		return nil, wrap("rating", err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return &r, nil
}

// RatingLink returns a signed link that lets the requester of a ticket
// rate it without signing in, valid for RatingLinkTTL. baseURL is the
// server's external address ("https://desk.example.com"). Outbound mail
// puts it in the "your ticket was resolved" message; opening it shows the
// rating form, and only its POST records a rating, so mail scanners that
// fetch links change nothing.
func (s *Service) RatingLink(ctx context.Context, baseURL string, ticketID int64) (string, error) {
	key, err := s.ratingKey(ctx)
	if err != nil {
		return "", err
	}
	msg := strconv.FormatInt(ticketID, 10) + "." + strconv.FormatInt(s.now().Add(RatingLinkTTL).Unix(), 10)
	return strings.TrimSuffix(baseURL, "/") + "/rate/" + msg + "." + ratingMAC(key, msg), nil
}

func ratingMAC(key []byte, msg string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("opsdeck ticket rating link\x00" + msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// ratingKey loads the link-signing key, making a random one on first use.
func (s *Service) ratingKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.linkKey != nil {
		return s.linkKey, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, wrap("rating key", err)
	}
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO sd_secrets (name, value) VALUES ('rating_links', $1) ON CONFLICT (name) DO NOTHING`, fresh); err != nil {
		return nil, wrap("rating key", err)
	}
	var key []byte
	if err := s.db.W.QueryRowContext(ctx, `SELECT value FROM sd_secrets WHERE name = 'rating_links'`).Scan(&key); err != nil {
		return nil, wrap("rating key", err)
	}
	s.linkKey = key
	return key, nil
}

// RatingLinkTicket checks a rating link's token (the part after /rate/)
// and returns the ticket it rates, read without any caller's rights.
func (s *Service) RatingLinkTicket(ctx context.Context, token string) (*Ticket, *Rating, error) {
	if len(token) > 200 {
		return nil, nil, ErrBadRatingLink
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, ErrBadRatingLink
	}
	key, err := s.ratingKey(ctx)
	if err != nil {
		return nil, nil, err
	}
	msg := parts[0] + "." + parts[1]
	if !hmac.Equal([]byte(parts[2]), []byte(ratingMAC(key, msg))) {
		return nil, nil, ErrBadRatingLink
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || !s.now().Before(time.Unix(exp, 0)) {
		return nil, nil, ErrBadRatingLink
	}
	sys := auth.WithActor(ctx, auth.SystemActor())
	t, err := s.Ticket(sys, id)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.rating(ctx, id)
	return t, r, err
}

// RateByLink records a rating through a signed link, as the ticket's
// requester.
func (s *Service) RateByLink(ctx context.Context, token string, score int, comment string) (Rating, error) {
	if err := checkRating(score, comment); err != nil {
		return Rating{}, err
	}
	t, _, err := s.RatingLinkTicket(ctx, token)
	if err != nil {
		return Rating{}, err
	}
	ctx = auth.WithActor(ctx, auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: t.RequesterID, Name: t.Requester,
		Role: auth.RoleRequester}, Via: auth.ViaSystem})
	return s.saveRating(ctx, t, score, comment, "link")
}
