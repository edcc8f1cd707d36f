// Package notify delivers opsdeck's notifications: admin-defined channels
// (email, webhooks, chat services, ntfy, Telegram), users' contact methods
// and notification rules, and the durable outbox with its worker. A
// notification is a row in the outbox before anything is sent; the worker
// sends it at least once, retrying with backoff, and gives up visibly.
package notify

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Message is what every channel renders in its own format.
type Message struct {
	Title    string  `json:"title"`              // "[SEV2] #42 Checkout API down"
	Text     string  `json:"text"`               // plain text body
	Severity string  `json:"severity,omitempty"` // "critical" | "error" | "warning" | "info"
	URL      string  `json:"url,omitempty"`      // link to the object in opsdeck
	Actions  []Link  `json:"actions,omitempty"`  // e.g. {Label:"Acknowledge", URL: signed link}
	Fields   []Field `json:"fields,omitempty"`   // ordered key/value facts
}

// Link is an action a receiver can take, rendered as a button where the
// channel has them.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// Field is one fact of a message, shown in order.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Ref ties an outbox row to the object it is about, for the timeline and
// for cancelling pages that are no longer wanted.
type Ref struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id"`
}

// Status is where an outbox row stands.
type Status string

// The outbox statuses. Failed rows will be retried; given_up and cancelled
// rows are final, as are delivered ones.
const (
	StatusPending   Status = "pending"
	StatusSending   Status = "sending"
	StatusDelivered Status = "delivered"
	StatusFailed    Status = "failed"
	StatusGivenUp   Status = "given_up"
	StatusCancelled Status = "cancelled"
)

// AllStatuses lists the statuses in the order the UI offers them.
func AllStatuses() []Status {
	return []Status{StatusPending, StatusSending, StatusFailed, StatusDelivered, StatusGivenUp, StatusCancelled}
}

// ParseStatus checks a status from outside input; "" is allowed (no filter).
func ParseStatus(field, s string) (Status, error) {
	for _, st := range AllStatuses() {
		if string(st) == s {
			return st, nil
		}
	}
	if s == "" {
		return "", nil
	}
	return "", valid.Errorf(field, "must be one of pending, sending, failed, delivered, given_up, cancelled")
}

// Outcome is one delivery attempt's result, handed to Options.OnOutcome
// after it is committed. Status is "delivered", "failed" (will be retried)
// or "given_up".
type Outcome struct {
	NotificationID int64
	Ref            Ref
	UserID         int64
	Channel        string // the channel's name
	Status         string
	Attempt        int
	Err            string
	At             time.Time
}

// ErrChannelDisabled is returned when a message is queued to a disabled
// channel.
var ErrChannelDisabled = errors.New("notify: channel is disabled")

// Limits on a message, so one caller cannot queue megabytes per row.
const (
	maxTitle   = 300
	maxText    = 8000
	maxURL     = 2000
	maxActions = 5
	maxFields  = 20
	maxKey     = 200
)

// checkMessage validates a message before it is queued: every part is
// valid UTF-8 and bounded, links are http(s).
func checkMessage(m Message) error {
	if err := valid.Text("title", m.Title, true, maxTitle, false); err != nil {
		return err
	}
	if !utf8.ValidString(m.Text) || utf8.RuneCountInString(m.Text) > maxText {
		return valid.Errorf("text", "must be valid UTF-8 of at most %d characters", maxText)
	}
	switch m.Severity {
	case "", "critical", "error", "warning", "info":
	default:
		return valid.Errorf("severity", "must be one of critical, error, warning, info")
	}
	if m.URL != "" {
		if err := checkHTTPURL("url", m.URL); err != nil {
			return err
		}
	}
	if len(m.Actions) > maxActions {
		return valid.Errorf("actions", "at most %d", maxActions)
	}
	for i, a := range m.Actions {
		if err := valid.Text(fmt.Sprintf("actions[%d].label", i), a.Label, true, 100, false); err != nil {
			return err
		}
		if err := checkHTTPURL(fmt.Sprintf("actions[%d].url", i), a.URL); err != nil {
			return err
		}
	}
	if len(m.Fields) > maxFields {
		return valid.Errorf("fields", "at most %d", maxFields)
	}
	for i, f := range m.Fields {
		if err := valid.Text(fmt.Sprintf("fields[%d].name", i), f.Name, true, 100, false); err != nil {
			return err
		}
		if err := valid.Text(fmt.Sprintf("fields[%d].value", i), f.Value, false, 1000, true); err != nil {
			return err
		}
	}
	return nil
}

// checkKey validates an idempotency key: printable ASCII without spaces,
// because receivers get it in a header and in an email's Message-ID.
func checkKey(key string) error {
	if key == "" {
		return valid.Errorf("key", "is required")
	}
	if len(key) > maxKey {
		return valid.Errorf("key", "is too long (at most %d bytes)", maxKey)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' {
			return valid.Errorf("key", "may hold printable ASCII only, without spaces, quotes, backslashes or angle brackets")
		}
	}
	return nil
}
