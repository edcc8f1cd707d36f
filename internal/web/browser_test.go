package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// chromiumPath finds the browser for the browser tests: $OPSDECK_CHROMIUM or
// /usr/bin/chromium. Without one the tests skip, except in CI, which must
// run them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("OPSDECK_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s (set OPSDECK_CHROMIUM); CI must run the browser tests", p)
		}
		t.Skipf("browser tests skipped: no Chromium at %s; install it (apt-get install chromium) or set OPSDECK_CHROMIUM", p)
	}
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("browser tests skipped in -short mode")
	}
	return p
}

// newChromium starts a headless Chromium for one test and returns its
// context. The first Run ties the browser to this context, so it carries no
// deadline; each step gets its own (see step).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TMPDIR="+t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions with a deadline, failing the test with the step's name.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// read runs one action that returns a value, with a deadline.
func read[T any](t *testing.T, ctx context.Context, name string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// screenshot saves the page as PNG at a width, for the docs, when
// $OPSDECK_SCREENSHOTS names a folder.
func screenshot(t *testing.T, ctx context.Context, url, name string, width, height int64, dark bool) {
	t.Helper()
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	step(t, ctx, "screenshot "+name,
		chromedp.EmulateViewport(width, height),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			})
			return err
		}),
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("main")),
	)
	capture(t, ctx, name)
}

