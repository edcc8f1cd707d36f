package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// apiJSON sends a request and decodes the JSON answer, failing on an
// unexpected status.
func apiJSON(t *testing.T, e *testEnv, method, path string, role auth.Role, body string, want int) map[string]any {
	t.Helper()
	resp := e.do(method, path, role, body)
	b := readBody(t, resp)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	var out map[string]any
	if b != "" {
		_ = json.Unmarshal([]byte(b), &out)
	}
	return out
}

func idOf(m map[string]any) int64 { v, _ := m["id"].(float64); return int64(v) }

func TestCMDBAPIFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		op, admin, viewer := auth.RoleOperator, auth.RoleAdmin, auth.RoleViewer
		// Admins define types; operators may not.
		apiJSON(t, e, "POST", "/api/v1/ci-types", op, `{"key":"lb","name":"Load balancer"}`, http.StatusForbidden)
		lb := apiJSON(t, e, "POST", "/api/v1/ci-types", admin, `{"key":"lb","name":"Load balancer","attributes":[{"key":"vip","type":"ip","required":true},{"key":"mode","type":"enum","values":["l4","l7"]}]}`, http.StatusCreated)
		apiJSON(t, e, "POST", "/api/v1/ci-types", admin, `{"key":"lb","name":"Again"}`, http.StatusConflict)
		apiJSON(t, e, "POST", "/api/v1/relationship-types", admin, `{"key":"balances","name":"balances","reverse_name":"is balanced by","impact":"source_to_target"}`, http.StatusCreated)

		shop := apiJSON(t, e, "POST", "/api/v1/cis", op, `{"type":"business_service","name":"Shop","criticality":"critical","tags":["web"]}`, http.StatusCreated)
		app := apiJSON(t, e, "POST", "/api/v1/cis", op, `{"type":"application","name":"shop-app","attributes":{"version":"1.2"}}`, http.StatusCreated)
		lb1 := apiJSON(t, e, "POST", "/api/v1/cis", op, `{"type":"lb","name":"lb1","attributes":{"vip":"10.0.0.1","mode":"l7"}}`, http.StatusCreated)
		apiJSON(t, e, "POST", "/api/v1/cis", viewer, `{"type":"application","name":"x"}`, http.StatusForbidden)

		apiJSON(t, e, "POST", fmt.Sprintf("/api/v1/cis/%d/relationships", idOf(shop)), op, fmt.Sprintf(`{"type":"depends_on","target_id":%d}`, idOf(app)), http.StatusCreated)
		apiJSON(t, e, "POST", fmt.Sprintf("/api/v1/cis/%d/relationships", idOf(lb1)), op, fmt.Sprintf(`{"type":"balances","target_id":%d}`, idOf(app)), http.StatusCreated)
		apiJSON(t, e, "POST", fmt.Sprintf("/api/v1/cis/%d/relationships", idOf(shop)), op, fmt.Sprintf(`{"type":"depends_on","target_id":%d}`, idOf(app)), http.StatusConflict)
		bad := apiJSON(t, e, "POST", fmt.Sprintf("/api/v1/cis/%d/relationships", idOf(shop)), op, fmt.Sprintf(`{"type":"depends_on","target_id":%d}`, idOf(shop)), http.StatusUnprocessableEntity)
		if bad["error"].(map[string]any)["field"] != "target_id" {
			t.Fatalf("self-link error: %v", bad)
		}

		// The load balancer failing hurts the app (source_to_target), which the shop needs.
		imp := apiJSON(t, e, "GET", fmt.Sprintf("/api/v1/cis/%d/impact?direction=upstream", idOf(lb1)), viewer, "", http.StatusOK)
		svcs := imp["services"].([]any)
		if len(svcs) != 1 || svcs[0].(map[string]any)["service"].(map[string]any)["name"] != "Shop" {
			t.Fatalf("impact: %v", imp)
		}
		if p := svcs[0].(map[string]any)["path"].([]any); len(p) != 3 {
			t.Fatalf("path: %v", p)
		}
		down := apiJSON(t, e, "GET", fmt.Sprintf("/api/v1/cis/%d/impact?direction=downstream&depth=5", idOf(shop)), viewer, "", http.StatusOK)
		if n := len(down["nodes"].([]any)); n != 2 {
			t.Fatalf("downstream nodes %d: %v", n, down)
		}

		// Links: a monitor to the app; the monitor's CIs and services.
		m, err := e.mons.Create(t.Context(), map[string]json.RawMessage{"name": json.RawMessage(`"shop health"`), "type": json.RawMessage(`"heartbeat"`), "period": json.RawMessage(`"1h"`)})
		if err != nil {
			t.Fatal(err)
		}
		apiJSON(t, e, "POST", fmt.Sprintf("/api/v1/cis/%d/links", idOf(app)), op, fmt.Sprintf(`{"kind":"monitor","object_id":%d}`, m.ID), http.StatusCreated)
		linked := apiJSON(t, e, "GET", fmt.Sprintf("/api/v1/ci-links?kind=monitor&object_id=%d", m.ID), viewer, "", http.StatusOK)
		if s := linked["impacted_services"].([]any); len(s) != 1 || s[0].(map[string]any)["name"] != "Shop" {
			t.Fatalf("monitor's services: %v", linked)
		}

		// PUT takes back what GET gave, edited; history shows old → new.
		got := e.do("GET", fmt.Sprintf("/api/v1/cis/%d", idOf(app)), viewer, "")
		body := strings.Replace(readBody(t, got), `"1.2"`, `"1.3"`, 1)
		apiJSON(t, e, "PUT", fmt.Sprintf("/api/v1/cis/%d", idOf(app)), op, body, http.StatusOK)
		hist := apiJSON(t, e, "GET", fmt.Sprintf("/api/v1/cis/%d/history?limit=1", idOf(app)), viewer, "", http.StatusOK)
		h0 := hist["data"].([]any)[0].(map[string]any)
		if h0["field"] != "attributes.version" || h0["old"] != "1.2" || h0["new"] != "1.3" || h0["source"] != "api" || h0["actor"] != "token:test operator" {
			t.Fatalf("history: %v", h0)
		}
		if hist["next_cursor"] == nil {
			t.Fatal("no next cursor on a one-item page")
		}

		// List with filters, sort and cursor.
		list := apiJSON(t, e, "GET", "/api/v1/cis?sort=-name&limit=2", viewer, "", http.StatusOK)
		next := apiJSON(t, e, "GET", "/api/v1/cis?sort=-name&limit=2&cursor="+list["next_cursor"].(string), viewer, "", http.StatusOK)
		var seen []string
		for _, d := range append(list["data"].([]any), next["data"].([]any)...) {
			seen = append(seen, d.(map[string]any)["name"].(string))
		}
		if strings.Join(seen, ",") != "shop-app,Shop,lb1" || next["next_cursor"] != nil {
			t.Fatalf("pages (case-insensitive, descending): %v %v", seen, next)
		}
		if d := apiJSON(t, e, "GET", "/api/v1/cis?tag=web&criticality=critical", viewer, "", http.StatusOK)["data"].([]any); len(d) != 1 {
			t.Fatalf("tag filter: %v", d)
		}

		// The type in use cannot go; built-ins cannot go.
		apiJSON(t, e, "DELETE", fmt.Sprintf("/api/v1/ci-types/%d", idOf(lb)), admin, "", http.StatusConflict)
		apiJSON(t, e, "DELETE", fmt.Sprintf("/api/v1/cis/%d", idOf(lb1)), op, "", http.StatusNoContent)
		apiJSON(t, e, "DELETE", fmt.Sprintf("/api/v1/ci-types/%d", idOf(lb)), admin, "", http.StatusNoContent)
		apiJSON(t, e, "GET", fmt.Sprintf("/api/v1/cis/%d", idOf(lb1)), viewer, "", http.StatusNotFound)
	})
}

