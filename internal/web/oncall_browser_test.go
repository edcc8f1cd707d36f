package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserOnCallJourney walks the on-call flow in Chromium: create a
// schedule, add a layer, see who is on call, add an override covering now,
// and see the answer change.
func TestBrowserOnCallJourney(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	op, vw := e.users[auth.RoleOperator], e.users[auth.RoleViewer]
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	step(t, ctx, "sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), op.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(css(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(css(".mainnav")),
	)
	step(t, ctx, "create a schedule",
		chromedp.Click(css(`.mainnav a[href="/oncall"]`)),
		chromedp.WaitVisible(css(`a[href="/oncall/schedules/new"]`)),
		chromedp.Click(css(`.empty a[href="/oncall/schedules/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Platform primary"),
		chromedp.SetValue(chromedp.ID("f-time_zone"), "UTC"),
		chromedp.Click(css(`.schedule-form button[type="submit"]`)),
		chromedp.WaitVisible(css("#oncall-now")),
	)
	if txt := read(t, ctx, "nobody yet", chromedp.Text(css("#oncall-now"))); !strings.Contains(txt, "Nobody is on call") {
		t.Fatalf("new schedule says %q", txt)
	}
	capture(t, ctx, "oncall-schedule-empty")

	step(t, ctx, "add a layer",
		chromedp.Click(css(`a[href$="/edit"]`)),
		chromedp.WaitVisible(css(`[name="layers[0].participants"]`)),
		chromedp.SendKeys(css(`[name="layers[0].name"]`), "24x7"),
		chromedp.SetValue(css(`[name="layers[0].rotation"]`), "daily"),
		chromedp.SetValue(css(`[name="layers[0].start_date"]`), "2026-01-01"),
		chromedp.SendKeys(css(`[name="layers[0].participants"]`), op.Username),
	)
	capture(t, ctx, "oncall-schedule-form")
	step(t, ctx, "save the layer",
		chromedp.Click(css(`.schedule-form button[type="submit"]`)),
		chromedp.WaitVisible(css("#oncall-now")),
	)
	if txt := read(t, ctx, "on call", chromedp.Text(css("#oncall-now"))); !strings.Contains(txt, op.Username+" until") {
		t.Fatalf("after adding a layer: %q", txt)
	}
	bars := read(t, ctx, "bars", chromedp.Evaluate[int](`document.querySelectorAll("svg.oncall-cal .cal-shift").length`))
	if bars < 7 {
		t.Fatalf("the week calendar has %d shift bars", bars)
	}
	capture(t, ctx, "oncall-schedule-desktop")

	now := time.Now().UTC()
	step(t, ctx, "add an override covering now",
		chromedp.SetValue(chromedp.ID("f-user_id"), itoa(vw.ID)),
		chromedp.SetValue(chromedp.ID("f-start"), now.Add(-time.Hour).Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("f-end"), now.Add(2*time.Hour).Format("2006-01-02T15:04")),
		chromedp.SendKeys(chromedp.ID("f-note"), "swap with ben"),
		chromedp.Click(css(`.override-form button[type="submit"]`)),
		chromedp.WaitVisible(css(".override-table")),
	)
	if txt := read(t, ctx, "on call after override", chromedp.Text(css("#oncall-now"))); !strings.Contains(txt, vw.Username+" until") {
		t.Fatalf("after the override: %q", txt)
	}
	if n := read(t, ctx, "override bar", chromedp.Evaluate[int](`document.querySelectorAll("svg.oncall-cal .cal-override").length`)); n < 1 {
		t.Fatal("the calendar does not show the override")
	}
	step(t, ctx, "overview", chromedp.Click(css(`.crumbs a[href="/oncall"]`)), chromedp.WaitVisible(css("table.oncall-table")))
	if row := read(t, ctx, "row", chromedp.Text(css("table.oncall-table tbody tr"))); !strings.Contains(row, "Platform primary") || !strings.Contains(row, vw.Username) {
		t.Fatalf("overview row: %q", row)
	}
	capture(t, ctx, "oncall-overview-desktop")
	screenshot(t, ctx, base+"/oncall", "oncall-overview-phone", 390, 844, false)
	screenshot(t, ctx, base+"/oncall/schedules/1?view=month", "oncall-month-desktop-dark", 1280, 900, true)
	screenshot(t, ctx, base+"/oncall/schedules/1", "oncall-schedule-phone", 390, 844, false)
}
