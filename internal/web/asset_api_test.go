package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func errField(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

func TestAssetAPIFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		op, viewer := auth.RoleOperator, auth.RoleViewer
		host := apiJSON(t, e, "POST", "/api/v1/cis", op, `{"type":"host","name":"web-01"}`, http.StatusCreated)
		body := fmt.Sprintf(`{"tag":"LAP-1","model":"X1","category":"laptop","location":"HQ","cost_cents":129900,"currency":"EUR","warranty_end":"2099-01-01","ci_id":%d}`, idOf(host))
		apiJSON(t, e, "POST", "/api/v1/assets", viewer, body, http.StatusForbidden)
		a := apiJSON(t, e, "POST", "/api/v1/assets", op, body, http.StatusCreated)
		if a["status"] != "in_stock" || a["ci"].(map[string]any)["name"] != "web-01" {
			t.Fatalf("created %v", a)
		}
		path := fmt.Sprintf("/api/v1/assets/%d", idOf(a))
		// The CI's links list the asset.
		links := apiJSON(t, e, "GET", fmt.Sprintf("/api/v1/cis/%d/links", idOf(host)), viewer, "", http.StatusOK)
		if d := links["data"].([]any); len(d) != 1 || d[0].(map[string]any)["kind"] != "asset" {
			t.Fatalf("CI links %v", links)
		}
		// Errors name the field.
		for _, c := range []struct{ body, field string }{
			{`{"tag":"LAP-1"}`, "tag"},
			{`{"tag":"LAP-2","warranty_end":"soon"}`, "warranty_end"},
			{`{"tag":"LAP-2","ci_id":424242}`, "ci_id"},
			{`{"tag":"LAP-2","owner_id":424242}`, "owner_id"},
			{`{"tag":"LAP-2","colour":"red"}`, "colour"},
		} {
			m := apiJSON(t, e, "POST", "/api/v1/assets", op, c.body, 0+map[bool]int{true: 400, false: 422}[c.field == "colour"])
			if errField(m) != c.field {
				t.Errorf("%s: %v", c.body, m)
			}
		}
		apiJSON(t, e, "PUT", path, op, `{"tag":"LAP-1","status":"retired"}`, http.StatusUnprocessableEntity)
		bob := e.users[auth.RoleViewer]
		apiJSON(t, e, "POST", path+"/checkout", viewer, fmt.Sprintf(`{"user_id":%d}`, bob.ID), http.StatusForbidden)
		out := apiJSON(t, e, "POST", path+"/checkout", op, fmt.Sprintf(`{"user_id":%d,"note":"new starter"}`, bob.ID), http.StatusOK)
		if out["status"] != "deployed" || out["assignee"].(map[string]any)["username"] != bob.Username {
			t.Fatalf("checkout %v", out)
		}
		refused := apiJSON(t, e, "POST", path+"/transition", op, `{"status":"disposed"}`, http.StatusConflict)
		if !strings.Contains(refused["error"].(map[string]any)["message"].(string), "allowed") {
			t.Fatalf("refused transition: %v", refused)
		}
		list := apiJSON(t, e, "GET", fmt.Sprintf("/api/v1/assets?assignee=%d&status=deployed", bob.ID), viewer, "", http.StatusOK)
		if len(list["data"].([]any)) != 1 {
			t.Fatalf("filtered list %v", list)
		}
		apiJSON(t, e, "POST", path+"/checkin", op, `{}`, http.StatusOK)
		apiJSON(t, e, "POST", path+"/transition", op, `{"status":"retired","note":"broken screen"}`, http.StatusOK)
		h := apiJSON(t, e, "GET", path+"/history", viewer, "", http.StatusOK)
		var acts []string
		for _, c := range h["data"].([]any) {
			acts = append(acts, c.(map[string]any)["action"].(string))
		}
		if strings.Join(acts, ",") != "transition,checkin,checkout,created" {
			t.Fatalf("history %v", acts)
		}
		for _, q := range []struct{ query, field string }{{"sort=price", "sort"}, {"status=lost", "status"}, {"warranty_within=x", "warranty_within"},
			{"assignee=bob", "assignee"}, {"cursor=zzz", "cursor"}, {"limit=0", "limit"}} {
			if m := apiJSON(t, e, "GET", "/api/v1/assets?"+q.query, viewer, "", http.StatusUnprocessableEntity); errField(m) != q.field {
				t.Errorf("%s: %v", q.query, m)
			}
		}
		apiJSON(t, e, "GET", "/api/v1/assets/999999", viewer, "", http.StatusNotFound)
	})
}

func TestAssetAPIPagination(t *testing.T) {
	e := newTestEnv(t)
	for i := range 7 {
		apiJSON(t, e, "POST", "/api/v1/assets", auth.RoleOperator, fmt.Sprintf(`{"tag":"T-%d","warranty_end":"2099-01-0%d"}`, i, 7-i), http.StatusCreated)
	}
	var tags []string
	url := "/api/v1/assets?sort=warranty&limit=3"
	for url != "" {
		m := apiJSON(t, e, "GET", url, auth.RoleViewer, "", http.StatusOK)
		for _, a := range m["data"].([]any) {
			tags = append(tags, a.(map[string]any)["tag"].(string))
		}
		url = ""
		if c, _ := m["next_cursor"].(string); c != "" {
			url = "/api/v1/assets?sort=warranty&limit=3&cursor=" + c
		}
	}
	if strings.Join(tags, ",") != "T-6,T-5,T-4,T-3,T-2,T-1,T-0" {
		t.Fatalf("pages %v", tags)
	}
}
