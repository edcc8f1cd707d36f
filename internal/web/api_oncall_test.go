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

func TestOnCallAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { testOnCallAPI(t, newTestEnvOn(t, db)) })
}

func testOnCallAPI(t *testing.T, e *testEnv) {
	op, vw := e.users[auth.RoleOperator], e.users[auth.RoleViewer]
	body := fmt.Sprintf(`{"name":"Primary","time_zone":"Europe/Berlin","layers":[
		{"name":"24x7","rotation":"daily","handoff":"09:00","start_date":"2026-03-28","participants":[%d,%d]}]}`, op.ID, vw.ID)

	if resp := e.do("POST", "/api/v1/schedules", auth.RoleViewer, body); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer created a schedule: %d", resp.StatusCode)
	}
	resp := e.do("POST", "/api/v1/schedules", auth.RoleOperator, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var sc struct {
		ID int64 `json:"id"`
	}
	decodeInto(t, resp, &sc)
	path := fmt.Sprintf("/api/v1/schedules/%d", sc.ID)

	// Bad input names the field; garbage is 400; unknown fields refused.
	for _, c := range []struct {
		body, field string
		status      int
	}{
		{`{"name":"x","time_zone":"Mars/Base"}`, "time_zone", 422},
		{`{"name":"x","time_zone":"UTC","layers":[{"rotation":"daily","handoff":"9am","start_date":"2026-01-01","participants":[1]}]}`, "layers[0].handoff", 422},
		{`{"name":"x","time_zone":"UTC","layers":[{"rotation":"daily","handoff":"09:00","start_date":"2026-01-01","participants":[424242]}]}`, "layers[0].participants", 422},
		{`{"name":"x","time_zone":"UTC","colour":"red"}`, "colour", 400},
		{`{"name":`, "", 400},
	} {
		resp := e.do("POST", "/api/v1/schedules", auth.RoleOperator, c.body)
		b := readBody(t, resp)
		if resp.StatusCode != c.status || !strings.Contains(b, `"field":"`+c.field+`"`) && c.field != "" {
			t.Errorf("%s: %d %s; want %d on %s", c.body, resp.StatusCode, b, c.status, c.field)
		}
	}

	// 2026-03-29 is the spring-forward day; the second day's shift is vw's.
	resp = e.do("GET", path+"/oncall?at=2026-03-29T10:00:00%2B02:00", auth.RoleViewer, "")
	var oc onCallView
	decodeInto(t, resp, &oc)
	if resp.StatusCode != 200 || len(oc.UserIDs) != 1 || oc.UserIDs[0] != vw.ID || oc.Current.User != vw.Username ||
		oc.Current.End.UTC().Format("2006-01-02T15:04Z07:00") != "2026-03-30T07:00Z" {
		t.Fatalf("oncall: %d %+v", resp.StatusCode, oc)
	}
	if resp := e.do("GET", path+"/oncall?at=yesterday", auth.RoleViewer, ""); resp.StatusCode != 422 || !strings.Contains(readBody(t, resp), `"field":"at"`) {
		t.Fatalf("bad at: %d", resp.StatusCode)
	}

	// An override by the operator changes who is on call.
	ov := fmt.Sprintf(`{"user_id":%d,"start":"2026-03-29T09:30:00+02:00","end":"2026-03-29T12:00:00+02:00","note":"swap"}`, op.ID)
	if resp := e.do("POST", path+"/overrides", auth.RoleViewer, ov); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer added an override: %d", resp.StatusCode)
	}
	resp = e.do("POST", path+"/overrides", auth.RoleOperator, ov)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("override: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var o struct {
		ID int64 `json:"id"`
	}
	decodeInto(t, resp, &o)
	resp = e.do("GET", path+"/shifts?from=2026-03-29T00:00:00%2B01:00&to=2026-03-30T00:00:00%2B02:00", auth.RoleViewer, "")
	var shifts page[shiftView]
	decodeInto(t, resp, &shifts)
	var got []string
	for _, s := range shifts.Data {
		got = append(got, fmt.Sprintf("%s-%s %s", s.Start.UTC().Format("15:04"), s.End.UTC().Format("15:04"), s.User))
	}
	want := []string{"23:00-07:00 " + op.Username, "07:00-07:30 " + vw.Username, "07:30-10:00 " + op.Username, "10:00-22:00 " + vw.Username}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("shifts %v, want %v", got, want)
	}
	if resp := e.do("GET", path+"/shifts?from=2026-01-01&to=2028-01-01", auth.RoleViewer, ""); resp.StatusCode != 422 {
		t.Fatalf("two-year window: %d", resp.StatusCode)
	}
	if resp := e.do("DELETE", fmt.Sprintf("%s/overrides/%d", path, o.ID), auth.RoleOperator, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete override: %d", resp.StatusCode)
	}

	resp = e.do("GET", "/api/v1/oncall", auth.RoleViewer, "")
	var now page[onCallView]
	decodeInto(t, resp, &now)
	if resp.StatusCode != 200 || len(now.Data) != 1 || now.Data[0].ScheduleName != "Primary" || now.Data[0].Current == nil {
		t.Fatalf("oncall now: %d %+v", resp.StatusCode, now)
	}

	// Policies: admins edit, operators and viewers read.
	pol := fmt.Sprintf(`{"name":"Default","repeats":1,"levels":[{"delay_minutes":5,"targets":[{"type":"user","id":%d}]},{"delay_minutes":10,"targets":[{"type":"schedule","id":%d}]}]}`, op.ID, sc.ID)
	if resp := e.do("POST", "/api/v1/escalation-policies", auth.RoleOperator, pol); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("operator created a policy: %d", resp.StatusCode)
	}
	resp = e.do("POST", "/api/v1/escalation-policies", auth.RoleAdmin, pol)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create policy: %d %s", resp.StatusCode, readBody(t, resp))
	}
	if resp := e.do("POST", "/api/v1/escalation-policies", auth.RoleAdmin, `{"name":"Empty","levels":[{"delay_minutes":5,"targets":[]}]}`); resp.StatusCode != 422 ||
		!strings.Contains(readBody(t, resp), `"field":"levels[0].targets"`) {
		t.Fatalf("empty level: %d", resp.StatusCode)
	}
	resp = e.do("GET", "/api/v1/escalation-policies?limit=1", auth.RoleViewer, "")
	var pols page[struct {
		Name string `json:"name"`
	}]
	decodeInto(t, resp, &pols)
	if len(pols.Data) != 1 || pols.Data[0].Name != "Default" || pols.NextCursor != "" {
		t.Fatalf("policies: %+v", pols)
	}
	// An escalation started by the incident pipeline is visible.
	if resp := e.do("GET", "/api/v1/escalations/77", auth.RoleViewer, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("escalation before start: %d", resp.StatusCode)
	}
	var polID int64
	if err := e.db.R.QueryRow(`SELECT id FROM escalation_policies WHERE name = 'Default'`).Scan(&polID); err != nil {
		t.Fatal(err)
	}
	if err := e.oncall.Start(t.Context(), e.db.W, 77, polID); err != nil {
		t.Fatal(err)
	}
	resp = e.do("GET", "/api/v1/escalations/77", auth.RoleViewer, "")
	if b := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(b, `"state":"active"`) || !strings.Contains(b, `"level":1`) {
		t.Fatalf("escalation: %d %s", resp.StatusCode, b)
	}
	if resp := e.do("DELETE", path, auth.RoleOperator, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete schedule: %d", resp.StatusCode)
	}
	if resp := e.do("GET", path, auth.RoleViewer, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted schedule: %d", resp.StatusCode)
	}
	var actions string
	if err := e.db.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action IN ('schedule.create','override.create','override.delete','escalation_policy.create','schedule.delete')`).Scan(&actions); err != nil || actions != "5" {
		t.Fatalf("audit rows: %s %v", actions, err)
	}
}