// capture saves the current page as it is, for states a URL cannot reach
// (a form with its errors, a secret shown once).
func capture(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := read(t, ctx, "capture "+name, chromedp.FullScreenshot(100))
	if dir := os.Getenv("OPSDECK_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowserFirstTenMinutes walks journey 1 in a real browser: the first
// admin signs in with a generated password, is made to change it, invites a
// colleague, creates an API token and uses it, revokes it through the
// confirmation dialog, and finds all of it in the audit log.
func TestBrowserFirstTenMinutes(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	admin := e.users[auth.RoleAdmin]
	const generated = "generated pw 0123"
	if err := e.auth.SetPassword(t.Context(), admin.ID, generated, true, ""); err != nil {
		t.Fatal(err)
	}
	base := e.http.URL

	// Confirmation dialogs: answer each with the next decision queued here,
	// as a person clicking OK or Cancel would.
	decisions := make(chan bool, 4)
	dialogs := make(chan string, 4)
	go func() {
		for ev, err := range chromedp.Events(ctx, cdppage.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			accept := <-decisions
			dialogs <- ev.Message
			if _, err := chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: accept}); err != nil {
				return
			}
		}
	}()

	step(t, ctx, "sign in with the generated password",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), admin.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), generated),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("f-current_password")),
	)
	if txt := read(t, ctx, "password page text", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(txt, "You signed in with a generated or temporary password") {
		t.Fatalf("the password page does not say why: %q", txt)
	}
	const chosen = "my very own password"
	step(t, ctx, "choose a password",
		chromedp.SendKeys(chromedp.ID("f-current_password"), generated),
		chromedp.SendKeys(chromedp.ID("f-new_password"), chosen),
		chromedp.SendKeys(chromedp.ID("f-confirm_password"), chosen),
		chromedp.Click(chromedp.CSS(`form[action="/account/password"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("ol.steps")),
	)
	if txt := read(t, ctx, "home text", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(txt, "Your password was changed.") || !strings.Contains(txt, "Invite a colleague") {
		t.Fatalf("home after the change: %q", txt)
	}

	step(t, ctx, "invite a colleague from the home page",
		chromedp.Click(chromedp.CSS(`ol.steps a[href="/users/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/users/new"]`)),
		chromedp.SendKeys(chromedp.ID("f-username"), "carol"),
		chromedp.SendKeys(chromedp.ID("f-name"), "Carol Jones"),
		chromedp.SendKeys(chromedp.ID("f-email"), "carol@example.com"),
		chromedp.Click(chromedp.CSS(`input[name="role"][value="operator"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/users/new"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("temp-password")),
	)
	capture(t, ctx, "user-created-desktop")
	if pw := read(t, ctx, "generated password", chromedp.Value(chromedp.ID("temp-password"))); len(pw) < 10 {
		t.Fatalf("generated password %q", pw)
	}
	carol, err := e.auth.GetUserByName(t.Context(), "carol")
	if err != nil || carol.Role != auth.RoleOperator || carol.Name != "Carol Jones" || !carol.MustChangePassword {
		t.Fatalf("carol: %+v, %v", carol, err)
	}

	step(t, ctx, "create an API token",
		chromedp.Navigate(base+"/tokens"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/tokens"]`)),
		chromedp.SendKeys(chromedp.ID("f-name"), "deploy bot"),
		chromedp.SetValue(chromedp.ID("f-role"), "viewer"),
		chromedp.Click(chromedp.CSS(`form[action="/tokens"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("token-secret")),
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="token-secret"]`)),
	)
	capture(t, ctx, "token-created-desktop")
	secret := read(t, ctx, "token secret", chromedp.Value(chromedp.ID("token-secret")))
	if me := apiMe(t, base, secret); me.StatusCode != http.StatusOK || me.Name != "token:deploy bot" || me.Role != auth.RoleViewer {
		t.Fatalf("GET /api/v1/me with the new token: %+v", me)
	}
	var tokenID int64
	ts, _ := e.auth.ListTokens(t.Context(), admin.ID)
	for _, tk := range ts {
		if tk.Name == "deploy bot" {
			tokenID = tk.ID
		}
	}
	revoke := chromedp.CSS(fmt.Sprintf(`form[action="/tokens/%d/revoke"] button`, tokenID))

	// Cancel first: nothing happens.
	decisions <- false
	step(t, ctx, "revoke, then cancel",
		chromedp.Click(chromedp.CSS(`a[href="/tokens"].btn-primary`)),
		chromedp.WaitVisible(revoke),
		chromedp.Click(revoke),
	)
	if msg := <-dialogs; !strings.Contains(msg, "Revoke the token “deploy bot”?") {
		t.Fatalf("dialog said %q", msg)
	}
	step(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	if me := apiMe(t, base, secret); me.StatusCode != http.StatusOK {
		t.Fatalf("token stopped working after Cancel: %+v", me)
	}
	// Then confirm.
	decisions <- true
	step(t, ctx, "revoke, then confirm",
		chromedp.Click(revoke),
		chromedp.WaitVisible(chromedp.CSS(".notice-ok")),
	)
	<-dialogs
	if me := apiMe(t, base, secret); me.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token still works: %+v", me)
	}

	step(t, ctx, "read the audit log",
		chromedp.Navigate(base+"/audit"),
		chromedp.WaitVisible(chromedp.CSS("table")),
	)
	txt := read(t, ctx, "audit text", chromedp.Text(chromedp.CSS("table")))
	for _, want := range []string{"user.password", "user.create", "token.create", "token.revoke", "session.login", "name=deploy bot role=viewer", "username=carol role=operator"} {
		if !strings.Contains(txt, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}

	// Pictures for the docs, and for a person to look at.
	for _, s := range []struct {
		path, name string
		w, h       int64
		dark       bool
	}{
		{"/", "home-desktop", 1280, 800, false},
		{"/", "home-phone", 390, 844, false},
		{"/", "home-desktop-dark", 1280, 800, true},
		{"/users", "users-desktop", 1280, 800, false},
		{"/users", "users-phone", 390, 844, false},
		{"/tokens", "tokens-desktop", 1280, 800, false},
		{"/audit", "audit-desktop", 1280, 800, false},
		{"/users/new", "user-new-phone-dark", 390, 844, true},
		{fmt.Sprintf("/users/%d", carol.ID), "user-edit-desktop", 1280, 800, false},
		{"/audit", "audit-phone", 390, 844, false},
		{"/no/such/page", "not-found-desktop", 1280, 800, false},
	} {
		screenshot(t, ctx, base+s.path, s.name, s.w, s.h, s.dark)
	}
}

// TestBrowserLoginErrors signs in at phone width: a wrong password shows
// the error, and the keyboard alone (Enter) then signs in.
func TestBrowserLoginErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	screenshot(t, ctx, e.http.URL+"/login", "login-phone", 390, 844, false)
	step(t, ctx, "wrong password",
		chromedp.SendKeys(chromedp.ID("f-username"), "viewer1"),
		chromedp.SendKeys(chromedp.ID("f-password"), "not my password"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice-error")),
	)
	if txt := read(t, ctx, "error", chromedp.Text(chromedp.CSS(".notice-error"))); !strings.Contains(txt, "Invalid username or password.") {
		t.Fatalf("error %q", txt)
	}
	capture(t, ctx, "login-error-phone")
	// The password is never echoed back; type it again and press Enter.
	step(t, ctx, "sign in with the keyboard",
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword+"\r"),
		chromedp.WaitVisible(chromedp.CSS("ol.steps")),
	)
	screenshot(t, ctx, e.http.URL+"/", "home-viewer-phone", 390, 844, false)
}

// meAnswer is what GET /api/v1/me said.
type meAnswer struct {
	StatusCode int
	meResponse
}

func apiMe(t *testing.T, base, token string) meAnswer {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := meAnswer{StatusCode: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out.meResponse); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	return out
}
