package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

type errBody struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

func decodeErr(t *testing.T, resp *http.Response) errBody {
	t.Helper()
	var b errBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatalf("error body is not the API error shape: %v", err)
	}
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("error body lacks code or message: %+v", b)
	}
	return b
}

func TestMeDescribesTheCaller(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		resp := e.do("GET", "/api/v1/me", auth.RoleOperator, "")
		var me meResponse
		if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d err %v", resp.StatusCode, err)
		}
		if me.Role != auth.RoleOperator || me.Kind != auth.ActorToken || me.UserID != e.users[auth.RoleOperator].ID {
			t.Fatalf("me = %+v", me)
		}
	})
}

// TestCreateUserRejectsBadInput sends malformed, mistyped, oversize and
// hostile bodies: each gets a 4xx naming the field where there is one, and
// no user is written.
func TestCreateUserRejectsBadInput(t *testing.T) {
	e := newTestEnv(t)
	big := `{"username":"` + strings.Repeat("a", 2<<20) + `"}`
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"malformed", `{"username": "x",`, 400, ""},
		{"not an object", `[1,2,3]`, 400, ""},
		{"empty", ``, 400, ""},
		{"two objects", `{"username":"a1","role":"viewer","password":"long enough pw"}{}`, 400, ""},
		{"wrong type", `{"username": 12, "role": "viewer", "password": "long enough pw"}`, 400, "username"},
		{"unknown field", `{"username":"a2","role":"viewer","password":"long enough pw","is_admin":true}`, 400, "is_admin"},
		{"bad role", `{"username":"a3","role":"root","password":"long enough pw"}`, 422, "role"},
		{"short password", `{"username":"a4","role":"viewer","password":"short"}`, 422, "password"},
		{"script username", `{"username":"<script>alert(1)</script>","role":"viewer","password":"long enough pw"}`, 422, "username"},
		{"NUL in name", `{"username":"a5","name":"a\u0000b","role":"viewer","password":"long enough pw"}`, 422, "name"},
		{"bad email", `{"username":"a6","email":"not-an-address","role":"viewer","password":"long enough pw"}`, 422, "email"},
		{"duplicate", `{"username":"admin1","role":"viewer","password":"long enough pw"}`, 422, "username"},
		{"oversize", big, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", "/api/v1/users", auth.RoleAdmin, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, readBody(t, resp))
			}
			if b := decodeErr(t, resp); b.Error.Field != tc.field {
				t.Fatalf("field %q, want %q (%s)", b.Error.Field, tc.field, b.Error.Message)
			}
		})
	}
	us, err := e.auth.ListUsers(context.Background())
	if err != nil || len(us) != len(auth.AllRoles()) {
		t.Fatalf("users after bad input: %d, %v; want only the %d seeded", len(us), err, len(auth.AllRoles()))
	}
}

func TestUserLifecycleThroughAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		resp := e.do("POST", "/api/v1/users", auth.RoleAdmin, `{"username":"carol","name":"Carol","email":"carol@example.com","role":"operator","password":"a long password"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
		}
		var u auth.User
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil || u.ID == 0 || u.Role != auth.RoleOperator {
			t.Fatalf("created %+v %v", u, err)
		}
		if strings.Contains(resp.Header.Get("Location"), "/api/v1/users/") == false {
			t.Fatalf("no Location header")
		}
		resp = e.do("PATCH", "/api/v1/users/"+itoa(u.ID), auth.RoleAdmin, `{"role":"viewer","disabled":true}`)
		if resp.StatusCode != 200 {
			t.Fatalf("update: %d %s", resp.StatusCode, readBody(t, resp))
		}
		// The last enabled admin cannot demote itself.
		resp = e.do("PATCH", "/api/v1/users/"+itoa(e.users[auth.RoleAdmin].ID), auth.RoleAdmin, `{"role":"viewer"}`)
		if resp.StatusCode != http.StatusConflict || decodeErr(t, resp).Error.Code != "last_admin" {
			t.Fatalf("demote last admin: %d", resp.StatusCode)
		}
		if resp := e.do("GET", "/api/v1/users/424242", auth.RoleAdmin, ""); resp.StatusCode != 404 {
			t.Fatalf("missing user: %d", resp.StatusCode)
		}
		if resp := e.do("GET", "/api/v1/users/abc", auth.RoleAdmin, ""); resp.StatusCode != 422 || decodeErr(t, resp).Error.Field != "id" {
			t.Fatalf("bad id: %d", resp.StatusCode)
		}
		// Every change above is in the audit log, attributed to the token.
		resp = e.do("GET", "/api/v1/audit?action=user.&limit=100", auth.RoleAdmin, "")
		var pg page[auth.AuditEntry]
		if err := json.NewDecoder(resp.Body).Decode(&pg); err != nil {
			t.Fatal(err)
		}
		var sawCreate, sawUpdate bool
		for _, a := range pg.Data {
			if a.TargetID == itoa(u.ID) && a.Action == "user.create" && a.ActorName == "token:test admin" && a.Via == auth.ViaAPI {
				sawCreate = true
			}
			if a.TargetID == itoa(u.ID) && a.Action == "user.update" && strings.Contains(a.Detail, "disabled") {
				sawUpdate = true
			}
		}
		if !sawCreate || !sawUpdate {
			t.Fatalf("audit lacks create/update of user %d: %+v", u.ID, pg.Data)
		}
	})
}

func TestTokensThroughAPI(t *testing.T) {
	e := newTestEnv(t)
	resp := e.do("POST", "/api/v1/tokens", auth.RoleViewer, `{"name":"ci","role":"admin"}`)
	if resp.StatusCode != 422 || decodeErr(t, resp).Error.Field != "role" {
		t.Fatalf("viewer minting admin token: %d", resp.StatusCode)
	}
	resp = e.do("POST", "/api/v1/tokens", auth.RoleOperator, `{"name":"ci","role":"viewer","expires_at":"2999-01-01T00:00:00Z"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var ct createdToken
	if err := json.NewDecoder(resp.Body).Decode(&ct); err != nil || !strings.HasPrefix(ct.Secret, auth.TokenPrefix) {
		t.Fatalf("created %+v %v", ct, err)
	}
	// The new token works, and lists without its secret.
	e.tokens["new"] = ct.Secret
	if resp := e.do("GET", "/api/v1/me", "new", ""); resp.StatusCode != 200 {
		t.Fatalf("new token: %d", resp.StatusCode)
	}
	if body := readBody(t, e.do("GET", "/api/v1/tokens", auth.RoleOperator, "")); strings.Contains(body, ct.Secret) || !strings.Contains(body, `"name":"ci"`) {
		t.Fatalf("token list: %s", body)
	}
	// Someone else's token is not found for a non-admin.
	if resp := e.do("DELETE", "/api/v1/tokens/"+itoa(ct.ID), auth.RoleViewer, ""); resp.StatusCode != 404 {
		t.Fatalf("viewer revoking operator's token: %d", resp.StatusCode)
	}
	if resp := e.do("GET", "/api/v1/tokens?all=1", auth.RoleOperator, ""); resp.StatusCode != 403 {
		t.Fatalf("operator listing all: %d", resp.StatusCode)
	}
	if resp := e.do("DELETE", "/api/v1/tokens/"+itoa(ct.ID), auth.RoleOperator, ""); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp := e.do("GET", "/api/v1/me", "new", ""); resp.StatusCode != 401 {
		t.Fatalf("revoked token: %d", resp.StatusCode)
	}
	if resp := e.do("POST", "/api/v1/tokens", auth.RoleOperator, `{"name":"old","role":"viewer","expires_at":"2001-01-01T00:00:00Z"}`); resp.StatusCode != 422 || decodeErr(t, resp).Error.Field != "expires_at" {
		t.Fatalf("expired on creation: %d", resp.StatusCode)
	}
	if resp := e.do("POST", "/api/v1/tokens", auth.RoleOperator, `{"name":"x","expires_at":"next tuesday"}`); resp.StatusCode != 400 {
		t.Fatalf("bad time: %d", resp.StatusCode)
	}
}

func TestAuditQueryValidation(t *testing.T) {
	e := newTestEnv(t)
	for q, field := range map[string]string{
		"cursor=zzz":      "cursor",
		"limit=0":         "limit",
		"limit=100000":    "limit",
		"since=yesterday": "since",
		"actor=%00":       "actor",
	} {
		resp := e.do("GET", "/api/v1/audit?"+q, auth.RoleAdmin, "")
		if resp.StatusCode != 422 || decodeErr(t, resp).Error.Field != field {
			t.Errorf("%s: status %d, want 422 naming %s", q, resp.StatusCode, field)
		}
	}
	// Paging walks every entry once.
	seen := map[int64]bool{}
	cursor := ""
	for range 100 {
		resp := e.do("GET", "/api/v1/audit?limit=3&cursor="+cursor, auth.RoleAdmin, "")
		var pg page[auth.AuditEntry]
		if err := json.NewDecoder(resp.Body).Decode(&pg); err != nil {
			t.Fatal(err)
		}
		for _, a := range pg.Data {
			if seen[a.ID] {
				t.Fatalf("entry %d twice", a.ID)
			}
			seen[a.ID] = true
		}
		if cursor = pg.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) < 8 { // 4 users + 4 tokens seeded
		t.Fatalf("paged through %d entries, want at least 8", len(seen))
	}
}

func TestUnknownPathsAnd404Shape(t *testing.T) {
	e := newTestEnv(t)
	resp := e.do("GET", "/api/v1/nothing-here", auth.RoleAdmin, "")
	if resp.StatusCode != 404 || decodeErr(t, resp).Error.Code != "not_found" {
		t.Fatalf("unknown API path: %d", resp.StatusCode)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newTestEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp := e.do("GET", p, auth.RoleNone, ""); resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	// Metrics need a role, and then count requests by route pattern.
	body := readBody(t, e.do("GET", "/metrics", auth.RoleViewer, ""))
	if !strings.Contains(body, `opsdeck_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`) ||
		!strings.Contains(body, "go_goroutines") || !strings.Contains(body, "opsdeck_http_request_duration_seconds_bucket") {
		t.Fatalf("metrics lack request counts or runtime metrics:\n%.2000s", body)
	}
	// Readiness fails once the database is gone.
	e.db.Close()
	if resp := e.do("GET", "/readyz", auth.RoleNone, ""); resp.StatusCode != 503 {
		t.Fatalf("readyz with closed database: %d", resp.StatusCode)
	}
}

func itoa(n int64) string { return strconvFormat(n) }
