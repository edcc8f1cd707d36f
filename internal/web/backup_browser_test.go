package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserBackups walks the backup pages in Chromium: an operator
// reaches them through the navigation, creates a job and sees its
// check-in key once, a check-in with curl's body turns the job ok on the
// dashboard, and a DR plan's runbook renders as Markdown.
func TestBrowserBackups(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	signInAs(t, ctx, base, e.users[auth.RoleOperator].Username)
	step(t, ctx, "open backups",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/backups"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/dr-plans"]`)),
		chromedp.WaitVisible(chromedp.CSS(".empty")),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/backups/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-name")),
	)
	step(t, ctx, "create a job",
		chromedp.SendKeys(chromedp.ID("f-name"), "orders db nightly"),
		chromedp.SendKeys(chromedp.ID("f-tool"), "pg_dump"),
		chromedp.Submit(chromedp.ID("f-name")),
		chromedp.WaitVisible(chromedp.ID("backup-key")),
	)
	key := read(t, ctx, "key", chromedp.Value(chromedp.ID("backup-key")))
	if !strings.HasPrefix(key, "bk_") {
		t.Fatalf("key %q", key)
	}
	capture(t, ctx, "backup-created")
	if st, body := e.checkIn(t, "/backup/ping/"+key+"/success", "application/json", `{"bytes": 1048576, "snapshot_id": "snap-1"}`); st != 200 {
		t.Fatalf("check-in: %d %s", st, body)
	}
	step(t, ctx, "dashboard",
		chromedp.Click(chromedp.CSS(`.subnav a[href="/backups"]`)),
		chromedp.WaitVisible(chromedp.CSS("#backup-jobs .status-ok")),
	)
	capture(t, ctx, "backup-dashboard")
	step(t, ctx, "new DR plan",
		chromedp.Click(chromedp.CSS(`.subnav a[href="/dr-plans"]`)),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/dr-plans/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Orders DR"),
		chromedp.SendKeys(chromedp.ID("f-rto"), "4h"),
		chromedp.SendKeys(chromedp.ID("f-rpo"), "1h"),
		chromedp.SendKeys(chromedp.ID("f-runbook"), "## Fail over\n\n1. Promote **the replica**\n"),
		chromedp.Submit(chromedp.ID("f-name")),
		chromedp.WaitVisible(chromedp.CSS(".runbook strong")),
	)
	if txt := read(t, ctx, "runbook", chromedp.Text(chromedp.CSS(".runbook strong"))); txt != "the replica" {
		t.Fatalf("runbook: %q", txt)
	}
	step(t, ctx, "coverage", chromedp.Click(chromedp.CSS(`.subnav a[href="/backups/coverage"]`)), chromedp.WaitVisible(chromedp.ID("un-h")))
}
