package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// TestStatusPageAPI walks the API: roles, validation with the field named,
// a GET body sent back as a PUT, the audit trail and deletion.
func TestStatusPageAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		a := createMonitorAPI(t, e, `{"name":"a","type":"heartbeat","period":"1h"}`)
		b := createMonitorAPI(t, e, `{"name":"b","type":"heartbeat","period":"1h"}`)
		body := fmt.Sprintf(`{"slug":"ops","title":"Ops","public":true,"monitors":[{"monitor_id":%d,"position":2},{"monitor_id":%d,"position":1,"display_name":"B"}]}`, a, b)

		for _, role := range []auth.Role{auth.RoleNone, auth.RoleRequester, auth.RoleViewer} {
			want := http.StatusForbidden
			if role == auth.RoleNone {
				want = http.StatusUnauthorized
			}
			if resp := e.do("POST", "/api/v1/status-pages", role, body); resp.StatusCode != want {
				t.Errorf("create as %q: %d, want %d", role, resp.StatusCode, want)
			}
		}
		p := createStatusPageAPI(t, e, body)
		if p.Monitors[0].MonitorID != b || p.Monitors[0].DisplayName != "B" || p.Monitors[1].MonitorName != "a" || !p.Public {
			t.Fatalf("created %+v", p)
		}

		for _, tc := range []struct {
			body, field string
			status      int
		}{
			{`{"slug":"x"}`, "title", 422},
			{`{"title":"X"}`, "slug", 422},
			{`{"title":"X","slug":"Not OK"}`, "slug", 422},
			{`{"title":"X","slug":"ops"}`, "slug", 422},
			{`{"title":"X","slug":"x","description":"` + strings.Repeat("d", 1001) + `"}`, "description", 422},
			{`{"title":"X","slug":"x","monitors":[{"monitor_id":999999}]}`, "monitors[0].monitor_id", 422},
			{fmt.Sprintf(`{"title":"X","slug":"x","monitors":[{"monitor_id":%d},{"monitor_id":%d}]}`, a, a), "monitors[1].monitor_id", 422},
			{fmt.Sprintf(`{"title":"X","slug":"x","monitors":[{"monitor_id":%d,"section":"a\u0000b"}]}`, a), "monitors[0].section", 422},
			{fmt.Sprintf(`{"title":"X","slug":"x","monitors":[{"monitor_id":%d,"position":-4}]}`, a), "monitors[0].position", 422},
			{`{"title":"X","slug":"x","colour":"red"}`, "colour", 400},
			{`{"title":"X","slug":"x","public":"yes"}`, "public", 400},
		} {
			resp := e.do("POST", "/api/v1/status-pages", auth.RoleOperator, tc.body)
			var ae apiError
			_ = json.NewDecoder(resp.Body).Decode(&ae)
			if resp.StatusCode != tc.status || ae.Error.Field != tc.field {
				t.Errorf("POST %.60s: %d field %q (%s), want %d field %q", tc.body, resp.StatusCode, ae.Error.Field, ae.Error.Message, tc.status, tc.field)
			}
		}

		// A GET body goes back as it is.
		path := "/api/v1/status-pages/" + itoa(p.ID)
		got := readBody(t, e.do("GET", path, auth.RoleViewer, ""))
		edited := strings.Replace(got, `"title":"Ops"`, `"title":"Operations"`, 1)
		resp := e.do("PUT", path, auth.RoleOperator, edited)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT of a GET body: %d %s", resp.StatusCode, readBody(t, resp))
		}
		var put statusPageView
		_ = json.NewDecoder(resp.Body).Decode(&put)
		if put.Title != "Operations" || len(put.Monitors) != 2 || put.Monitors[0].DisplayName != "B" {
			t.Fatalf("after PUT %+v", put)
		}
		if resp := e.do("PUT", path, auth.RoleViewer, edited); resp.StatusCode != http.StatusForbidden {
			t.Errorf("PUT as viewer: %d", resp.StatusCode)
		}
		if resp := e.do("PUT", "/api/v1/status-pages/999999", auth.RoleOperator, edited); resp.StatusCode != http.StatusNotFound {
			t.Errorf("PUT of an unknown page: %d", resp.StatusCode)
		}

		var list page[statusPageView]
		_ = json.NewDecoder(e.do("GET", "/api/v1/status-pages", auth.RoleViewer, "").Body).Decode(&list)
		if len(list.Data) != 1 || list.Data[0].URL == "" {
			t.Fatalf("list %+v", list)
		}

		if resp := e.do("DELETE", path, auth.RoleViewer, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("DELETE as viewer: %d", resp.StatusCode)
		}
		if resp := e.do("DELETE", path, auth.RoleOperator, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
		if resp := e.do("GET", path, auth.RoleViewer, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET after DELETE: %d", resp.StatusCode)
		}
		if got := fetch(t, e, "/status/ops", auth.RoleNone); got.status != http.StatusNotFound {
			t.Errorf("public page after DELETE: %d", got.status)
		}

		es, _, err := auth.ListAudit(t.Context(), db, auth.AuditFilter{Action: "status_page."})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, en := range es {
			actions = append(actions, en.Action+" by "+en.ActorName)
		}
		if want := "status_page.delete by token:test operator,status_page.update by token:test operator,status_page.create by token:test operator"; strings.Join(actions, ",") != want {
			t.Errorf("audit %v, want %s", actions, want)
		}
	})
}

