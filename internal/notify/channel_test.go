package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

var sample = Message{
	Title: "[SEV1] #7 Payments <down> & out", Text: "All checks fail.", Severity: "critical",
	URL:     "https://opsdeck.example/incidents/7",
	Actions: []Link{{Label: "Acknowledge", URL: "https://opsdeck.example/a/ack"}, {Label: "Resolve", URL: "https://opsdeck.example/a/res"}},
	Fields:  []Field{{Name: "Service", Value: "payments"}, {Name: "Alerts", Value: "3"}},
}

// sendTo builds kind with settings pointed at a capturing receiver, sends
// sample and returns the one request it got, with its JSON body decoded.
func sendTo(t *testing.T, kind string, settings map[string]any, address string) (captured, map[string]any) {
	t.Helper()
	capt := &capture{}
	rcv := newReceiver(t, capt)
	for k, v := range settings {
		if s, ok := v.(string); ok {
			settings[k] = strings.ReplaceAll(s, "RCV", "http://"+rcv.addr)
		}
	}
	ch, err := ParseSettings(kind, mustJSON(settings))
	if err != nil {
		t.Fatalf("%s settings: %v", kind, err)
	}
	if err := ch.Send(context.Background(), Delivery{Key: "inc7/x", Address: address, Message: sample, Attempt: 1}); err != nil {
		t.Fatalf("%s send: %v", kind, err)
	}
	reqs := capt.requests()
	if len(reqs) != 1 {
		t.Fatalf("%s: %d requests", kind, len(reqs))
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatalf("%s body is not JSON: %v", kind, err)
	}
	return reqs[0], body
}

func TestChatChannelsRender(t *testing.T) {
	t.Run("slack", func(t *testing.T) {
		_, b := sendTo(t, "slack", map[string]any{"url": "RCV/services/T/B/X", "username": "opsdeck"}, "")
		raw := string(mustJSON(b))
		head := b["blocks"].([]any)[0].(map[string]any)["text"].(map[string]any)["text"].(string)
		if !strings.HasPrefix(head, "*<https://opsdeck.example/incidents/7|[SEV1] #7 Payments &lt;down&gt; &amp; out>*") {
			t.Errorf("slack head: %q", head)
		}
		for _, want := range []string{`"type":"actions"`, `"url":"https://opsdeck.example/a/ack"`} {
			if !strings.Contains(raw, want) {
				t.Errorf("slack body lacks %s: %s", want, raw)
			}
		}
	})
	t.Run("mattermost", func(t *testing.T) {
		_, b := sendTo(t, "mattermost", map[string]any{"url": "RCV/hooks/abc"}, "")
		att := b["attachments"].([]any)[0].(map[string]any)
		if att["color"] != "#B42318" || att["title_link"] != sample.URL || !strings.Contains(att["text"].(string), "[Acknowledge](https://opsdeck.example/a/ack)") {
			t.Errorf("mattermost attachment: %v", att)
		}
	})
	t.Run("discord", func(t *testing.T) {
		_, b := sendTo(t, "discord", map[string]any{"url": "RCV/api/webhooks/1/x"}, "")
		e := b["embeds"].([]any)[0].(map[string]any)
		if e["color"].(float64) != 0xB42318 || len(e["fields"].([]any)) != 2 || b["allowed_mentions"] == nil {
			t.Errorf("discord: %v", b)
		}
	})
	t.Run("teams", func(t *testing.T) {
		_, b := sendTo(t, "teams", map[string]any{"url": "RCV/workflows/x"}, "")
		att := b["attachments"].([]any)[0].(map[string]any)
		card := att["content"].(map[string]any)
		if att["contentType"] != "application/vnd.microsoft.card.adaptive" || card["type"] != "AdaptiveCard" || len(card["actions"].([]any)) != 3 {
			t.Errorf("teams: %v", b)
		}
	})
	t.Run("ntfy", func(t *testing.T) {
		req, b := sendTo(t, "ntfy", map[string]any{"url": "RCV/alerts", "token": "tk_abcdef"}, "alice-phone")
		if b["topic"] != "alice-phone" || b["priority"].(float64) != 5 || b["click"] != sample.URL || len(b["actions"].([]any)) != 2 {
			t.Errorf("ntfy body: %v", b)
		}
		if req.Path != "/" || req.Header.Get("Authorization") != "Bearer tk_abcdef" || req.Header.Get(HeaderIdempotencyKey) != "inc7/x" {
			t.Errorf("ntfy request: %s %v", req.Path, req.Header)
		}
	})
	t.Run("telegram", func(t *testing.T) {
		req, b := sendTo(t, "telegram", map[string]any{"bot_token": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "base_url": "RCV"}, "-100200300")
		if req.Path != "/bot123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ/sendMessage" || b["chat_id"] != "-100200300" || b["parse_mode"] != "HTML" {
			t.Errorf("telegram: %s %v", req.Path, b)
		}
		if !strings.Contains(b["text"].(string), "&lt;down&gt; &amp; out") {
			t.Errorf("telegram text not escaped: %q", b["text"])
		}
	})
	t.Run("webhook", func(t *testing.T) {
		req, b := sendTo(t, "webhook", map[string]any{"url": "RCV/hook", "secret": "0123456789abcdef"}, "")
		if b["idempotency_key"] != "inc7/x" || req.Header.Get(HeaderIdempotencyKey) != "inc7/x" || !strings.HasPrefix(req.Header.Get(HeaderSignature), "sha256=") {
			t.Errorf("webhook: %v %v", b, req.Header)
		}
	})
}

