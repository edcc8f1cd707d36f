package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)

		t.Run("form sets the pre-session cookie it echoes", func(t *testing.T) {
			b := newBrowser(t, e)
			p := b.get("/login")
			if p.status != http.StatusOK {
				t.Fatalf("status %d", p.status)
			}
			c := p.cookie(preSessionCookie)
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Fatalf("pre-session cookie %+v, want HttpOnly SameSite=Lax Path=/", c)
			}
			if b.csrf != c.Value {
				t.Fatalf("form token %q differs from cookie %q", b.csrf, c.Value)
			}
			if p.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", p.header.Get("Cache-Control"))
			}
		})

		t.Run("success sets a safe session cookie", func(t *testing.T) {
			b := newBrowser(t, e)
			b.get("/login")
			p := b.post("/login", url.Values{"username": {"viewer1"}, "password": {testPassword}})
			if p.status != http.StatusSeeOther || p.location() != "/" {
				t.Fatalf("status %d location %q", p.status, p.location())
			}
			c := p.cookie(sessionCookie)
			if c == nil {
				t.Fatal("no session cookie")
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
				t.Errorf("cookie %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure on plain HTTP", c)
			}
			if c.MaxAge != int(e.auth.SessionTTL().Seconds()) {
				t.Errorf("MaxAge %d, want the session TTL %v", c.MaxAge, e.auth.SessionTTL())
			}
			home := b.get("/")
			if home.status != http.StatusOK || !strings.Contains(home.body, "viewer1") {
				t.Fatalf("home: status %d", home.status)
			}
		})

		t.Run("wrong password is 401 and sets no session", func(t *testing.T) {
			b := newBrowser(t, e)
			b.get("/login")
			p := b.post("/login", url.Values{"username": {"operator1"}, "password": {"not the password"}})
			if p.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", p.status)
			}
			if !strings.Contains(p.body, "Invalid username or password.") {
				t.Error("no error message")
			}
			if p.cookie(sessionCookie) != nil {
				t.Error("failed login set a session cookie")
			}
			if !strings.Contains(p.body, `value="operator1"`) {
				t.Error("username not kept in the form")
			}
		})

		t.Run("missing fields are named beside them", func(t *testing.T) {
			b := newBrowser(t, e)
			b.get("/login")
			p := b.post("/login", url.Values{"username": {""}, "password": {""}})
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", p.status)
			}
			if p.fieldError("username") == "" || p.fieldError("password") == "" {
				t.Errorf("missing field errors: %q %q", p.fieldError("username"), p.fieldError("password"))
			}
			if !strings.Contains(p.body, `aria-describedby="f-username-error"`) {
				t.Error("the username input does not point at its error")
			}
		})

		t.Run("next is kept and kept on this site", func(t *testing.T) {
			for next, want := range map[string]string{
				"/users?role=admin":   "/users?role=admin",
				"//evil.example/":     "/",
				"https://evil.test/":  "/",
				"/\\evil.example":     "/",
				"javascript:alert(1)": "/",
			} {
				b := newBrowser(t, e)
				b.get("/login?next=" + url.QueryEscape(next))
				p := b.post("/login", url.Values{"username": {"admin1"}, "password": {testPassword}, "next": {next}})
				if p.status != http.StatusSeeOther || p.location() != want {
					t.Errorf("next %q: status %d location %q, want %q", next, p.status, p.location(), want)
				}
			}
		})

		t.Run("a protected page asks to sign in and comes back", func(t *testing.T) {
			b := newBrowser(t, e)
			p := b.get("/users?q=x")
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `name="next" value="/users?q=x"`) {
				t.Fatalf("status %d; next not in the form", p.status)
			}
			p = b.post("/login", url.Values{"username": {"admin1"}, "password": {testPassword}, "next": {"/users?q=x"}})
			if p.location() != "/users?q=x" {
				t.Fatalf("location %q", p.location())
			}
		})

		t.Run("signed in, the login page sends you home", func(t *testing.T) {
			b := signedIn(t, e, auth.RoleViewer)
			if p := b.get("/login"); p.status != http.StatusSeeOther || p.location() != "/" {
				t.Fatalf("status %d location %q", p.status, p.location())
			}
		})
	})
}

func TestLoginRateLimited(t *testing.T) {
	e := newTestEnv(t)
	b := newBrowser(t, e)
	b.get("/login")
	for i := range 5 {
		if p := b.post("/login", url.Values{"username": {"viewer1"}, "password": {"wrong password"}}); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, p.status)
		}
	}
	// Even the right password is refused until the window passes.
	p := b.post("/login", url.Values{"username": {"viewer1"}, "password": {testPassword}})
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", p.status)
	}
	if p.header.Get("Retry-After") == "" {
		t.Error("no Retry-After header")
	}
	if !strings.Contains(p.body, "Too many failed sign-ins. Try again in ") {
		t.Error("the page does not say when to try again")
	}
	if p.cookie(sessionCookie) != nil {
		t.Error("rate-limited login set a session")
	}
}

