package web

import (
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// hookReceiver is a webhook receiver that records idempotency keys.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	keys []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		h.keys = append(h.keys, r.Header.Get(notify.HeaderIdempotencyKey))
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.keys)
}

func TestNotificationChannelsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		rcv := newHookReceiver(t)
		resp := e.do("POST", "/api/v1/notification-channels", auth.RoleAdmin,
			`{"name":"Ops hook","kind":"webhook","settings":{"url":"`+rcv.URL+`/x","secret":"very-secret-signing-key"}}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
		}
		var c notify.ChannelConfig
		decodeInto(t, resp, &c)
		if strings.Contains(string(c.Settings), "very-secret") || len(c.SecretsSet) != 1 {
			t.Fatalf("created channel shows its secret: %s %v", c.Settings, c.SecretsSet)
		}
		id := itoa(c.ID)
		for _, path := range []string{"/api/v1/notification-channels", "/api/v1/notification-channels/" + id} {
			if body := readBody(t, e.do("GET", path, auth.RoleAdmin, "")); strings.Contains(body, "very-secret") || !strings.Contains(body, "secrets_set") {
				t.Fatalf("GET %s shows a secret: %s", path, body)
			}
		}
		// Below admin, the list names channels without settings.
		if body := readBody(t, e.do("GET", "/api/v1/notification-channels", auth.RoleRequester, "")); strings.Contains(body, "settings") || !strings.Contains(body, "Ops hook") {
			t.Fatalf("requester list: %s", body)
		}
		// Hostile settings are refused with the field named.
		for body, field := range map[string]string{
			`{"name":"x","kind":"webhook","settings":{"url":"file:///etc/passwd"}}`:                         "settings.url",
			`{"name":"x","kind":"email","settings":{"host":"h","from":"a@b.c\r\nBcc: d@e.f"}}`:              "settings.from",
			`{"name":"x","kind":"telegram","settings":{"bot_token":"x"}}`:                                   "settings.bot_token",
			`{"name":"x","kind":"sms","settings":{}}`:                                                       "kind",
			`{"name":"` + strings.Repeat("n", 200) + `","kind":"webhook","settings":{"url":"http://a.b/"}}`: "name",
		} {
			resp := e.do("POST", "/api/v1/notification-channels", auth.RoleAdmin, body)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: status %d", body, resp.StatusCode)
			}
			if got := decodeErr(t, resp).Error.Field; got != field {
				t.Fatalf("%s: field %q, want %q", body, got, field)
			}
		}
		// Test send reaches the receiver; a PUT without the secret keeps it.
		resp = e.do("POST", "/api/v1/notification-channels/"+id+"/test", auth.RoleAdmin, "")
		var res testSendResult
		decodeInto(t, resp, &res)
		if !res.OK || rcv.count() != 1 {
			t.Fatalf("test send: %+v, receiver got %d", res, rcv.count())
		}
		resp = e.do("PUT", "/api/v1/notification-channels/"+id, auth.RoleAdmin, `{"name":"Ops hook 2","settings":{"url":"`+rcv.URL+`/y"}}`)
		decodeInto(t, resp, &c)
		if c.Name != "Ops hook 2" || len(c.SecretsSet) != 1 {
			t.Fatalf("after PUT: %+v", c)
		}
		if resp := e.do("DELETE", "/api/v1/notification-channels/"+id, auth.RoleAdmin, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if resp := e.do("GET", "/api/v1/notification-channels/"+id, auth.RoleAdmin, ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("deleted: %d", resp.StatusCode)
		}
	})
}

func TestContactMethodsRulesAndOutboxAPI(t *testing.T) {
	e := newTestEnv(t)
	rcv := newHookReceiver(t)
	ctx := t.Context()
	hook, err := e.notify.SaveChannel(ctx, 0, notify.ChannelInput{Name: "Hook", Kind: "webhook", Settings: json.RawMessage(`{"url":"` + rcv.URL + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	// A requester manages their own contact methods and rules.
	resp := e.do("POST", "/api/v1/me/contact-methods", auth.RoleRequester, `{"channel_id":`+itoa(hook.ID)+`,"label":"my hook","address":"`+rcv.URL+`/mine"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add method: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var cm notify.ContactMethod
	decodeInto(t, resp, &cm)
	resp = e.do("POST", "/api/v1/me/notification-rules", auth.RoleRequester, `{"contact_method_id":`+itoa(cm.ID)+`,"delay_minutes":5}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add rule: %d %s", resp.StatusCode, readBody(t, resp))
	}
	// Bad input names the field.
	for body, field := range map[string]string{
		`{"contact_method_id":` + itoa(cm.ID) + `,"delay_minutes":-1}`: "delay_minutes",
		`{"contact_method_id":999999,"delay_minutes":0}`:               "contact_method_id",
	} {
		resp := e.do("POST", "/api/v1/me/notification-rules", auth.RoleRequester, body)
		if got := decodeErr(t, resp).Error.Field; resp.StatusCode != 422 || got != field {
			t.Fatalf("%s: %d field %q", body, resp.StatusCode, got)
		}
	}
	resp = e.do("POST", "/api/v1/me/contact-methods", auth.RoleRequester, `{"channel_id":`+itoa(hook.ID)+`,"address":"javascript:alert(1)"}`)
	if got := decodeErr(t, resp).Error.Field; got != "address" {
		t.Fatalf("hostile address: field %q", got)
	}
	// Another user sees none of them and cannot delete them; an admin can.
	if body := readBody(t, e.do("GET", "/api/v1/me/contact-methods", auth.RoleViewer, "")); strings.Contains(body, "my hook") {
		t.Fatalf("viewer sees the requester's method: %s", body)
	}
	if resp := e.do("DELETE", "/api/v1/me/contact-methods/"+itoa(cm.ID), auth.RoleViewer, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("other user's delete: %d", resp.StatusCode)
	}
	reqID := itoa(e.users[auth.RoleRequester].ID)
	if body := readBody(t, e.do("GET", "/api/v1/users/"+reqID+"/notification-rules", auth.RoleAdmin, "")); !strings.Contains(body, `"delay_minutes":5`) {
		t.Fatalf("admin view of rules: %s", body)
	}

	// Page the requester through the seam, as incident paging will.
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := e.notify.NotifyUser(ctx, tx, e.users[auth.RoleRequester].ID, notify.Ref{Kind: "incident", ID: 42}, "inc42/u", notify.Message{Title: "Checkout down"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []notify.Notification `json:"data"`
	}
	decodeInto(t, e.do("GET", "/api/v1/notifications?ref_kind=incident&ref_id=42&status=pending", auth.RoleViewer, ""), &list)
	if len(list.Data) != 1 || list.Data[0].Status != notify.StatusPending || list.Data[0].NotBefore.Before(time.Now().Add(4*time.Minute)) {
		t.Fatalf("outbox list: %+v", list.Data)
	}
	if resp := e.do("GET", "/api/v1/notifications?status=bogus", auth.RoleViewer, ""); decodeErr(t, resp).Error.Field != "status" {
		t.Fatal("bad status filter not refused on its field")
	}
	// Retry now makes the delayed row due; the worker delivers it.
	n := list.Data[0]
	if resp := e.do("POST", "/api/v1/notifications/"+itoa(n.ID)+"/retry", auth.RoleViewer, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer retry: %d", resp.StatusCode)
	}
	if resp := e.do("POST", "/api/v1/notifications/"+itoa(n.ID)+"/retry", auth.RoleOperator, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("retry: %d %s", resp.StatusCode, readBody(t, resp))
	}
	deadline := time.Now().Add(30 * time.Second)
	for rcv.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if rcv.count() != 1 || rcv.keys[0] != "inc42/u/1" && !strings.HasPrefix(rcv.keys[0], "inc42/u/") {
		t.Fatalf("receiver got %v", rcv.keys)
	}
}
