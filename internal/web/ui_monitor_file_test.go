package web

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
)

// TestFileMonitorsAreNotEditedInTheUI: a monitor declared in a monitors
// file refuses UI edits, pause and delete with 409, since the next reload
// would undo them.
func TestFileMonitorsAreNotEditedInTheUI(t *testing.T) {
	e := newTestEnv(t)
	var def monitor.Definition
	if err := json.Unmarshal([]byte(`{"name":"declared","type":"tcp","host":"127.0.0.1","port":1,"interval":"1h"}`), &def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mons.Reconcile(context.Background(), []monitor.Definition{def}, "monitors.yaml"); err != nil {
		t.Fatal(err)
	}
	ms, _, err := e.mons.List(context.Background(), monitor.ListFilter{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("list: %v %v", ms, err)
	}
	base := "/monitors/" + itoa(ms[0].ID)
	for _, tc := range []struct{ method, path string }{
		{"GET", base + "/edit"}, {"POST", base + "/edit"}, {"POST", base + "/pause"}, {"POST", base + "/delete"},
	} {
		if resp := e.do(tc.method, tc.path, auth.RoleOperator, ""); resp.StatusCode != 409 {
			t.Errorf("%s %s: %d, want 409", tc.method, tc.path, resp.StatusCode)
		}
	}
	if resp := e.do("GET", base, auth.RoleViewer, ""); resp.StatusCode != 200 {
		t.Fatalf("detail page: %d", resp.StatusCode)
	}
}
