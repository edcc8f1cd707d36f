package web

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestMonitorLifecycleThroughAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		var failing atomic.Bool
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, "ok")
		}))
		defer target.Close()

		body := fmt.Sprintf(`{"name":"web","type":"http","url":%q,"interval":"1s","timeout":"900ms","tags":["prod"],"failure_threshold":2}`, target.URL)
		resp := e.do("POST", "/api/v1/monitors", auth.RoleOperator, body)
		if resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
		}
		var mv monitorView
		if err := json.NewDecoder(resp.Body).Decode(&mv); err != nil || mv.ID == 0 {
			t.Fatalf("create body: %+v %v", mv, err)
		}
		path := "/api/v1/monitors/" + itoa(mv.ID)
		state := func() string {
			var v monitorView
			_ = json.NewDecoder(e.do("GET", path, auth.RoleViewer, "").Body).Decode(&v)
			return string(v.Status.State)
		}
		waitUntil(t, "up", func() bool { return state() == "up" })
		failing.Store(true)
		waitUntil(t, "down", func() bool { return state() == "down" })
		failing.Store(false)
		waitUntil(t, "up again", func() bool { return state() == "up" })

		var ev page[struct{ From, To string }]
		_ = json.NewDecoder(e.do("GET", path+"/events", auth.RoleViewer, "").Body).Decode(&ev)
		if len(ev.Data) != 3 || ev.Data[1].To != "down" {
			t.Fatalf("events %+v", ev.Data)
		}
		body = readBody(t, e.do("GET", path+"/uptime?days=90", auth.RoleViewer, ""))
		if !strings.Contains(body, `"24h"`) || !strings.Contains(body, `"days"`) {
			t.Fatalf("uptime: %s", body)
		}
		if body := readBody(t, e.do("GET", path+"/results?limit=2", auth.RoleViewer, "")); !strings.Contains(body, `"next_before"`) {
			t.Fatalf("results: %s", body)
		}
		// Each check's latency split and HTTP status are kept as series.
		if body := readBody(t, e.do("GET", path+"/metrics", auth.RoleViewer, "")); !strings.Contains(body, `"phase_connect"`) || !strings.Contains(body, `"http_status"`) {
			t.Fatalf("metrics: %.500s", body)
		}
		// Filters and PATCH.
		if body := readBody(t, e.do("GET", "/api/v1/monitors?tag=prod&state=up", auth.RoleViewer, "")); !strings.Contains(body, `"web"`) {
			t.Fatalf("filtered list: %s", body)
		}
		if body := readBody(t, e.do("GET", "/api/v1/monitors?tag=staging", auth.RoleViewer, "")); strings.Contains(body, `"web"`) {
			t.Fatalf("tag filter: %s", body)
		}
		resp = e.do("PATCH", path, auth.RoleOperator, `{"interval":"5s","description":"front page"}`)
		if resp.StatusCode != 200 || !strings.Contains(readBody(t, resp), `"front page"`) {
			t.Fatalf("patch: %d", resp.StatusCode)
		}
		if resp := e.do("POST", path+"/pause", auth.RoleOperator, ""); resp.StatusCode != 200 || state() != "paused" {
			t.Fatalf("pause: %d %s", resp.StatusCode, state())
		}
		if resp := e.do("POST", path+"/resume", auth.RoleOperator, ""); resp.StatusCode != 200 {
			t.Fatalf("resume: %d", resp.StatusCode)
		}
		metrics := readBody(t, e.do("GET", "/metrics", auth.RoleViewer, ""))
		if !strings.Contains(metrics, `opsdeck_monitor_state{monitor="web"`) || !strings.Contains(metrics, "opsdeck_monitor_checks_total") {
			t.Fatalf("metrics lack monitor series")
		}
		if resp := e.do("DELETE", path, auth.RoleOperator, ""); resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if resp := e.do("GET", path, auth.RoleViewer, ""); resp.StatusCode != 404 {
			t.Fatalf("get after delete: %d", resp.StatusCode)
		}
		// The audit log has the operator's changes.
		audit := readBody(t, e.do("GET", "/api/v1/audit?action=monitor.", auth.RoleAdmin, ""))
		for _, a := range []string{"monitor.create", "monitor.update", "monitor.pause", "monitor.resume", "monitor.delete"} {
			if !strings.Contains(audit, a) {
				t.Errorf("audit lacks %s", a)
			}
		}
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMonitorDefinitionsAreValidated(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"name":"a","type":"http"}`, 422, "url"},
		{`{"name":"a","type":"http","url":"ftp://x"}`, 422, "url"},
		{`{"name":"a","type":"http","url":"http://x","interval":"0s"}`, 422, "interval"},
		{`{"name":"a","type":"http","url":"http://x","bogus":1}`, 422, "bogus"},
		{`{"name":"a","type":"carrier-pigeon"}`, 422, "type"},
		{`{"type":"tcp","host":"x","port":1}`, 422, "name"},
		{`{"name":"a","type":"tcp","host":"x","port":70000}`, 422, "port"},
		{`[]`, 400, ""},
		{`{"name":`, 400, ""},
	} {
		resp := e.do("POST", "/api/v1/monitors", auth.RoleOperator, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.body, resp.StatusCode, tc.status, readBody(t, resp))
			continue
		}
		if b := decodeErr(t, resp); b.Error.Field != tc.field {
			t.Errorf("%s: field %q, want %q (%s)", tc.body, b.Error.Field, tc.field, b.Error.Message)
		}
	}
	if body := readBody(t, e.do("GET", "/api/v1/monitors", auth.RoleViewer, "")); !strings.Contains(body, `"data":[]`) {
		t.Fatalf("bad definitions were stored: %s", body)
	}
}

func TestMonitorTestNowStoresNothing(t *testing.T) {
	e := newTestEnv(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
	defer target.Close()
	resp := e.do("POST", "/api/v1/monitors/test", auth.RoleOperator, fmt.Sprintf(`{"name":"t","type":"http","url":%q,"expect":{"body_contains":"hello"}}`, target.URL))
	var tr testResult
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 || tr.Status != "up" {
		t.Fatalf("test now: %d %+v %v", resp.StatusCode, tr, err)
	}
	resp = e.do("POST", "/api/v1/monitors/test", auth.RoleOperator, fmt.Sprintf(`{"name":"t","type":"http","url":%q,"expect":{"body_contains":"bye"}}`, target.URL))
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.Status != "down" || tr.Message == "" {
		t.Fatalf("failing test now: %+v %v", tr, err)
	}
	if body := readBody(t, e.do("GET", "/api/v1/monitors", auth.RoleViewer, "")); !strings.Contains(body, `"data":[]`) {
		t.Fatalf("test now stored a monitor: %s", body)
	}
}

func TestMaintenanceWindowsThroughAPI(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct{ body, field string }{
		{`{"name":"x","cron":"0 2 * * *","duration":"2h"}`, "monitor_ids"},
		{`{"name":"x","cron":"0 2 * * *","duration":"forever","tags":["db"]}`, "duration"},
		{`{"name":"x","starts_at":"2026-01-02T00:00:00Z","ends_at":"2026-01-01T00:00:00Z","tags":["db"]}`, "ends_at"},
		{`{"name":"x","cron":"0 2 * * *","duration":"1h","tags":["db"],"sneaky":1}`, "sneaky"},
	} {
		resp := e.do("POST", "/api/v1/maintenance-windows", auth.RoleOperator, tc.body)
		if resp.StatusCode/100 != 4 || decodeErr(t, resp).Error.Field != tc.field {
			t.Errorf("%s: status %d, want 4xx naming %s", tc.body, resp.StatusCode, tc.field)
		}
	}
	resp := e.do("POST", "/api/v1/maintenance-windows", auth.RoleOperator, `{"name":"patch sunday","cron":"0 3 * * 0","duration":"2h","timezone":"Europe/Berlin","tags":["db"]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var wv struct {
		ID     int64
		Active bool
	}
	_ = json.NewDecoder(resp.Body).Decode(&wv)
	path := "/api/v1/maintenance-windows/" + itoa(wv.ID)
	if resp := e.do("PUT", path, auth.RoleOperator, `{"name":"patch sunday","cron":"0 4 * * 0","duration":"1h","tags":["db","prod"]}`); resp.StatusCode != 200 {
		t.Fatalf("replace: %d %s", resp.StatusCode, readBody(t, resp))
	}
	if body := readBody(t, e.do("GET", "/api/v1/maintenance-windows", auth.RoleViewer, "")); !strings.Contains(body, `"0 4 * * 0"`) || !strings.Contains(body, `"prod"`) {
		t.Fatalf("list: %s", body)
	}
	if resp := e.do("DELETE", path, auth.RoleOperator, ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp := e.do("GET", path, auth.RoleViewer, ""); resp.StatusCode != 404 {
		t.Fatalf("get deleted: %d", resp.StatusCode)
	}
}

// TestNagiosPerfdataBecomesMetrics runs Debian's check_tcp as a monitor and
// finds its perfdata stored as a metric series.
func TestNagiosPerfdataBecomesMetrics(t *testing.T) {
	const plugin = "/usr/lib/nagios/plugins/check_tcp"
	if _, err := os.Stat(plugin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing; CI must install monitoring-plugins-basic", plugin)
		}
		t.Skipf("%s not installed (apt-get install monitoring-plugins-basic)", plugin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	e := newTestEnv(t)
	resp := e.do("POST", "/api/v1/monitors", auth.RoleOperator,
		fmt.Sprintf(`{"name":"tcp via plugin","type":"nagios","command":%q,"args":["-H","127.0.0.1","-p",%q],"interval":"1s"}`, plugin, port))
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var mv monitorView
	_ = json.NewDecoder(resp.Body).Decode(&mv)
	path := "/api/v1/monitors/" + itoa(mv.ID)
	waitUntil(t, "a stored perfdata value", func() bool {
		var out struct {
			Data []struct {
				Name   string
				Points []struct{ Value float64 }
			}
		}
		_ = json.NewDecoder(e.do("GET", path+"/metrics?name=time", auth.RoleViewer, "").Body).Decode(&out)
		return len(out.Data) == 1 && len(out.Data[0].Points) > 0 && out.Data[0].Points[0].Value > 0
	})
	var v monitorView
	_ = json.NewDecoder(e.do("GET", path, auth.RoleViewer, "").Body).Decode(&v)
	if v.Status.State != "up" || !strings.Contains(v.Status.LastMessage, "TCP OK") {
		t.Fatalf("plugin monitor: %+v", v.Status)
	}
}

func TestMonitorCredentialsHiddenFromViewers(t *testing.T) {
	e := newTestEnv(t)
	resp := e.do("POST", "/api/v1/monitors", auth.RoleOperator, `{"name":"private api","type":"http","url":"http://127.0.0.1:1/","interval":"1h",
		"basic_auth":{"username":"ops","password":"hunter2-secret"},"headers":{"X-Api-Key":"k-123456789","Accept":"text/plain"}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var mv monitorView
	_ = json.NewDecoder(resp.Body).Decode(&mv)
	path := "/api/v1/monitors/" + itoa(mv.ID)
	for _, p := range []string{path, "/api/v1/monitors"} {
		body := readBody(t, e.do("GET", p, auth.RoleViewer, ""))
		if strings.Contains(body, "hunter2-secret") || strings.Contains(body, "k-123456789") || !strings.Contains(body, "text/plain") || !strings.Contains(body, `"ops"`) {
			t.Fatalf("viewer sees %s: %s", p, body)
		}
	}
	if body := readBody(t, e.do("GET", path, auth.RoleOperator, "")); !strings.Contains(body, "hunter2-secret") {
		t.Fatalf("operator cannot read the definition back: %s", body)
	}
}
