package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// TestHeartbeatPingsOverHTTP drives a heartbeat monitor the way a cron job
// does, with plain HTTP requests to its ping URL.
func TestHeartbeatPingsOverHTTP(t *testing.T) {
	e := newTestEnv(t)
	resp := e.do("POST", "/api/v1/monitors", auth.RoleOperator, `{"name":"nightly backup","type":"heartbeat","period":"1h","grace":"1s","interval":"1s"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var mv monitorView
	if err := json.NewDecoder(resp.Body).Decode(&mv); err != nil || !strings.Contains(mv.PingURL, "/ping/") {
		t.Fatalf("no ping URL: %+v %v", mv, err)
	}
	pingPath := mv.PingURL[strings.Index(mv.PingURL, "/ping/"):]
	path := "/api/v1/monitors/" + itoa(mv.ID)
	state := func() string {
		var v monitorView
		_ = json.NewDecoder(e.do("GET", path, auth.RoleViewer, "").Body).Decode(&v)
		return string(v.Status.State)
	}
	ping := func(method, suffix, body string) int {
		req, _ := http.NewRequest(method, e.http.URL+pingPath+suffix, strings.NewReader(body))
		r, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	waitUntil(t, "up while waiting for the first ping", func() bool { return state() == "up" })

	if code := ping("GET", "/fail", ""); code != 200 {
		t.Fatalf("fail ping: %d", code)
	}
	if s := state(); s != "down" {
		t.Fatalf("after /fail: %s, want down at once", s)
	}
	if code := ping("POST", "", "backup done: 12 GB"); code != 200 {
		t.Fatalf("success ping: %d", code)
	}
	if s := state(); s != "up" {
		t.Fatalf("after success: %s", s)
	}
	if code := ping("HEAD", "/3", ""); code != 200 {
		t.Fatalf("exit-code ping: %d", code)
	}
	if s := state(); s != "down" {
		t.Fatalf("after exit code 3: %s", s)
	}
	ping("GET", "/0", "")
	// A start that never finishes goes down after the grace time.
	ping("GET", "/start?rid=run-1", "")
	if s := state(); s != "up" {
		t.Fatalf("right after start: %s", s)
	}
	waitUntil(t, "down: run-1 never finished", func() bool { return state() == "down" })
	ping("GET", "?rid=run-1", "")
	if s := state(); s != "up" {
		t.Fatalf("after run-1 finished: %s", s)
	}

	for _, tc := range []struct {
		suffix string
		want   int
	}{
		{"/666", 400}, {"/reboot", 400}, {"?rid=" + strings.Repeat("r", 65), 400},
	} {
		if code := ping("GET", tc.suffix, ""); code != tc.want {
			t.Errorf("ping %s: %d, want %d", tc.suffix, code, tc.want)
		}
	}
	if code := ping("GET", "/../../ping/nosuchkey", ""); code == 200 {
		t.Errorf("path games reached a monitor")
	}
	req, _ := http.NewRequest("GET", e.http.URL+"/ping/nosuchkey", nil)
	r, _ := e.http.Client().Do(req)
	if r.StatusCode != 404 {
		t.Fatalf("unknown key: %d", r.StatusCode)
	}
	r.Body.Close()

	var pings struct {
		Data []struct {
			Kind     string
			ExitCode *int `json:"exit_code"`
			Body     string
		}
	}
	_ = json.NewDecoder(e.do("GET", path+"/pings", auth.RoleViewer, "").Body).Decode(&pings)
	if len(pings.Data) != 6 {
		t.Fatalf("%d pings stored, want 6: %+v", len(pings.Data), pings.Data)
	}
	var sawBody, sawCode bool
	for _, p := range pings.Data {
		sawBody = sawBody || p.Body == "backup done: 12 GB"
		sawCode = sawCode || (p.ExitCode != nil && *p.ExitCode == 3 && p.Kind == "fail")
	}
	if !sawBody || !sawCode {
		t.Fatalf("pings lack body or exit code: %+v", pings.Data)
	}
}
