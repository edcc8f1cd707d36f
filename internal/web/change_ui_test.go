package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestChangeUI drives the pages as an operator: the form refuses bad
// input beside its fields, then a change goes draft → assessment →
// authorization, a viewer in the CAB approves it from the page, and every
// change page renders.
func TestChangeUI(t *testing.T) {
	e := newTestEnv(t)
	ci := changeCI(t, e, "billing")
	op := signedIn(t, e, auth.RoleOperator)
	if p := op.get("/changes/new"); p.status != http.StatusOK {
		t.Fatalf("new form: %d", p.status)
	}
	start := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Minute)
	form := url.Values{"type": {"normal"}, "title": {"Move billing DB"}, "ci_ids": {""}, "risk": {"medium"},
		"planned_start": {start.Format("2006-01-02T15:04")}, "planned_end": {start.Add(-time.Hour).Format("2006-01-02T15:04")},
		"implementation_plan": {"dump and restore"}, "backout_plan": {"point DNS back"}}
	p := op.post("/changes/new", form)
	if p.status != http.StatusUnprocessableEntity || p.fieldError("planned_end") == "" {
		t.Fatalf("end before start: %d %q", p.status, p.fieldError("planned_end"))
	}
	form.Set("planned_end", start.Add(time.Hour).Format("2006-01-02T15:04"))
	p = op.post("/changes/new", form)
	if p.status != http.StatusUnprocessableEntity || p.fieldError("ci_ids") == "" {
		t.Fatalf("no CIs: %d %q", p.status, p.fieldError("ci_ids"))
	}
	if countRows(t, e.db, "changes") != 0 {
		t.Fatal("refused forms created a change")
	}
	form.Set("ci_ids", fmt.Sprint(ci))
	p = op.post("/changes/new", form)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/changes/1") {
		t.Fatalf("create: %d %s %s", p.status, p.location(), p.body)
	}
	page := op.get("/changes/1")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Move billing DB") || !strings.Contains(page.body, `value="submit"`) {
		t.Fatalf("detail: %d", page.status)
	}
	// Starting a draft is refused on the page with the reason.
	if p = op.post("/changes/1/transition", url.Values{"action": {"start"}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "cannot start") {
		t.Fatalf("illegal step: %d", p.status)
	}
	admin := signedIn(t, e, auth.RoleAdmin)
	admin.get("/changes/cab")
	if p = admin.post("/changes/cab/groups", url.Values{"name": {"CAB"}, "member": {fmt.Sprint(e.users[auth.RoleViewer].ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("group: %d %s", p.status, p.body)
	}
	if p = admin.post("/changes/cab/rules", url.Values{"risk": {"medium"}, "min_1": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("rule: %d %s", p.status, p.body)
	}
	for _, a := range []string{"submit", "authorize"} {
		if p = op.post("/changes/1/transition", url.Values{"action": {a}}); p.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", a, p.status, p.body)
		}
	}
	viewer := signedIn(t, e, auth.RoleViewer)
	if in := viewer.get("/changes/approvals"); !strings.Contains(in.body, "Move billing DB") {
		t.Fatal("the change is not in the approver's inbox")
	}
	viewer.get("/changes/1")
	if p = viewer.post("/changes/1/decide", url.Values{"decision": {"approve"}, "comment": {"ok"}}); p.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", p.status, p.body)
	}
	if page = op.get("/changes/1"); !strings.Contains(page.body, "change-scheduled") {
		t.Fatal("the approved change is not scheduled")
	}
	at := start.Format("2006-01-02")
	for _, path := range []string{"/changes", "/changes?state=scheduled&q=billing", "/changes/calendar", "/changes/calendar?view=week&at=" + at,
		"/changes/calendar?view=list&at=" + at, "/changes/approvals", "/changes/templates", "/changes/freezes", "/changes/cab", "/changes/metrics", "/changes/1/edit"} {
		p := op.get(path)
		if p.status != http.StatusOK && !(path == "/changes/1/edit" && p.status == http.StatusOK) {
			t.Fatalf("GET %s: %d", path, p.status)
		}
	}
	// Editing a scheduled change is refused with the reason at the top.
	op.get("/changes/1/edit")
	if p = op.post("/changes/1/edit", form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "cannot be edited") {
		t.Fatalf("edit scheduled: %d", p.status)
	}
	if cal := op.get("/changes/calendar?view=week&at=" + at); !strings.Contains(cal.body, "Move billing DB") {
		t.Fatal("the week calendar does not show the change")
	}
	if p = op.get("/changes/calendar?at=yesterday"); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad date: %d", p.status)
	}
	// Freezes are for admins; an operator's form post is refused.
	if p = op.post("/changes/freezes", url.Values{"name": {"x"}}); p.status != http.StatusForbidden {
		t.Fatalf("operator freeze: %d", p.status)
	}
	admin.get("/changes/freezes")
	if p = admin.post("/changes/freezes", url.Values{"name": {"x"}, "kind": {"once"}, "timezone": {"UTC"}, "starts_at": {"2026-06-02T10:00"}, "ends_at": {"2026-06-02T09:00"}}); p.status != http.StatusUnprocessableEntity || p.fieldError("ends_at") == "" {
		t.Fatalf("freeze end before start: %d %q", p.status, p.fieldError("ends_at"))
	}
	if p = admin.post("/changes/freezes", url.Values{"name": {"Weekends"}, "kind": {"recurring"}, "cron": {"0 0 * * 6"}, "duration": {"48h"}, "timezone": {"Europe/Berlin"}}); p.status != http.StatusSeeOther {
		t.Fatalf("freeze: %d %s", p.status, p.body)
	}
	op.get("/changes/templates")
	if p = op.post("/changes/templates", url.Values{"name": {"Restart"}, "risk": {"low"}, "duration": {"never"}}); p.status != http.StatusUnprocessableEntity || p.fieldError("duration") == "" {
		t.Fatalf("template bad duration: %d", p.status)
	}
	if p = op.post("/changes/templates", url.Values{"name": {"Restart"}, "risk": {"low"}, "duration": {"15m"}, "ci_ids": {fmt.Sprint(ci)}}); p.status != http.StatusSeeOther {
		t.Fatalf("template: %d %s", p.status, p.body)
	}
	// Hostile text is shown as text.
	op.get("/changes/new")
	form.Set("title", `<script>alert(1)</script>`)
	form.Set("description", `<img src=x onerror=alert(1)>`)
	if p = op.post("/changes/new", form); p.status != http.StatusSeeOther {
		t.Fatalf("hostile create: %d", p.status)
	}
	page = op.get(p.location())
	if strings.Contains(page.body, "<script>alert(1)") || strings.Contains(page.body, "<img src=x") || !strings.Contains(page.body, "&lt;script&gt;") {
		t.Fatal("hostile text was not escaped")
	}
	if p = op.get("/changes/999"); p.status != http.StatusNotFound {
		t.Fatalf("missing change: %d", p.status)
	}
	if p = op.get("/changes/abc"); p.status != http.StatusNotFound {
		t.Fatalf("bad id: %d", p.status)
	}
}

// FuzzParseIDList: the CI-number fields of the change and template forms
// either give positive ids or a validation error naming the field.
func FuzzParseIDList(f *testing.F) {
	for _, s := range []string{"1, 2 3", "#4,#5", "", "1,,2", "-1", "99999999999999999999", "1\n2", "a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseIDList("ci_ids", s)
		if err != nil {
			if !strings.Contains(err.Error(), "ci_ids") {
				t.Fatalf("error without the field: %v", err)
			}
			return
		}
		for _, id := range ids {
			if id <= 0 {
				t.Fatalf("%q gave id %d", s, id)
			}
		}
	})
}
