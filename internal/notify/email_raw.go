package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// RawEmail is a mail another package composes itself (the service desk's
// threaded replies) and sends through an email channel's SMTP settings.
// From comes from the channel; Headers are extra header fields such as
// Reply-To, In-Reply-To and References, written as given after cleaning.
type RawEmail struct {
	To        string
	Subject   string
	MessageID string
	Headers   [][2]string
	Text      string
}

// ErrNotEmailChannel is returned by SendEmail for a channel that is not an
// enabled email channel.
var ErrNotEmailChannel = errors.New("notify: not an enabled email channel")

// EmailFrom returns the From address of the named email channel, for a
// caller that derives Message-IDs from its domain.
func (s *Service) EmailFrom(ctx context.Context, channel string) (string, error) {
	m, err := s.emailChannel(ctx, channel)
	if err != nil {
		return "", err
	}
	return m.from.Address, nil
}

func (s *Service) emailChannel(ctx context.Context, name string) (*Email, error) {
	var id int64
	var kind string
	var enabled bool
	err := s.db.R.QueryRowContext(ctx, `SELECT id, kind, enabled FROM notification_channels WHERE name = $1`, name).Scan(&id, &kind, &enabled)
	if err != nil {
		return nil, fmt.Errorf("notify: email channel %q: %w", name, store.MapError(err))
	}
	if kind != "email" || !enabled {
		return nil, fmt.Errorf("%w: %q", ErrNotEmailChannel, name)
	}
	ch, err := s.buildChannel(ctx, id, name)
	if err != nil {
		return nil, err
	}
	return ch.(*Email), nil
}

// SendEmail sends m through the named email channel at once (the caller
// keeps its own durable outbox). A *PermanentError means retrying will not
// help.
func (s *Service) SendEmail(ctx context.Context, channel string, m RawEmail) error {
	e, err := s.emailChannel(ctx, channel)
	if err != nil {
		if errors.Is(err, ErrNotEmailChannel) || errors.Is(err, store.ErrNotFound) {
			return &PermanentError{Err: err}
		}
		return err
	}
	to, err := checkEmail("to", m.To)
	if err != nil {
		return &PermanentError{Err: err}
	}
	return e.deliver(ctx, []string{to.Address}, e.renderRaw(m, to.Address))
}

func (m *Email) renderRaw(r RawEmail, to string) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + headerText(v) + "\r\n") }
	h("From", m.from.String())
	h("To", to)
	h("Subject", mime.QEncoding.Encode("utf-8", headerText(r.Subject)))
	h("Date", m.env.now().UTC().Format(time.RFC1123Z))
	h("Message-ID", r.MessageID)
	for _, kv := range r.Headers {
		if kv[1] != "" && !strings.ContainsAny(kv[0], ": \r\n") {
			h(kv[0], kv[1])
		}
	}
	h("MIME-Version", "1.0")
	h("Content-Type", `text/plain; charset="utf-8"`)
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(r.Text, "\r\n", "\n"), "\n", "\r\n") + "\r\n"))
	_ = qp.Close()
	return b.Bytes()
}
