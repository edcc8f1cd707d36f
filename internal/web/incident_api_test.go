package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
)

// decode reads a JSON answer into v and returns the status.
func decode(t *testing.T, resp *http.Response, v any) int {
	t.Helper()
	body := readBody(t, resp)
	if v != nil {
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("status %d, body %q: %v", resp.StatusCode, body, err)
		}
	}
	return resp.StatusCode
}

// newIntegration makes a service and an integration of kind through the
// API and returns the integration as created (with its key and URL).
func newIntegration(t *testing.T, e *testEnv, kind string, service string) integrationView {
	t.Helper()
	var ts incident.TechService
	if code := decode(t, e.do("POST", "/api/v1/services", auth.RoleAdmin, `{"name":"`+service+`","group_by":["cluster"]}`), &ts); code != 201 {
		t.Fatalf("create service: %d", code)
	}
	var in integrationView
	body := fmt.Sprintf(`{"service_id":%d,"name":"%s in","kind":"%s"}`, ts.ID, kind, kind)
	if kind == incident.KindGeneric {
		body = fmt.Sprintf(`{"service_id":%d,"name":"hook","kind":"generic","mapping":{"summary":"title","dedup_key":"id","status":"state"}}`, ts.ID)
	}
	if code := decode(t, e.do("POST", "/api/v1/integrations", auth.RoleAdmin, body), &in); code != 201 || len(in.Key) != 32 || in.URL == "" {
		t.Fatalf("create integration: %d %+v", code, in)
	}
	return in
}

