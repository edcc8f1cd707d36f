package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// decodeAs reads a JSON answer, failing on an unexpected status.
func decodeAs[T any](t *testing.T, resp *http.Response, want int) T {
	t.Helper()
	body := readBody(t, resp)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

type apiTicket struct {
	ID        int64    `json:"id"`
	Status    string   `json:"status"`
	Subject   string   `json:"subject"`
	Priority  int      `json:"priority"`
	GroupID   int64    `json:"group_id"`
	Assignee  string   `json:"assignee"`
	SLAState  string   `json:"sla_state"`
	SLAPaused bool     `json:"sla_paused"`
	Tags      []string `json:"tags"`
	SLA       *struct {
		State      string `json:"state"`
		Paused     bool   `json:"paused"`
		Resolution struct {
			Target int64 `json:"target_seconds"`
			Paused bool  `json:"paused"`
		} `json:"resolution"`
	} `json:"sla"`
}

type apiError2 struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
}

// extraUser adds a user with a role and returns its id and API token.
func (e *testEnv) extraUser(name string, role auth.Role) (int64, string) {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.auth.CreateUser(ctx, auth.NewUser{Username: name, Role: role, Password: testPassword})
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _, err := e.auth.CreateToken(ctx, auth.NewToken{Name: name, Role: role, UserID: u.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID, raw
}

// doToken sends a request with a raw token.
func (e *testEnv) doToken(method, path, token, body string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestServiceDeskAPIFlow(t *testing.T) {
	e := newTestEnv(t)
	admin, op, req := auth.RoleAdmin, auth.RoleOperator, auth.RoleRequester
	cal := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/calendars", admin,
		`{"name":"Office","time_zone":"Europe/Berlin","hours":{"mon":["08:00-12:00","13:00-17:00"],"tue":["08:00-17:00"],"wed":["08:00-17:00"],"thu":["08:00-17:00"],"fri":["08:00-17:00"]},"holidays":["2026-12-25"]}`),
		http.StatusCreated)
	decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/sla-policies", admin,
		fmt.Sprintf(`{"name":"Standard","position":10,"calendar_id":%d,"response_minutes":60,"resolution_minutes":480}`, cal.ID)), http.StatusCreated)
	grp := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/ticket-groups", admin,
		fmt.Sprintf(`{"name":"Network","assign_mode":"round_robin","categories":["vpn"],"member_ids":[%d]}`, e.users[op].ID)), http.StatusCreated)
	// Operators cannot configure.
	if r := e.do("POST", "/api/v1/calendars", op, `{"name":"x","time_zone":"UTC","all_day":true}`); r.StatusCode != http.StatusForbidden {
		t.Fatalf("operator made a calendar: %d", r.StatusCode)
	}

	tk := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", req, `{"subject":"VPN drops","description":"every hour","category":"VPN"}`), http.StatusCreated)
	if tk.Status != "new" || tk.GroupID != grp.ID || tk.Assignee != e.users[op].Username || tk.SLA == nil || tk.SLA.Resolution.Target != 480*60 {
		t.Fatalf("created %+v", tk)
	}
	path := fmt.Sprintf("/api/v1/tickets/%d", tk.ID)
	decodeAs[struct{ ID int64 }](t, e.do("POST", path+"/comments", op, `{"body":"Which client?"}`), http.StatusCreated)
	decodeAs[struct{ ID int64 }](t, e.do("POST", path+"/comments", op, `{"body":"looks like the gateway","public":false}`), http.StatusCreated)
	tk = decodeAs[apiTicket](t, e.do("PATCH", path, op, `{"status":"pending","pending_reason":"requester","tags":["vpn","remote"]}`), http.StatusOK)
	if tk.Status != "pending" || !tk.SLA.Paused || !tk.SLAPaused || len(tk.Tags) != 2 {
		t.Fatalf("pending %+v", tk)
	}
	// The requester sees the public reply only.
	cs := decodeAs[page[struct{ Body string }]](t, e.do("GET", path+"/comments", req, ""), http.StatusOK)
	if len(cs.Data) != 1 || cs.Data[0].Body != "Which client?" {
		t.Fatalf("requester sees %+v", cs.Data)
	}
	decodeAs[struct{ ID int64 }](t, e.do("POST", path+"/comments", req, `{"body":"5.2"}`), http.StatusCreated)
	tk = decodeAs[apiTicket](t, e.do("GET", path, req, ""), http.StatusOK)
	if tk.Status != "open" || tk.SLA.Paused {
		t.Fatalf("after the requester's reply %+v", tk)
	}
	// Filters: status, group, SLA state, text; a requester cannot PATCH.
	list := decodeAs[page[apiTicket]](t, e.do("GET", fmt.Sprintf("/api/v1/tickets?status=open&group=%d&sort=sla&q=vpn", grp.ID), op, ""), http.StatusOK)
	if len(list.Data) != 1 || list.Data[0].ID != tk.ID {
		t.Fatalf("filtered list %+v", list.Data)
	}
	list = decodeAs[page[apiTicket]](t, e.do("GET", "/api/v1/tickets?sla=paused", op, ""), http.StatusOK)
	if len(list.Data) != 0 {
		t.Fatalf("paused filter %+v", list.Data)
	}
	if r := e.do("PATCH", path, req, `{"subject":"mine now"}`); r.StatusCode != http.StatusForbidden {
		t.Fatalf("requester PATCH: %d", r.StatusCode)
	}
	// A move the lifecycle refuses is a 409 naming status.
	decodeAs[apiTicket](t, e.do("PATCH", path, op, `{"status":"resolved"}`), http.StatusOK)
	decodeAs[apiTicket](t, e.do("PATCH", path, op, `{"status":"closed"}`), http.StatusOK)
	ae := decodeAs[apiError2](t, e.do("PATCH", path, op, `{"status":"open"}`), http.StatusConflict)
	if ae.Error.Code != "invalid_transition" || ae.Error.Field != "status" {
		t.Fatalf("closed → open: %+v", ae)
	}
	hist := decodeAs[page[struct{ Field, New, Actor string }]](t, e.do("GET", path+"/history", op, ""), http.StatusOK)
	if len(hist.Data) < 8 {
		t.Fatalf("history %+v", hist.Data)
	}
	// Bulk and merge.
	a := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", op, `{"subject":"printer"}`), http.StatusCreated)
	b := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", op, `{"subject":"printer again"}`), http.StatusCreated)
	n := decodeAs[map[string]int](t, e.do("POST", "/api/v1/tickets/bulk", op, fmt.Sprintf(`{"ids":[%d,%d],"priority":1}`, a.ID, b.ID)), http.StatusOK)
	if n["updated"] != 2 {
		t.Fatalf("bulk %v", n)
	}
	decodeAs[apiTicket](t, e.do("POST", fmt.Sprintf("/api/v1/tickets/%d/merge", b.ID), op, fmt.Sprintf(`{"into":%d}`, a.ID)), http.StatusOK)
	b = decodeAs[apiTicket](t, e.do("GET", fmt.Sprintf("/api/v1/tickets/%d", b.ID), op, ""), http.StatusOK)
	if b.Status != "closed" || b.Priority != 1 {
		t.Fatalf("merged %+v", b)
	}
	// Matrix.
	m := decodeAs[matrixBody](t, e.do("GET", "/api/v1/priority-matrix", req, ""), http.StatusOK)
	m.Matrix[2][2] = 4
	body, _ := json.Marshal(m)
	m = decodeAs[matrixBody](t, e.do("PUT", "/api/v1/priority-matrix", admin, string(body)), http.StatusOK)
	if m.Matrix[2][2] != 4 {
		t.Fatalf("matrix %v", m.Matrix)
	}
	// Every change is audited.
	var audited int
	if err := e.db.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'ticket.%' OR action LIKE 'calendar.%' OR action LIKE 'sla_policy.%' OR action LIKE 'ticket_group.%' OR action LIKE 'priority_matrix.%'`).Scan(&audited); err != nil || audited < 14 {
		t.Fatalf("audited %d, %v", audited, err)
	}
}

// TestServiceDeskRequesterIsolation guesses another requester's ticket id
// in every ticket route.
func TestServiceDeskRequesterIsolation(t *testing.T) {
	e := newTestEnv(t)
	_, mallory := e.extraUser("mallory", auth.RoleRequester)
	tk := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", auth.RoleRequester, `{"subject":"my salary question"}`), http.StatusCreated)
	for _, id := range []int64{tk.ID, tk.ID + 1, 999999} {
		p := fmt.Sprintf("/api/v1/tickets/%d", id)
		for _, c := range []struct{ method, path, body string }{
			{"GET", p, ""}, {"GET", p + "/comments", ""}, {"GET", p + "/history", ""}, {"POST", p + "/comments", `{"body":"hi"}`},
		} {
			if r := e.doToken(c.method, c.path, mallory, c.body); r.StatusCode != http.StatusNotFound {
				t.Errorf("mallory %s %s: %d, want 404", c.method, c.path, r.StatusCode)
			}
		}
		for _, c := range []struct{ method, path, body string }{
			{"PATCH", p, `{"subject":"x"}`}, {"POST", p + "/merge", `{"into":1}`}, {"POST", "/api/v1/tickets/bulk", fmt.Sprintf(`{"ids":[%d],"priority":1}`, id)},
		} {
			if r := e.doToken(c.method, c.path, mallory, c.body); r.StatusCode != http.StatusForbidden {
				t.Errorf("mallory %s %s: %d, want 403", c.method, c.path, r.StatusCode)
			}
		}
	}
	list := decodeAs[page[apiTicket]](t, e.doToken("GET", fmt.Sprintf("/api/v1/tickets?requester=%d", e.users[auth.RoleRequester].ID), mallory, ""), http.StatusOK)
	if len(list.Data) != 0 {
		t.Fatalf("mallory lists %+v", list.Data)
	}
}

func TestServiceDeskAPIBadInput(t *testing.T) {
	e := newTestEnv(t)
	op := auth.RoleOperator
	cases := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/api/v1/tickets", `{"subject":5}`, 400, "subject"},
		{"POST", "/api/v1/tickets", `{"subject":"x","impact":"high"}`, 400, "impact"},
		{"POST", "/api/v1/tickets", `{"subject":"x","tags":"a,b"}`, 400, "tags"},
		{"POST", "/api/v1/tickets", `{"subject":"x","colour":"red"}`, 400, "colour"},
		{"POST", "/api/v1/tickets", `{"subject":"` + strings.Repeat("x", 201) + `"}`, 422, "subject"},
		{"POST", "/api/v1/tickets", `{"subject":"x","description":"` + strings.Repeat("d", 20001) + `"}`, 422, "description"},
		{"POST", "/api/v1/tickets", `{"subject":"a\u0007b"}`, 422, "subject"},
		{"POST", "/api/v1/tickets", `{"subject":"x","impact":7}`, 422, "impact"},
		{"POST", "/api/v1/tickets", `[1,2]`, 400, ""},
		{"GET", "/api/v1/tickets?status=done", "", 422, "status"},
		{"GET", "/api/v1/tickets?priority=urgent", "", 422, "priority"},
		{"GET", "/api/v1/tickets?cursor=xyz", "", 422, "cursor"},
		{"GET", "/api/v1/tickets?limit=5000", "", 422, "limit"},
		{"GET", "/api/v1/tickets?sla=late", "", 422, "sla"},
		{"GET", "/api/v1/tickets/abc", "", 422, "id"},
		{"POST", "/api/v1/tickets/bulk", `{"ids":[]}`, 422, "ids"},
		{"POST", "/api/v1/calendars", `{"name":"x","time_zone":"Mars/Base"}`, 403, ""},
	}
	for _, c := range cases {
		r := e.do(c.method, c.path, op, c.body)
		body := readBody(t, r)
		if r.StatusCode != c.status {
			t.Errorf("%s %s %.40s: status %d, want %d: %s", c.method, c.path, c.body, r.StatusCode, c.status, body)
			continue
		}
		var ae apiError2
		_ = json.Unmarshal([]byte(body), &ae)
		if ae.Error.Field != c.field {
			t.Errorf("%s %s %.40s: field %q, want %q", c.method, c.path, c.body, ae.Error.Field, c.field)
		}
	}
	for _, c := range []struct{ body, field string }{
		{`{"name":"x","time_zone":"Mars/Base"}`, "time_zone"},
		{`{"name":"x","time_zone":"UTC","hours":{"mon":["9-5"]}}`, "hours.mon"},
		{`{"name":"x","time_zone":"UTC","hours":{"mon":["08:00-17:00"]},"holidays":["tomorrow"]}`, "holidays"},
	} {
		ae := decodeAs[apiError2](t, e.do("POST", "/api/v1/calendars", auth.RoleAdmin, c.body), 422)
		if ae.Error.Field != c.field {
			t.Errorf("calendar %s: field %q", c.body, ae.Error.Field)
		}
	}
	big := `{"subject":"x","description":"` + strings.Repeat("d", 2<<20) + `"}`
	if r := e.do("POST", "/api/v1/tickets", op, big); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d", r.StatusCode)
	}
}
