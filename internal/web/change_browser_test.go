package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserChangeApproval walks a normal change in Chromium: an operator
// creates it, submits it and asks for approval; a viewer in the CAB finds
// it in the approval inbox and approves it; it is scheduled.
func TestBrowserChangeApproval(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	ci := changeCI(t, e, "payments")
	g := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/cab-groups", auth.RoleAdmin,
		fmt.Sprintf(`{"name":"CAB","member_ids":[%d]}`, e.users[auth.RoleViewer].ID)), 201)
	if r := e.do("PUT", "/api/v1/approval-rules/medium", auth.RoleAdmin, fmt.Sprintf(`{"terms":[{"group_id":%d,"min":1}]}`, g.ID)); r.StatusCode != 204 {
		t.Fatalf("rule: %d", r.StatusCode)
	}
	start := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Minute)

	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	signInAs(t, ctx, base, e.users[auth.RoleOperator].Username)
	step(t, ctx, "open the changes and the form",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/changes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/changes/calendar"]`)),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/changes/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-title")),
	)
	step(t, ctx, "fill in the change",
		chromedp.SendKeys(chromedp.ID("f-title"), "Rotate payments TLS keys"),
		chromedp.SendKeys(chromedp.ID("f-ci_ids"), fmt.Sprint(ci)),
		chromedp.SetValue(chromedp.ID("f-planned_start"), start.Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("f-planned_end"), start.Add(time.Hour).Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("f-risk"), "medium"),
		chromedp.SendKeys(chromedp.ID("f-implementation_plan"), "issue, deploy, reload"),
		chromedp.SendKeys(chromedp.ID("f-backout_plan"), "restore the old key"),
		chromedp.Submit(chromedp.ID("f-title")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="submit"]`)),
	)
	step(t, ctx, "submit it and ask for approval",
		chromedp.Click(chromedp.CSS(`button[value="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="authorize"]`)),
		chromedp.Click(chromedp.CSS(`button[value="authorize"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.change-authorization`)),
	)
	capture(t, ctx, "change-authorization")
	step(t, ctx, "sign out", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`), chromedp.WaitVisible(chromedp.ID("f-username")))

	signInAs(t, ctx, base, e.users[auth.RoleViewer].Username)
	step(t, ctx, "find it in the approval inbox",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/changes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/changes/approvals"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/changes/approvals"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table a[href$="#approvals"]`)),
		chromedp.Click(chromedp.CSS(`table a[href$="#approvals"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)),
	)
	step(t, ctx, "approve",
		chromedp.SendKeys(chromedp.ID("f-comment"), "fine by the CAB"),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.change-scheduled`)),
	)
	if txt := read(t, ctx, "timeline", chromedp.Text(chromedp.CSS(".timeline"))); !strings.Contains(txt, "the approval rule is met") {
		t.Fatalf("timeline: %q", txt)
	}
	capture(t, ctx, "change-scheduled")
	step(t, ctx, "the calendar shows it",
		chromedp.Navigate(base+"/changes/calendar?view=week&at="+start.Format("2006-01-02")),
		chromedp.WaitVisible(chromedp.CSS(`.cal-change`)),
	)
	capture(t, ctx, "change-calendar-week")
	screenshot(t, ctx, base+"/changes/calendar?at="+start.Format("2006-01-02"), "change-calendar-month", 1280, 900, false)
	screenshot(t, ctx, base+"/changes/metrics", "change-metrics", 1280, 900, true)
}
