package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

func TestHomePage(t *testing.T) {
	e := newTestEnv(t)
	t.Run("admin gets first steps and the status card", func(t *testing.T) {
		p := signedIn(t, e, auth.RoleAdmin).get("/")
		for _, want := range []string{`href="/users/new"`, `href="/tokens"`, `href="/audit"`, "This installation", "SQLite", "test", "admin1"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("home lacks %q", want)
			}
		}
		if strings.Contains(strings.ToLower(p.body), "coming soon") {
			t.Error("home links to something not built")
		}
	})
	t.Run("viewer gets only what a viewer can do", func(t *testing.T) {
		p := signedIn(t, e, auth.RoleViewer).get("/")
		if !strings.Contains(p.body, "Create an API token") || strings.Contains(p.body, `href="/users/new"`) || strings.Contains(p.body, "This installation") {
			t.Error("viewer's home offers the wrong steps")
		}
	})
	t.Run("requester's home is not empty", func(t *testing.T) {
		p := signedIn(t, e, auth.RoleRequester).get("/")
		if !strings.Contains(p.body, "Change your password") {
			t.Error("requester's home has nothing to do")
		}
	})
}

func TestUsersListFilterAndSort(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleAdmin)
	p := b.get("/users")
	for _, u := range e.users {
		if !strings.Contains(p.body, ">"+u.Username+"</a>") {
			t.Errorf("list lacks %s", u.Username)
		}
	}
	p = b.get("/users?role=viewer")
	if !strings.Contains(p.body, ">viewer1</a>") || strings.Contains(p.body, ">admin1</a>") {
		t.Error("role filter does not filter")
	}
	p = b.get("/users?q=OPERATOR")
	if !strings.Contains(p.body, ">operator1</a>") || strings.Contains(p.body, ">viewer1</a>") {
		t.Error("search is not case-insensitive over username")
	}
	p = b.get("/users?q=nobody-at-all")
	if !strings.Contains(p.body, "No user matches these filters.") {
		t.Error("no empty-state text for a filter without matches")
	}
	p = b.get("/users?sort=-username")
	if strings.Index(p.body, ">viewer1</a>") > strings.Index(p.body, ">admin1</a>") {
		t.Error("descending sort not applied")
	}
	if !strings.Contains(p.body, `aria-sort="descending"`) {
		t.Error("sorted column not marked with aria-sort")
	}
	p = b.get("/users?role=superuser")
	if p.status != http.StatusBadRequest || p.fieldError("role") == "" {
		t.Errorf("bad role filter: status %d, error %q", p.status, p.fieldError("role"))
	}
}

func TestCreateUser(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleAdmin)
	if p := b.get("/users/new"); p.status != http.StatusOK {
		t.Fatalf("form: status %d", p.status)
	}
	t.Run("generated password is shown once and must be changed", func(t *testing.T) {
		p := b.post("/users/new", url.Values{"username": {"alice"}, "name": {"Alice A"}, "email": {"alice@example.com"}, "role": {"operator"}})
		if p.status != http.StatusCreated {
			t.Fatalf("status %d: %s", p.status, p.body)
		}
		m := regexp.MustCompile(`id="temp-password" class="mono" type="text" value="([a-z0-9]+)"`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatal("no generated password on the page")
		}
		nb := newBrowser(t, e)
		nb.get("/login")
		if lp := nb.post("/login", url.Values{"username": {"alice"}, "password": {m[1]}}); lp.location() != "/account/password" {
			t.Fatalf("new user's first sign-in: location %q", lp.location())
		}
	})
	t.Run("own password, redirect to the list", func(t *testing.T) {
		p := b.post("/users/new", url.Values{"username": {"bob"}, "role": {"viewer"}, "password": {"bob's long password"}})
		if p.status != http.StatusSeeOther || p.location() != "/users?notice=user-created" {
			t.Fatalf("status %d location %q", p.status, p.location())
		}
	})
	t.Run("every mistake at once, nothing written", func(t *testing.T) {
		n, _ := e.auth.CountUsers(t.Context())
		p := b.post("/users/new", url.Values{"username": {"Bad Name"}, "email": {"not-an-email"}, "role": {"root"}, "password": {"short"}})
		if p.status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", p.status)
		}
		for _, f := range []string{"username", "email", "role", "password"} {
			if p.fieldError(f) == "" {
				t.Errorf("no error beside %s", f)
			}
		}
		if m, _ := e.auth.CountUsers(t.Context()); m != n {
			t.Fatal("a refused form created a user")
		}
	})
	t.Run("taken username", func(t *testing.T) {
		p := b.post("/users/new", url.Values{"username": {"viewer1"}, "role": {"viewer"}, "password": {"a long password"}})
		if p.fieldError("username") != "Username is already taken." {
			t.Fatalf("error %q", p.fieldError("username"))
		}
	})
}

