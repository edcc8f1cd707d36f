package web

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
)

// TestBrowserNotificationsJourney walks the notification pages in a real
// browser: an admin adds a webhook channel and sends a test, adds their
// own contact method and a rule, a page goes out through the outbox, and
// the outbox page shows it delivered.
func TestBrowserNotificationsJourney(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	rcv := newHookReceiver(t)
	admin := e.users[auth.RoleAdmin]

	step(t, ctx, "sign in and open the notifications",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), admin.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.mainnav a[href="/oncall"]`)),
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/oncall"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/notifications"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/notifications"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.page-head a[href="/notification-channels"]`)),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/notification-channels"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.page-head a[href="/notification-channels/new"]`)),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/notification-channels/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/notification-channels/new?kind=webhook"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/notification-channels/new?kind=webhook"]`)),
		chromedp.WaitVisible(chromedp.ID("f-s_url")),
	)
	step(t, ctx, "a refused URL shows beside its field",
		chromedp.SendKeys(chromedp.ID("f-name"), "Ops webhook"),
		chromedp.SendKeys(chromedp.ID("f-s_url"), "file:///etc/passwd"),
		chromedp.Click(chromedp.CSS(`.form-actions button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-s_url-error")),
	)
	capture(t, ctx, "notification-channel-error")
	step(t, ctx, "fix and save",
		chromedp.Clear(chromedp.ID("f-s_url")),
		chromedp.SendKeys(chromedp.ID("f-s_url"), rcv.URL+"/hook"),
		chromedp.SendKeys(chromedp.ID("f-s_secret"), "0123456789abcdef-signing"),
		chromedp.Click(chromedp.CSS(`.form-actions button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("test-h")),
		chromedp.Click(chromedp.CSS(`form[action$="/test"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("test-result")),
	)
	if txt := read(t, ctx, "test result", chromedp.Text(chromedp.ID("test-result"))); !strings.Contains(txt, "accepted") || rcv.count() != 1 {
		t.Fatalf("test send: %q, receiver got %d", txt, rcv.count())
	}
	if v := read(t, ctx, "secret field", chromedp.Evaluate[string](`document.getElementById("f-s_secret").value`)); v != "" {
		t.Fatalf("the secret is shown again: %q", v)
	}

	step(t, ctx, "add my contact method and a rule",
		chromedp.Click(chromedp.CSS(`details.account summary`)),
		chromedp.Click(chromedp.CSS(`.account-menu a[href="/account/notifications"]`)),
		chromedp.WaitVisible(chromedp.ID("f-channel_id")),
		chromedp.SendKeys(chromedp.ID("f-label"), "pager webhook"),
		chromedp.Click(chromedp.CSS(`form.method-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.method-table")),
		chromedp.Clear(chromedp.ID("f-delay_minutes")),
		chromedp.SendKeys(chromedp.ID("f-delay_minutes"), "0"),
		chromedp.Click(chromedp.CSS(`form.rule-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.rule-table")),
	)
	if txt := read(t, ctx, "rules", chromedp.Text(chromedp.CSS("table.rule-table"))); !strings.Contains(txt, "At once") || !strings.Contains(txt, "pager webhook") {
		t.Fatalf("rules table: %q", txt)
	}
	capture(t, ctx, "my-notifications")

	// A page, as the on-call engine sends it.
	if err := e.db.Tx(t.Context(), func(tx *sql.Tx) error {
		n, err := e.notify.NotifyUser(t.Context(), tx, admin.ID, notify.Ref{Kind: "incident", ID: 42}, "inc42/esc1/r0", notify.Message{Title: "[SEV2] #42 Checkout API down", Severity: "error"})
		if n != 1 {
			t.Errorf("queued %d", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); rcv.count() < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	step(t, ctx, "the outbox shows it delivered",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/oncall"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/notifications"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/notifications"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.outbox-table")),
	)
	row := read(t, ctx, "row", chromedp.Text(chromedp.CSS("table.outbox-table tbody tr:first-child")))
	if !strings.Contains(row, "Checkout API down") || !strings.Contains(row, "Delivered") || !strings.Contains(row, "incident #42") {
		t.Fatalf("outbox row: %q", row)
	}
	step(t, ctx, "filter by status",
		chromedp.SetValue(chromedp.ID("f-status"), "given_up"),
		chromedp.Click(chromedp.CSS(`.filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".empty")),
	)
	if loc := read(t, ctx, "url", chromedp.Location()); !strings.Contains(loc, "status=given_up") {
		t.Fatalf("filter not in the URL: %s", loc)
	}
	screenshot(t, ctx, base+"/notifications", "notifications-desktop", 1280, 800, false)
	screenshot(t, ctx, base+"/notifications", "notifications-phone", 390, 844, false)
}
