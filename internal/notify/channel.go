package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Channel sends one delivery in its own format. Implementations are one
// file each; a Channel is built from stored settings for every send, so a
// changed setting applies to the next attempt.
type Channel interface {
	Send(ctx context.Context, d Delivery) error
}

// Delivery is one outbox row on its way out.
type Delivery struct {
	// Key is the idempotency key: receivers may drop a second delivery with
	// the same key (at-least-once means duplicates can happen).
	Key string
	// Address is the contact method's address (an email address, a chat id,
	// a topic, a personal webhook URL); empty for a team channel, which
	// then uses the destination in its settings.
	Address string
	Message Message
	Ref     Ref
	Attempt int
}

// PermanentError marks a failure that retrying cannot fix (the receiver
// refused the request as bad, the credentials are wrong): the row is given
// up at once instead of being retried for hours.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func permanent(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// env is what channels need from the service: an HTTP client and a clock.
type env struct {
	http *http.Client
	now  func() time.Time
}

// SettingField describes one setting of a channel kind, for forms and docs.
type SettingField struct {
	Name     string   `json:"name"`
	Label    string   `json:"label"`
	Type     string   `json:"type"` // text, url, number, password, select, checkbox, email
	Hint     string   `json:"hint,omitempty"`
	Required bool     `json:"required,omitempty"`
	Secret   bool     `json:"secret,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// Kind is one type of channel: its settings and how a user's address on it
// reads.
type Kind struct {
	Name  string         `json:"name"`
	Label string         `json:"label"`
	Help  string         `json:"help"`
	Field []SettingField `json:"settings"`
	// Address says what a contact method's address is on this kind, and
	// whether one is required.
	AddressLabel    string `json:"address_label"`
	AddressHint     string `json:"address_hint"`
	AddressRequired bool   `json:"address_required"`

	build   func(raw []byte, e env) (Channel, error)
	address func(addr string) error
}

// Kinds returns every channel kind, in the order forms list them.
func Kinds() []Kind {
	return []Kind{emailKind(), webhookKind(), slackKind(), teamsKind(), discordKind(), mattermostKind(), ntfyKind(), telegramKind()}
}

// KindByName returns the kind called name.
func KindByName(name string) (Kind, bool) {
	for _, k := range Kinds() {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Secrets lists the names of the kind's secret settings.
func (k Kind) Secrets() []string {
	var out []string
	for _, f := range k.Field {
		if f.Secret {
			out = append(out, f.Name)
		}
	}
	return out
}

// maxSettings bounds a channel's settings JSON.
const maxSettings = 16 << 10

// ParseSettings validates raw settings for kind and returns the channel they
// describe. Errors name the setting ("settings.url").
func ParseSettings(kind string, raw []byte) (Channel, error) {
	k, ok := KindByName(kind)
	if !ok {
		return nil, valid.Errorf("kind", "must be one of %s", strings.Join(kindNames(), ", "))
	}
	return k.parse(raw, env{http: newHTTPClient(), now: time.Now})
}

func (k Kind) parse(raw []byte, e env) (Channel, error) {
	if len(raw) > maxSettings {
		return nil, valid.Errorf("settings", "are too large (at most %d bytes)", maxSettings)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	return k.build(raw, e)
}

func kindNames() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}

// decodeSettings decodes raw strictly into dst: unknown settings and wrong
// types are refused with the setting named.
func decodeSettings(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ) && typ.Field != "":
			return valid.Errorf("settings."+typ.Field, "has the wrong type (%s)", typ.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return valid.Errorf("settings."+f, "is not a setting of this kind")
		}
		return valid.Errorf("settings", "must be a JSON object")
	}
	if dec.More() {
		return valid.Errorf("settings", "must be one JSON object")
	}
	return nil
}

// checkHTTPURL accepts absolute http and https URLs only, without user
// information, of bounded length.
func checkHTTPURL(field, s string) error {
	if s == "" {
		return valid.Errorf(field, "is required")
	}
	if len(s) > maxURL {
		return valid.Errorf(field, "is too long (at most %d bytes)", maxURL)
	}
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return valid.Errorf(field, "must not contain spaces or control characters")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return valid.Errorf(field, "must be an absolute http:// or https:// URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return valid.Errorf(field, "must use http or https, not %q", u.Scheme)
	}
	if u.User != nil {
		return valid.Errorf(field, "must not carry a user or password; use the channel's secret settings")
	}
	return nil
}

// checkLine validates a one-line setting that ends up in a header or a
// protocol line: no control characters at all (no CR/LF injection).
func checkLine(field, s string, required bool, max int) error {
	return valid.Text(field, s, required, max, false)
}

// checkChoice validates an enumerated setting.
func checkChoice(field, s string, choices ...string) error {
	if slices.Contains(choices, s) {
		return nil
	}
	return valid.Errorf(field, "must be one of %s", strings.Join(choices, ", "))
}

// severityColor is the accent colour of a severity, as 0xRRGGBB.
func severityColor(sev string) int {
	switch sev {
	case "critical":
		return 0xB42318
	case "error":
		return 0xD92D20
	case "warning":
		return 0xDC6803
	case "info":
		return 0x1570EF
	}
	return 0x667085
}

func hexColor(sev string) string {
	return "#" + fmt.Sprintf("%06X", severityColor(sev))
}

// plainText renders a message as plain text: title, text, facts, links.
func plainText(m Message, withTitle bool) string {
	var b strings.Builder
	if withTitle {
		b.WriteString(m.Title)
		b.WriteString("\n\n")
	}
	if m.Text != "" {
		b.WriteString(m.Text)
		b.WriteString("\n")
	}
	if len(m.Fields) > 0 {
		b.WriteString("\n")
		for _, f := range m.Fields {
			b.WriteString(f.Name + ": " + f.Value + "\n")
		}
	}
	if m.URL != "" {
		b.WriteString("\n" + m.URL + "\n")
	}
	for _, a := range m.Actions {
		b.WriteString(a.Label + ": " + a.URL + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func itoa(n int) string { return strconv.Itoa(n) }

func errSetting(field, msg string) error { return valid.Errorf(field, "%s", msg) }
