package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// licenseInventory is a small in-memory software inventory standing in for
// the host agents (the seam is a plain function; this one is real).
type licenseInventory struct {
	mu   sync.Mutex
	rows []assets.Installation
	down bool // the inventory cannot be read
}

func (v *licenseInventory) find(_ context.Context, patterns []string) ([]assets.Installation, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.down {
		return nil, errors.New("inventory database unreachable")
	}
	var out []assets.Installation
	for _, in := range v.rows {
		if assets.MatchAny(patterns, in.Package) {
			out = append(out, in)
		}
	}
	return out, nil
}

func (v *licenseInventory) set(rows ...assets.Installation) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rows = rows
}

func TestLicenseAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		op, viewer := auth.RoleOperator, auth.RoleViewer
		body := `{"product":"LibreOffice","publisher":"TDF","license_type":"per_device","seats":1,"license_key":"SECRET-KEY-0001-ABCD",
			"patterns":["libreoffice*"],"purchase_date":"2026-01-01","expires":"2099-01-01"}`
		apiJSON(t, e, "POST", "/api/v1/licenses", viewer, body, http.StatusForbidden)
		apiJSON(t, e, "POST", "/api/v1/licenses", auth.RoleRequester, body, http.StatusForbidden)
		l := apiJSON(t, e, "POST", "/api/v1/licenses", op, body, http.StatusCreated)
		path := fmt.Sprintf("/api/v1/licenses/%d", idOf(l))
		// The key is masked for everyone, in every answer.
		for _, role := range []auth.Role{viewer, op, auth.RoleAdmin} {
			resp := e.do("GET", path, role, "")
			b := readBody(t, resp)
			if resp.StatusCode != 200 || strings.Contains(b, "SECRET-KEY") || !strings.Contains(b, `"license_key_masked":"••••••••ABCD"`) {
				t.Fatalf("%s reads %d %s", role, resp.StatusCode, b)
			}
		}
		if b := readBody(t, e.do("GET", "/api/v1/licenses", viewer, "")); strings.Contains(b, "SECRET-KEY") {
			t.Fatalf("list leaks the key: %s", b)
		}
		apiJSON(t, e, "POST", path+"/reveal-key", viewer, "", http.StatusForbidden)
		k := apiJSON(t, e, "POST", path+"/reveal-key", op, "", http.StatusOK)
		if k["license_key"] != "SECRET-KEY-0001-ABCD" {
			t.Fatalf("reveal %v", k)
		}
		// Errors name the field.
		for _, c := range []struct{ body, field string }{
			{`{"product":"X","seats":-1,"patterns":["x"]}`, "seats"},
			{`{"product":"X","seats":1,"patterns":["*"]}`, "patterns"},
			{`{"product":"X","seats":1,"patterns":["a b"]}`, "patterns"},
			{`{"product":"X","seats":1,"patterns":["x"],"purchase_date":"2026-02-01","expires":"2026-01-01"}`, "expires"},
			{`{"product":"","seats":1,"patterns":["x"]}`, "product"},
			{`{"product":"X","seats":1,"patterns":["x"],"license_type":"pirated"}`, "license_type"},
		} {
			if m := apiJSON(t, e, "POST", "/api/v1/licenses", op, c.body, http.StatusUnprocessableEntity); errField(m) != c.field {
				t.Errorf("%s: %v", c.body, m)
			}
		}
		if m := apiJSON(t, e, "POST", "/api/v1/licenses", op, `{"product":"X","seats":"many"}`, http.StatusBadRequest); errField(m) != "seats" {
			t.Errorf("seats as text: %v", m)
		}
		// Seats: assign to a user and a device; over-assignment is flagged.
		lap := apiJSON(t, e, "POST", "/api/v1/assets", op, `{"tag":"LAP-9"}`, http.StatusCreated)
		bob := e.users[viewer]
		apiJSON(t, e, "POST", path+"/seats", viewer, fmt.Sprintf(`{"user_id":%d}`, bob.ID), http.StatusForbidden)
		s1 := apiJSON(t, e, "POST", path+"/seats", op, fmt.Sprintf(`{"user_id":%d,"note":"new starter"}`, bob.ID), http.StatusCreated)
		apiJSON(t, e, "POST", path+"/seats", op, fmt.Sprintf(`{"asset_id":%d}`, idOf(lap)), http.StatusCreated)
		if m := apiJSON(t, e, "POST", path+"/seats", op, fmt.Sprintf(`{"user_id":%d}`, bob.ID), 422); errField(m) != "user_id" {
			t.Fatalf("second seat for bob: %v", m)
		}
		e.inst.set(assets.Installation{Host: "lap-9", AssetID: idOf(lap), Package: "libreoffice-core", Version: "7.4"},
			assets.Installation{Host: "kiosk", Package: "libreoffice-calc", Version: "7.5"},
			assets.Installation{Host: "kiosk", Package: "libreoffice-writer", Version: "7.5"})
		got := apiJSON(t, e, "GET", path, viewer, "", http.StatusOK)
		c := got["compliance"].(map[string]any)
		if c["over_used"] != true || c["installed"] != 2.0 || c["assigned"] != 2.0 || c["installed_not_assigned"] != 1.0 || c["agent_data"] != true {
			t.Fatalf("compliance %v", c)
		}
		if list := apiJSON(t, e, "GET", "/api/v1/licenses?over_used=true", viewer, "", http.StatusOK); len(list["data"].([]any)) != 1 {
			t.Fatalf("over-used filter %v", list)
		}
		sum := apiJSON(t, e, "GET", "/api/v1/licenses/compliance", viewer, "", http.StatusOK)
		if len(sum["over_used"].([]any)) != 1 || sum["seats_bought"] != 1.0 || sum["installed"] != 2.0 {
			t.Fatalf("summary %v", sum)
		}
		for _, q := range []struct{ query, field string }{{"sort=price", "sort"}, {"over_used=maybe", "over_used"},
			{"expiring_within=-3", "expiring_within"}, {"license_type=x", "license_type"}, {"q=" + strings.Repeat("x", 201), "q"}} {
			if m := apiJSON(t, e, "GET", "/api/v1/licenses?"+q.query, viewer, "", http.StatusUnprocessableEntity); errField(m) != q.field {
				t.Errorf("%s: %v", q.query, m)
			}
		}
		// Unassign, history, export.
		resp := e.do("DELETE", fmt.Sprintf("%s/seats/%d", path, idOf(s1)), viewer, "")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("viewer unassigns: %d", resp.StatusCode)
		}
		if resp = e.do("DELETE", fmt.Sprintf("%s/seats/%d", path, idOf(s1)), op, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("unassign: %d", resp.StatusCode)
		}
		if resp = e.do("DELETE", fmt.Sprintf("%s/seats/%d", path, idOf(s1)), op, ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unassign twice: %d", resp.StatusCode)
		}
		h := apiJSON(t, e, "GET", path+"/history", viewer, "", http.StatusOK)
		var acts []string
		for _, c := range h["data"].([]any) {
			acts = append(acts, c.(map[string]any)["action"].(string))
		}
		if strings.Join(acts, ",") != "unassigned,assigned,assigned,key_revealed,created" {
			t.Fatalf("history %v", acts)
		}
		resp = e.do("GET", "/api/v1/licenses/export", viewer, "")
		csv := readBody(t, resp)
		if resp.StatusCode != 200 || !strings.HasPrefix(csv, "product,publisher,") || !strings.Contains(csv, "LibreOffice,TDF,per_device,1,1,2,1,true") || strings.Contains(csv, "SECRET") {
			t.Fatalf("export %d %s", resp.StatusCode, csv)
		}
		// Edit without a key keeps it; delete.
		apiJSON(t, e, "PUT", path, op, `{"product":"LibreOffice","seats":3,"patterns":["libreoffice*"]}`, http.StatusOK)
		if k := apiJSON(t, e, "POST", path+"/reveal-key", op, "", http.StatusOK); k["license_key"] != "SECRET-KEY-0001-ABCD" {
			t.Fatalf("key after edit %v", k)
		}
		apiJSON(t, e, "PUT", path, op, `{"product":"LibreOffice","seats":3,"patterns":["libreoffice*"],"license_key":""}`, http.StatusOK)
		apiJSON(t, e, "POST", path+"/reveal-key", op, "", http.StatusConflict)
		if resp = e.do("DELETE", path, viewer, ""); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("viewer deletes: %d", resp.StatusCode)
		}
		if resp = e.do("DELETE", path, op, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		apiJSON(t, e, "GET", path, viewer, "", http.StatusNotFound)
		apiJSON(t, e, "GET", "/api/v1/licenses/abc", viewer, "", http.StatusUnprocessableEntity)
		apiJSON(t, e, "GET", "/api/v1/licenses", auth.RoleNone, "", http.StatusUnauthorized)
	})
}