// TestStatusPageUI drives the forms as a browser without script would:
// create with errors shown beside their fields, filter without losing
// the form, save, and delete; and checks who may open what.
func TestStatusPageUI(t *testing.T) {
	e := newTestEnv(t)
	a := createMonitorAPI(t, e, `{"name":"alpha","type":"heartbeat","period":"1h","tags":["web"]}`)
	b := createMonitorAPI(t, e, `{"name":"bravo","type":"heartbeat","period":"1h","tags":["db"]}`)
	createMonitorAPI(t, e, `{"name":"charlie","type":"heartbeat","period":"1h"}`)
	op := signedIn(t, e, auth.RoleOperator)

	if p := op.get("/status-pages"); p.status != http.StatusOK || !strings.Contains(p.body, "No status pages yet") || !strings.Contains(p.body, `href="/status-pages/new"`) {
		t.Fatalf("empty list: %d", p.status)
	}
	form := op.get("/status-pages/new")
	if form.status != http.StatusOK || !strings.Contains(form.body, `value="`+itoa(a)+`"`) || !strings.Contains(form.body, "alpha") {
		t.Fatalf("new form: %d", form.status)
	}
	ida, idb := itoa(a), itoa(b)

	// Errors come back beside their fields, with what was typed.
	p := op.post("/status-pages/new", url.Values{"title": {""}, "slug": {"Bad Slug"}, "m": {ida}, "pos_" + ida: {"x"}, "name_" + ida: {"Alpha <site>"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("title") == "" || p.fieldError("slug") == "" {
		t.Fatalf("refused form: %d title %q slug %q", p.status, p.fieldError("title"), p.fieldError("slug"))
	}
	if !strings.Contains(p.body, "Position must be a whole number") || !strings.Contains(p.body, `value="Alpha &lt;site&gt;"`) {
		t.Fatalf("row error or typed value missing")
	}
	checkPage(t, "refused status page form", loaded{status: p.status, body: p.body})

	// Filter: only matching monitors and the ticked ones, the form intact.
	p = op.post("/status-pages/new", url.Values{"action": {"filter"}, "q": {"db"}, "title": {"Kept"}, "m": {ida}, "name_" + ida: {"Website"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `value="Kept"`) || !strings.Contains(p.body, "bravo") || strings.Contains(p.body, "charlie") || !strings.Contains(p.body, `value="Website"`) {
		t.Fatalf("filter: %d", p.status)
	}
	if strings.Contains(p.body, "notice-error") {
		t.Error("filtering showed errors")
	}

	// Create: the slug comes from the title; unplaced monitors go last.
	p = op.post("/status-pages/new", url.Values{"action": {"save"}, "title": {"Acme Services"}, "public": {"1"},
		"m": {ida, idb}, "pos_" + idb: {"1"}, "name_" + ida: {"Website"}, "section_" + ida: {"Web"}})
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?done=created") {
		t.Fatalf("create: %d %s %s", p.status, p.location(), p.body)
	}
	pageID := strings.TrimSuffix(strings.TrimPrefix(p.location(), "/status-pages/"), "?done=created")
	edit := op.get(p.location())
	if edit.status != http.StatusOK || !strings.Contains(edit.body, "The status page was created") || !strings.Contains(edit.body, e.http.URL+"/status/acme-services") {
		t.Fatalf("edit page after create: %d", edit.status)
	}
	pub := fetch(t, e, "/status/acme-services", auth.RoleNone)
	if pub.status != http.StatusOK || strings.Index(pub.body, ">bravo<") > strings.Index(pub.body, ">Website<") || !strings.Contains(pub.body, ">Web</h2>") {
		t.Fatalf("public page after create: %d", pub.status)
	}

	// Another page cannot take the address.
	p = op.post("/status-pages/new", url.Values{"title": {"Other"}, "slug": {"acme-services"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.fieldError("slug"), "exists already") {
		t.Fatalf("taken slug: %d %q", p.status, p.fieldError("slug"))
	}

	// Save: untick a monitor, make it private.
	p = op.post("/status-pages/"+pageID, url.Values{"title": {"Acme Services"}, "slug": {"acme-services"}, "m": {idb}})
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?done=saved") {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	if got := fetch(t, e, "/status/acme-services", auth.RoleNone); got.status != http.StatusNotFound {
		t.Fatalf("made private, anonymous gets %d", got.status)
	}

	// Viewers see the list, not the forms.
	viewer := signedIn(t, e, auth.RoleViewer)
	if l := viewer.get("/status-pages"); l.status != http.StatusOK || strings.Contains(l.body, `href="/status-pages/new"`) || !strings.Contains(l.body, "/status/acme-services") {
		t.Fatalf("viewer list: %d", l.status)
	}
	for _, path := range []string{"/status-pages/new", "/status-pages/" + pageID} {
		if got := viewer.get(path); got.status != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d", path, got.status)
		}
	}
	if got := viewer.post("/status-pages/new", url.Values{"title": {"V"}}); got.status != http.StatusForbidden {
		t.Errorf("viewer create: %d", got.status)
	}
	if got := viewer.get("/status/acme-services"); got.status != http.StatusOK {
		t.Errorf("viewer on the private page: %d", got.status)
	}

	// Delete asks first (data-confirm), then the page is gone.
	if edit := op.get("/status-pages/" + pageID); !strings.Contains(edit.body, `data-confirm="Delete the status page`) {
		t.Error("delete does not ask first")
	}
	p = op.post("/status-pages/"+pageID+"/delete", nil)
	if p.status != http.StatusSeeOther || p.location() != "/status-pages?done=deleted" {
		t.Fatalf("delete: %d %s", p.status, p.location())
	}
	if got := op.get("/status-pages/" + pageID); got.status != http.StatusNotFound {
		t.Errorf("edit page after delete: %d", got.status)
	}
	if got := viewer.get("/status/acme-services"); got.status != http.StatusNotFound {
		t.Errorf("page after delete: %d", got.status)
	}
}

// TestExplainPutsErrorsBesideTheirRow maps the domain's field names for
// page entries back to the form row of the monitor they name.
func TestExplainPutsErrorsBesideTheirRow(t *testing.T) {
	f := statusPageForm{Rows: []statusFormRow{{ID: 7}, {ID: 9}}, Errors: fieldErrors{}}
	order := []int64{9, 7}
	for _, tc := range []struct {
		err  error
		want func() string
	}{
		{valid.Errorf("monitors[0].display_name", "is too long"), func() string { return f.Rows[1].NameError }},
		{valid.Errorf("monitors[1].section", "contains a control character"), func() string { return f.Rows[0].SectionError }},
		{valid.Errorf("monitors[1].position", "must be from 0 to 1000000"), func() string { return f.Rows[0].PositionError }},
		{valid.Errorf("monitors[0].monitor_id", "there is no monitor with id 9"), func() string { return f.Rows[1].Error }},
		{valid.Errorf("slug", "is required"), func() string { return f.Errors["slug"] }},
		{valid.Errorf("monitors", "are too many (201; at most 200 fit on one page)"), func() string { return f.Errors["monitors"] }},
	} {
		if !explain(tc.err, &f, order) || tc.want() == "" {
			t.Errorf("%v: not shown where it belongs (%+v, %v)", tc.err, f.Rows, f.Errors)
		}
	}
	if explain(errors.New("disk full"), &f, order) {
		t.Error("a server error was explained as input")
	}
}
