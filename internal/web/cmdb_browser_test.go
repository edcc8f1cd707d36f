package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserCMDBJourney walks the CMDB in Chromium: add a business service
// and a database through the forms, relate them from the service's page,
// then find the service in the database's graph and impact list.
func TestBrowserCMDBJourney(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	op := e.users[auth.RoleOperator]
	step(t, ctx, "sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), op.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.mainnav a[href="/cis"]`)),
	)
	step(t, ctx, "empty CMDB to the service form",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/cis"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty a[href="/cis/new?type=business_service"]`)),
		chromedp.Click(chromedp.CSS(`.empty a[href="/cis/new?type=business_service"]`)),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Online shop"),
		chromedp.SendKeys(chromedp.ID("f-attr_url"), "not a url"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-attr_url-error")),
	)
	if msg := read(t, ctx, "url error", chromedp.Text(chromedp.ID("f-attr_url-error"))); !strings.Contains(msg, "URL must be an http or https URL") {
		t.Fatalf("url error: %q", msg)
	}
	step(t, ctx, "fix and save the service",
		chromedp.SetValue(chromedp.ID("f-attr_url"), "https://shop.example.com"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("svg.ci-graph")),
	)
	step(t, ctx, "add the database",
		chromedp.Navigate(base+"/cis/new"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/cis/new?type=database"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/cis/new?type=database"]`)),
		chromedp.WaitVisible(chromedp.ID("f-attr_engine")),
		chromedp.SendKeys(chromedp.ID("f-name"), "orders-db"),
		chromedp.SetValue(chromedp.ID("f-attr_engine"), "postgresql"),
		chromedp.SendKeys(chromedp.ID("f-attr_port"), "5432"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("svg.ci-graph")),
	)
	step(t, ctx, "relate the service to the database",
		chromedp.Navigate(base+"/cis?q=online"),
		chromedp.WaitVisible(chromedp.CSS(`table a.strong`)),
		chromedp.Click(chromedp.CSS(`table a.strong`)),
		chromedp.WaitVisible(chromedp.ID("f-peer")),
		chromedp.SetValue(chromedp.ID("f-type"), "depends_on"),
		chromedp.SendKeys(chromedp.ID("f-peer"), "orders-db"),
		chromedp.Click(chromedp.CSS(`form[aria-label="Add a relationship"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if txt := read(t, ctx, "relationships", chromedp.Text(chromedp.ID("relationships"))); !strings.Contains(txt, "depends on") || !strings.Contains(txt, "orders-db") {
		t.Fatalf("relationships: %q", txt)
	}
	step(t, ctx, "open the database from the graph",
		chromedp.Click(chromedp.CSS(`svg.ci-graph a:not([href$="#impact"]) g:not(.ci-node-root)`)),
		chromedp.WaitVisible(chromedp.CSS(`#impact`)),
	)
	if h1 := read(t, ctx, "title", chromedp.Text(chromedp.CSS("h1"))); h1 != "orders-db" {
		t.Fatalf("graph node opened %q", h1)
	}
	if txt := read(t, ctx, "impact", chromedp.Text(chromedp.ID("impact"))); !strings.Contains(txt, "Online shop") || !strings.Contains(txt, "via orders-db → Online shop") {
		t.Fatalf("impact: %q", txt)
	}
	if n := read(t, ctx, "graph nodes", chromedp.Evaluate[float64](`document.querySelectorAll("svg.ci-graph g.ci-node").length`)); n != 2 {
		t.Fatalf("graph has %v nodes", n)
	}
	capture(t, ctx, "cmdb-ci")
}