func TestIntakePagerDutyEndpoint(t *testing.T) {
	e := newTestEnv(t)
	in := newIntegration(t, e, incident.KindPagerDuty, "Checkout")
	if !strings.HasSuffix(in.URL, "/v2/enqueue") {
		t.Fatalf("url %s", in.URL)
	}
	// The key is shown once: reading the integration again shows no key.
	var again integrationView
	decode(t, e.do("GET", fmt.Sprintf("/api/v1/integrations/%d", in.ID), auth.RoleAdmin, ""), &again)
	if again.Key != "" || again.URL != "" || again.KeyHint != in.Key[:4] {
		t.Fatalf("key shown again: %+v", again)
	}
	event := func(action, dedup string) string {
		return `{"routing_key":"` + in.Key + `","event_action":"` + action + `","dedup_key":"` + dedup + `","payload":{"summary":"Disk full","source":"db1","severity":"critical","custom_details":{"free":"0%"}}}`
	}
	var ok pdAnswer
	if code := decode(t, e.do("POST", "/v2/enqueue", auth.RoleNone, event("trigger", "disk-db1")), &ok); code != 202 || ok.Status != "success" || ok.Message != "Event processed" || ok.DedupKey != "disk-db1" {
		t.Fatalf("trigger: %d %+v", code, ok)
	}
	// Without a dedup key one is made and returned.
	noKey := `{"routing_key":"` + in.Key + `","event_action":"trigger","payload":{"summary":"CPU","source":"db2","severity":"warning"}}`
	if code := decode(t, e.do("POST", "/v2/enqueue", auth.RoleNone, noKey), &ok); code != 202 || len(ok.DedupKey) != 32 {
		t.Fatalf("generated dedup key: %d %+v", code, ok)
	}
	alertCount := func() int {
		var p page[incident.Alert]
		decode(t, e.do("GET", "/api/v1/alerts", auth.RoleViewer, ""), &p)
		return len(p.Data)
	}
	if n := alertCount(); n != 2 {
		t.Fatalf("alerts %d", n)
	}
	// Bad events: PagerDuty's 400 shape; nothing changes.
	var bad pdAnswer
	if code := decode(t, e.do("POST", "/v2/enqueue", auth.RoleNone, `{"routing_key":"`+in.Key+`","event_action":"trigger","payload":{"source":"x","severity":"critical"}}`), &bad); code != 400 ||
		bad.Status != "invalid event" || bad.Message != "Event object is invalid" || len(bad.Errors) == 0 || !strings.Contains(bad.Errors[0], "summary") {
		t.Fatalf("invalid event: %d %+v", code, bad)
	}
	for name, body := range map[string]string{"malformed": `{"routing_key":`, "empty": ``, "array": `[]`, "unknown action": `{"routing_key":"` + in.Key + `","event_action":"explode"}`} {
		if resp := e.do("POST", "/v2/enqueue", auth.RoleNone, body); resp.StatusCode != 400 {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	big := `{"routing_key":"` + in.Key + `","event_action":"trigger","payload":{"summary":"x","source":"s","severity":"info","custom_details":{"a":"` + strings.Repeat("x", 2<<20) + `"}}}`
	if resp := e.do("POST", "/v2/enqueue", auth.RoleNone, big); resp.StatusCode != 413 {
		t.Fatalf("oversize: %d", resp.StatusCode)
	}
	// A wrong key is refused with 404.
	if code := decode(t, e.do("POST", "/v2/enqueue", auth.RoleNone, strings.Replace(event("trigger", "x"), in.Key, strings.Repeat("0", 32), 1)), &bad); code != 404 || bad.Status != "invalid event" {
		t.Fatalf("wrong key: %d %+v", code, bad)
	}
	if n := alertCount(); n != 2 {
		t.Fatalf("refused events changed alerts: %d", n)
	}
	// Acknowledge and resolve through the Events API.
	decode(t, e.do("POST", "/v2/enqueue", auth.RoleNone, `{"routing_key":"`+in.Key+`","event_action":"acknowledge","dedup_key":"disk-db1"}`), &ok)
	var incs page[incident.Incident]
	decode(t, e.do("GET", "/api/v1/incidents?status=acknowledged", auth.RoleViewer, ""), &incs)
	if len(incs.Data) != 1 {
		t.Fatalf("acknowledged incidents: %+v", incs)
	}
	// Rotation: the old key stops working.
	var rot integrationView
	decode(t, e.do("POST", fmt.Sprintf("/api/v1/integrations/%d/rotate", in.ID), auth.RoleAdmin, ""), &rot)
	if rot.Key == "" || rot.Key == in.Key {
		t.Fatalf("rotate: %+v", rot)
	}
	if resp := e.do("POST", "/v2/enqueue", auth.RoleNone, event("resolve", "disk-db1")); resp.StatusCode != 404 {
		t.Fatalf("old key after rotation: %d", resp.StatusCode)
	}
	if resp := e.do("POST", "/v2/enqueue", auth.RoleNone, strings.Replace(event("resolve", "disk-db1"), in.Key, rot.Key, 1)); resp.StatusCode != 202 {
		t.Fatalf("new key: %d", resp.StatusCode)
	}
}

func TestIntakeAlertmanagerAndGenericEndpoints(t *testing.T) {
	e := newTestEnv(t)
	am := newIntegration(t, e, incident.KindAlertmanager, "Platform")
	msg := func(status string) string {
		return `{"version":"4","groupKey":"{}:{alertname=\"NodeDown\"}","status":"` + status + `","receiver":"opsdeck","alerts":[
		{"status":"` + status + `","labels":{"alertname":"NodeDown","cluster":"eu","instance":"n1"},"annotations":{"summary":"node n1 down"},"startsAt":"2026-12-01T10:00:00Z","endsAt":"2026-12-01T10:05:00Z","fingerprint":"f1","generatorURL":"http://prom/graph"},
		{"status":"` + status + `","labels":{"alertname":"NodeDown","cluster":"eu","instance":"n2"},"annotations":{"summary":"node n2 down"},"startsAt":"2026-12-01T10:00:00Z","endsAt":"2026-12-01T10:05:00Z","fingerprint":"f2"}]}`
	}
	path := strings.TrimPrefix(am.URL, e.http.URL)
	if resp := e.do("POST", path, auth.RoleNone, msg("firing")); resp.StatusCode != 200 {
		t.Fatalf("firing: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var incs page[incident.Incident]
	decode(t, e.do("GET", "/api/v1/incidents?status=open", auth.RoleViewer, ""), &incs)
	if len(incs.Data) != 1 || incs.Data[0].AlertCount != 2 || incs.Data[0].Severity != "SEV3" {
		t.Fatalf("after firing: %+v", incs.Data)
	}
	if resp := e.do("POST", "/hooks/alertmanager/"+strings.Repeat("a", 32), auth.RoleNone, msg("firing")); resp.StatusCode != 404 {
		t.Fatalf("wrong key: %d", resp.StatusCode)
	}
	if resp := e.do("POST", path, auth.RoleNone, `{"version":"4","alerts":[]}`); resp.StatusCode != 400 {
		t.Fatalf("empty alerts: %d", resp.StatusCode)
	}
	if resp := e.do("POST", path, auth.RoleNone, msg("resolved")); resp.StatusCode != 200 {
		t.Fatalf("resolved: %d", resp.StatusCode)
	}
	var inc incident.Incident
	decode(t, e.do("GET", fmt.Sprintf("/api/v1/incidents/%d", incs.Data[0].ID), auth.RoleViewer, ""), &inc)
	if inc.Status != incident.StatusResolved || inc.OpenAlerts != 0 {
		t.Fatalf("after resolved: %+v", inc)
	}
	// A PagerDuty key does not open the Alertmanager endpoint.
	pd := newIntegration(t, e, incident.KindPagerDuty, "Other")
	if resp := e.do("POST", "/hooks/alertmanager/"+pd.Key, auth.RoleNone, msg("firing")); resp.StatusCode != 404 {
		t.Fatalf("PagerDuty key on Alertmanager endpoint: %d", resp.StatusCode)
	}

	gen := newIntegration(t, e, incident.KindGeneric, "Jobs")
	gpath := strings.TrimPrefix(gen.URL, e.http.URL)
	var ans intakeAnswer
	if code := decode(t, e.do("POST", gpath, auth.RoleNone, `{"title":"Backup failed","id":"bk-1","state":"failing"}`), &ans); code != 202 || ans.DedupKey != "bk-1" {
		t.Fatalf("generic trigger: %d %+v", code, ans)
	}
	if code := decode(t, e.do("POST", gpath, auth.RoleNone, `{"id":"bk-1"}`), &ans); code != 400 {
		t.Fatalf("generic without summary: %d", code)
	}
	if code := decode(t, e.do("POST", gpath, auth.RoleNone, `{"title":"Backup failed","id":"bk-1","state":"ok"}`), &ans); code != 202 {
		t.Fatalf("generic resolve: %d", code)
	}
	var alerts page[incident.Alert]
	decode(t, e.do("GET", "/api/v1/alerts?status=open", auth.RoleViewer, ""), &alerts)
	if len(alerts.Data) != 0 {
		t.Fatalf("open alerts left: %+v", alerts.Data)
	}
}

func TestIncidentAPILifecycle(t *testing.T) {
	e := newTestEnv(t)
	var a, b incident.Incident
	if code := decode(t, e.do("POST", "/api/v1/incidents", auth.RoleOperator, `{"title":"Payments slow","severity":"SEV2"}`), &a); code != 201 || a.Priority != "P2" {
		t.Fatalf("create: %d %+v", code, a)
	}
	decode(t, e.do("POST", "/api/v1/incidents", auth.RoleOperator, `{"title":"Payments errors","severity":"SEV1"}`), &b)
	var apiErr apiError
	if code := decode(t, e.do("POST", "/api/v1/incidents", auth.RoleOperator, `{"title":"","severity":"SEV2"}`), &apiErr); code != 422 || apiErr.Error.Field != "title" {
		t.Fatalf("no title: %d %+v", code, apiErr)
	}
	if code := decode(t, e.do("POST", "/api/v1/incidents", auth.RoleOperator, `{"title":"x","colour":"red"}`), &apiErr); code != 400 || apiErr.Error.Field != "colour" {
		t.Fatalf("unknown field: %d %+v", code, apiErr)
	}
	id := func(i incident.Incident, suffix string) string {
		return fmt.Sprintf("/api/v1/incidents/%d%s", i.ID, suffix)
	}
	var got incident.Incident
	if code := decode(t, e.do("POST", id(a, "/ack"), auth.RoleOperator, ""), &got); code != 200 || got.Status != incident.StatusAcknowledged || got.AcknowledgedAt == nil {
		t.Fatalf("ack: %d %+v", code, got)
	}
	if code := decode(t, e.do("POST", id(a, "/reopen"), auth.RoleOperator, ""), &apiErr); code != 409 || apiErr.Error.Code != "invalid_transition" {
		t.Fatalf("reopen open: %d %+v", code, apiErr)
	}
	if resp := e.do("POST", id(a, "/notes"), auth.RoleOperator, `{"text":"rolled back"}`); resp.StatusCode != 201 {
		t.Fatalf("note: %d", resp.StatusCode)
	}
	uid := e.users[auth.RoleOperator].ID
	if code := decode(t, e.do("POST", id(a, "/assign"), auth.RoleOperator, fmt.Sprintf(`{"user_id":%d}`, uid)), &got); code != 200 || got.AssigneeID == nil || *got.AssigneeID != uid {
		t.Fatalf("assign: %d %+v", code, got)
	}
	var list page[incident.Incident]
	decode(t, e.do("GET", fmt.Sprintf("/api/v1/incidents?assignee=%d", uid), auth.RoleViewer, ""), &list)
	if len(list.Data) != 1 || list.Data[0].ID != a.ID {
		t.Fatalf("assignee filter: %+v", list.Data)
	}
	decode(t, e.do("GET", "/api/v1/incidents?severity=SEV1", auth.RoleViewer, ""), &list)
	if len(list.Data) != 1 || list.Data[0].ID != b.ID {
		t.Fatalf("severity filter: %+v", list.Data)
	}
	decode(t, e.do("GET", "/api/v1/incidents?limit=1", auth.RoleViewer, ""), &list)
	if len(list.Data) != 1 || list.NextCursor == "" {
		t.Fatalf("page 1: %+v", list)
	}
	var list2 page[incident.Incident]
	decode(t, e.do("GET", "/api/v1/incidents?limit=1&cursor="+list.NextCursor, auth.RoleViewer, ""), &list2)
	if len(list2.Data) != 1 || list2.Data[0].ID != a.ID || list2.NextCursor != "" {
		t.Fatalf("page 2: %+v", list2)
	}
	if code := decode(t, e.do("GET", "/api/v1/incidents?status=sleeping", auth.RoleViewer, ""), &apiErr); code != 422 || apiErr.Error.Field != "status" {
		t.Fatalf("bad status filter: %d %+v", code, apiErr)
	}
	if code := decode(t, e.do("POST", id(b, "/merge"), auth.RoleOperator, fmt.Sprintf(`{"into":%d}`, a.ID)), &got); code != 200 || got.MergedInto == nil || got.Status != incident.StatusResolved {
		t.Fatalf("merge: %d %+v", code, got)
	}
	if code := decode(t, e.do("POST", id(a, "/merge"), auth.RoleOperator, `{"into":999999}`), &apiErr); code != 422 || apiErr.Error.Field != "into" {
		t.Fatalf("merge into nothing: %d %+v", code, apiErr)
	}
	if code := decode(t, e.do("POST", id(a, "/resolve"), auth.RoleOperator, ""), &got); code != 200 || got.Status != incident.StatusResolved {
		t.Fatalf("resolve: %d %+v", code, got)
	}
	var tl page[incident.TimelineEntry]
	decode(t, e.do("GET", id(a, "/timeline"), auth.RoleViewer, ""), &tl)
	var kinds []string
	for _, en := range tl.Data {
		kinds = append(kinds, en.Kind)
	}
	if got := strings.Join(kinds, ","); got != "triggered,acknowledged,note,assigned,merged,resolved" {
		t.Fatalf("timeline %s", got)
	}
	if resp := e.do("GET", "/api/v1/incidents/999999", auth.RoleViewer, ""); resp.StatusCode != 404 {
		t.Fatalf("missing incident: %d", resp.StatusCode)
	}
	// The audit log has the changes.
	audit := readBody(t, e.do("GET", "/api/v1/audit", auth.RoleAdmin, ""))
	for _, action := range []string{"incident.create", "incident.acknowledge", "incident.merge", "incident.resolve"} {
		if !strings.Contains(audit, action) {
			t.Errorf("audit lacks %s", action)
		}
	}
}

func TestIncidentPagesAndActionLink(t *testing.T) {
	e := newTestEnv(t)
	in := newIntegration(t, e, incident.KindAlertmanager, "Web")
	var inc incident.Incident
	decode(t, e.do("POST", "/api/v1/incidents", auth.RoleOperator, `{"title":"<script>alert(1)</script> checkout","severity":"SEV1","service_id":`+fmt.Sprint(in.ServiceID)+`}`), &inc)
	for _, p := range []struct {
		path string
		role auth.Role
		want []string
	}{
		{"/incidents", auth.RoleViewer, []string{"&lt;script&gt;", "SEV1", "Triggered"}},
		{"/incidents?status=open&severity=SEV1", auth.RoleViewer, []string{"checkout"}},
		{"/incidents?status=bogus", auth.RoleViewer, []string{"Status must be"}},
		{fmt.Sprintf("/incidents/%d", inc.ID), auth.RoleOperator, []string{"Acknowledge", "Timeline", "Incident declared by"}},
		{"/incidents/new", auth.RoleOperator, []string{"Declare an incident"}},
		{"/services", auth.RoleViewer, []string{"Web"}},
		{fmt.Sprintf("/services/%d", in.ServiceID), auth.RoleAdmin, []string{"Add an integration", "alertmanager"}},
		{fmt.Sprintf("/integrations/%d", in.ID), auth.RoleAdmin, []string{"receivers:", "webhook_configs", "/hooks/alertmanager/YOUR-INTEGRATION-KEY"}},
	} {
		resp := e.do("GET", p.path, p.role, "")
		body := readBody(t, resp)
		if resp.StatusCode >= 500 || (resp.StatusCode != 200 && !strings.Contains(p.path, "bogus")) {
			t.Errorf("%s: status %d", p.path, resp.StatusCode)
		}
		for _, w := range p.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", p.path, w)
			}
		}
		if strings.Contains(body, "<script>alert(1)") {
			t.Errorf("%s: unescaped title", p.path)
		}
	}
	// The action link: GET only asks, POST acts, a tampered link is refused.
	ack, _ := e.incs.ActionLinks(inc.ID, e.http.URL)
	path := strings.TrimPrefix(ack, e.http.URL)
	resp := e.do("GET", path, auth.RoleNone, "")
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "Acknowledge incident #") {
		t.Fatalf("link page: %d %s", resp.StatusCode, body)
	}
	var got incident.Incident
	decode(t, e.do("GET", fmt.Sprintf("/api/v1/incidents/%d", inc.ID), auth.RoleViewer, ""), &got)
	if got.Status != incident.StatusTriggered {
		t.Fatalf("GET of the link changed the incident: %s", got.Status)
	}
	if resp := e.do("POST", path+"x", auth.RoleNone, ""); resp.StatusCode != 404 {
		t.Fatalf("tampered link: %d", resp.StatusCode)
	}
	resp = e.do("POST", path, auth.RoleNone, "")
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "Done") {
		t.Fatalf("link POST: %d %s", resp.StatusCode, body)
	}
	decode(t, e.do("GET", fmt.Sprintf("/api/v1/incidents/%d", inc.ID), auth.RoleViewer, ""), &got)
	if got.Status != incident.StatusAcknowledged {
		t.Fatalf("after link: %s", got.Status)
	}
	if resp := e.do("POST", path, auth.RoleNone, ""); resp.StatusCode != 409 {
		t.Fatalf("second use: %d", resp.StatusCode)
	}
}