func TestEditUser(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleAdmin)
	v := e.users[auth.RoleViewer]
	path := fmt.Sprintf("/users/%d", v.ID)
	if p := b.get(path); p.status != http.StatusOK || !strings.Contains(p.body, `value="Test viewer"`) {
		t.Fatalf("edit page: status %d", p.status)
	}
	p := b.post(path, url.Values{"name": {"Vera Viewer"}, "email": {"vera@example.com"}, "role": {"operator"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: status %d: %s", p.status, p.body)
	}
	u, _ := e.auth.GetUser(t.Context(), v.ID)
	if u.Name != "Vera Viewer" || u.Role != auth.RoleOperator || u.Disabled {
		t.Fatalf("saved %+v", u)
	}
	// The last admin cannot demote or disable themselves; the page says why
	// beside the field that caused it.
	a := e.users[auth.RoleAdmin]
	apath := fmt.Sprintf("/users/%d", a.ID)
	p = b.post(apath, url.Values{"name": {a.Name}, "role": {"viewer"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.fieldError("role"), "last enabled admin") {
		t.Fatalf("demote last admin: status %d, error %q", p.status, p.fieldError("role"))
	}
	p = b.post(apath, url.Values{"name": {a.Name}, "role": {"admin"}, "disabled": {"1"}})
	if !strings.Contains(p.fieldError("disabled"), "last enabled admin") {
		t.Fatalf("disable last admin: error %q", p.fieldError("disabled"))
	}
	for _, bad := range []string{"/users/0", "/users/abc", "/users/99999"} {
		if p := b.get(bad); p.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", bad, p.status)
		}
	}
}

func TestAdminSetsTemporaryPassword(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleAdmin)
	op := e.users[auth.RoleOperator]
	victim := signedIn(t, e, auth.RoleOperator)
	path := fmt.Sprintf("/users/%d/password", op.ID)
	p := b.post(path, url.Values{"password": {"short"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("password") == "" {
		t.Fatalf("short: status %d", p.status)
	}
	p = b.post(path, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="temp-password"`) {
		t.Fatalf("generate: status %d", p.status)
	}
	u, _ := e.auth.GetUser(t.Context(), op.ID)
	if !u.MustChangePassword {
		t.Error("temporary password not marked for change")
	}
	// The user's existing session ended.
	if p := victim.get("/tokens"); p.status != http.StatusUnauthorized {
		t.Errorf("old session after reset: status %d, want 401", p.status)
	}
}

func TestTokensPage(t *testing.T) {
	e := newTestEnv(t)
	viewer := signedIn(t, e, auth.RoleViewer)
	p := viewer.get("/tokens")
	if strings.Contains(p.body, `<option value="admin"`) || strings.Contains(p.body, `<option value="operator"`) {
		t.Error("viewer offered roles above their own")
	}
	if strings.Contains(p.body, "test admin") {
		t.Error("viewer sees another user's token")
	}
	p = viewer.post("/tokens", url.Values{"name": {"ci job"}, "role": {"admin"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.fieldError("role"), "more rights than you") {
		t.Fatalf("escalation: status %d, error %q", p.status, p.fieldError("role"))
	}
	p = viewer.post("/tokens", url.Values{"name": {"ci job"}, "role": {"viewer"}, "expires_at": {"2001-01-01"}})
	if p.fieldError("expires_at") == "" {
		t.Fatal("past expiry accepted")
	}
	p = viewer.post("/tokens", url.Values{"name": {"ci job"}, "role": {"viewer"}, "expires_at": {time.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02")}})
	if p.status != http.StatusCreated {
		t.Fatalf("create: status %d: %s", p.status, p.body)
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Error("the page with the secret may be cached")
	}
	m := regexp.MustCompile(`id="token-secret" class="mono" type="text" value="(odk_[a-z0-9]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no secret on the page")
	}
	req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+m[1])
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `"token:ci job"`) {
		t.Fatalf("new token: status %d: %s", resp.StatusCode, body)
	}
	resp.Body.Close()

	ts, _ := e.auth.ListTokens(t.Context(), e.users[auth.RoleViewer].ID)
	var id int64
	for _, tk := range ts {
		if tk.Name == "ci job" {
			id = tk.ID
		}
	}
	// Someone else's token is "not found" to a non-admin.
	op := signedIn(t, e, auth.RoleOperator)
	if p := op.post(fmt.Sprintf("/tokens/%d/revoke", id), nil); p.status != http.StatusNotFound {
		t.Fatalf("operator revoking viewer's token: status %d, want 404", p.status)
	}
	p = viewer.post(fmt.Sprintf("/tokens/%d/revoke", id), nil)
	if p.status != http.StatusSeeOther || p.location() != "/tokens?notice=token-revoked" {
		t.Fatalf("revoke: status %d location %q", p.status, p.location())
	}
	// Twice is fine (a double click).
	if p := viewer.post(fmt.Sprintf("/tokens/%d/revoke", id), nil); p.status != http.StatusSeeOther {
		t.Fatalf("second revoke: status %d", p.status)
	}
	p = viewer.get("/tokens?notice=token-revoked")
	if !strings.Contains(p.body, "Revoked") || !strings.Contains(p.body, "The token was revoked") {
		t.Error("revoked token not shown as revoked")
	}
	// The admin list shows owners.
	admin := signedIn(t, e, auth.RoleAdmin)
	if p := admin.get("/tokens"); !strings.Contains(p.body, ">Owner<") || !strings.Contains(p.body, "viewer1") {
		t.Error("admin list without owners")
	}
}

func TestAuditPage(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleAdmin)
	p := b.get("/audit")
	for _, want := range []string{"user.create", "session.login", "admin1"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	p = b.get("/audit?action=token.")
	if strings.Contains(p.body, "<code>user.create</code>") || !strings.Contains(p.body, "<code>token.create</code>") {
		t.Error("action prefix filter not applied")
	}
	p = b.get("/audit?actor=nobody")
	if !strings.Contains(p.body, "No entry matches these filters.") {
		t.Error("no empty state")
	}
	p = b.get("/audit?since=yesterday")
	if p.status != http.StatusBadRequest || p.fieldError("since") == "" {
		t.Fatalf("bad since: status %d, error %q", p.status, p.fieldError("since"))
	}
	today := time.Now().UTC().Format("2006-01-02")
	if p := b.get("/audit?until=" + today); !strings.Contains(p.body, "<code>user.create</code>") {
		t.Error("until is not inclusive of its day")
	}
	// Paging: a page of 2 links to older entries with the filters kept.
	p = b.get("/audit?limit=2&action=user.")
	m := regexp.MustCompile(`href="(/audit\?[^"]*cursor=[^"]*)" rel="next"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no Older link")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(next, "action=user.") {
		t.Errorf("Older link drops the filter: %s", next)
	}
	p2 := b.get(next)
	if p2.status != http.StatusOK || !strings.Contains(p2.body, "Newest") {
		t.Fatalf("older page: status %d", p2.status)
	}
	if p := b.get("/audit?cursor=bogus"); p.status != http.StatusBadRequest {
		t.Errorf("bad cursor: status %d", p.status)
	}
}

func TestStaticAssets(t *testing.T) {
	e := newTestEnv(t)
	b := newBrowser(t, e)
	p := b.get("/login")
	m := regexp.MustCompile(`href="(/static/[0-9a-f]+/app\.css)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no hashed stylesheet link")
	}
	css := b.get(m[1])
	if css.status != http.StatusOK || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: status %d type %q", css.status, css.header.Get("Content-Type"))
	}
	if !strings.Contains(css.header.Get("Cache-Control"), "immutable") {
		t.Errorf("hashed asset Cache-Control %q", css.header.Get("Cache-Control"))
	}
	if old := b.get("/static/000000000000/app.css"); old.status != http.StatusOK || old.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("old hash: status %d, Cache-Control %q", old.status, old.header.Get("Cache-Control"))
	}
	if p := b.get("/static/x/nothing.js"); p.status != http.StatusNotFound {
		t.Errorf("unknown file: status %d", p.status)
	}
	// No page may load anything from elsewhere, nor need inline code.
	for _, bad := range []string{"http://", "https://", " style=", "<style", "onclick=", "<script>"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("login page contains %q", bad)
		}
	}
}

func TestNotFoundPage(t *testing.T) {
	e := newTestEnv(t)
	if p := newBrowser(t, e).get("/no/such/page"); p.status != http.StatusNotFound || strings.Contains(p.body, `aria-label="Main"`) {
		t.Errorf("anonymous 404: status %d", p.status)
	}
	p := signedIn(t, e, auth.RoleAdmin).get("/no/such/page")
	if p.status != http.StatusNotFound || !strings.Contains(p.body, `aria-label="Main"`) || !strings.Contains(p.body, "There is no page at this address.") {
		t.Errorf("signed-in 404: status %d or no navigation", p.status)
	}
}

func TestRelTime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Second, "just now"},
		{time.Minute, "1 minute ago"},
		{5 * time.Minute, "5 minutes ago"},
		{3 * time.Hour, "3 hours ago"},
		{30 * time.Hour, "1 day ago"},
		{5 * 24 * time.Hour, "5 days ago"},
		{-2 * time.Hour, "in 2 hours"},
		{400 * 24 * time.Hour, "2025-01-25"},
	} {
		if got := relTimeFrom(now.Add(-tc.d), now); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.d, got, tc.want)
		}
	}
}
