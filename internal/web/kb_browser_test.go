package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserKnowledgeBase walks the knowledge base in Chromium: an
// operator writes an article, previews it and publishes it; a requester
// finds it by searching, and the new-request form suggests it as the
// subject is typed.
func TestBrowserKnowledgeBase(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	requester, agent := e.users[auth.RoleRequester].Username, e.users[auth.RoleOperator].Username

	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	signInAs(t, ctx, base, agent)
	step(t, ctx, "open the knowledge base and the editor",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/tickets"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/kb"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/kb"]`)),
		chromedp.WaitVisible(chromedp.CSS(".empty")),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/kb/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-title")),
	)
	step(t, ctx, "write and preview",
		chromedp.SendKeys(chromedp.ID("f-title"), "VPN drops every hour"),
		chromedp.SendKeys(chromedp.ID("f-body"), "Reinstall the **VPN client** from the portal."),
		chromedp.Click(chromedp.CSS(`button[value="preview"]`)),
		chromedp.WaitVisible(chromedp.CSS(".kb-preview strong")),
	)
	if txt := read(t, ctx, "preview", chromedp.Text(chromedp.CSS(".kb-preview strong"))); txt != "VPN client" {
		t.Fatalf("preview: %q", txt)
	}
	step(t, ctx, "save the draft",
		chromedp.Click(chromedp.CSS(`button[value="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	step(t, ctx, "publish",
		chromedp.Click(chromedp.CSS(`.page-head a[href$="/edit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-title")),
		chromedp.Click(chromedp.CSS(`input[name="status"][value="published"]`)),
		chromedp.Click(chromedp.CSS(`button[value="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	capture(t, ctx, "kb-article-operator")
	step(t, ctx, "sign out", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`), chromedp.WaitVisible(chromedp.ID("f-username")))

	signInAs(t, ctx, base, requester)
	step(t, ctx, "search the knowledge base",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/tickets"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/kb"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/kb"]`)),
		chromedp.WaitVisible(chromedp.ID("f-q")),
		chromedp.SendKeys(chromedp.ID("f-q"), "vpn clients"),
		chromedp.Submit(chromedp.ID("f-q")),
		chromedp.WaitVisible(chromedp.CSS(".kb-hits a")),
	)
	if txt := read(t, ctx, "hit", chromedp.Text(chromedp.CSS(".kb-hits a"))); txt != "VPN drops every hour" {
		t.Fatalf("search hit: %q", txt)
	}
	capture(t, ctx, "kb-search-requester")
	step(t, ctx, "open the article",
		chromedp.Click(chromedp.CSS(".kb-hits a")),
		chromedp.WaitVisible(chromedp.CSS(".kb-prose strong")),
	)
	step(t, ctx, "type a new request",
		chromedp.Navigate(base+"/tickets/new"),
		chromedp.WaitVisible(chromedp.ID("f-subject")),
		chromedp.SendKeys(chromedp.ID("f-subject"), "my vpn keeps dropping"),
		chromedp.WaitVisible(chromedp.CSS("#kb-suggestions a")),
	)
	if txt := read(t, ctx, "suggestion", chromedp.Text(chromedp.CSS("#kb-suggestions a"))); !strings.Contains(txt, "VPN drops every hour") {
		t.Fatalf("suggestion: %q", txt)
	}
	capture(t, ctx, "kb-ticket-suggestion")
}