func TestIncidentResponseStats(t *testing.T) {
	e := newTestEnv(t)
	var a incident.Incident
	decode(t, e.do("POST", "/api/v1/incidents", auth.RoleOperator, `{"title":"x","severity":"SEV2"}`), &a)
	decode(t, e.do("POST", fmt.Sprintf("/api/v1/incidents/%d/ack", a.ID), auth.RoleOperator, ""), nil)
	var st incident.Stats
	if code := decode(t, e.do("GET", "/api/v1/incidents/stats", auth.RoleViewer, ""), &st); code != 200 || st.Overall.Incidents != 1 || st.Overall.Acknowledged != 1 || len(st.BySeverity) != 1 {
		t.Fatalf("stats: %d %+v", code, st)
	}
	var apiErr apiError
	if code := decode(t, e.do("GET", "/api/v1/incidents/stats?severity=SEV9", auth.RoleViewer, ""), &apiErr); code != 422 || apiErr.Error.Field != "severity" {
		t.Fatalf("bad severity: %d %+v", code, apiErr)
	}
	resp := e.do("GET", "/incidents/stats?days=7", auth.RoleViewer, "")
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "<svg") || !strings.Contains(body, `id="mtta"`) || !strings.Contains(body, "SEV2") {
		t.Fatalf("stats page: %d %s", resp.StatusCode, body)
	}
	if resp := e.do("GET", "/incidents/stats?days=3", auth.RoleViewer, ""); resp.StatusCode != 400 {
		t.Fatalf("bad period: %d", resp.StatusCode)
	}
}

