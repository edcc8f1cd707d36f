package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

type apiChange struct {
	ID            int64  `json:"id"`
	State         string `json:"state"`
	Outcome       string `json:"outcome"`
	Type          string `json:"type"`
	Risk          string `json:"risk"`
	Unapproved    bool   `json:"unapproved"`
	MaintenanceID *int64 `json:"maintenance_id"`
	CIs           []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"cis"`
}

// changeCI makes a CI through the CMDB service and returns its id.
func changeCI(t *testing.T, e *testEnv, name string) int64 {
	t.Helper()
	c, err := e.cmdb.Create(auth.WithActor(context.Background(), auth.SystemActor()), cmdb.CIInput{Type: "application", Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func countRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantAPIField(t *testing.T, resp *http.Response, status int, field string) {
	t.Helper()
	body := readBody(t, resp)
	if resp.StatusCode != status || !strings.Contains(body, `"field":"`+field+`"`) {
		t.Fatalf("%s %s: want %d naming %s, got %d %s", resp.Request.Method, resp.Request.URL.Path, status, field, resp.StatusCode, body)
	}
}

// TestChangeAPIFlow walks a normal change from draft to closed through the
// API with a real approver group, and proves the affected CI's monitor is
// in maintenance while it is implemented.
func TestChangeAPIFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		ci := changeCI(t, e, "shop")
		mon := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/monitors", auth.RoleOperator,
			`{"name":"shop","type":"http","url":"http://127.0.0.1:1/","interval":"1h","timeout":"1s"}`), http.StatusCreated)
		if _, err := e.cmdb.LinkObject(auth.WithActor(context.Background(), auth.SystemActor()), ci, cmdb.LinkMonitor, mon.ID); err != nil {
			t.Fatal(err)
		}
		g := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/cab-groups", auth.RoleAdmin,
			fmt.Sprintf(`{"name":"CAB","member_ids":[%d,%d]}`, e.users[auth.RoleViewer].ID, e.users[auth.RoleOperator].ID)), http.StatusCreated)
		if r := e.do("PUT", "/api/v1/approval-rules/high", auth.RoleAdmin, fmt.Sprintf(`{"terms":[{"group_id":%d,"min":1}]}`, g.ID)); r.StatusCode != http.StatusNoContent {
			t.Fatalf("rule: %d %s", r.StatusCode, readBody(t, r))
		}
		start := time.Now().UTC().Add(time.Hour).Truncate(time.Minute)
		body := fmt.Sprintf(`{"type":"normal","title":"Upgrade shop","ci_ids":[%d],"risk_answers":{"production":true,"outage":true},
			"implementation_plan":"apt upgrade","backout_plan":"snapshot","planned_start":%q,"planned_end":%q}`,
			ci, start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339))
		c := decodeAs[apiChange](t, e.do("POST", "/api/v1/changes", auth.RoleOperator, body), http.StatusCreated)
		if c.State != "draft" || c.Risk != "high" || len(c.CIs) != 1 || c.CIs[0].Name != "shop" {
			t.Fatalf("created %+v", c)
		}
		path := fmt.Sprintf("/api/v1/changes/%d", c.ID)
		step := func(role auth.Role, action, extra string) *http.Response {
			return e.do("POST", path+"/transitions", role, `{"action":"`+action+`"`+extra+`}`)
		}
		decodeAs[apiChange](t, step(auth.RoleOperator, "submit", ""), http.StatusOK)
		c = decodeAs[apiChange](t, step(auth.RoleOperator, "authorize", ""), http.StatusOK)
		if c.State != "authorization" {
			t.Fatalf("state %s", c.State)
		}
		// The requester may not approve; a viewer in the group may.
		wantAPIField(t, e.do("POST", path+"/approvals", auth.RoleOperator, `{"decision":"approve"}`), 422, "approver")
		wantAPIField(t, e.do("POST", path+"/approvals", auth.RoleAdmin, `{"decision":"approve"}`), 422, "approver")
		wantAPIField(t, e.do("POST", path+"/approvals", auth.RoleViewer, `{"decision":"maybe"}`), 422, "decision")
		inbox := decodeAs[struct{ Data []apiChange }](t, e.do("GET", "/api/v1/changes/inbox", auth.RoleViewer, ""), http.StatusOK)
		if len(inbox.Data) != 1 {
			t.Fatalf("inbox %+v", inbox)
		}
		c = decodeAs[apiChange](t, e.do("POST", path+"/approvals", auth.RoleViewer, `{"decision":"approve","comment":"go"}`), http.StatusOK)
		if c.State != "scheduled" {
			t.Fatalf("after approval: %s", c.State)
		}
		// A viewer cannot move changes.
		if r := step(auth.RoleViewer, "start", ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("viewer start: %d", r.StatusCode)
		}
		c = decodeAs[apiChange](t, step(auth.RoleOperator, "start", ""), http.StatusOK)
		ws, err := e.mons.Windows(context.Background())
		if err != nil || len(ws) != 1 || len(ws[0].MonitorIDs) != 1 || ws[0].MonitorIDs[0] != mon.ID || c.MaintenanceID == nil {
			t.Fatalf("maintenance while implementing: %+v %v %+v", ws, err, c)
		}
		if m, _ := e.mons.Get(context.Background(), mon.ID); e.mons.InMaintenance(m.Monitor) == nil {
			t.Fatal("the monitor is not in maintenance")
		}
		wantAPIField(t, step(auth.RoleOperator, "close", ""), 422, "outcome")
		c = decodeAs[apiChange](t, step(auth.RoleOperator, "close", `,"outcome":"successful"`), http.StatusOK)
		if c.State != "closed" || c.Outcome != "successful" {
			t.Fatalf("closed %+v", c)
		}
		if ws, _ := e.mons.Windows(context.Background()); len(ws) != 0 {
			t.Fatalf("maintenance window left after close: %+v", ws)
		}
		tl := decodeAs[struct{ Data []struct{ Kind string } }](t, e.do("GET", path+"/timeline", auth.RoleViewer, ""), http.StatusOK)
		if len(tl.Data) < 8 {
			t.Fatalf("timeline %+v", tl)
		}
		for _, p := range []string{path + "/approvals", path + "/conflicts", "/api/v1/change-calendar", "/api/v1/change-metrics?from=2026-01-01&to=2026-12-31",
			"/api/v1/changes?state=closed", "/api/v1/cab-groups", "/api/v1/approval-rules", "/api/v1/change-freezes", "/api/v1/change-templates"} {
			if r := e.do("GET", p, auth.RoleViewer, ""); r.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", p, r.StatusCode, readBody(t, r))
			}
		}
	})
}

// TestChangeAPIBadInput: refusals name the field and write nothing.
func TestChangeAPIBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		ci := changeCI(t, e, "db")
		ok := decodeAs[apiChange](t, e.do("POST", "/api/v1/changes", auth.RoleOperator, fmt.Sprintf(`{"type":"normal","title":"x","ci_ids":[%d]}`, ci)), http.StatusCreated)
		changes, events := countRows(t, db, "changes"), countRows(t, db, "change_events")
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"no CIs", "POST", "/api/v1/changes", `{"type":"normal","title":"x"}`, 422, "ci_ids"},
			{"emergency without CIs", "POST", "/api/v1/changes", `{"type":"emergency","title":"x","ci_ids":[]}`, 422, "ci_ids"},
			{"unknown CI", "POST", "/api/v1/changes", `{"type":"normal","title":"x","ci_ids":[987654]}`, 422, "ci_ids"},
			{"end before start", "POST", "/api/v1/changes", fmt.Sprintf(`{"type":"normal","title":"x","ci_ids":[%d],"planned_start":"2026-06-02T10:00:00Z","planned_end":"2026-06-02T09:00:00Z"}`, ci), 422, "planned_end"},
			{"bad type", "POST", "/api/v1/changes", `{"type":"yolo","title":"x"}`, 422, "type"},
			{"bad risk", "POST", "/api/v1/changes", fmt.Sprintf(`{"type":"normal","title":"x","ci_ids":[%d],"risk":"extreme"}`, ci), 422, "risk"},
			{"huge title", "POST", "/api/v1/changes", fmt.Sprintf(`{"type":"normal","title":%q,"ci_ids":[%d]}`, strings.Repeat("a", 201), ci), 422, "title"},
			{"control chars", "POST", "/api/v1/changes", fmt.Sprintf(`{"type":"normal","title":"a\u0000b","ci_ids":[%d]}`, ci), 422, "title"},
			{"standard without template", "POST", "/api/v1/changes", `{"type":"standard","title":"x"}`, 422, "template_id"},
			{"unknown field", "POST", "/api/v1/changes", `{"type":"normal","title":"x","approved":true}`, 400, "approved"},
			{"illegal transition", "POST", fmt.Sprintf("/api/v1/changes/%d/transitions", ok.ID), `{"action":"start"}`, 422, "state"},
			{"unknown action", "POST", fmt.Sprintf("/api/v1/changes/%d/transitions", ok.ID), `{"action":"approve"}`, 422, "action"},
			{"submit without a plan", "POST", fmt.Sprintf("/api/v1/changes/%d/transitions", ok.ID), `{"action":"submit"}`, 422, "planned_start"},
			{"approve a draft", "POST", fmt.Sprintf("/api/v1/changes/%d/approvals", ok.ID), `{"decision":"approve"}`, 422, "state"},
			{"freeze end before start", "POST", "/api/v1/change-freezes", `{"name":"f","starts_at":"2026-06-02T10:00:00Z","ends_at":"2026-06-02T09:00:00Z"}`, 422, "ends_at"},
			{"freeze bad zone", "POST", "/api/v1/change-freezes", `{"name":"f","cron":"0 0 * * 6","duration":"48h","timezone":"Nowhere/Land"}`, 422, "timezone"},
			{"freeze bad cron", "POST", "/api/v1/change-freezes", `{"name":"f","cron":"every day","duration":"48h"}`, 422, "cron"},
			{"rule bad min", "PUT", "/api/v1/approval-rules/low", `{"terms":[{"group_id":1,"min":0}]}`, 422, "min"},
			{"rule bad risk", "PUT", "/api/v1/approval-rules/apocalyptic", `{"terms":[]}`, 422, "risk"},
			{"bad link kind", "POST", fmt.Sprintf("/api/v1/changes/%d/links", ok.ID), `{"kind":"user","object_id":1}`, 422, "kind"},
			{"bad calendar", "GET", "/api/v1/change-calendar?from=2026-06-01&to=2027-06-01", "", 422, "to"},
			{"bad cursor", "GET", "/api/v1/changes?cursor=abc", "", 422, "cursor"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantAPIField(t, e.do(tc.method, tc.path, auth.RoleAdmin, tc.body), tc.status, tc.field)
			})
		}
		if countRows(t, db, "changes") != changes || countRows(t, db, "change_events") != events || countRows(t, db, "change_freezes") != 0 {
			t.Fatal("a refused request wrote something")
		}
		if r := e.do("POST", "/api/v1/changes", auth.RoleViewer, `{}`); r.StatusCode != http.StatusForbidden {
			t.Fatalf("viewer create: %d", r.StatusCode)
		}
		if r := e.do("POST", "/api/v1/change-freezes", auth.RoleOperator, `{}`); r.StatusCode != http.StatusForbidden {
			t.Fatalf("operator freeze: %d", r.StatusCode)
		}
		if r := e.do("GET", "/api/v1/changes", auth.RoleRequester, ``); r.StatusCode != http.StatusForbidden {
			t.Fatalf("requester list: %d", r.StatusCode)
		}
	})
}

// TestChangeAPIPipeline is the documented deploy job: open a standard
// change from a template, mark it implementing, close it with the outcome.
func TestChangeAPIPipeline(t *testing.T) {
	e := newTestEnv(t)
	ci := changeCI(t, e, "api")
	tp := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/change-templates", auth.RoleOperator,
		fmt.Sprintf(`{"name":"Deploy api","duration":"30m","ci_ids":[%d],"implementation_plan":"CI job deploys the tagged image"}`, ci)), http.StatusCreated)
	c := decodeAs[apiChange](t, e.do("POST", "/api/v1/changes/standard", auth.RoleOperator, fmt.Sprintf(`{"template_id":%d,"title":"Deploy api v1.4.2"}`, tp.ID)), http.StatusCreated)
	if c.Type != "standard" || c.State != "scheduled" {
		t.Fatalf("opened %+v", c)
	}
	path := fmt.Sprintf("/api/v1/changes/%d/transitions", c.ID)
	decodeAs[apiChange](t, e.do("POST", path, auth.RoleOperator, `{"action":"start"}`), http.StatusOK)
	c = decodeAs[apiChange](t, e.do("POST", path, auth.RoleOperator, `{"action":"close","outcome":"rolled_back","comment":"smoke test failed"}`), http.StatusOK)
	if c.State != "closed" || c.Outcome != "rolled_back" {
		t.Fatalf("closed %+v", c)
	}
	wantAPIField(t, e.do("POST", "/api/v1/changes/standard", auth.RoleOperator, `{"template_id":99999}`), 422, "template_id")
	// Templates, freezes and groups delete once, then are not found.
	fr := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/change-freezes", auth.RoleAdmin, `{"name":"EOY","starts_at":"2026-12-20T00:00:00Z","ends_at":"2027-01-04T00:00:00Z"}`), http.StatusCreated)
	gr := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/cab-groups", auth.RoleAdmin, `{"name":"Net"}`), http.StatusCreated)
	for _, p := range []string{fmt.Sprintf("/api/v1/change-templates/%d", tp.ID), fmt.Sprintf("/api/v1/change-freezes/%d", fr.ID), fmt.Sprintf("/api/v1/cab-groups/%d", gr.ID)} {
		if r := e.do("DELETE", p, auth.RoleAdmin, ""); r.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d", p, r.StatusCode)
		}
		if r := e.do("DELETE", p, auth.RoleAdmin, ""); r.StatusCode != http.StatusNotFound {
			t.Fatalf("second DELETE %s: %d", p, r.StatusCode)
		}
	}
	// An oversized body is refused before it is read whole.
	if r := e.do("POST", "/api/v1/changes", auth.RoleOperator, `{"type":"normal","title":"x","description":"`+strings.Repeat("a", 2<<20)+`"}`); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized: %d", r.StatusCode)
	}
}
