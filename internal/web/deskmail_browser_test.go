package web

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/deskmail"
)

// TestBrowserDeskMail: an admin reaches the Email page through the
// Service desk group, sees a received message with its ticket and a
// dropped auto-reply with its reason, and filters to the dropped ones.
func TestBrowserDeskMail(t *testing.T) {
	e := newTestEnv(t)
	for _, raw := range []string{
		"From: dana@customer.example\r\nSubject: Badge reader broken\r\nMessage-ID: <b1@x>\r\n\r\nIt beeps.",
		"From: dana@customer.example\r\nSubject: Out of office\r\nPrecedence: bulk\r\nMessage-ID: <b2@x>\r\n\r\nAway.",
	} {
		if _, err := e.mail.Ingest(context.Background(), []byte(raw), deskmail.Envelope{Via: "smtp"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := newChromium(t)
	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	signInAs(t, ctx, e.http.URL, e.users[auth.RoleAdmin].Username)
	step(t, ctx, "open the Email page",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/tickets"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/service-desk/email"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/service-desk/email"]`)),
		chromedp.WaitVisible(chromedp.ID("mail-table")),
	)
	table := read(t, ctx, "table", chromedp.Text(chromedp.ID("mail-table")))
	if !strings.Contains(table, "Badge reader broken") || !strings.Contains(table, "#1") || !strings.Contains(table, "Precedence: bulk") {
		t.Fatalf("table: %q", table)
	}
	capture(t, ctx, "deskmail-admin")
	step(t, ctx, "filter to bulk mail",
		chromedp.SetValue(chromedp.ID("f-outcome"), "bulk"),
		chromedp.Submit(chromedp.ID("f-outcome")),
		chromedp.WaitVisible(chromedp.ID("mail-table")),
	)
	if table = read(t, ctx, "filtered", chromedp.Text(chromedp.ID("mail-table"))); strings.Contains(table, "Badge reader") || !strings.Contains(table, "Out of office") {
		t.Fatalf("filtered table: %q", table)
	}
}
