package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestBrowserTwoFactor enables TOTP in Chromium through the account menu,
// signs out, and signs in again with the password and a code computed here
// from the key the page showed; then it opens the security posture.
func TestBrowserTwoFactor(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	user := e.users[auth.RoleOperator].Username

	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	signInAs(t, ctx, base, user)
	step(t, ctx, "open two-factor set-up from the account menu",
		chromedp.Click(chromedp.CSS(`details.account summary`)),
		chromedp.WaitVisible(chromedp.CSS(`.account-menu a[href="/account/2fa"]`)),
		chromedp.Click(chromedp.CSS(`.account-menu a[href="/account/2fa"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/2fa/start"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/account/2fa/start"] button`)),
		chromedp.WaitVisible(chromedp.ID("totp-secret")),
	)
	secret := strings.ReplaceAll(read(t, ctx, "read the key", chromedp.Text(chromedp.ID("totp-secret"))), " ", "")
	url := read(t, ctx, "read the link", chromedp.Text(chromedp.ID("totp-url")))
	if !strings.HasPrefix(url, "otpauth://totp/opsdeck:"+user+"?") || !strings.Contains(url, "secret="+secret) {
		t.Fatalf("otpauth link %q does not carry the key %q", url, secret)
	}
	code, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "confirm with a code",
		chromedp.SendKeys(chromedp.ID("f-code"), code),
		chromedp.Submit(chromedp.ID("f-code")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	capture(t, ctx, "security-2fa-recovery")
	step(t, ctx, "done, then sign out",
		chromedp.Click(chromedp.CSS(`a[href="/?notice=totp-enabled"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`),
		chromedp.WaitVisible(chromedp.ID("f-username")),
	)
	step(t, ctx, "sign in with the password",
		chromedp.SendKeys(chromedp.ID("f-username"), user),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login/2fa"] #f-code`)),
	)
	// The confirmation used this step's code; a code is good once, so
	// sign in with the next step's, which the one-step skew accepts.
	next, _ := auth.TOTPCode(secret, time.Now().Add(30*time.Second))
	step(t, ctx, "a wrong code is refused",
		chromedp.SendKeys(chromedp.ID("f-code"), "000000"),
		chromedp.Submit(chromedp.ID("f-code")),
		chromedp.WaitVisible(chromedp.CSS(`.notice-error`)),
	)
	step(t, ctx, "the right code signs in",
		chromedp.SendKeys(chromedp.ID("f-code"), next),
		chromedp.Submit(chromedp.ID("f-code")),
		chromedp.WaitVisible(chromedp.CSS(".mainnav")),
	)
	step(t, ctx, "open the security posture",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/security"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[href="/security/findings"]`)),
		chromedp.Click(chromedp.CSS(`.subnav a[href="/security/findings"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/security/findings"]`)),
	)
	// The new address finding source reads the audit: both sign-ins are there.
	entries, _, err := auth.ListAudit(t.Context(), e.db, auth.AuditFilter{Action: "user.2fa_enabled"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit of the enrolment: %v %v", entries, err)
	}
}