var licenseLocRE = regexp.MustCompile(`^/licenses/(\d+)\?notice=license-created$`)

func TestLicensePages(t *testing.T) {
	e := newTestEnv(t)
	b := signedIn(t, e, auth.RoleOperator)
	if p := b.get("/licenses"); p.status != 200 || !strings.Contains(p.body, "No licenses yet") || !strings.Contains(p.body, `href="/licenses/new"`) {
		t.Fatalf("empty list: %d %s", p.status, p.body)
	}
	// Hostile input is shown escaped; errors sit beside their field.
	xss := `<script>alert(1)</script>`
	p := b.post("/licenses/new", url.Values{"product": {xss}, "seats": {"-2"}, "patterns": {"libreoffice*"}})
	if p.status != 422 || !strings.Contains(p.body, `id="f-seats-error"`) || strings.Contains(p.body, xss) || !strings.Contains(p.body, "&lt;script&gt;") {
		t.Fatalf("bad seats: %d %s", p.status, p.body)
	}
	for field, v := range map[string]url.Values{
		"patterns": {"product": {"X"}, "seats": {"1"}, "patterns": {"*"}},
		"expires":  {"product": {"X"}, "seats": {"1"}, "patterns": {"x"}, "purchase_date": {"2026-05-01"}, "expires": {"2026-01-01"}},
		"cost":     {"product": {"X"}, "seats": {"1"}, "patterns": {"x"}, "cost": {"lots"}},
	} {
		if p := b.post("/licenses/new", v); p.status != 422 || !strings.Contains(p.body, `id="f-`+field+`-error"`) {
			t.Fatalf("%s: %d %s", field, p.status, p.body)
		}
	}
	p = b.post("/licenses/new", url.Values{"product": {xss}, "publisher": {"TDF"}, "license_type": {"per_device"}, "seats": {"1"},
		"patterns": {"libreoffice*\nsoffice"}, "license_key": {"KEY-1234-5678-WXYZ"}, "expires": {"2000-01-01"}})
	m := licenseLocRE.FindStringSubmatch(p.location())
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %s %s", p.status, p.location(), p.body)
	}
	page := "/licenses/" + m[1]
	lap := apiJSON(t, e, "POST", "/api/v1/assets", auth.RoleOperator, `{"tag":"LAP-7"}`, http.StatusCreated)
	e.inst.set(assets.Installation{Host: "lap-7", AssetID: idOf(lap), Package: "LibreOffice-Writer"},
		assets.Installation{Host: "<b>kiosk</b>", Package: "soffice"})
	p = b.get(page)
	if p.status != 200 || strings.Contains(p.body, xss) || strings.Contains(p.body, "<b>kiosk") || strings.Contains(p.body, "KEY-1234") ||
		!strings.Contains(p.body, "••••••••WXYZ") || !strings.Contains(p.body, `id="license-over"`) || !strings.Contains(p.body, "Expired") ||
		!strings.Contains(p.body, "2 installed but not assigned") {
		t.Fatalf("detail: %s", p.body)
	}
	// Assign by asset tag; an unknown tag is refused beside the field.
	if p = b.post(page+"/seats", url.Values{"asset_tag": {"NOPE"}}); p.status != 422 || !strings.Contains(p.body, `id="f-asset_tag-error"`) {
		t.Fatalf("unknown tag: %d %s", p.status, p.body)
	}
	if p = b.post(page+"/seats", url.Values{}); p.status != 422 || !strings.Contains(p.body, `id="f-user_id-error"`) {
		t.Fatalf("nobody: %d %s", p.status, p.body)
	}
	if p = b.post(page+"/seats", url.Values{"asset_tag": {"LAP-7"}}); p.status != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", p.status, p.body)
	}
	p = b.get(page)
	if !strings.Contains(p.body, "1 installed but not assigned") || !strings.Contains(p.body, "asset LAP-7") {
		t.Fatalf("after assign: %s", p.body)
	}
	if ap := b.get(fmt.Sprintf("/assets/%d", idOf(lap))); !strings.Contains(ap.body, `<a href="`+page+`">&lt;script&gt;`) {
		t.Fatalf("the asset's page lists its seat: %s", ap.body)
	}
	seat := regexp.MustCompile(`action="` + page + `/seats/(\d+)/delete"`).FindStringSubmatch(p.body)
	if seat == nil {
		t.Fatalf("no unassign form: %s", p.body)
	}
	// Reveal shows the key once, not cached, and records it.
	p = b.post(page+"/reveal-key", url.Values{})
	if p.status != 200 || !strings.Contains(p.body, `id="license-key">KEY-1234-5678-WXYZ`) || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reveal: %d %s", p.status, p.body)
	}
	if p = b.post(page+"/seats/"+seat[1]+"/delete", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("unassign: %d %s", p.status, p.body)
	}
	p = b.get(page)
	for _, want := range []string{"unassigned", "from asset LAP-7", "key_revealed", "assigned"} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("history lacks %q: %s", want, p.body)
		}
	}
	// The list flags it, filters and exports; the compliance page sums up.
	if p = b.get("/licenses?over_used=true&publisher=TDF"); !strings.Contains(p.body, "Over-used by 1") || !strings.Contains(p.body, `href="`+page+`"`) {
		t.Fatalf("list: %s", p.body)
	}
	if p = b.get("/licenses?publisher=Other"); !strings.Contains(p.body, "No license matches") {
		t.Fatalf("no match: %s", p.body)
	}
	if p = b.get("/licenses?sort=price"); p.status != 422 || !strings.Contains(p.body, `id="f-sort-error"`) {
		t.Fatalf("bad sort: %d %s", p.status, p.body)
	}
	if p = b.get("/licenses/compliance"); p.status != 200 || !strings.Contains(p.body, `id="sum-over">1<`) || strings.Contains(p.body, xss) {
		t.Fatalf("compliance: %d %s", p.status, p.body)
	}
	if p = b.get("/"); !strings.Contains(p.body, `id="licenses-warning"`) || !strings.Contains(p.body, "1 license is over-used.") ||
		!strings.Contains(p.body, "1 license has expired or expires within 30 days") {
		t.Fatalf("home page: %s", p.body)
	}
	if p = b.get("/licenses/export?over_used=true"); p.status != 200 || !strings.Contains(p.body, xss+",TDF,per_device,1,0,2,2,true") ||
		p.header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("export: %d %s", p.status, p.body)
	}
	// An inventory that cannot be read is said plainly, without its error.
	e.inst.mu.Lock()
	e.inst.down = true
	e.inst.mu.Unlock()
	if p = b.get(page); p.status != 200 || !strings.Contains(p.body, `id="no-agent-data"`) || strings.Contains(p.body, "unreachable") ||
		!strings.Contains(p.body, `id="stat-installed">—`) {
		t.Fatalf("inventory down: %d %s", p.status, p.body)
	}
	if p = b.get("/licenses/compliance"); !strings.Contains(p.body, `id="no-agent-data"`) {
		t.Fatalf("compliance, inventory down: %s", p.body)
	}
	e.inst.mu.Lock()
	e.inst.down = false
	e.inst.mu.Unlock()
	// Edit keeps the key unless asked.
	if p = b.get(page + "/edit"); p.status != 200 || strings.Contains(p.body, "KEY-1234") || !strings.Contains(p.body, "libreoffice*\nsoffice") {
		t.Fatalf("edit form: %s", p.body)
	}
	if p = b.post(page+"/edit", url.Values{"product": {"LibreOffice"}, "license_type": {"site"}, "seats": {"0"}, "patterns": {"libreoffice*"}}); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	if p = b.get(page); !strings.Contains(p.body, "••••••••WXYZ") || strings.Contains(p.body, `id="license-over"`) {
		t.Fatalf("after edit: %s", p.body)
	}
	// Viewers read without actions, key masked; they cannot post.
	v := signedIn(t, e, auth.RoleViewer)
	if p = v.get(page); p.status != 200 || strings.Contains(p.body, "/reveal-key") || strings.Contains(p.body, "/edit") || !strings.Contains(p.body, "••••••••WXYZ") {
		t.Fatalf("viewer page: %d %s", p.status, p.body)
	}
	if p = v.post(page+"/reveal-key", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("viewer reveal: %d", p.status)
	}
	if p = v.get("/licenses/new"); p.status != http.StatusForbidden {
		t.Fatalf("viewer new: %d", p.status)
	}
	if p = b.post(page+"/delete", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if p = b.get(page); p.status != http.StatusNotFound {
		t.Fatalf("deleted: %d", p.status)
	}
}

