package incident

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// ErrBadLink means an action link is malformed, forged or expired.
var ErrBadLink = errors.New("incident: the link is not valid or has expired")

// The actions a signed link can perform.
const (
	LinkAcknowledge = "ack"
	LinkResolve     = "resolve"
)

// ActionLinks returns signed links that acknowledge and resolve an incident
// without signing in, valid for Options.ActionLinkTTL. baseURL is the
// server's external address ("https://ops.example.com"). Opening a link
// shows a confirmation page; only its POST acts, so mail scanners that
// fetch links change nothing.
func (s *Service) ActionLinks(incidentID int64, baseURL string) (ack, resolve string) {
	exp := s.now().Add(s.opts.ActionLinkTTL).Unix()
	base := strings.TrimSuffix(baseURL, "/") + "/incident-action/"
	return base + s.signLink(incidentID, LinkAcknowledge, exp), base + s.signLink(incidentID, LinkResolve, exp)
}

func (s *Service) signLink(id int64, action string, exp int64) string {
	msg := strconv.FormatInt(id, 10) + "." + action + "." + strconv.FormatInt(exp, 10)
	return msg + "." + s.mac(msg)
}

func (s *Service) mac(msg string) string {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte("opsdeck incident action link\x00" + msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// ActionLink is a verified action link.
type ActionLink struct {
	IncidentID int64
	Action     string
	Expires    time.Time
}

// VerifyLink checks a link token's signature and expiry.
func (s *Service) VerifyLink(token string) (ActionLink, error) {
	if len(token) > 200 {
		return ActionLink{}, ErrBadLink
	}
	parts := strings.Split(token, ".")
	if len(parts) != 4 {
		return ActionLink{}, ErrBadLink
	}
	msg := strings.Join(parts[:3], ".")
	if !hmac.Equal([]byte(parts[3]), []byte(s.mac(msg))) {
		return ActionLink{}, ErrBadLink
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || (parts[1] != LinkAcknowledge && parts[1] != LinkResolve) {
		return ActionLink{}, ErrBadLink
	}
	l := ActionLink{IncidentID: id, Action: parts[1], Expires: time.Unix(exp, 0).UTC()}
	if !s.now().Before(l.Expires) {
		return l, ErrBadLink
	}
	return l, nil
}

// FollowLink performs a verified link's action. The actor is the link
// itself ("action link"): whoever holds it may act.
func (s *Service) FollowLink(ctx context.Context, token, addr string) (ActionLink, error) {
	l, err := s.VerifyLink(token)
	if err != nil {
		return l, err
	}
	ctx = auth.WithActor(ctx, auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "action link"}, Via: auth.ViaUI, Addr: addr})
	switch l.Action {
	case LinkAcknowledge:
		err = s.Acknowledge(ctx, l.IncidentID)
	default:
		err = s.Resolve(ctx, l.IncidentID)
	}
	if err != nil {
		return l, fmt.Errorf("incident: action link: %w", err)
	}
	return l, nil
}
