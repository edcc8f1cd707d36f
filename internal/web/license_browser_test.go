package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserLicenseJourney walks the licenses in Chromium: reach them
// through Inventory, add one through the form (a bad seat count is refused
// beside its field), see it over-used against the agents' installations,
// assign a seat and reveal the key.
func TestBrowserLicenseJourney(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	op := e.users[auth.RoleOperator]
	viewer := e.users[auth.RoleViewer]
	e.inst.set(assets.Installation{Host: "pc-1", Package: "libreoffice-writer"}, assets.Installation{Host: "pc-2", Package: "libreoffice-calc"})
	step(t, ctx, "sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), op.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.mainnav a[href="/cis"]`)),
	)
	step(t, ctx, "empty list to the form",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/cis"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/licenses"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/licenses"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty a[href="/licenses/new"]`)),
		chromedp.Click(chromedp.CSS(`.empty a[href="/licenses/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-product")),
		chromedp.SendKeys(chromedp.ID("f-product"), "LibreOffice"),
		chromedp.SetValue(chromedp.ID("f-seats"), "-1"),
		chromedp.SendKeys(chromedp.ID("f-patterns"), "libreoffice*"),
		chromedp.SendKeys(chromedp.ID("f-license_key"), "ABCD-EFGH-IJKL-MNOP"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-seats-error")),
	)
	step(t, ctx, "fix and save",
		chromedp.SetValue(chromedp.ID("f-seats"), "1"),
		chromedp.SendKeys(chromedp.ID("f-license_key"), "ABCD-EFGH-IJKL-MNOP"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("license-over")),
	)
	if s := read(t, ctx, "installed", chromedp.Text(chromedp.ID("stat-installed"))); s != "2" {
		t.Fatalf("installed %q", s)
	}
	if s := read(t, ctx, "masked key", chromedp.Text(chromedp.ID("license-key-masked"))); s != "••••••••MNOP" {
		t.Fatalf("masked key %q", s)
	}
	step(t, ctx, "assign a seat",
		chromedp.SetValue(chromedp.ID("f-user_id"), itoa(viewer.ID)),
		chromedp.Click(chromedp.CSS(`form[aria-label="Assign a seat"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("seat-list")),
	)
	if s := read(t, ctx, "seats", chromedp.Text(chromedp.ID("seat-list"))); !strings.Contains(s, viewer.Username) {
		t.Fatalf("seats %q", s)
	}
	step(t, ctx, "reveal the key",
		chromedp.Click(chromedp.ID("reveal-key")),
		chromedp.WaitVisible(chromedp.ID("license-key")),
	)
	if s := read(t, ctx, "key", chromedp.Text(chromedp.ID("license-key"))); s != "ABCD-EFGH-IJKL-MNOP" {
		t.Fatalf("revealed key %q", s)
	}
}