func TestProblemsAPIAndPages(t *testing.T) {
	e := newTestEnv(t)
	var inc incident.Incident
	decode(t, e.do("POST", "/api/v1/incidents", auth.RoleOperator, `{"title":"API 502s"}`), &inc)
	var p incident.Problem
	if code := decode(t, e.do("POST", "/api/v1/problems", auth.RoleOperator, `{"title":"LB drains too fast","workaround":"Raise the drain timeout","known_error":true}`), &p); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if code := decode(t, e.do("POST", fmt.Sprintf("/api/v1/problems/%d/incidents", p.ID), auth.RoleOperator, fmt.Sprintf(`{"incident_id":%d}`, inc.ID)), &p); code != 200 || len(p.IncidentIDs) != 1 {
		t.Fatalf("link: %d %+v", code, p)
	}
	var apiErr apiError
	if code := decode(t, e.do("POST", "/api/v1/problems", auth.RoleOperator, `{"title":""}`), &apiErr); code != 422 || apiErr.Error.Field != "title" {
		t.Fatalf("no title: %d %+v", code, apiErr)
	}
	var list page[incident.Problem]
	decode(t, e.do("GET", "/api/v1/problems?known_error=true&q=drain", auth.RoleViewer, ""), &list)
	if len(list.Data) != 1 {
		t.Fatalf("search: %+v", list)
	}
	for path, want := range map[string]string{"/problems?known_error=true&q=DRAIN": "LB drains too fast", fmt.Sprintf("/problems/%d", p.ID): "API 502s", "/problems/new": "Record problem"} {
		resp := e.do("GET", path, auth.RoleOperator, "")
		if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}
	if body := readBody(t, e.do("GET", "/problems?q=nothing-like-it", auth.RoleViewer, "")); !strings.Contains(body, "No problem matches") {
		t.Errorf("empty search page: %s", body)
	}
}

