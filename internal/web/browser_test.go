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

// TestBrowserMonitorJourney walks the monitoring part of journeys 1 and 3
// in a real browser: an admin adds an HTTP monitor through the form,
// testing it before saving, watches it come up on its page, pauses it, and
// finds it in the list with its uptime bar. Other monitors with 90 days of
// history make the pictures look like a working installation.
func TestBrowserMonitorJourney(t *testing.T) {
	e := newTestEnv(t)
	ctx := newChromium(t)
	base := e.http.URL
	target := okServer(t)

	now := time.Now().UTC()
	ids := seedMonitors(t, e.db, "seed", 7, now)
	seedHistory(t, e.db, ids, 90, now)
	for i, m := range []struct{ name, typ, settings, tags string }{
		{"Customer portal", "http", `{"url":"https://portal.example.com/health"}`, ",prod,web,"},
		{"Payments API", "http", `{"url":"https://api.example.com/v1/ping","expect":{"status":"200"}}`, ",prod,api,"},
		{"Orders database", "tcp", `{"host":"db1.internal","port":5432}`, ",prod,db,"},
		{"VPN gateway", "tcp", `{"host":"vpn.example.com","port":443}`, ",network,"},
		{"Mail relay certificate", "tls", `{"host":"mail.example.com","port":587,"starttls":"smtp"}`, ",mail,"},
		{"Backup disk space", "nagios", `{"command":"/usr/lib/nagios/plugins/check_disk","args":["-w","20%","-c","10%","-p","/backup"]}`, ",backup,"},
		{"Intranet wiki", "http", `{"url":"https://wiki.example.com/"}`, ",internal,"},
	} {
		if _, err := e.db.W.ExecContext(t.Context(), `UPDATE monitors SET name = $1, type = $2, settings = $3, tags = $4, paused = FALSE WHERE id = $5`,
			m.name, m.typ, m.settings, m.tags, ids[i]); err != nil {
			t.Fatal(err)
		}
	}

	admin := e.users[auth.RoleAdmin]
	step(t, ctx, "sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("f-username")),
		chromedp.SendKeys(chromedp.ID("f-username"), admin.Username),
		chromedp.SendKeys(chromedp.ID("f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".state-tiles")),
	)
	step(t, ctx, "open the monitors and the form",
		chromedp.Click(chromedp.CSS(`.mainnav a[href="/monitors"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.monitor-table")),
		chromedp.Click(chromedp.CSS(`.page-head a[href="/monitors/new"]`)),
		chromedp.WaitVisible(chromedp.ID("f-http-url")),
	)
	if read(t, ctx, "tcp section hidden", chromedp.Evaluate[bool](`document.getElementById("f-tcp-host").offsetParent !== null`)) {
		t.Fatal("with the script, the TCP settings show while HTTP is chosen")
	}
	capture(t, ctx, "monitor-new-desktop")

	step(t, ctx, "fill in and test",
		chromedp.SendKeys(chromedp.ID("f-name"), "Shop front"),
		chromedp.SendKeys(chromedp.ID("f-http-url"), target.URL+"/health"),
		chromedp.SendKeys(chromedp.ID("f-tags"), "prod, shop"),
		chromedp.SendKeys(chromedp.ID("f-interval"), "2s"),
		chromedp.SendKeys(chromedp.ID("f-timeout"), "1s"),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="test"]`)),
		chromedp.WaitVisible(chromedp.ID("test-result")),
	)
	if txt := read(t, ctx, "test result", chromedp.Text(chromedp.ID("test-result"))); !strings.Contains(txt, "Up") || !strings.Contains(txt, "Nothing was saved") {
		t.Fatalf("test result: %q", txt)
	}
	if n := countMonitors(t, e); n != 7 {
		t.Fatalf("testing saved a monitor: %d", n)
	}
	capture(t, ctx, "monitor-test-desktop")

	step(t, ctx, "save",
		chromedp.Click(chromedp.CSS(`button[name="action"][value="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(".monitor-head")),
	)
	if txt := read(t, ctx, "h1", chromedp.Text(chromedp.CSS("h1"))); txt != "Shop front" {
		t.Fatalf("after saving: h1 %q", txt)
	}
	detail, _, _ := strings.Cut(read(t, ctx, "url", chromedp.Location()), "?")
	state := ""
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		step(t, ctx, "reload", chromedp.Navigate(detail), chromedp.WaitVisible(chromedp.CSS(".state-big")))
		if state = read(t, ctx, "state", chromedp.Text(chromedp.CSS(".state-big"))); strings.Contains(state, "Up") {
			break
		}
		step(t, ctx, "wait", chromedp.Sleep(500*time.Millisecond))
	}
	if !strings.Contains(state, "Up") {
		t.Fatalf("the monitor did not come up: %q", state)
	}
	if txt := read(t, ctx, "results", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(strings.ToLower(txt), "latest checks") || !strings.Contains(txt, "HTTP 200") {
		t.Errorf("the page shows no results: %q", txt)
	}
	screenshot(t, ctx, detail, "monitor-detail-desktop", 1280, 800, false)
	screenshot(t, ctx, detail, "monitor-detail-phone", 390, 844, false)

	step(t, ctx, "pause",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(detail),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/pause"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/pause"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/resume"] button`)),
	)
	if txt := read(t, ctx, "state after pause", chromedp.Text(chromedp.CSS(".state-big"))); !strings.Contains(txt, "Paused") {
		t.Fatalf("state after pause: %q", txt)
	}

	step(t, ctx, "find it in the list",
		chromedp.Click(chromedp.CSS(`.crumbs a[href="/monitors"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.monitor-table")),
	)
	row := read(t, ctx, "row", chromedp.Text(chromedp.CSS(`table.monitor-table tbody tr:last-child`)))
	if !strings.Contains(row, "Shop front") || !strings.Contains(row, "Paused") || !strings.Contains(row, "100.00 %") && !strings.Contains(row, "100 %") {
		t.Fatalf("list row: %q", row)
	}
	bars := read(t, ctx, "bars", chromedp.Evaluate[int](`document.querySelectorAll("table.monitor-table tbody tr:last-child svg.uptime-bar rect").length`))
	if bars != 90 {
		t.Fatalf("the new monitor's uptime bar has %d days", bars)
	}
	today := read(t, ctx, "today's bar", chromedp.Evaluate[string](`document.querySelector("table.monitor-table tbody tr:last-child svg.uptime-bar rect:last-child title").textContent`))
	if !strings.HasPrefix(today, now.Format(time.DateOnly)+": 100") {
		t.Errorf("today's bar says %q", today)
	}

	for _, s := range []struct {
		path, name string
		w, h       int64
		dark       bool
	}{
		{"/monitors", "monitors-desktop", 1280, 800, false},
		{"/monitors", "monitors-phone", 390, 844, false},
		{"/monitors", "monitors-desktop-dark", 1280, 800, true},
		{fmt.Sprintf("/monitors/%d", ids[1]), "monitor-history-desktop", 1280, 800, false},
		{fmt.Sprintf("/monitors/%d?range=30d", ids[1]), "monitor-history-30d-desktop-dark", 1280, 800, true},
		{fmt.Sprintf("/monitors/%d", ids[1]), "monitor-history-phone", 390, 844, false},
		{"/monitors/new?type=tls", "monitor-new-phone", 390, 844, false},
		{"/", "home-monitoring-desktop", 1280, 800, false},
		{"/", "home-monitoring-phone", 390, 844, false},
	} {
		screenshot(t, ctx, base+s.path, s.name, s.w, s.h, s.dark)
	}
	step(t, ctx, "a form with a mistake",
		chromedp.Navigate(base+"/monitors/new"),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Broken"),
		chromedp.SendKeys(chromedp.ID("f-http-url"), "ftp://files.example.com/"),
		chromedp.SendKeys(chromedp.ID("f-interval"), "soon"),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="save"]`)),
		chromedp.WaitVisible(chromedp.ID("f-http-url-error")),
	)
	capture(t, ctx, "monitor-form-errors-phone")
}
