package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/security"
)

func TestSecurityPagesAndAPI(t *testing.T) {
	e := newTestEnv(t)
	sec := e.srv.opts.Security
	ctx := context.Background()
	if err := sec.Sync(ctx, security.SourceAgentUpdates, "ci:1", []security.Signal{
		{Key: "openssl", Title: "openssl 3.0.15 <script>alert(1)</script>", Severity: security.SeverityCritical, Evidence: map[string]any{"version": "3.0.15"}},
		{Key: "zlib", Title: "zlib", Severity: security.SeverityLow},
	}); err != nil {
		t.Fatal(err)
	}
	viewer := signedIn(t, e, auth.RoleViewer)
	p := viewer.get("/security")
	if p.status != http.StatusOK || !strings.Contains(p.body, "2 open findings") || !strings.Contains(p.body, "<svg") {
		t.Fatalf("posture: %d %s", p.status, p.body)
	}
	p = viewer.get("/security/findings?status=open&severity=high")
	if p.status != http.StatusOK || !strings.Contains(p.body, "&lt;script&gt;") || strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, ">zlib<") {
		t.Fatalf("findings list: %d %s", p.status, p.body)
	}
	id := regexp.MustCompile(`/security/findings/(\d+)`).FindStringSubmatch(p.body)[1]
	if p = viewer.get("/security/findings/" + id); p.status != http.StatusOK || strings.Contains(p.body, "Accept the risk") {
		t.Fatalf("viewer sees the finding without actions: %d", p.status)
	}
	op := signedIn(t, e, auth.RoleOperator)
	op.get("/security/findings/" + id)
	if p = op.post("/security/findings/"+id+"/accept", url.Values{"reason": {""}, "until": {"2099-01-01"}}); p.status != http.StatusUnprocessableEntity || p.fieldError("reason") == "" {
		t.Fatalf("accept without reason: %d %q", p.status, p.fieldError("reason"))
	}
	if p = op.post("/security/findings/"+id+"/accept", url.Values{"reason": {"vendor fix due"}, "until": {"not a date"}}); p.fieldError("until") == "" {
		t.Fatalf("accept with a bad date: %d", p.status)
	}
	until := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	if p = op.post("/security/findings/"+id+"/accept", url.Values{"reason": {"vendor fix due"}, "until": {until}}); p.status != http.StatusSeeOther {
		t.Fatalf("accept: %d %s", p.status, p.body)
	}
	resp := e.do("GET", "/api/v1/security/findings/"+id, auth.RoleViewer, "")
	var f security.Finding
	decodeInto(t, resp, &f)
	if f.Status != security.StatusAccepted || f.AcceptedBy != e.users[auth.RoleOperator].Username {
		t.Fatalf("accepted finding = %+v", f)
	}
	resp = e.do("GET", "/api/v1/security/posture", auth.RoleViewer, "")
	var pos security.Posture
	decodeInto(t, resp, &pos)
	if pos.OpenAll != 1 || pos.Accepted != 1 || pos.OldestPatch == nil {
		t.Fatalf("posture = %+v", pos)
	}

	// Hostile input on every new endpoint.
	for _, c := range []struct {
		method, path string
		role         auth.Role
		body         string
		want         int
	}{
		{"GET", "/api/v1/security/findings?status=%00", auth.RoleViewer, "", 422},
		{"GET", "/api/v1/security/findings?severity=apocalyptic", auth.RoleViewer, "", 422},
		{"GET", "/api/v1/security/findings?ci=-1", auth.RoleViewer, "", 422},
		{"GET", "/api/v1/security/findings?offset=99999999999", auth.RoleViewer, "", 422},
		{"GET", "/api/v1/security/findings?source=" + strings.Repeat("x", 500), auth.RoleViewer, "", 422},
		{"GET", "/api/v1/security/findings/abc", auth.RoleViewer, "", 422},
		{"GET", "/api/v1/security/findings/99999", auth.RoleViewer, "", 404},
		{"GET", "/api/v1/security/posture?ci=x", auth.RoleViewer, "", 422},
		{"POST", "/api/v1/security/findings/" + id + "/accept", auth.RoleOperator, `{"reason":"x","until":"yesterday"}`, 400},
		{"POST", "/api/v1/security/findings/" + id + "/accept", auth.RoleOperator, `{"reason":"x","until":"2000-01-01T00:00:00Z"}`, 422},
		{"POST", "/api/v1/security/findings/" + id + "/accept", auth.RoleOperator, `{"reason":"x","until":"2099-01-01T00:00:00Z","extra":1}`, 400},
		{"POST", "/api/v1/security/findings/99999/fix", auth.RoleOperator, ``, 404},
		{"POST", "/api/v1/security/signals", auth.RoleOperator, `{}`, 403},
		{"POST", "/api/v1/security/signals", auth.RoleAdmin, `{"source":"tls","scope":"monitor:1","signals":[]}`, 422},
		{"POST", "/api/v1/security/signals", auth.RoleAdmin, `{"source":"agent-updates","scope":"ci:1","signals":[]}`, 422},
		{"POST", "/api/v1/security/signals", auth.RoleAdmin, `{"source":"agent-software","scope":"ci:1","signals":[]}`, 422},
		{"POST", "/api/v1/security/signals", auth.RoleAdmin, `{"source":"scanner","scope":"net","signals":[{"key":"","title":"t","severity":"low"}]}`, 422},
		{"POST", "/api/v1/security/signals", auth.RoleAdmin, `{"source":"scanner","scope":"net","signals":[{"key":"k","title":"t","severity":"low","evidence":[1]}]}`, 400},
		{"POST", "/api/v1/security/signals", auth.RoleAdmin, `{"source":"scanner","scope":"net","signals":[{"key":"k","title":"\u0000","severity":"low"}]}`, 422},
		{"POST", "/api/v1/security/signals", auth.RoleAdmin, `{"source":"scanner","scope":"net","signals":[{"key":"port-23","title":"telnet open","severity":"medium","ci_id":0}]}`, 204},
		{"PUT", "/api/v1/security/policy", auth.RoleAdmin, `{"two_factor_roles":["god"],"min_password_len":12}`, 422},
		{"PUT", "/api/v1/security/policy", auth.RoleAdmin, `{"two_factor_roles":[],"min_password_len":100000}`, 422},
		{"DELETE", "/api/v1/users/99999/2fa", auth.RoleAdmin, ``, 404},
	} {
		resp := e.do(c.method, c.path, c.role, c.body)
		body := readBody(t, resp)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s %s: %d, want %d: %s", c.method, c.path, c.body, resp.StatusCode, c.want, body)
		}
	}
	big := `{"source":"scanner","scope":"net","signals":[` + strings.Repeat(`{"key":"k","title":"t","severity":"low"},`, 40000) + `{}]}`
	if resp := e.do("POST", "/api/v1/security/signals", auth.RoleAdmin, big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize signals: %d", resp.StatusCode)
	}
	for _, q := range []string{"?status=bogus", "?ci=%ff", "?offset=-5", "?severity=%3Cscript%3E"} {
		if p := viewer.get("/security/findings" + q); p.status != http.StatusUnprocessableEntity || strings.Contains(p.body, "<script>") {
			t.Errorf("findings page %s: %d", q, p.status)
		}
	}
	if p := viewer.get("/security?ci=abc"); p.status != http.StatusBadRequest {
		t.Errorf("posture with a bad ci: %d", p.status)
	}
	if p := viewer.get("/security/findings/999999"); p.status != http.StatusNotFound {
		t.Errorf("missing finding page: %d", p.status)
	}
}