// TestTelegramTokenStaysOutOfErrors: the bot token is part of the URL, so
// a failure must not carry it into the outbox or the log.
func TestTelegramTokenStaysOutOfErrors(t *testing.T) {
	const token = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	capt := &capture{status: http.StatusBadRequest}
	rcv := newReceiver(t, capt)
	ch, err := ParseSettings("telegram", mustJSON(map[string]any{"bot_token": token, "base_url": "http://" + rcv.addr}))
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), Delivery{Key: "k", Address: "42", Message: sample})
	var pe *PermanentError
	if err == nil || strings.Contains(err.Error(), "ABCDEFGHIJ") || !errors.As(err, &pe) {
		t.Fatalf("error %v", err)
	}
	rcv.down()
	err = ch.Send(context.Background(), Delivery{Key: "k", Address: "42", Message: sample})
	if err == nil || strings.Contains(err.Error(), "ABCDEFGHIJ") {
		t.Fatalf("connection error shows the token: %v", err)
	}
}

// TestHostileSettingsRefused: every refusal names the setting at fault.
func TestHostileSettingsRefused(t *testing.T) {
	long := strings.Repeat("a", maxSettings)
	for _, tc := range []struct {
		kind     string
		settings string
		field    string
	}{
		{"webhook", `{"url":"file:///etc/passwd"}`, "settings.url"},
		{"webhook", `{"url":"gopher://x.example/"}`, "settings.url"},
		{"webhook", `{"url":"javascript:alert(1)"}`, "settings.url"},
		{"webhook", `{"url":"https://user:pw@x.example/"}`, "settings.url"},
		{"webhook", `{"url":"https://x.example/\r\nX: y"}`, "settings.url"},
		{"webhook", `{"url":"https://x.example/","secret":"short"}`, "settings.secret"},
		{"webhook", `{"url":"https://x.example/","extra":1}`, "settings.extra"},
		{"webhook", `{"url":42}`, "settings.url"},
		{"webhook", `[1,2]`, "settings"},
		{"webhook", `{"url":"https://x.example/` + long + `"}`, "settings"},
		{"slack", `{"url":"ftp://hooks.example/"}`, "settings.url"},
		{"teams", `{}`, "settings.url"},
		{"discord", `{"url":"https://d.example/","username":"a\nb"}`, "settings.username"},
		{"mattermost", `{"url":"data:text/html,x"}`, "settings.url"},
		{"ntfy", `{"url":"https://ntfy.sh/"}`, "settings.url"},
		{"ntfy", `{"url":"https://ntfy.sh/t","priority":9}`, "settings.priority"},
		{"telegram", `{"bot_token":"nope"}`, "settings.bot_token"},
		{"telegram", `{"bot_token":"123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ","base_url":"file:///x"}`, "settings.base_url"},
		{"telegram", `{"bot_token":"123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ","chat_id":"1; DROP"}`, "settings.chat_id"},
		{"email", `{"host":"smtp.example.com","from":"ops@example.com\r\nBcc: all@example.com"}`, "settings.from"},
		{"email", `{"host":"smtp.example.com","from":"ops@example.com","to":"a@example.com, b@example.com\nBcc: x@y.z"}`, "settings.to"},
		{"email", `{"host":"smtp.example.com","from":"ops@example.com","subject_prefix":"[x]\r\nBcc: x@y.z"}`, "settings.subject_prefix"},
		{"email", `{"host":"smtp.example.com\r\n","from":"ops@example.com"}`, "settings.host"},
		{"email", `{"host":"smtp://smtp.example.com","from":"ops@example.com"}`, "settings.host"},
		{"email", `{"host":"smtp.example.com","from":"ops@example.com","security":"ssl3"}`, "settings.security"},
		{"email", `{"host":"smtp.example.com","from":"ops@example.com","security":"none","username":"u","password":"p"}`, "settings.username"},
		{"email", `{"host":"smtp.example.com","from":"ops@example.com","port":70000}`, "settings.port"},
		{"email", `{"host":"smtp.example.com","from":"ops@example.com","ca_cert":"not pem"}`, "settings.ca_cert"},
		{"email", `{"host":"smtp.example.com","from":"nobody"}`, "settings.from"},
		{"carrier-pigeon", `{}`, "kind"},
	} {
		_, err := ParseSettings(tc.kind, []byte(tc.settings))
		t.Run(tc.kind+" "+tc.field, func(t *testing.T) { wantField(t, err, tc.field) })
	}
	// Addresses of contact methods are checked by kind too.
	for kind, bad := range map[string]string{"email": "a@example.com\r\nBcc: b@example.com", "telegram": "abc", "ntfy": "../admin", "webhook": "file:///etc/passwd"} {
		k, _ := KindByName(kind)
		wantField(t, k.address(bad), "address")
	}
}

