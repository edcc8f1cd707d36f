package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestUIFormsRefuseForgedRequests checks that a form post without the
// session's CSRF token, with a wrong one, or from another site's page is
// refused with 403 and changes nothing.
func TestUIFormsRefuseForgedRequests(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleAdmin)
	before, err := e.auth.ListTokens(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	form := func() url.Values { return url.Values{"name": {"forged"}, "role": {"viewer"}} }
	cases := []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", func() url.Values { f := form(); f["csrf_token"] = nil; return f }(), nil},
		{"wrong token", func() url.Values { f := form(); f.Set("csrf_token", "not-the-token"); return f }(), nil},
		{"other site's Origin", form(), http.Header{"Origin": {"https://evil.example"}}},
		{"malformed Origin", form(), http.Header{"Origin": {"http://[::1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.postWith("/tokens", tc.form, tc.header)
			if p.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", p.status)
			}
			if !strings.Contains(p.body, "reload the page and try again") {
				t.Error("the 403 page does not say what to do")
			}
		})
	}
	after, err := e.auth.ListTokens(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("a refused form created a token: %d -> %d", len(before), len(after))
	}
	// The same form with the token and this site's Origin goes through.
	p := b.postWith("/tokens", form(), http.Header{"Origin": {e.http.URL}})
	if p.status != http.StatusCreated {
		t.Fatalf("genuine form: status %d", p.status)
	}
}

func TestLoginRefusesForgedForm(t *testing.T) {
	e := newTestEnv(t)
	// No pre-session cookie at all: a form posted from another site.
	b := newBrowser(t, e)
	p := b.post("/login", url.Values{"username": {"admin1"}, "password": {testPassword}, "csrf_token": {"guess"}})
	if p.status != http.StatusForbidden || p.cookie(sessionCookie) != nil {
		t.Fatalf("status %d, want 403 without a session", p.status)
	}
	// A pre-session cookie but another value in the form.
	b.get("/login")
	p = b.post("/login", url.Values{"username": {"admin1"}, "password": {testPassword}, "csrf_token": {"guess"}})
	if p.status != http.StatusForbidden || p.cookie(sessionCookie) != nil {
		t.Fatalf("status %d, want 403 without a session", p.status)
	}
}

func TestUIRoleChecks(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		role auth.Role
		path string
		want int
	}{
		{auth.RoleOperator, "/users", http.StatusForbidden},
		{auth.RoleViewer, "/users/new", http.StatusForbidden},
		{auth.RoleOperator, "/audit", http.StatusForbidden},
		{auth.RoleRequester, "/tokens", http.StatusForbidden},
		{auth.RoleRequester, "/", http.StatusOK},
		{auth.RoleViewer, "/tokens", http.StatusOK},
		{auth.RoleAdmin, "/users", http.StatusOK},
		{auth.RoleAdmin, "/audit", http.StatusOK},
	} {
		b := signedIn(t, e, tc.role)
		p := b.get(tc.path)
		if p.status != tc.want {
			t.Errorf("%s GET %s: status %d, want %d", tc.role, tc.path, p.status, tc.want)
		}
		if p.status == http.StatusForbidden {
			// The error page keeps the navigation so the user can go on.
			if !strings.Contains(p.body, `aria-label="Main"`) || !strings.Contains(p.body, "This needs the ") {
				t.Errorf("%s GET %s: 403 page without navigation or reason", tc.role, tc.path)
			}
		}
	}
	// A non-admin's POST is refused by role before anything is read.
	b := signedIn(t, e, auth.RoleOperator)
	if p := b.post("/users/new", url.Values{"username": {"sneaky"}, "role": {"admin"}, "password": {"a long password"}}); p.status != http.StatusForbidden {
		t.Fatalf("operator creating a user: status %d", p.status)
	}
}

// TestNavigationFollowsRole checks each role sees exactly the sections it
// may open, so no link leads to a 403. Admin sections live in the account
// menu of the header.
func TestNavigationFollowsRole(t *testing.T) {
	e := newTestEnv(t)
	for role, want := range map[auth.Role][]string{
		auth.RoleAdmin:     {"/users", "/tokens", "/audit"},
		auth.RoleOperator:  {"/tokens"},
		auth.RoleViewer:    {"/tokens"},
		auth.RoleRequester: {},
	} {
		p := signedIn(t, e, role).get("/")
		nav := p.body[strings.Index(p.body, `<header class="topbar"`):]
		nav = nav[:strings.Index(nav, "</header>")]
		for _, href := range []string{"/users", "/tokens", "/audit"} {
			has := strings.Contains(nav, `href="`+href+`"`)
			if has != slices.Contains(want, href) {
				t.Errorf("%s: nav link %s shown=%v", role, href, has)
			}
		}
		if !strings.Contains(p.body, `action="/logout"`) {
			t.Errorf("%s: no sign-out form", role)
		}
	}
}