// TestLicensePagesWithoutAgent: a server without the agent seam says so
// plainly and counts assignments only.
func TestLicensePagesWithoutAgent(t *testing.T) {
	db := storetest.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	as := auth.NewService(db, auth.Options{Logger: log})
	reg := assets.NewService(db, assets.Options{Logger: log})
	srv, err := New(Options{DB: db, Auth: as, Logger: log, Version: "test", Assets: reg})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ctx := context.Background()
	u, err := as.CreateUser(ctx, auth.NewUser{Username: "op", Name: "Op", Role: auth.RoleOperator, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := as.CreateToken(ctx, auth.NewToken{Name: "t", Role: auth.RoleOperator, UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	l, err := reg.CreateLicense(auth.WithActor(ctx, auth.SystemActor()), assets.LicenseInput{Product: "Tool", Seats: 1, Patterns: []string{"tool"}})
	if err != nil {
		t.Fatal(err)
	}
	if b := get(fmt.Sprintf("/api/v1/licenses/%d", l.ID)); !strings.Contains(b, `"agent_data":false`) {
		t.Fatalf("API: %s", b)
	}
	if b := get("/api/v1/licenses/compliance"); !strings.Contains(b, `"agent_data":false`) {
		t.Fatalf("summary: %s", b)
	}
}
