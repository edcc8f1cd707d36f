package app

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestChangePossiblyCausedIncident runs the whole server: a change on a
// database is started (the database's monitor goes into maintenance), then
// the web application that depends on the database goes down; the incident
// its monitor opens is flagged "possibly caused by change N" on both
// records.
func TestChangePossiblyCausedIncident(t *testing.T) {
	webLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go acceptAll(webLn)
	dbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dbLn.Close()
	go acceptAll(dbLn)

	cfg := testConfig(t)
	addr, _, _ := startServer(t, cfg, "a fine admin password")
	base := "http://" + addr
	token := adminToken(t, cfg)
	call := func(method, path string, body, out any, want int) {
		t.Helper()
		if code := apiCall(t, method, base+path, token, body, out); code != want {
			t.Fatalf("%s %s: status %d, want %d", method, path, code, want)
		}
	}
	var svc, webMon, dbMon, web, db, chg struct{ ID int64 }
	call("POST", "/api/v1/services", map[string]any{"name": "Shop"}, &svc, 201)
	for _, m := range []struct {
		name string
		ln   net.Listener
		dst  *struct{ ID int64 }
	}{{"web port", webLn, &webMon}, {"db port", dbLn, &dbMon}} {
		call("POST", "/api/v1/monitors", map[string]any{"name": m.name, "type": "tcp", "host": "127.0.0.1", "port": portOf(t, m.ln.Addr().String()),
			"interval": "1s", "timeout": "1s", "failure_threshold": 2, "success_threshold": 1, "tags": []string{"service:Shop"}}, m.dst, 201)
	}
	call("POST", "/api/v1/cis", map[string]any{"type": "application", "name": "web"}, &web, 201)
	call("POST", "/api/v1/cis", map[string]any{"type": "database", "name": "shopdb"}, &db, 201)
	call("POST", fmt.Sprintf("/api/v1/cis/%d/relationships", web.ID), map[string]any{"type": "depends_on", "target_id": db.ID}, nil, 201)
	call("POST", fmt.Sprintf("/api/v1/cis/%d/links", web.ID), map[string]any{"kind": "monitor", "object_id": webMon.ID}, nil, 201)
	call("POST", fmt.Sprintf("/api/v1/cis/%d/links", db.ID), map[string]any{"kind": "monitor", "object_id": dbMon.ID}, nil, 201)
	waitFor(t, "the web monitor to be up", 30*time.Second, func() bool {
		var m struct{ Status struct{ State string } }
		call("GET", fmt.Sprintf("/api/v1/monitors/%d", webMon.ID), nil, &m, 200)
		return m.Status.State == "up"
	})

	now := time.Now().UTC()
	call("POST", "/api/v1/changes", map[string]any{"type": "normal", "title": "Upgrade shopdb", "ci_ids": []int64{db.ID}, "risk": "low",
		"implementation_plan": "pg_upgrade", "backout_plan": "restore", "planned_start": now.Format(time.RFC3339), "planned_end": now.Add(time.Hour).Format(time.RFC3339)}, &chg, 201)
	for _, a := range []string{"submit", "authorize", "start"} {
		call("POST", fmt.Sprintf("/api/v1/changes/%d/transitions", chg.ID), map[string]any{"action": a}, nil, 200)
	}
	var windows struct {
		Data []struct {
			Name       string
			MonitorIDs []int64 `json:"monitor_ids"`
		}
	}
	call("GET", "/api/v1/maintenance-windows", nil, &windows, 200)
	if len(windows.Data) != 1 || len(windows.Data[0].MonitorIDs) != 1 || windows.Data[0].MonitorIDs[0] != dbMon.ID {
		t.Fatalf("maintenance while the change runs: %+v", windows.Data)
	}

	webLn.Close() // the application that depends on the database fails
	var incs struct{ Data []struct{ ID int64 } }
	waitFor(t, "an incident for the web monitor", 60*time.Second, func() bool {
		call("GET", "/api/v1/incidents", nil, &incs, 200)
		return len(incs.Data) > 0
	})
	inc := incs.Data[0].ID
	var tl struct{ Data []struct{ Kind, Text string } }
	waitFor(t, "the incident's change note", 10*time.Second, func() bool {
		call("GET", fmt.Sprintf("/api/v1/incidents/%d/timeline", inc), nil, &tl, 200)
		for _, e := range tl.Data {
			if e.Kind == "change" && strings.Contains(e.Text, fmt.Sprintf("Possibly caused by change #%d", chg.ID)) {
				return true
			}
		}
		return false
	})
	var got struct {
		Links []struct {
			Kind     string
			ObjectID int64 `json:"object_id"`
			Caused   bool
		}
	}
	call("GET", fmt.Sprintf("/api/v1/changes/%d", chg.ID), nil, &got, 200)
	if len(got.Links) != 1 || got.Links[0].Kind != "incident" || got.Links[0].ObjectID != inc || !got.Links[0].Caused {
		t.Fatalf("change links %+v", got.Links)
	}
	var caused struct{ Data []struct{ ID int64 } }
	call("GET", fmt.Sprintf("/api/v1/incidents/%d/changes", inc), nil, &caused, 200)
	if len(caused.Data) != 1 || caused.Data[0].ID != chg.ID {
		t.Fatalf("changes of the incident %+v", caused.Data)
	}
	// Closing the change ends the maintenance.
	call("POST", fmt.Sprintf("/api/v1/changes/%d/transitions", chg.ID), map[string]any{"action": "close", "outcome": "failed"}, nil, 200)
	call("GET", "/api/v1/maintenance-windows", nil, &windows, 200)
	if len(windows.Data) != 0 {
		t.Fatalf("maintenance left after close: %+v", windows.Data)
	}
}
