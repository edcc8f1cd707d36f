package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// hostileValues are what an attacker, a broken client or a paste from the
// wrong window puts in a form field.
var hostileValues = map[string]string{
	"script":       `<script>alert(1)</script>`,
	"attribute":    `"><img src=x onerror=alert(1)>`,
	"10KB":         strings.Repeat("x", 10<<10),
	"NUL":          "a\x00b",
	"invalid UTF8": "\xff\xfe\xfd",
	"newline":      "line1\r\nline2",
}

// rawHostile are fragments that must never reach a page unescaped.
var rawHostile = []string{"<script>alert(1)</script>", "<img src=x onerror", "\x00", "\xff\xfe"}

// checkPage fails when a page is a server error or carries hostile input
// unescaped.
func checkPage(t *testing.T, what string, p loaded) {
	t.Helper()
	if p.status >= 500 {
		t.Fatalf("%s: status %d: %s", what, p.status, p.body)
	}
	for _, raw := range rawHostile {
		if strings.Contains(p.body, raw) {
			t.Fatalf("%s: page contains %q unescaped", what, raw)
		}
	}
}

// checkRefused fails unless a refused form says why beside one of fields.
func checkRefused(t *testing.T, what string, p loaded, fields ...string) {
	t.Helper()
	if p.status != http.StatusUnprocessableEntity {
		return
	}
	for _, f := range fields {
		if p.fieldError(f) != "" {
			return
		}
	}
	t.Fatalf("%s: refused without an error beside %v", what, fields)
}

func TestHostileFormInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		admin := signedIn(t, e, auth.RoleAdmin)
		ctx := t.Context()
		i := 0
		for name, bad := range hostileValues {
			t.Run(name, func(t *testing.T) {
				i++
				t.Run("create user", func(t *testing.T) {
					for _, field := range []string{"username", "name", "email", "role", "password"} {
						username := fmt.Sprintf("h%d%s", i, field)
						form := url.Values{"username": {username}, "name": {"N"}, "email": {"n@example.com"}, "role": {"viewer"}, "password": {"a long password"}}
						form.Set(field, bad)
						p := admin.post("/users/new", form)
						what := "create user, " + field
						checkPage(t, what, p)
						checkRefused(t, what, p, field)
						_, err := e.auth.GetUserByName(ctx, username)
						switch p.status {
						case http.StatusCreated, http.StatusSeeOther:
							if err != nil {
								t.Fatalf("%s: answered %d but no user: %v", what, p.status, err)
							}
						case http.StatusUnprocessableEntity:
							if err == nil {
								t.Fatalf("%s: refused but the user was written", what)
							}
						default:
							t.Fatalf("%s: status %d", what, p.status)
						}
					}
				})
				t.Run("edit user", func(t *testing.T) {
					v := e.users[auth.RoleViewer]
					before, _ := e.auth.GetUser(ctx, v.ID)
					for _, field := range []string{"name", "email", "role", "disabled"} {
						form := url.Values{"name": {before.Name}, "email": {before.Email}, "role": {string(before.Role)}}
						form.Set(field, bad)
						p := admin.post(fmt.Sprintf("/users/%d", v.ID), form)
						what := "edit user, " + field
						checkPage(t, what, p)
						checkRefused(t, what, p, field)
						if p.status == http.StatusUnprocessableEntity {
							if after, _ := e.auth.GetUser(ctx, v.ID); after.Name != before.Name || after.Email != before.Email || after.Role != before.Role {
								t.Fatalf("%s: refused but changed: %+v", what, after)
							}
						}
						// Put things back for the next field.
						if _, err := e.auth.UpdateUser(ctx, v.ID, auth.UserUpdate{Name: &before.Name, Email: &before.Email, Role: &before.Role, Disabled: &before.Disabled}); err != nil {
							t.Fatal(err)
						}
					}
				})
				t.Run("set user password", func(t *testing.T) {
					u := e.users[auth.RoleRequester]
					p := admin.post(fmt.Sprintf("/users/%d/password", u.ID), url.Values{"password": {bad}})
					checkPage(t, "set password", p)
					checkRefused(t, "set password", p, "password")
				})
				t.Run("create token", func(t *testing.T) {
					for _, field := range []string{"name", "role", "expires_at"} {
						before, _ := e.auth.ListTokens(ctx, 0)
						form := url.Values{"name": {"tok"}, "role": {"viewer"}}
						form.Set(field, bad)
						p := admin.post("/tokens", form)
						what := "create token, " + field
						checkPage(t, what, p)
						checkRefused(t, what, p, field)
						after, _ := e.auth.ListTokens(ctx, 0)
						if p.status == http.StatusUnprocessableEntity && len(after) != len(before) {
							t.Fatalf("%s: refused but a token was written", what)
						}
						if p.status == http.StatusCreated {
							// The one accepted hostile name must show escaped in the list.
							checkPage(t, what+", list", admin.get("/tokens"))
						}
					}
				})
				t.Run("change own password", func(t *testing.T) {
					b := signedIn(t, e, auth.RoleOperator)
					for _, field := range []string{"current_password", "new_password", "confirm_password"} {
						form := url.Values{"current_password": {"wrong password!"}, "new_password": {"fine new password"}, "confirm_password": {"fine new password"}}
						form.Set(field, bad)
						p := b.post("/account/password", form)
						what := "change password, " + field
						checkPage(t, what, p)
						if p.status != http.StatusUnprocessableEntity {
							t.Fatalf("%s: status %d, want 422", what, p.status)
						}
						checkRefused(t, what, p, "current_password", "new_password", "confirm_password")
					}
				})
				t.Run("login", func(t *testing.T) {
					for _, field := range []string{"username", "password", "next"} {
						b := newBrowser(t, e)
						b.get("/login")
						form := url.Values{"username": {"nobody-" + field}, "password": {"x"}}
						form.Set(field, bad)
						p := b.post("/login", form)
						what := "login, " + field
						checkPage(t, what, p)
						checkRefused(t, what, p, "username", "password")
						if p.status == http.StatusSeeOther {
							t.Fatalf("%s: signed in", what)
						}
					}
				})
				t.Run("list filters", func(t *testing.T) {
					for _, path := range []string{"/users?q=", "/users?role=", "/users?status=", "/users?sort=", "/audit?actor=", "/audit?action=", "/audit?since=", "/audit?until=", "/audit?cursor=", "/login?next="} {
						p := admin.get(path + url.QueryEscape(bad))
						checkPage(t, path, p)
					}
				})
			})
		}
		// The hostile names that were accepted are shown escaped everywhere.
		for _, path := range []string{"/users", "/tokens", "/audit", "/"} {
			checkPage(t, path, admin.get(path))
		}
	})
}
