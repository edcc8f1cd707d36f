package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// signInAs signs the browser in through the form, signing out whoever was
// signed in first.
func signInAs(t *testing.T, ctx context.Context, base, username string) {
	t.Helper()
	step(t, ctx, "sign in as "+username,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".mainnav")),
	)
}

// TestBrowserServiceDeskJourney walks journey 4's core in Chromium: a
// requester opens a request in the portal; an agent replies, sets it
// pending and sees the SLA paused; the requester answers, which resumes
// it; the agent resolves it and the requester sees it resolved.
func TestBrowserServiceDeskJourney(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/sla-policies", auth.RoleAdmin,
		`{"name":"Everything","position":1,"response_minutes":60,"resolution_minutes":480}`), http.StatusCreated)
	requester, agent := e.users[auth.RoleRequester].Username, e.users[auth.RoleOperator].Username

	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	signInAs(t, ctx, base, requester)
	step(t, ctx, "open My requests and the form",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/tickets"]`)),
		chromedp.WaitVisible(chromedp.CSS(".empty")),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/tickets/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-subject")),
	)
	step(t, ctx, "send the request",
		chromedp.SendKeys(chromedp.ID("f-subject"), "VPN drops every hour"),
		chromedp.SendKeys(chromedp.ID("f-description"), "Since Monday, on the home office line."),
		chromedp.Click(chromedp.CSS(`form[action="/tickets/new"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	ticketURL, _, _ := strings.Cut(read(t, ctx, "url", chromedp.Location()), "?")
	if txt := read(t, ctx, "sla", chromedp.Text(chromedp.ID("sla-badge"))); !strings.Contains(txt, "On track") {
		t.Fatalf("new ticket's SLA badge: %q", txt)
	}
	capture(t, ctx, "ticket-requester-new")

	step(t, ctx, "sign out", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`), chromedp.WaitVisible(chromedp.ID("f-username")))
	signInAs(t, ctx, base, agent)
	step(t, ctx, "the queue shows the ticket",
		chromedp.Navigate(base+"/tickets?status=new"),
		chromedp.WaitVisible(chromedp.CSS("table.ticket-table")),
	)
	if txt := read(t, ctx, "queue", chromedp.Text(chromedp.CSS("table.ticket-table"))); !strings.Contains(txt, "VPN drops every hour") || !strings.Contains(txt, "On track") {
		t.Fatalf("queue: %q", txt)
	}
	capture(t, ctx, "tickets-queue")
	step(t, ctx, "reply",
		chromedp.Navigate(ticketURL),
		chromedp.WaitVisible(chromedp.ID("f-body")),
		chromedp.SendKeys(chromedp.ID("f-body"), "Which VPN client version do you run?"),
		chromedp.Click(chromedp.CSS(`form.reply-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	step(t, ctx, "set pending on the requester",
		chromedp.SetValue(chromedp.ID("f-status"), "pending"),
		chromedp.SetValue(chromedp.ID("f-pending_reason"), "requester"),
		chromedp.Click(chromedp.CSS(`form[action$="/update"] button[type="submit"]`)),
		// The page before had a notice too; the paused badge is new.
		chromedp.WaitVisible(chromedp.CSS("#sla-badge .status-info")),
	)
	if txt := read(t, ctx, "paused badge", chromedp.Text(chromedp.ID("sla-badge"))); !strings.Contains(txt, "Paused") {
		t.Fatalf("pending ticket's SLA badge: %q", txt)
	}
	if txt := read(t, ctx, "timers", chromedp.Text(chromedp.ID("sla"))); !strings.Contains(txt, "Met") || !strings.Contains(txt, "Paused") {
		t.Fatalf("SLA timers while pending: %q", txt)
	}
	capture(t, ctx, "ticket-agent-pending")

	step(t, ctx, "sign out", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`), chromedp.WaitVisible(chromedp.ID("f-username")))
	signInAs(t, ctx, base, requester)
	step(t, ctx, "the requester answers",
		chromedp.Navigate(ticketURL),
		chromedp.WaitVisible(chromedp.ID("f-body")),
		chromedp.SendKeys(chromedp.ID("f-body"), "Version 5.2"),
		chromedp.Click(chromedp.CSS(`form.reply-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if txt := read(t, ctx, "resumed", chromedp.Text(chromedp.CSS(".page-head"))); !strings.Contains(txt, "open") || strings.Contains(txt, "Paused") {
		t.Fatalf("after the requester's reply: %q", txt)
	}

	step(t, ctx, "sign out", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`), chromedp.WaitVisible(chromedp.ID("f-username")))
	signInAs(t, ctx, base, agent)
	step(t, ctx, "resolve",
		chromedp.Navigate(ticketURL),
		chromedp.WaitVisible(chromedp.ID("f-status")),
		chromedp.SetValue(chromedp.ID("f-status"), "resolved"),
		chromedp.Click(chromedp.CSS(`form[action$="/update"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if txt := read(t, ctx, "resolved", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(txt, "resolved") || !strings.Contains(txt, "Met") {
		t.Fatalf("after resolving: %q", txt)
	}
	hist := read(t, ctx, "history", chromedp.Text(chromedp.ID("history")))
	for _, want := range []string{"pending", "first_response", "resolved"} {
		if !strings.Contains(hist, want) {
			t.Fatalf("history lacks %q: %q", want, hist)
		}
	}
	capture(t, ctx, "ticket-agent-resolved")
}
