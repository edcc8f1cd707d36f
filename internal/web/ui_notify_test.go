package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestChannelFormsShowErrorsBesideFields walks the admin pages: the kind
// chooser, a refused setting shown beside its field, a saved channel whose
// secret is never echoed, a test send and a delete.
func TestChannelFormsShowErrorsBesideFields(t *testing.T) {
	e := newTestEnv(t)
	rcv := newHookReceiver(t)
	b := signedIn(t, e, auth.RoleAdmin)
	if p := b.get("/notification-channels"); p.status != 200 || !strings.Contains(p.body, "No channels yet") {
		t.Fatalf("empty list: %d", p.status)
	}
	if p := b.get("/notification-channels/new"); !strings.Contains(p.body, `href="/notification-channels/new?kind=telegram"`) {
		t.Fatal("kind chooser lacks Telegram")
	}
	p := b.get("/notification-channels/new?kind=webhook")
	if !strings.Contains(p.body, `name="s_url"`) || !strings.Contains(p.body, `name="s_secret"`) {
		t.Fatal("webhook form lacks its settings")
	}
	p = b.post("/notification-channels/new?kind=webhook", url.Values{"name": {"Ops"}, "enabled": {"on"}, "s_url": {"file:///etc/passwd"}, "s_secret": {"0123456789abcdef-x"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.fieldError("s_url"), "http") {
		t.Fatalf("hostile URL: %d %q", p.status, p.fieldError("s_url"))
	}
	if strings.Contains(p.body, "0123456789abcdef-x") {
		t.Fatal("the refused form echoes the secret")
	}
	p = b.post("/notification-channels/new?kind=webhook", url.Values{"name": {"Ops"}, "enabled": {"on"}, "s_url": {rcv.URL + "/hook"}, "s_secret": {"0123456789abcdef-x"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.status, p.body)
	}
	edit := p.location()
	p = b.get(edit)
	if !strings.Contains(p.body, "The channel was added") || strings.Contains(p.body, "0123456789abcdef-x") || !strings.Contains(p.body, "A value is stored") {
		t.Fatal("edit page: no notice, or it shows the secret")
	}
	id := strings.TrimPrefix(strings.SplitN(edit, "?", 2)[0], "/notification-channels/")
	p = b.post("/notification-channels/"+id+"/test", url.Values{})
	if !strings.Contains(p.body, "receiver accepted") || rcv.count() != 1 {
		t.Fatalf("test send: %d", rcv.count())
	}
	p = b.post("/notification-channels/"+id+"/test", url.Values{"address": {"ftp://x"}})
	if p.fieldError("address") == "" {
		t.Fatal("bad test address not shown beside its field")
	}
	// Saving without typing the secret keeps it.
	p = b.post("/notification-channels/"+id, url.Values{"name": {"Ops 2"}, "s_url": {rcv.URL + "/hook"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("update: %d", p.status)
	}
	c, err := e.notify.Channel(t.Context(), mustInt(t, id))
	if err != nil || len(c.SecretsSet) != 1 || c.Enabled {
		t.Fatalf("after update: %+v %v", c, err)
	}
	// Email: header injection in From is refused beside the field.
	p = b.post("/notification-channels/new?kind=email", url.Values{"name": {"Mail"}, "s_host": {"smtp.example.com"}, "s_port": {"x"}, "s_from": {"a@b.c\r\nBcc: x@y.z"}})
	if p.fieldError("s_port") == "" {
		t.Fatal("a non-number port was not marked")
	}
	p = b.post("/notification-channels/new?kind=email", url.Values{"name": {"Mail"}, "s_host": {"smtp.example.com"}, "s_from": {"a@b.c\r\nBcc: x@y.z"}})
	if p.fieldError("s_from") == "" {
		t.Fatalf("header injection in From not shown beside it: %d", p.status)
	}
	if p := b.post("/notification-channels/"+id+"/delete", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if p := b.get("/notification-channels"); strings.Contains(p.body, "Ops 2") {
		t.Fatal("deleted channel still listed")
	}
}

// TestMyNotificationsPage: a requester adds a contact method and a rule,
// errors show beside their fields, and the outbox page lists a page.
func TestMyNotificationsPage(t *testing.T) {
	e := newTestEnv(t)
	rcv := newHookReceiver(t)
	admin := signedIn(t, e, auth.RoleAdmin)
	admin.get("/notification-channels/new?kind=webhook")
	if p := admin.post("/notification-channels/new?kind=webhook", url.Values{"name": {"Hook"}, "enabled": {"on"}, "s_url": {rcv.URL}}); p.status != http.StatusSeeOther {
		t.Fatalf("channel: %d", p.status)
	}
	chs, _ := e.notify.Channels(t.Context())
	b := signedIn(t, e, auth.RoleRequester)
	p := b.get("/account/notifications")
	if p.status != 200 || !strings.Contains(p.body, "No contact methods yet") {
		t.Fatalf("empty page: %d", p.status)
	}
	p = b.post("/account/notifications/methods", url.Values{"channel_id": {itoa(chs[0].ID)}, "address": {"gopher://x"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("address") == "" {
		t.Fatalf("bad address: %d %q", p.status, p.fieldError("address"))
	}
	if p = b.post("/account/notifications/methods", url.Values{"channel_id": {itoa(chs[0].ID)}, "label": {"pager hook"}}); p.status != http.StatusSeeOther {
		t.Fatalf("add method: %d %s", p.status, p.body)
	}
	p = b.get("/account/notifications")
	if !strings.Contains(p.body, "pager hook") {
		t.Fatal("method not listed")
	}
	ms, _ := e.notify.ContactMethods(t.Context(), e.users[auth.RoleRequester].ID)
	p = b.post("/account/notifications/rules", url.Values{"contact_method_id": {itoa(ms[0].ID)}, "delay_minutes": {"5000"}})
	if p.fieldError("delay_minutes") == "" {
		t.Fatal("delay out of range not shown beside its field")
	}
	if p = b.post("/account/notifications/rules", url.Values{"contact_method_id": {itoa(ms[0].ID)}, "delay_minutes": {"5"}}); p.status != http.StatusSeeOther {
		t.Fatalf("add rule: %d", p.status)
	}
	if p = b.get("/account/notifications"); !strings.Contains(p.body, "After 5 min") {
		t.Fatal("rule not listed")
	}
	if p = b.post("/account/notifications/methods/"+itoa(ms[0].ID)+"/test", url.Values{}); !strings.Contains(p.body, "Sent to pager hook") {
		t.Fatal("test send to own method failed")
	}
	// Another user cannot delete it.
	other := signedIn(t, e, auth.RoleViewer)
	other.get("/account/notifications")
	if p = other.post("/account/notifications/methods/"+itoa(ms[0].ID)+"/delete", url.Values{}); p.status != http.StatusNotFound {
		t.Fatalf("other user's delete: %d", p.status)
	}
	// The outbox page filters and shows a status in words.
	viewer := signedIn(t, e, auth.RoleViewer)
	if p = viewer.get("/notifications?status=nonsense"); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad filter: %d", p.status)
	}
	if p = viewer.get("/notifications"); !strings.Contains(p.body, "Nothing sent yet") {
		t.Fatal("empty outbox")
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestHostileNotificationForms puts hostile values in every field of the
// channel and contact-method forms: nothing is a server error, nothing
// reaches a page unescaped, and a refusal says why beside a field.
func TestHostileNotificationForms(t *testing.T) {
	e := newTestEnv(t)
	admin := signedIn(t, e, auth.RoleAdmin)
	admin.get("/notification-channels/new?kind=email")
	okEmail := url.Values{"name": {"Mail"}, "s_host": {"smtp.example.com"}, "s_from": {"ops@example.com"}, "enabled": {"on"}}
	i := 0
	for name, bad := range hostileValues {
		t.Run(name, func(t *testing.T) {
			for _, field := range []string{"name", "s_host", "s_port", "s_security", "s_auth", "s_username", "s_password", "s_from", "s_to", "s_subject_prefix", "s_ca_cert"} {
				i++
				form := url.Values{}
				for k, v := range okEmail {
					form[k] = v
				}
				form.Set("name", "Mail "+itoa(int64(i)))
				form.Set(field, bad)
				p := admin.post("/notification-channels/new?kind=email", form)
				what := "email channel, " + field
				checkPage(t, what, p)
				checkRefused(t, what, p, field, "name")
				if p.status == http.StatusSeeOther {
					checkPage(t, what+", edit page", admin.get(p.location()))
				}
			}
			p := admin.post("/notification-channels/new?kind=webhook", url.Values{"name": {"Hook " + name}, "s_url": {bad}})
			checkPage(t, "webhook url", p)
			checkRefused(t, "webhook url", p, "s_url")
			checkPage(t, "channel list", admin.get("/notification-channels"))
		})
	}
	chs, _ := e.notify.Channels(t.Context())
	b := signedIn(t, e, auth.RoleRequester)
	b.get("/account/notifications")
	for name, bad := range hostileValues {
		t.Run("contact method "+name, func(t *testing.T) {
			for _, field := range []string{"channel_id", "address", "label"} {
				form := url.Values{"channel_id": {itoa(chs[0].ID)}, "address": {"a@example.com"}, "label": {"x"}}
				form.Set(field, bad)
				p := b.post("/account/notifications/methods", form)
				checkPage(t, "method "+field, p)
				checkRefused(t, "method "+field, p, field)
			}
			p := b.post("/account/notifications/rules", url.Values{"contact_method_id": {bad}, "delay_minutes": {bad}})
			checkPage(t, "rule", p)
			checkRefused(t, "rule", p, "contact_method_id", "delay_minutes")
			checkPage(t, "page", b.get("/account/notifications"))
			checkPage(t, "outbox filter", b.get("/notifications?ref_kind="+url.QueryEscape(bad)))
		})
	}
}