func TestPostmortemAPIAndPage(t *testing.T) {
	e := newTestEnv(t)
	var inc incident.Incident
	decode(t, e.do("POST", "/api/v1/incidents", auth.RoleOperator, `{"title":"Queue stuck"}`), &inc)
	base := fmt.Sprintf("/api/v1/incidents/%d/postmortem", inc.ID)
	var pm incident.Postmortem
	if code := decode(t, e.do("GET", base, auth.RoleViewer, ""), &pm); code != 200 || pm.Saved || !strings.Contains(pm.Body, "Queue stuck") {
		t.Fatalf("draft: %d %+v", code, pm)
	}
	if code := decode(t, e.do("PUT", base, auth.RoleOperator, `{"body":"Root cause: a poison message."}`), &pm); code != 200 || !pm.Saved {
		t.Fatalf("save: %d %+v", code, pm)
	}
	var a incident.ActionItem
	uid := e.users[auth.RoleOperator].ID
	if code := decode(t, e.do("POST", base+"/actions", auth.RoleOperator, fmt.Sprintf(`{"text":"Dead-letter queue","owner_id":%d,"due_on":"2027-01-15"}`, uid)), &a); code != 201 || a.OwnerName == "" {
		t.Fatalf("action: %d %+v", code, a)
	}
	var apiErr apiError
	if code := decode(t, e.do("POST", base+"/actions", auth.RoleOperator, `{"text":"x","due_on":"next week"}`), &apiErr); code != 422 || apiErr.Error.Field != "due_on" {
		t.Fatalf("bad due: %d %+v", code, apiErr)
	}
	if code := decode(t, e.do("PATCH", fmt.Sprintf("%s/actions/%d", base, a.ID), auth.RoleOperator, `{"done":true}`), &pm); code != 200 || !pm.Actions[0].Done {
		t.Fatalf("done: %d %+v", code, pm)
	}
	resp := e.do("GET", fmt.Sprintf("/incidents/%d/postmortem", inc.ID), auth.RoleOperator, "")
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "poison message") || !strings.Contains(body, "Dead-letter queue") || !strings.Contains(body, "due 2027-01-15") {
		t.Fatalf("page: %d %s", resp.StatusCode, body)
	}
}