func TestCMDBAPIBadInput(t *testing.T) {
	e := newTestEnv(t)
	op := auth.RoleOperator
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"unknown attribute", `{"type":"host","name":"h","attributes":{"colour":"red"}}`, 422, "attributes.colour"},
		{"wrong attribute type", `{"type":"host","name":"h","attributes":{"cpu_cores":"eight"}}`, 422, "attributes.cpu_cores"},
		{"bad ip", `{"type":"host","name":"h","attributes":{"ip":"10.0.0.300"}}`, 422, "attributes.ip"},
		{"unknown type", `{"type":"toaster","name":"h"}`, 422, "type"},
		{"unknown field", `{"type":"host","name":"h","colour":"red"}`, 400, "colour"},
		{"attributes not an object", `{"type":"host","name":"h","attributes":"x"}`, 400, "attributes"},
		{"hostile name", `{"type":"host","name":"a\u0000b"}`, 422, "name"},
		{"oversize name", `{"type":"host","name":"` + strings.Repeat("n", 300) + `"}`, 422, "name"},
		{"oversize attribute", `{"type":"host","name":"h","attributes":{"os":"` + strings.Repeat("x", 2000) + `"}}`, 422, "attributes.os"},
		{"bad environment", `{"type":"host","name":"h","environment":"moon"}`, 422, "environment"},
		{"bad tag", `{"type":"host","name":"h","tags":["<b>"]}`, 422, "tags"},
		{"garbage", `{"type":`, 400, ""},
		{"two objects", `{}{}`, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", "/api/v1/cis", op, tc.body)
			b := readBody(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			var ae apiError
			_ = json.Unmarshal([]byte(b), &ae)
			if ae.Error.Field != tc.field {
				t.Fatalf("field %q, want %q: %s", ae.Error.Field, tc.field, b)
			}
		})
	}
	t.Run("oversize body", func(t *testing.T) {
		resp := e.do("POST", "/api/v1/cis", op, `{"type":"host","name":"h","description":"`+strings.Repeat("x", 2<<20)+`"}`)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	for _, q := range []string{"/api/v1/cis?sort=colour", "/api/v1/cis?cursor=garbage", "/api/v1/cis?limit=0", "/api/v1/cis/1/impact?direction=sideways", "/api/v1/cis/1/impact?depth=99", "/api/v1/ci-links?kind=printer&object_id=1"} {
		if resp := e.do("GET", q, auth.RoleViewer, ""); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", q, resp.StatusCode)
		}
	}
	bad := apiJSON(t, e, "POST", "/api/v1/ci-types", auth.RoleAdmin, `{"key":"x","name":"X","attributes":[{"key":"a","type":"enum"}]}`, 422)
	if bad["error"].(map[string]any)["field"] != "attributes[0].values" {
		t.Fatalf("schema error: %v", bad)
	}
	host := apiJSON(t, e, "POST", "/api/v1/cis", op, `{"type":"host","name":"h1"}`, 201)
	apiJSON(t, e, "POST", fmt.Sprintf("/api/v1/cis/%d/links", idOf(host)), op, `{"kind":"monitor","object_id":424242}`, 422)
}