// TestHeaderInjectionInMessageStaysInItsHeader: a title with line breaks
// that reached the email channel anyway (it is refused on enqueue) cannot
// add headers.
func TestHeaderInjectionInMessageStaysInItsHeader(t *testing.T) {
	ch, err := ParseSettings("email", mustJSON(map[string]any{"host": "smtp.example.com", "from": "ops@example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	raw := ch.(*Email).render(Delivery{Key: "k", Message: Message{Title: "hi\r\nBcc: evil@example.com"}}, []string{"a@example.com"})
	if strings.Contains(string(raw), "\r\nBcc:") {
		t.Fatalf("header injected:\n%s", raw)
	}
}

// TestChatURLStaysOutOfErrors: a chat webhook URL holds the service's
// token; a failed post must not carry it into the outbox or the log.
func TestChatURLStaysOutOfErrors(t *testing.T) {
	rcv := newReceiver(t, &capture{})
	rcv.down()
	ch, err := ParseSettings("slack", mustJSON(map[string]any{"url": "http://" + rcv.addr + "/services/T000/B000/SECRETTOKEN"}))
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), Delivery{Key: "k", Message: sample})
	if err == nil || strings.Contains(err.Error(), "SECRETTOKEN") {
		t.Fatalf("error %v", err)
	}
}
