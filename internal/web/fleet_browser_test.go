package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// TestBrowserAgents walks the fleet in Chromium: an admin reaches Agents
// through Inventory, makes an enrollment token and reads the command; a
// host enrolls with that token and reports; the fleet lists it and its page
// draws its metrics.
func TestBrowserAgents(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL

	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	signInAs(t, ctx, base, e.users[auth.RoleAdmin].Username)
	step(t, ctx, "open Agents through Inventory",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/cis"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/agents"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/agents"]`)),
		chromedp.WaitVisible(chromedp.CSS(".empty")),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/agent-tokens"]`)),
		chromedp.WaitVisible(chromedp.ID("f-ttl")),
	)
	step(t, ctx, "make a token",
		chromedp.SendKeys(chromedp.ID("f-note"), "web1"),
		chromedp.Click(chromedp.CSS(`form[action="/agent-tokens"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("enroll-command")),
	)
	cmd := read(t, ctx, "command", chromedp.Text(chromedp.ID("enroll-command")))
	tok, ok := strings.CutPrefix(cmd[strings.Index(cmd, "--enroll ")+len("--enroll "):], "")
	if !strings.HasPrefix(cmd, "opsdeck agent --server "+base+" --enroll odenr_") || !ok {
		t.Fatalf("command %q", cmd)
	}
	b, _ := json.Marshal(wire.EnrollRequest{Token: strings.TrimSpace(tok), Hostname: "web1", MachineID: "m1"})
	resp := e.agentPost("/api/v1/agent/enroll", "", b, false)
	var er wire.EnrollResponse
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&er) != nil {
		t.Fatalf("enroll with the page's token: %d", resp.StatusCode)
	}
	if resp := e.agentPost("/api/v1/agent/report", er.Credential, agentReport(1, "web1", 42), true); resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %d", resp.StatusCode)
	}
	step(t, ctx, "the fleet lists the host",
		chromedp.Navigate(base+"/agents"),
		chromedp.WaitVisible(chromedp.CSS(`#agents a[href^="/agents/"]`)),
		chromedp.Click(chromedp.CSS(`#agents a[href^="/agents/"]`)),
		chromedp.WaitVisible(chromedp.CSS("figure.chart svg")),
	)
	if h := read(t, ctx, "title", chromedp.Text(chromedp.CSS("h1"))); h != "web1" {
		t.Fatalf("agent page title %q", h)
	}
	capture(t, ctx, "agent-page")
}
