package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestIncidentFormsInTheUI drives the forms as a browser would: errors come
// back beside their fields, good input redirects, and the integration key
// appears once.
func TestIncidentFormsInTheUI(t *testing.T) {
	e := newTestEnv(t)
	admin := signedIn(t, e, auth.RoleAdmin)
	admin.get("/services/new")
	if p := admin.post("/services/new", url.Values{"name": {""}, "group_window": {"forever"}}); p.status != 422 || p.fieldError("group_window") == "" {
		t.Fatalf("bad service form: %d %s", p.status, p.body)
	}
	admin.get("/services/new")
	p := admin.post("/services/new", url.Values{"name": {"Payments"}, "group_by": {"cluster, alertname"}, "group_window": {"30m"}, "auto_resolve": {"on"}})
	if p.status != 303 || !strings.HasPrefix(p.location(), "/services/") {
		t.Fatalf("create service: %d %s", p.status, p.body)
	}
	svcPath := strings.Split(p.location(), "?")[0]
	page := admin.get(svcPath)
	if !strings.Contains(page.body, "alerts with the same cluster, alertname within 30m") {
		t.Fatalf("service page: %s", page.body)
	}
	if p := admin.post(svcPath+"/integrations", url.Values{"name": {"hook"}, "kind": {"generic"}, "map_summary": {"a..b"}}); p.status != 422 || p.fieldError("map_summary") == "" {
		t.Fatalf("bad mapping: %d %s", p.status, p.body)
	}
	admin.get(svcPath)
	p = admin.post(svcPath+"/integrations", url.Values{"name": {"Prometheus"}, "kind": {"alertmanager"}})
	if p.status != 201 || !strings.Contains(p.body, "never shown again") || !strings.Contains(p.body, "/hooks/alertmanager/") || !strings.Contains(p.body, "send_resolved: true") {
		t.Fatalf("integration created: %d %s", p.status, p.body)
	}

	op := signedIn(t, e, auth.RoleOperator)
	op.get("/incidents/new")
	if p := op.post("/incidents/new", url.Values{"title": {""}, "severity": {"SEV2"}}); p.status != 422 || p.fieldError("title") == "" {
		t.Fatalf("incident without title: %d", p.status)
	}
	op.get("/incidents/new")
	p = op.post("/incidents/new", url.Values{"title": {"Card payments failing"}, "severity": {"SEV1"}})
	if p.status != 303 {
		t.Fatalf("declare: %d %s", p.status, p.body)
	}
	incPath := strings.Split(p.location(), "?")[0]
	op.get(incPath)
	if p := op.post(incPath+"/notes", url.Values{"text": {"  "}}); p.status != 422 || p.fieldError("text") == "" {
		t.Fatalf("empty note: %d", p.status)
	}
	op.get(incPath)
	if p := op.post(incPath+"/merge", url.Values{"into": {"not a number"}}); p.status != 422 || p.fieldError("into") == "" {
		t.Fatalf("merge into garbage: %d", p.status)
	}
	op.get(incPath)
	if p := op.post(incPath+"/reopen", url.Values{}); p.status != 409 {
		t.Fatalf("reopen an open incident: %d", p.status)
	}
	op.get(incPath)
	if p := op.post(incPath+"/explode", url.Values{}); p.status != 404 {
		t.Fatalf("unknown action: %d", p.status)
	}

	op.get("/problems/new")
	p = op.post("/problems/new", url.Values{"title": {"Acquirer timeouts"}, "workaround": {"Switch acquirer"}, "known_error": {"on"}})
	if p.status != 303 {
		t.Fatalf("problem: %d %s", p.status, p.body)
	}
	probPath := strings.Split(p.location(), "?")[0]
	op.get(probPath)
	if p := op.post(probPath+"/incidents", url.Values{"incident_id": {"#999999"}}); p.status != 422 || p.fieldError("incident_id") == "" {
		t.Fatalf("link to nothing: %d %s", p.status, p.body)
	}
	op.get(probPath)
	if p := op.post(probPath+"/incidents", url.Values{"incident_id": {strings.TrimPrefix(incPath, "/incidents/")}}); p.status != 303 {
		t.Fatalf("link: %d %s", p.status, p.body)
	}

	op.get(incPath + "/postmortem")
	if p := op.post(incPath+"/postmortem/actions", url.Values{"text": {"Alert on acquirer latency"}, "due_on": {"31/12"}}); p.status != 422 || p.fieldError("due_on") == "" {
		t.Fatalf("bad due date: %d", p.status)
	}
	op.get(incPath + "/postmortem")
	if p := op.post(incPath+"/postmortem", url.Values{"body": {"We switched acquirer."}}); p.status != 303 {
		t.Fatalf("save postmortem: %d %s", p.status, p.body)
	}
	if page := op.get(incPath); !strings.Contains(page.body, "Linked to problem #") {
		t.Fatalf("incident timeline lacks the problem link")
	}
}
