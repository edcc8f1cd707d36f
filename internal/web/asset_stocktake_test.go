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

func TestAssetStocktakeAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		op, viewer := auth.RoleOperator, auth.RoleViewer
		for _, tag := range []string{"A-1", "A-2", "A-3"} {
			apiJSON(t, e, "POST", "/api/v1/assets", op, `{"tag":"`+tag+`","location":"HQ"}`, http.StatusCreated)
		}
		apiJSON(t, e, "POST", "/api/v1/asset-stocktakes", viewer, `{"name":"Q1"}`, http.StatusForbidden)
		st := apiJSON(t, e, "POST", "/api/v1/asset-stocktakes", op, `{"name":"Q1","location":"HQ"}`, http.StatusCreated)
		path := fmt.Sprintf("/api/v1/asset-stocktakes/%d", idOf(st))
		apiJSON(t, e, "POST", path+"/seen", op, `{"tag":"A-2"}`, http.StatusOK)
		if m := apiJSON(t, e, "POST", path+"/seen", op, `{"tag":"ZZZ"}`, 422); errField(m) != "tag" {
			t.Fatalf("unknown tag: %v", m)
		}
		miss := apiJSON(t, e, "GET", path+"/missing", viewer, "", http.StatusOK)
		if d := miss["data"].([]any); len(d) != 2 || d[0].(map[string]any)["tag"] != "A-1" {
			t.Fatalf("missing %v", miss)
		}
		if got := apiJSON(t, e, "POST", path+"/close", op, `{}`, http.StatusOK); got["closed"] != true || got["seen"] != 1.0 || got["in_scope"] != 3.0 {
			t.Fatalf("close %v", got)
		}
		apiJSON(t, e, "POST", path+"/seen", op, `{"tag":"A-1"}`, http.StatusConflict)
		apiJSON(t, e, "GET", "/api/v1/asset-stocktakes/9999", viewer, "", http.StatusNotFound)
	})
}

func TestAssetStocktakePages(t *testing.T) {
	e := newTestEnv(t)
	for _, tag := range []string{"A-1", "A-2"} {
		apiJSON(t, e, "POST", "/api/v1/assets", auth.RoleOperator, `{"tag":"`+tag+`"}`, http.StatusCreated)
	}
	b := signedIn(t, e, auth.RoleOperator)
	if p := b.get("/asset-stocktakes"); p.status != 200 || !strings.Contains(p.body, "No stocktake yet") {
		t.Fatalf("empty: %d %s", p.status, p.body)
	}
	if p := b.post("/asset-stocktakes", url.Values{"name": {""}}); p.status != 422 || !strings.Contains(p.body, `id="f-name-error"`) {
		t.Fatalf("no name: %d %s", p.status, p.body)
	}
	p := b.post("/asset-stocktakes", url.Values{"name": {"Q1"}})
	loc := p.location()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/asset-stocktakes/") {
		t.Fatalf("start: %d %s", p.status, p.body)
	}
	if p = b.post(loc+"/seen", url.Values{"tag": {"NOPE"}}); p.status != 422 || !strings.Contains(p.body, `id="f-tag-error"`) {
		t.Fatalf("unknown tag: %d %s", p.status, p.body)
	}
	if p = b.post(loc+"/seen", url.Values{"tag": {"A-1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("seen: %d %s", p.status, p.body)
	}
	p = b.get(p.location())
	if !strings.Contains(p.body, "A-1 marked seen") || !strings.Contains(p.body, `id="stocktake-seen">1</strong> of 2`) || !strings.Contains(p.body, "Not seen (1)") || !strings.Contains(p.body, ">A-2</a>") {
		t.Fatalf("run page: %s", p.body)
	}
	v := signedIn(t, e, auth.RoleViewer)
	if p = v.get(loc); p.status != 200 || strings.Contains(p.body, "/seen") {
		t.Fatalf("viewer: %d", p.status)
	}
	if p = b.post(loc+"/close", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("close: %d", p.status)
	}
	if p = b.post(loc+"/close", url.Values{}); p.status != http.StatusConflict {
		t.Fatalf("close twice: %d", p.status)
	}
}
