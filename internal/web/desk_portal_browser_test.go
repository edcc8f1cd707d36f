package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserPortal walks the requester portal in Chromium: a requester
// opens the catalog, fills in a typed request form and sends it, sees the
// ticket with the answers, replies; an agent resolves it (through the
// API); the requester rates it and sees the rating, and the desk metrics
// count it.
func TestBrowserPortal(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	item := decodeAs[apiCatalogItem](t, e.do("POST", "/api/v1/catalog", auth.RoleAdmin, `{"name":"New laptop","category":"Hardware","icon":"💻",
		"description":"A laptop for work","active":true,"fields":[
		{"key":"model","label":"Model","type":"select","required":true,"options":["13 inch","15 inch"]},
		{"key":"count","label":"How many","type":"number","required":true,"min":1,"max":3},
		{"key":"needed_by","label":"Needed by","type":"date"},
		{"key":"why","label":"Why","type":"textarea","help":"A sentence is enough"},
		{"key":"agree","label":"I will return the old one","type":"checkbox","required":true}]}`), http.StatusCreated)
	requester, viewer := e.users[auth.RoleRequester].Username, e.users[auth.RoleViewer].Username

	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	signInAs(t, ctx, base, requester)
	step(t, ctx, "open the catalog",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/tickets"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/catalog"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/catalog"]`)),
		chromedp.WaitVisible(chromedp.CSS(".catalog-grid")),
	)
	if txt := read(t, ctx, "catalog", chromedp.Text(chromedp.CSS(".catalog-grid"))); !strings.Contains(txt, "New laptop") || !strings.Contains(txt, "A laptop for work") {
		t.Fatalf("catalog: %q", txt)
	}
	capture(t, ctx, "portal-catalog")
	step(t, ctx, "open the form",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/catalog/%d"]`, item.ID))),
		chromedp.WaitVisible(chromedp.ID("f-a_model")),
	)
	step(t, ctx, "send it without the required answers",
		chromedp.Click(chromedp.CSS(`form.catalog-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-a_model-error")),
	)
	if txt := read(t, ctx, "error", chromedp.Text(chromedp.ID("f-a_model-error"))); !strings.Contains(txt, "required") {
		t.Fatalf("error beside the model: %q", txt)
	}
	step(t, ctx, "fill in the typed form",
		chromedp.SetValue(chromedp.ID("f-a_model"), "15 inch"),
		chromedp.SendKeys(chromedp.ID("f-a_count"), "2"),
		chromedp.SetValue(chromedp.ID("f-a_needed_by"), "2026-12-24"),
		chromedp.SendKeys(chromedp.ID("f-a_why"), "The hinge broke"),
		chromedp.Click(chromedp.ID("f-a_agree")),
		chromedp.Click(chromedp.CSS(`form.catalog-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("request-form")),
	)
	ticketURL, _, _ := strings.Cut(read(t, ctx, "url", chromedp.Location()), "?")
	answers := read(t, ctx, "answers", chromedp.Text(chromedp.ID("request-form")))
	for _, want := range []string{"new laptop", "15 inch", "2", "2026-12-24", "the hinge broke", "yes"} {
		if !strings.Contains(strings.ToLower(answers), want) { // the section title is upper-cased by CSS
			t.Fatalf("answers lack %q: %q", want, answers)
		}
	}
	if head := read(t, ctx, "head", chromedp.Text(chromedp.CSS(".page-head"))); !strings.Contains(head, "service_request") || !strings.Contains(head, "New laptop") {
		t.Fatalf("ticket head: %q", head)
	}
	capture(t, ctx, "portal-ticket-answers")
	step(t, ctx, "reply",
		chromedp.SendKeys(chromedp.ID("f-body"), "It is the silver one on my desk"),
		chromedp.Click(chromedp.CSS(`form.reply-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if conv := read(t, ctx, "conversation", chromedp.Text(chromedp.ID("conversation"))); !strings.Contains(conv, "silver one") {
		t.Fatalf("conversation: %q", conv)
	}

	id := ticketURL[strings.LastIndex(ticketURL, "/")+1:]
	e.do("POST", "/api/v1/tickets/"+id+"/comments", auth.RoleOperator, `{"body":"Ordered; it arrives tomorrow."}`)
	decodeAs[apiTicket](t, e.do("PATCH", "/api/v1/tickets/"+id, auth.RoleOperator, `{"status":"resolved"}`), http.StatusOK)

	step(t, ctx, "the requester sees it resolved and rates it",
		chromedp.Navigate(ticketURL),
		chromedp.WaitVisible(chromedp.ID("satisfaction")),
		chromedp.Click(chromedp.CSS(`#satisfaction input[name="score"][value="5"]`)),
		chromedp.SendKeys(chromedp.ID("f-rate-comment"), "Fast and friendly"),
		chromedp.Click(chromedp.CSS(`form.rate-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("csat-score")),
	)
	if txt := read(t, ctx, "rating", chromedp.Text(chromedp.ID("satisfaction"))); !strings.Contains(txt, "5 / 5") || !strings.Contains(txt, "Fast and friendly") {
		t.Fatalf("rating: %q", txt)
	}
	if txt := read(t, ctx, "conversation", chromedp.Text(chromedp.ID("conversation"))); !strings.Contains(txt, "arrives tomorrow") {
		t.Fatalf("agent's reply missing: %q", txt)
	}
	if n := read(t, ctx, "rate forms", chromedp.Evaluate[int](`document.querySelectorAll("form.rate-form").length`)); n != 0 {
		t.Fatalf("the rating form is still offered after rating (%d)", n)
	}
	capture(t, ctx, "portal-ticket-rated")

	step(t, ctx, "sign out", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`), chromedp.WaitVisible(chromedp.ID("f-username")))
	signInAs(t, ctx, base, viewer)
	step(t, ctx, "desk metrics",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/tickets"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/service-desk/metrics"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/service-desk/metrics"]`)),
		chromedp.WaitVisible(chromedp.ID("metrics-overall")),
	)
	if txt := read(t, ctx, "csat", chromedp.Text(chromedp.ID("metrics-csat"))); !strings.Contains(txt, "5.00 / 5") {
		t.Fatalf("metrics CSAT: %q", txt)
	}
	if n := read(t, ctx, "charts", chromedp.Evaluate[int](`document.querySelectorAll("svg.chart").length`)); n != 3 {
		t.Fatalf("%d charts", n)
	}
	capture(t, ctx, "desk-metrics")
}
