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

func TestOnCallUI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { testOnCallUI(t, newTestEnvOn(t, db)) })
}

func testOnCallUI(t *testing.T, e *testEnv) {
	op := signedIn(t, e, auth.RoleOperator)
	opUser, vwUser := e.users[auth.RoleOperator].Username, e.users[auth.RoleViewer].Username

	p := op.get("/oncall")
	if p.status != http.StatusOK || !strings.Contains(p.body, "No schedules yet.") || !strings.Contains(p.body, `href="/oncall/schedules/new"`) {
		t.Fatalf("empty on-call page: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `href="/oncall" aria-current="page">On call</a>`) {
		t.Error("navigation does not mark On call")
	}

	// A form with mistakes comes back with each error beside its field.
	bad := url.Values{"name": {""}, "time_zone": {"Mars/Base"},
		"layers[0].rotation": {"daily"}, "layers[0].handoff": {"09:00"}, "layers[0].start_date": {"2026-01-01"},
		"layers[0].participants": {"nobody-here"}, "layers[0].new": {"1"}}
	p = op.post("/oncall/schedules/new", bad)
	if p.status != http.StatusUnprocessableEntity || p.fieldError("layers[0].participants") == "" {
		t.Fatalf("bad form: %d participants error %q\n%s", p.status, p.fieldError("layers[0].participants"), p.body)
	}
	bad.Set("layers[0].participants", opUser)
	p = op.post("/oncall/schedules/new", bad)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.fieldError("name"), "required") {
		t.Fatalf("missing name: %d %q", p.status, p.fieldError("name"))
	}
	bad.Set("name", "Ops")
	p = op.post("/oncall/schedules/new", bad)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.fieldError("time_zone"), "unknown time zone") {
		t.Fatalf("bad zone: %d %q", p.status, p.fieldError("time_zone"))
	}
	bad.Set("time_zone", "Europe/Berlin")
	bad.Set("layers[0].restrictions", "weekdays 9-5")
	p = op.post("/oncall/schedules/new", bad)
	if p.status != http.StatusUnprocessableEntity || p.fieldError("layers[0].restrictions") == "" {
		t.Fatalf("bad restriction: %d %q", p.status, p.fieldError("layers[0].restrictions"))
	}

	good := url.Values{"name": {"Ops"}, "time_zone": {"Europe/Berlin"},
		"layers[0].name": {"24x7"}, "layers[0].rotation": {"daily"}, "layers[0].handoff": {"09:00"}, "layers[0].start_date": {"2026-01-01"},
		"layers[0].participants": {opUser + ", " + vwUser}, "layers[0].restrictions": {""}, "layers[0].new": {"1"}}
	p = op.post("/oncall/schedules/new", good)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?notice=schedule-created") {
		t.Fatalf("create: %d %q\n%s", p.status, p.location(), p.body)
	}
	schedPath, _, _ := strings.Cut(p.location(), "?")
	p = op.get(schedPath)
	if p.status != http.StatusOK || !strings.Contains(p.body, `class="oncall-cal"`) || !strings.Contains(p.body, "cal-now") ||
		!strings.Contains(p.body, `<strong class="oncall-user">`) {
		t.Fatalf("schedule page: %d\n%s", p.status, p.body)
	}
	p = op.get(schedPath + "?view=month&date=2026-03-15")
	if p.status != http.StatusOK || !strings.Contains(p.body, "March 2026") || !strings.Contains(p.body, "Sun 29 Mar") ||
		!strings.Contains(p.body, "date=2026-04-01&amp;view=month") {
		t.Fatalf("month view: %d %v %v %v", p.status, strings.Contains(p.body, "March 2026"), strings.Contains(p.body, "Sun 29 Mar"), strings.Contains(p.body, "date=2026-04-01&amp;view=month"))
	}
	// 29 March 2026 in Berlin has 23 hours; its row still reaches 09:00 hand-offs.
	if !strings.Contains(p.body, "Sun 29 Mar 09:00 → Mon 30 Mar 09:00") {
		t.Errorf("month view lacks the DST day's shift")
	}

	// Editing adds a second layer; the blank one left blank adds nothing.
	p = op.get(schedPath + "/edit")
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="layers[0].participants"`) || !strings.Contains(p.body, `name="layers[1].new"`) {
		t.Fatalf("edit form: %d", p.status)
	}
	edit := url.Values{}
	for k, v := range good {
		edit[k] = v
	}
	edit.Del("layers[0].new")
	edit.Set("layers[1].rotation", "weekly")
	edit.Set("layers[1].handoff", "09:00")
	edit.Set("layers[1].start_date", "2026-01-05")
	edit.Set("layers[1].participants", vwUser)
	edit.Set("layers[1].restrictions", "mon-fri 09:00-17:00")
	edit.Set("layers[1].new", "1")
	edit.Set("layers[2].rotation", "weekly")
	edit.Set("layers[2].new", "1")
	if p = op.post(schedPath+"/edit", edit); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", p.status, p.body)
	}
	var id int64
	fmt.Sscanf(schedPath, "/oncall/schedules/%d", &id)
	sc, err := e.oncall.Schedule(t.Context(), id)
	if err != nil || len(sc.Layers) != 2 || len(sc.Layers[1].Restrictions) != 1 || sc.Layers[1].Restrictions[0].Start != "09:00" ||
		strings.Join(sc.Layers[1].Restrictions[0].Days, ",") != "mon,tue,wed,thu,fri" {
		t.Fatalf("stored layers: %+v %v", sc, err)
	}

	// Overrides: a bad one is explained, a good one is listed.
	p = op.post(schedPath+"/overrides", url.Values{"user_id": {""}, "start": {"2099-01-01T10:00"}, "end": {"2099-01-01T09:00"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("user_id") == "" {
		t.Fatalf("bad override: %d %q", p.status, p.fieldError("user_id"))
	}
	uid := fmt.Sprint(e.users[auth.RoleViewer].ID)
	p = op.post(schedPath+"/overrides", url.Values{"user_id": {uid}, "start": {"2099-01-01T10:00"}, "end": {"2099-01-01T09:00"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.fieldError("end"), "after") {
		t.Fatalf("end before start: %d %q", p.status, p.fieldError("end"))
	}
	p = op.post(schedPath+"/overrides", url.Values{"user_id": {uid}, "start": {"2099-01-01T10:00"}, "end": {"2099-01-02T10:00"}, "note": {"holiday"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("override: %d\n%s", p.status, p.body)
	}
	p = op.get(schedPath)
	if !strings.Contains(p.body, "holiday") || !strings.Contains(p.body, "/overrides/") || !strings.Contains(p.body, "data-confirm") {
		t.Fatal("override not listed with a confirmed delete")
	}

	// Viewers see the schedule without edit controls and cannot post.
	vw := signedIn(t, e, auth.RoleViewer)
	if p := vw.get(schedPath); p.status != http.StatusOK || strings.Contains(p.body, "Add an override") || strings.Contains(p.body, "/edit") {
		t.Fatalf("viewer page: %d", p.status)
	}
	if p := vw.post(schedPath+"/overrides", url.Values{"user_id": {uid}}); p.status != http.StatusForbidden {
		t.Fatalf("viewer override: %d", p.status)
	}

	// Policies: admins edit through the form.
	ad := signedIn(t, e, auth.RoleAdmin)
	if p := op.get("/oncall/policies/new"); p.status != http.StatusForbidden {
		t.Fatalf("operator policy form: %d", p.status)
	}
	form := url.Values{"name": {"Default"}, "repeats": {"1"},
		"levels[0].delay_minutes": {"0"}, "levels[0].users": {opUser}, "levels[0].new": {"1"}}
	p = ad.post("/oncall/policies/new", form)
	if p.status != http.StatusUnprocessableEntity || p.fieldError("levels[0].delay_minutes") == "" {
		t.Fatalf("bad delay: %d %q\n%s", p.status, p.fieldError("levels[0].delay_minutes"), p.body)
	}
	form.Set("levels[0].delay_minutes", "5")
	form.Set("levels[0].schedules", fmt.Sprint(id))
	if p = ad.post("/oncall/policies/new", form); p.status != http.StatusSeeOther {
		t.Fatalf("create policy: %d\n%s", p.status, p.body)
	}
	p = vw.get("/oncall/policies")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Default") || !strings.Contains(p.body, opUser+" and schedule Ops, then 5 min") {
		t.Fatalf("policies page: %d\n%s", p.status, p.body)
	}
	p = op.get("/oncall")
	if !strings.Contains(p.body, "Ops") || !strings.Contains(p.body, "Escalation policies (1)") {
		t.Fatalf("overview: %s", p.body)
	}
	if p := op.post(schedPath+"/delete", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("delete schedule: %d", p.status)
	}
	if p := ad.get("/oncall/policies/1"); p.status != http.StatusOK || !strings.Contains(p.body, "(deleted) is no longer there") {
		t.Fatalf("policy with a deleted schedule: %d\n%s", p.status, p.body)
	}
}
