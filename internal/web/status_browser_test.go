package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// seedUptime writes 90 days of hourly rollups for a monitor, as a running
// installation has them: all up, except the hours bad(day, hour) names,
// which lose that many of their 60 checks.
func seedUptime(t *testing.T, e *testEnv, id int64, bad func(day, hour int) int64) {
	t.Helper()
	rolled := time.Now().UTC().Truncate(time.Hour)
	first := rolled.Add(-90 * 24 * time.Hour)
	var rows [][]any
	for at := first; at.Before(rolled); at = at.Add(time.Hour) {
		down := bad(int(at.Sub(first)/(24*time.Hour)), at.Hour())
		rows = append(rows, []any{id, int64(3600), at, int64(60), 60 - down, int64(0), down, 1, 1, 1, 1, 1, 1})
	}
	cols := []string{"monitor_id", "resolution", "bucket", "n_total", "n_up", "n_degraded", "n_down", "lat_min_us", "lat_avg_us", "lat_max_us", "lat_p50_us", "lat_p95_us", "lat_p99_us"}
	if err := e.db.InsertMany(t.Context(), e.db.W, "monitor_rollups", cols, rows); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserStatusPage walks journey 1's "a status page to show their
// boss": an operator makes a page of two monitors through the form, and a
// visitor who never signed in opens its link and sees both, drawn with
// the page's own stylesheet and nothing fetched from elsewhere.
func TestBrowserStatusPage(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(ok.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(failing.Close)

	mon := func(name, url string, bad func(day, hour int) int64) int64 {
		id := createMonitorAPI(t, e, fmt.Sprintf(`{"name":%q,"type":"http","url":%q,"interval":"2s","timeout":"1s","failure_threshold":1}`, name, url))
		seedUptime(t, e, id, bad)
		return id
	}
	never := func(int, int) int64 { return 0 }
	web := mon("web-frontend-01.corp.internal", ok.URL+"/health", func(d, h int) int64 {
		if d == 61 && h == 3 {
			return 40 // a bad night two months ago
		}
		return 0
	})
	apiID := mon("api-gw-prod", ok.URL+"/v1/ping", func(d, h int) int64 {
		if d == 80 && h >= 9 && h < 12 {
			return 45
		}
		if d%17 == 5 && h == 14 {
			return 1
		}
		return 0
	})
	dbID := mon("pg-primary", ok.URL+"/db", never)
	mailID := mon("smtp-relay", failing.URL+"/", func(d, h int) int64 {
		if d == 88 && h > 20 {
			return 60
		}
		return 0
	})
	vpnID := mon("vpn-edge", ok.URL+"/vpn", never)
	for _, id := range []int64{web, apiID, dbID, vpnID} {
		waitUntil(t, "monitors up", func() bool { return monitorState(e, id) == "up" })
	}
	waitUntil(t, "mail down", func() bool { return monitorState(e, mailID) == "down" })

	op := e.users[auth.RoleOperator]
	step(t, ctx, "sign in as an operator",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), op.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".topbar")),
	)
	step(t, ctx, "open the status pages and the form",
		chromedp.Navigate(base+"/status-pages"),
		chromedp.WaitVisible(chromedp.CSS(`.page-head a[href="/status-pages/new"]`)),
	)
	capture(t, ctx, "status-pages-empty-desktop")
	step(t, ctx, "fill in the form",
		chromedp.Click(chromedp.CSS(`.page-head a[href="/status-pages/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-title")),
		chromedp.SendKeys(chromedp.ID("f-title"), "Acme services"),
		chromedp.SendKeys(chromedp.ID("f-description"), "The services our customers use. Problems? Call the service desk on 555-0100."),
		chromedp.Click(chromedp.ID(fmt.Sprintf("m-%d", web))),
		chromedp.SendKeys(chromedp.CSS(fmt.Sprintf(`input[name="name_%d"]`, web)), "Website"),
		chromedp.Click(chromedp.ID(fmt.Sprintf("m-%d", apiID))),
		chromedp.SendKeys(chromedp.CSS(fmt.Sprintf(`input[name="name_%d"]`, apiID)), "Public API"),
	)
	capture(t, ctx, "status-page-new-desktop")
	step(t, ctx, "save",
		chromedp.Click(chromedp.CSS(`button[name="action"][value="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice-ok")),
	)
	link := read(t, ctx, "page address", chromedp.Value(chromedp.ID("share-url")))
	if link != base+"/status/acme-services" {
		t.Fatalf("page address %q", link)
	}
	capture(t, ctx, "status-page-edit-desktop")

	// A visitor: a browser of its own (own profile, no session cookie). A
	// second browser rather than a new browser context of the first, whose
	// tabs cannot evaluate script with this chromedp version.
	anon := newChromium(t)
	step(t, anon, "open the link anonymously",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(".sp-banner")),
	)
	txt := read(t, anon, "page text", chromedp.Evaluate[string](`document.body.innerText`))
	for _, want := range []string{"Acme services", "All systems operational", "Website", "Public API", "Operational", "90 days ago", "Today"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the visitor does not see %q in %q", want, txt)
		}
	}
	for _, bad := range []string{"corp.internal", "api-gw-prod", "127.0.0.1", "Sign in"} {
		if strings.Contains(txt, bad) {
			t.Errorf("the visitor sees %q", bad)
		}
	}
	if n := read(t, anon, "bars", chromedp.Evaluate[int](`document.querySelectorAll(".sp-bars rect").length`)); n != 180 {
		t.Errorf("%d day bars, want 180", n)
	}
	// The stylesheet applied under the strict CSP, and nothing else loaded.
	if bg := read(t, anon, "banner colour", chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".sp-banner")).borderLeftWidth`)); bg != "6px" {
		t.Errorf("the status stylesheet did not apply: banner border %q", bg)
	}
	var resources []string
	raw := read(t, anon, "resources", chromedp.Evaluate[string](`JSON.stringify(performance.getEntriesByType("resource").map(r => r.name))`))
	if err := json.Unmarshal([]byte(raw), &resources); err != nil {
		t.Fatal(err)
	}
	for _, r := range resources {
		if !strings.HasPrefix(r, base+"/") {
			t.Errorf("the page fetched %s", r)
		}
	}
	tip := read(t, anon, "today's tooltip", chromedp.Evaluate[string](`document.querySelector(".sp-bars rect:last-child title").textContent`))
	if !strings.HasPrefix(tip, time.Now().UTC().Format("Mon 2 Jan 2006")) || !strings.Contains(tip, "uptime") {
		t.Errorf("today's bar says %q", tip)
	}
	for _, s := range []struct {
		name string
		w, h int64
		dark bool
	}{
		{"status-public-desktop", 1280, 900, false},
		{"status-public-phone", 390, 844, false},
		{"status-public-desktop-dark", 1280, 900, true},
	} {
		screenshot(t, anon, link, s.name, s.w, s.h, s.dark)
	}

	// A fuller page, with sections and one service down, as a bigger site has it.
	resp := e.do("PUT", fmt.Sprintf("/api/v1/status-pages/%d", pageIDBySlug(t, e, "acme-services")), auth.RoleOperator, fmt.Sprintf(`{"slug":"acme-services","title":"Acme services","public":true,
		"description":"The services our customers use. Problems? Call the service desk on 555-0100.",
		"monitors":[{"monitor_id":%d,"display_name":"Website","section":"Customer facing"},{"monitor_id":%d,"display_name":"Public API","section":"Customer facing"},
		{"monitor_id":%d,"display_name":"Outgoing email","section":"Back office"},{"monitor_id":%d,"display_name":"Orders database","section":"Back office"},
		{"monitor_id":%d,"display_name":"Remote access (VPN)","section":"Back office"}]}`, web, apiID, mailID, dbID, vpnID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fuller page: %d %s", resp.StatusCode, readBody(t, resp))
	}
	// A new address: the browser may keep the old answer for 30 s.
	link += "?sections"
	step(t, anon, "reload", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(".sp-banner")))
	if banner := read(t, anon, "banner", chromedp.Text(chromedp.CSS(".sp-banner-text"))); banner != "Partial outage" {
		t.Errorf("banner %q with one of five down", banner)
	}
	for _, s := range []struct {
		name string
		w, h int64
		dark bool
	}{
		{"status-public-sections-desktop", 1280, 1000, false},
		{"status-public-sections-phone", 390, 844, false},
		{"status-public-sections-phone-dark", 390, 844, true},
	} {
		screenshot(t, anon, link, s.name, s.w, s.h, s.dark)
	}
	screenshot(t, ctx, base+"/status-pages", "status-pages-desktop", 1280, 700, false)
	screenshot(t, ctx, base+"/status-pages", "status-pages-phone", 390, 844, false)
	screenshot(t, ctx, fmt.Sprintf("%s/status-pages/%d", base, pageIDBySlug(t, e, "acme-services")), "status-page-edit-phone", 390, 844, false)
}

// pageIDBySlug finds a status page's id through the API.
func pageIDBySlug(t *testing.T, e *testEnv, slug string) int64 {
	t.Helper()
	var list page[statusPageView]
	if err := json.NewDecoder(e.do("GET", "/api/v1/status-pages", auth.RoleViewer, "").Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Data {
		if p.Slug == slug {
			return p.ID
		}
	}
	t.Fatalf("no status page %q", slug)
	return 0
}
