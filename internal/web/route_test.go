package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestEveryRouteRefusesAnonymousAndLowerRoles walks the whole route table:
// each route that needs a role answers 401 to an anonymous caller and 403 to
// every role below the one it declares, and lets its own role through.
func TestEveryRouteRefusesAnonymousAndLowerRoles(t *testing.T) {
	e := newTestEnv(t)
	open := map[string]bool{}
	for _, rt := range e.srv.Routes() {
		path := strings.NewReplacer("{id}", "999999", "{key}", "x", "{path...}", "x", "{$}", "").Replace(rt.Path)
		name := rt.Method + " " + rt.Path
		if rt.Role == auth.RoleNone {
			open[name] = true
			continue
		}
		t.Run(name, func(t *testing.T) {
			if resp := e.do(rt.Method, path, auth.RoleNone, ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous: status %d, want 401", resp.StatusCode)
			}
			for _, role := range auth.AllRoles() {
				resp := e.do(rt.Method, path, role, "")
				switch {
				case !role.Allows(rt.Role) && resp.StatusCode != http.StatusForbidden:
					t.Errorf("role %s below %s: status %d, want 403", role, rt.Role, resp.StatusCode)
				case role.Allows(rt.Role) && resp.StatusCode == http.StatusUnauthorized:
					t.Errorf("role %s holds %s: status 401", role, rt.Role)
				case role.Allows(rt.Role) && resp.StatusCode == http.StatusForbidden:
					// A handler may refuse for its own reasons (a token cannot
					// change a password), but never by role to a caller who holds it.
					if body := readBody(t, resp); strings.Contains(body, "needs the") {
						t.Errorf("role %s holds %s: refused by role: %s", role, rt.Role, body)
					}
				}
			}
		})
	}
	// The open routes are exactly the ones the security model allows:
	// health, login, static assets, heartbeat pings (guarded by their
	// secret key) and public status pages (each refuses a page that is not
	// public). Anything new here needs a reason.
	allowed := []string{"GET /healthz", "GET /readyz", "GET /login", "POST /login", "GET /static/", "GET /ping/", "POST /ping/", "GET /status/",
		// Alert intake: each request carries an integration's secret key
		// (path or PagerDuty routing_key); signed, expiring action links
		// carry an HMAC over incident, action and expiry.
		"POST /hooks/alertmanager/", "POST /v2/enqueue", "POST /hooks/generic/", "GET /incident-action/", "POST /incident-action/",
		// Backup check-ins: each carries its job's secret key (stored
		// hashed); unknown keys get 404 and are counted.
		"GET /backup/ping/", "POST /backup/ping/",
		// Host agents: enrollment carries a one-time enrollment token,
		// reports carry the agent's credential (both checked, hashed).
		"POST /api/v1/agent/enroll", "POST /api/v1/agent/report",
		// Ticket rating links from mail carry an HMAC over ticket and expiry.
		"GET /rate/", "POST /rate/",
		// The second sign-in step: it needs the one-time challenge that only
		// a correct password yields, and the pre-session CSRF token.
		"POST /login/2fa"}
	for name := range open {
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(name, a) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("route %s is open to anonymous callers but not on the allowed list", name)
		}
	}
}

func TestBearerHeaderForms(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"valid", "Bearer " + e.tokens[auth.RoleViewer], 200},
		{"lower-case scheme", "bearer " + e.tokens[auth.RoleViewer], 200},
		{"unknown token", "Bearer odk_nothere", 401},
		{"basic scheme", "Basic YWRtaW46YWRtaW4=", 401},
		{"empty bearer", "Bearer ", 401},
		{"garbage", "odk_\u00e9\u00e9", 401},
		{"huge", "Bearer odk_" + strings.Repeat("a", 10000), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/me", nil)
			req.Header.Set("Authorization", tc.header)
			resp, err := e.http.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
