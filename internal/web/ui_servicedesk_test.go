package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

func TestServiceDeskPagesEscapeHostileText(t *testing.T) {
	e := newTestEnv(t)
	tk := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", auth.RoleRequester,
		fmt.Sprintf(`{"subject":%q,"description":%q}`, hostile, hostile)), http.StatusCreated)
	decodeAs[struct{ ID int64 }](t, e.do("POST", fmt.Sprintf("/api/v1/tickets/%d/comments", tk.ID), auth.RoleOperator, fmt.Sprintf(`{"body":%q}`, hostile)), http.StatusCreated)
	decodeAs[struct{ ID int64 }](t, e.do("POST", fmt.Sprintf("/api/v1/tickets/%d/comments", tk.ID), auth.RoleOperator, `{"body":"secret internal note","public":false}`), http.StatusCreated)
	for _, role := range []auth.Role{auth.RoleRequester, auth.RoleViewer, auth.RoleOperator, auth.RoleAdmin} {
		b := signedIn(t, e, role)
		for _, path := range []string{"/tickets", fmt.Sprintf("/tickets/%d", tk.ID), "/tickets/new"} {
			p := b.get(path)
			if p.status != http.StatusOK {
				t.Fatalf("%s %s: %d", role, path, p.status)
			}
			if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img src=x") {
				t.Fatalf("%s %s: hostile HTML rendered raw", role, path)
			}
		}
		detail := b.get(fmt.Sprintf("/tickets/%d", tk.ID)).body
		if !strings.Contains(detail, "&lt;script&gt;") {
			t.Fatalf("%s: subject not shown escaped", role)
		}
		if internal := strings.Contains(detail, "secret internal note"); internal != role.Allows(auth.RoleViewer) {
			t.Fatalf("%s sees the internal note: %v", role, internal)
		}
		if actions := strings.Contains(detail, `action="/tickets/`+fmt.Sprint(tk.ID)+`/update"`); actions != role.Allows(auth.RoleOperator) {
			t.Fatalf("%s gets the agent actions: %v", role, actions)
		}
		// Viewers read but cannot reply; everyone else can.
		if reply := strings.Contains(detail, `action="/tickets/`+fmt.Sprint(tk.ID)+`/reply"`); reply == (role == auth.RoleViewer) {
			t.Fatalf("%s gets the reply box: %v", role, reply)
		}
	}
	admin := signedIn(t, e, auth.RoleAdmin)
	for _, path := range []string{"/service-desk", "/service-desk/calendars/new", "/service-desk/policies/new", "/service-desk/groups/new"} {
		if p := admin.get(path); p.status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.status)
		}
	}
}

func TestServiceDeskUIForms(t *testing.T) {
	e := newTestEnv(t)
	req := signedIn(t, e, auth.RoleRequester)
	req.get("/tickets/new")
	p := req.post("/tickets/new", url.Values{"subject": {""}, "description": {"help"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("subject") == "" {
		t.Fatalf("empty subject: %d %q", p.status, p.fieldError("subject"))
	}
	p = req.post("/tickets/new", url.Values{"subject": {"Laptop will not boot"}, "description": {"black screen"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/tickets/") {
		t.Fatalf("create: %d %s", p.status, p.location())
	}
	detail := p.location()
	id := strings.TrimPrefix(strings.Split(detail, "?")[0], "/tickets/")
	if list := req.get("/tickets"); !strings.Contains(list.body, "Laptop will not boot") || !strings.Contains(list.body, "My requests") {
		t.Fatal("My requests does not list the new request")
	}

	admin := signedIn(t, e, auth.RoleAdmin)
	admin.get("/service-desk/calendars/new")
	p = admin.post("/service-desk/calendars/new", url.Values{"name": {"Office"}, "time_zone": {"Europe/Berlin"}, "hours_mon": {"08:00-12:00, 11:00-17:00"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.fieldError("hours_mon"), "overlap") {
		t.Fatalf("overlapping spans: %d %q", p.status, p.fieldError("hours_mon"))
	}
	p = admin.post("/service-desk/calendars/new", url.Values{"name": {"Office"}, "time_zone": {"Europe/Berlin"},
		"hours_mon": {"08:00-12:00, 13:00-17:00"}, "hours_fri": {"08:00-15:00"}, "holidays": {"2026-12-25\n2026-12-26"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("calendar: %d %s", p.status, p.body)
	}
	admin.get("/service-desk/policies/new")
	p = admin.post("/service-desk/policies/new", url.Values{"name": {"All"}, "position": {"1"}, "response_minutes": {"0"}, "resolution_minutes": {"480"}, "warn_percent": {"80"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("response_minutes") == "" {
		t.Fatalf("zero response target: %d", p.status)
	}
	p = admin.post("/service-desk/matrix", url.Values{"m11": {"1"}, "m12": {"9"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad matrix: %d", p.status)
	}

	op := signedIn(t, e, auth.RoleOperator)
	op.get(detail)
	p = op.post("/tickets/"+id+"/update", url.Values{"was_status": {"new"}, "status": {"closed"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "cannot go from new to closed") {
		t.Fatalf("new → closed: %d", p.status)
	}
	p = op.post("/tickets/"+id+"/update", url.Values{"was_status": {"new"}, "status": {"pending"}, "was_pending_reason": {""}, "pending_reason": {"third_party"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("set pending: %d %s", p.status, p.body)
	}
	p = op.post("/tickets/"+id+"/update", url.Values{"was_due_at": {""}, "due_at": {"next friday"}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("due_at") == "" {
		t.Fatalf("bad due date: %d %q", p.status, p.fieldError("due_at"))
	}
	if p = op.post("/tickets/"+id+"/update", url.Values{"was_due_at": {""}, "due_at": {"2026-12-24T17:00"}}); p.status != http.StatusSeeOther {
		t.Fatalf("due date: %d", p.status)
	}
	if page := op.get(detail); !strings.Contains(page.body, `value="2026-12-24T17:00"`) {
		t.Fatal("the due date was not kept")
	}
	if page := op.get("/tickets?sla=none&status=pending"); !strings.Contains(page.body, "pending (third party)") {
		t.Fatal("the queue does not show the pending ticket")
	}
	op.get("/tickets")
	p = op.post("/tickets/bulk", url.Values{"t": {id}, "status": {"new"}, "return": {"/tickets?status=pending"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "cannot go from pending to new") {
		t.Fatalf("bulk refused: %d", p.status)
	}
	p = op.post("/tickets/bulk", url.Values{"t": {id}, "priority": {"1"}, "return": {"/tickets?status=pending"}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "notice=tickets-updated") {
		t.Fatalf("bulk: %d %s", p.status, p.location())
	}
	if r := req.post("/tickets/"+id+"/update", url.Values{"status": {"resolved"}}); r.status != http.StatusForbidden {
		t.Fatalf("requester used the agent form: %d", r.status)
	}
}