func TestTwoFactorEnforcedAndHSTS(t *testing.T) {
	e := newTestEnv(t)
	ctx := auth.WithActor(context.Background(), auth.SystemActor())
	if _, err := e.auth.SetPolicy(ctx, auth.Policy{TwoFactorRoles: []auth.Role{auth.RoleViewer}, MinPasswordLen: 10, RefuseCommon: true}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	b.get("/login")
	p := b.post("/login", url.Values{"username": {e.users[auth.RoleViewer].Username}, "password": {testPassword}})
	if p.status != http.StatusSeeOther || p.location() != "/account/2fa" {
		t.Fatalf("sign-in of a viewer who must enrol: %d %q", p.status, p.location())
	}
	if p = b.get("/incidents"); p.status != http.StatusSeeOther || p.location() != "/account/2fa" {
		t.Fatalf("other page before enrolling: %d %q", p.status, p.location())
	}
	if p = b.get("/account/2fa"); p.status != http.StatusOK || !strings.Contains(p.body, "must use two-factor") {
		t.Fatalf("enrol page: %d", p.status)
	}
	if p = b.post("/account/2fa/confirm", url.Values{"code": {"123456"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("confirm before start: %d", p.status)
	}
	b.post("/account/2fa/start", nil)
	p = b.get("/account/2fa")
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no secret on the page: %s", p.body)
	}
	// Three wrong codes (with the one above, one under the limit of five).
	for _, bad := range []string{"abcdef", strings.Repeat("1", 100), "\x00"} {
		if p = b.post("/account/2fa/confirm", url.Values{"code": {bad}}); p.status != http.StatusUnprocessableEntity {
			t.Errorf("confirm %q: %d", bad, p.status)
		}
	}
	code, err := auth.TOTPCode(strings.ReplaceAll(m[1], " ", ""), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	before := b.c.Jar.Cookies(mustURL(t, e.http.URL))
	p = b.post("/account/2fa/confirm", url.Values{"code": {code}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="recovery-codes"`) || p.cookie(sessionCookie) == nil {
		t.Fatalf("confirm: %d, session cookie rotated: %v", p.status, p.cookie(sessionCookie))
	}
	if p.cookie(sessionCookie).Value == cookieValue(before, sessionCookie) {
		t.Error("the session token did not change on enrolment")
	}
	if p = b.get("/incidents"); p.status != http.StatusOK {
		t.Fatalf("after enrolling: %d %q", p.status, p.location())
	}
	// The second step refuses garbage and forged challenges.
	anon := newBrowser(t, e)
	anon.get("/login")
	for _, form := range []url.Values{
		{"challenge": {"odc_forged"}, "code": {"123456"}},
		{"challenge": {strings.Repeat("x", 5000)}, "code": {"123456"}},
		{"challenge": {""}, "code": {strings.Repeat("9", 5000)}},
	} {
		if p := anon.post("/login/2fa", form); p.status != http.StatusUnauthorized {
			t.Errorf("second step %v: %d", form, p.status)
		}
	}
	if p := anon.post("/login/2fa", url.Values{"challenge": {"x"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("second step without a code: %d", p.status)
	}
	if p := anon.post("/login/2fa", url.Values{"challenge": {"x"}, "code": {"1"}, "csrf_token": {"wrong"}}); p.status != http.StatusForbidden {
		t.Errorf("second step without CSRF: %d", p.status)
	}

	// HSTS only under TLS or an https base URL.
	if resp := e.do("GET", "/healthz", auth.RoleNone, ""); resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	srv, err := New(Options{DB: e.db, Auth: e.auth, BaseURL: "https://ops.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind an https base URL")
	}
	// The policy page and password policy.
	admin := signedIn(t, e, auth.RoleAdmin)
	admin.get("/security/settings")
	if p := admin.post("/security/settings", url.Values{"min_password_len": {"abc"}}); p.fieldError("min_password_len") == "" {
		t.Errorf("bad minimum: %d", p.status)
	}
	if p := admin.post("/security/settings", url.Values{"min_password_len": {"12"}, "two_factor_roles": {"root"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown role: %d", p.status)
	}
	if p := admin.post("/security/settings", url.Values{"min_password_len": {"12"}, "refuse_common": {"on"}}); p.status != http.StatusSeeOther {
		t.Errorf("save policy: %d %s", p.status, p.body)
	}
	resp := e.do("POST", "/api/v1/users", auth.RoleAdmin, `{"username":"weak","role":"viewer","password":"qwertyuiop1"}`)
	if resp.StatusCode != 422 {
		t.Errorf("short password under the policy: %d", resp.StatusCode)
	}
	var er struct {
		Error struct{ Field string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&er)
	if er.Error.Field != "password" {
		t.Errorf("error field = %q", er.Error.Field)
	}
}

func cookieValue(cs []*http.Cookie, name string) string {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
