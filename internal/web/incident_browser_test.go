package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
)

// TestBrowserIncidentFlow walks the responder's path in a real browser: an
// alert arrives through the PagerDuty endpoint, the operator finds the
// incident in the list, opens it, acknowledges it, adds a note and
// resolves it, and the timeline shows each step.
func TestBrowserIncidentFlow(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	in := newIntegration(t, e, incident.KindPagerDuty, "Checkout")
	body := `{"routing_key":"` + in.Key + `","event_action":"trigger","dedup_key":"co-5xx","payload":{"summary":"Checkout 5xx over 5%","source":"lb1","severity":"critical"}}`
	if resp := e.do("POST", "/v2/enqueue", auth.RoleNone, body); resp.StatusCode != 202 {
		t.Fatalf("enqueue: %d", resp.StatusCode)
	}
	op := e.users[auth.RoleOperator]
	base := e.http.URL
	step(t, ctx, "sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), op.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/incidents"]`)),
	)
	step(t, ctx, "open the incident list from the navigation",
		chromedp.Click(chromedp.CSS(`nav a[href="/incidents"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.incident-table")),
	)
	if txt := read(t, ctx, "list text", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(txt, "Checkout 5xx over 5%") || !strings.Contains(txt, "Triggered") || !strings.Contains(txt, "SEV1") {
		t.Fatalf("list: %q", txt)
	}
	capture(t, ctx, "incidents-desktop")
	step(t, ctx, "filter by severity in the URL",
		chromedp.Navigate(base+"/incidents?status=open&severity=SEV1"),
		chromedp.WaitVisible(chromedp.CSS("table.incident-table")),
		chromedp.Click(chromedp.CSS(`table.incident-table a.strong`)),
		chromedp.WaitVisible(chromedp.ID("btn-ack")),
	)
	step(t, ctx, "acknowledge",
		chromedp.Click(chromedp.ID("btn-ack")),
		chromedp.WaitVisible(chromedp.ID("btn-note")),
	)
	// The note button is on the page before and after the POST: wait for the
	// new page's status rather than reading the old page mid-navigation.
	read(t, ctx, "status shows Acknowledged", chromedp.Poll[bool](`document.getElementById("incident-status")?.textContent.includes("Acknowledged") ?? false`))
	step(t, ctx, "add a note",
		chromedp.SendKeys(chromedp.ID("f-text"), "Rolled back release 41"),
		chromedp.Click(chromedp.ID("btn-note")),
		chromedp.WaitVisible(chromedp.ID("btn-resolve")),
	)
	capture(t, ctx, "incident-desktop")
	step(t, ctx, "resolve",
		chromedp.Click(chromedp.ID("btn-resolve")),
		chromedp.WaitVisible(chromedp.ID("btn-reopen")),
	)
	txt := read(t, ctx, "detail text", chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{"Resolved", "Acknowledged by " + op.Username, "Rolled back release 41", "Resolved by " + op.Username, "Alert joined (critical)"} {
		if !strings.Contains(txt, want) {
			t.Errorf("detail lacks %q: %s", want, txt)
		}
	}
	incs, _, err := e.incs.List(t.Context(), incident.Filter{})
	if err != nil || len(incs) != 1 || incs[0].Status != incident.StatusResolved {
		t.Fatalf("stored: %+v %v", incs, err)
	}
}