func TestSecureCookiesBehindTLS(t *testing.T) {
	e := withOptions(t, newTestEnv(t), func(o *Options) { o.SecureCookies = true })
	b := newBrowser(t, e)
	// The jar would not send Secure cookies over plain HTTP, so read the
	// pre-session cookie's value from the response and send it by hand.
	p := b.get("/login")
	pre := p.cookie(preSessionCookie)
	if pre == nil || !pre.Secure {
		t.Fatalf("pre-session cookie %+v, want Secure", pre)
	}
	form := url.Values{"username": {"viewer1"}, "password": {testPassword}, "csrf_token": {pre.Value}}
	p = b.postWith("/login", form, http.Header{"Cookie": {preSessionCookie + "=" + pre.Value}})
	if c := p.cookie(sessionCookie); c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("session cookie %+v, want Secure and HttpOnly", c)
	}
}

func TestLogout(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleOperator)
	old := b.c.Jar.Cookies(mustURL(t, e.http.URL))
	p := b.post("/logout", nil)
	if p.status != http.StatusSeeOther || p.location() != "/login" {
		t.Fatalf("status %d location %q", p.status, p.location())
	}
	if c := p.cookie(sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("cookie %+v, want it cleared", c)
	}
	if p := b.get("/"); p.status != http.StatusUnauthorized {
		t.Fatalf("after logout: status %d, want 401", p.status)
	}
	// The old session token is dead on the server too, not just forgotten.
	var raw string
	for _, c := range old {
		if c.Name == sessionCookie {
			raw = c.Value
		}
	}
	if _, err := e.auth.SessionPrincipal(t.Context(), raw); err == nil {
		t.Fatal("session still valid after logout")
	}
}

func TestMustChangePasswordFlow(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	u := e.users[auth.RoleOperator]
	const temp = "temporary password 1"
	if err := e.auth.SetPassword(ctx, u.ID, temp, true, ""); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	b.get("/login")
	p := b.post("/login", url.Values{"username": {u.Username}, "password": {temp}, "next": {"/tokens"}})
	if p.location() != "/account/password" {
		t.Fatalf("after login: location %q, want /account/password", p.location())
	}
	for _, path := range []string{"/", "/tokens"} {
		if p := b.get(path); p.status != http.StatusSeeOther || p.location() != "/account/password" {
			t.Errorf("GET %s: status %d location %q, want redirect to /account/password", path, p.status, p.location())
		}
	}
	p = b.get("/account/password")
	if p.status != http.StatusOK || !strings.Contains(p.body, "You signed in with a generated or temporary password") {
		t.Fatalf("password page: status %d, no explanation", p.status)
	}
	if strings.Contains(p.body, `href="/tokens"`) {
		t.Error("navigation offered while a password change is pending")
	}
	// Mismatched confirmation: refused beside the field, nothing changes.
	p = b.post("/account/password", url.Values{"current_password": {temp}, "new_password": {"my own new password"}, "confirm_password": {"something else"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("confirm_password") == "" {
		t.Fatalf("mismatch: status %d, error %q", p.status, p.fieldError("confirm_password"))
	}
	p = b.post("/account/password", url.Values{"current_password": {"wrong current pw"}, "new_password": {"my own new password"}, "confirm_password": {"my own new password"}})
	if p.fieldError("current_password") != "This is not your current password." {
		t.Fatalf("wrong current: error %q", p.fieldError("current_password"))
	}
	p = b.post("/account/password", url.Values{"current_password": {temp}, "new_password": {"short"}, "confirm_password": {"short"}})
	if !strings.Contains(p.fieldError("new_password"), "at least 10 characters") {
		t.Fatalf("short: error %q", p.fieldError("new_password"))
	}
	p = b.post("/account/password", url.Values{"current_password": {temp}, "new_password": {"my own new password"}, "confirm_password": {"my own new password"}})
	if p.status != http.StatusSeeOther || p.location() != "/?notice=password-changed" {
		t.Fatalf("change: status %d location %q: %s", p.status, p.location(), p.body)
	}
	// The session in use survives the change.
	if p := b.get("/tokens"); p.status != http.StatusOK {
		t.Fatalf("after change: /tokens status %d", p.status)
	}
	if p := b.get("/?notice=password-changed"); !strings.Contains(p.body, "Your password was changed.") {
		t.Error("no confirmation on the home page")
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// withOptions returns a copy of e served by a second server over the same
// database and auth service, with options changed by fn.
func withOptions(t testing.TB, e *testEnv, fn func(*Options)) *testEnv {
	t.Helper()
	opts := e.srv.opts
	fn(&opts)
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c := *e
	c.srv, c.http = srv, hs
	return &c
}
