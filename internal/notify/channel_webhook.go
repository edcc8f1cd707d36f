package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Headers of the generic webhook. The signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), where
// timestamp is the X-Opsdeck-Timestamp header's value (Unix seconds) and
// body the raw request body.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderTimestamp      = "X-Opsdeck-Timestamp"
	HeaderSignature      = "X-Opsdeck-Signature"
)

// WebhookPayload is the JSON body of the generic webhook.
type WebhookPayload struct {
	IdempotencyKey string    `json:"idempotency_key"`
	Attempt        int       `json:"attempt"`
	SentAt         time.Time `json:"sent_at"`
	Ref            *Ref      `json:"ref,omitempty"`
	Message        Message   `json:"message"`
}

type webhookSettings struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// Webhook posts the message as JSON, signed with HMAC-SHA256 when a secret
// is set.
type Webhook struct {
	set webhookSettings
	env env
}

var _ Channel = (*Webhook)(nil)

func webhookKind() Kind {
	return Kind{
		Name: "webhook", Label: "Webhook", Help: "Posts each notification as JSON to a URL, signed with HMAC-SHA256 so the receiver can check it came from opsdeck.",
		Field: []SettingField{
			{Name: "url", Label: "URL", Type: "url", Required: true, Hint: "Where the JSON is posted, http:// or https://."},
			{Name: "secret", Label: "Signing secret", Type: "password", Secret: true, Hint: "Signs each request (X-Opsdeck-Signature); at least 16 characters. Leave empty to send unsigned."},
		},
		AddressLabel: "Webhook URL", AddressHint: "Optional: your own URL instead of the channel's.",
		build: func(raw []byte, e env) (Channel, error) {
			var s webhookSettings
			if err := decodeSettings(raw, &s); err != nil {
				return nil, err
			}
			if err := checkHTTPURL("settings.url", s.URL); err != nil {
				return nil, err
			}
			if s.Secret != "" {
				if err := checkLine("settings.secret", s.Secret, true, 200); err != nil {
					return nil, err
				}
				if len(s.Secret) < 16 {
					return nil, errSetting("settings.secret", "must be at least 16 characters")
				}
			}
			return &Webhook{set: s, env: e}, nil
		},
		address: optionalURL,
	}
}

// Send implements Channel.
func (w *Webhook) Send(ctx context.Context, d Delivery) error {
	p := WebhookPayload{IdempotencyKey: d.Key, Attempt: d.Attempt, SentAt: w.env.now().UTC(), Message: d.Message}
	if d.Ref.Kind != "" {
		ref := d.Ref
		p.Ref = &ref
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("notify: webhook: %w", err)
	}
	ts := strconv.FormatInt(w.env.now().Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderIdempotencyKey, d.Key)
	h.Set(HeaderTimestamp, ts)
	if w.set.Secret != "" {
		h.Set(HeaderSignature, Sign(w.set.Secret, ts, body))
	}
	target := w.set.URL
	if d.Address != "" {
		target = d.Address
	}
	return post(ctx, w.env.http, target, h, body)
}

// Sign returns the X-Opsdeck-Signature value for a body sent at timestamp.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a received webhook in constant time. Receivers
// should also refuse timestamps far from their clock (say 5 minutes), so a
// captured request cannot be replayed later.
func VerifySignature(secret, timestamp string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}

// optionalURL is the address check of kinds whose address is a URL that
// replaces the channel's.
func optionalURL(addr string) error {
	if addr == "" {
		return nil
	}
	return checkHTTPURL("address", addr)
}
