package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserAssetJourney walks the asset register in Chromium: add an
// asset through the form, check it out to a user from its page, and see
// the new status and the check-out in its history.
func TestBrowserAssetJourney(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	op := e.users[auth.RoleOperator]
	viewer := e.users[auth.RoleViewer]
	step(t, ctx, "sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), op.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.mainnav a[href="/cis"]`)),
	)
	step(t, ctx, "empty register to the form",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/cis"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/assets"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/assets"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty a[href="/assets/new"]`)),
		chromedp.Click(chromedp.CSS(`.empty a[href="/assets/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-tag")),
		chromedp.SendKeys(chromedp.ID("f-tag"), "LAP-0042"),
		chromedp.SendKeys(chromedp.ID("f-model"), "ThinkPad X1"),
		chromedp.SendKeys(chromedp.ID("f-cost"), "twelve"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-cost-error")),
	)
	step(t, ctx, "fix and save",
		chromedp.SetValue(chromedp.ID("f-cost"), "1299.90"),
		chromedp.SetValue(chromedp.ID("f-currency"), "EUR"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("asset-status")),
	)
	if s := read(t, ctx, "status", chromedp.Text(chromedp.ID("asset-status"))); !strings.EqualFold(s, "in stock") {
		t.Fatalf("new asset status %q", s)
	}
	step(t, ctx, "check out to a user",
		chromedp.SetValue(chromedp.ID("f-user_id"), itoa(viewer.ID)),
		chromedp.Click(chromedp.CSS(`form[aria-label="Check out"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("asset-holder")),
	)
	if s := read(t, ctx, "status", chromedp.Text(chromedp.ID("asset-status"))); !strings.EqualFold(s, "deployed") {
		t.Fatalf("status after check-out %q", s)
	}
	if who := read(t, ctx, "holder", chromedp.Text(chromedp.ID("asset-holder"))); who != viewer.Username {
		t.Fatalf("checked out to %q", who)
	}
	if h := read(t, ctx, "history", chromedp.Text(chromedp.ID("history"))); !strings.Contains(h, "checkout") || !strings.Contains(h, "to user "+viewer.Username) || !strings.Contains(h, op.Username) {
		t.Fatalf("history: %q", h)
	}
	capture(t, ctx, "asset")
}
