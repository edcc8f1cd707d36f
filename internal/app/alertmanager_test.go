package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/config"
)

// alertmanagerPath finds the real Prometheus Alertmanager. Without it the
// test skips, except in CI, which must run it.
func alertmanagerPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("OPSDECK_ALERTMANAGER"), "/usr/bin/prometheus-alertmanager"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no prometheus-alertmanager binary; CI must run the Alertmanager test (apt-get install prometheus-alertmanager)")
	}
	t.Skip("Alertmanager test skipped: install prometheus-alertmanager (apt-get install -y --no-install-recommends prometheus-alertmanager) or set OPSDECK_ALERTMANAGER")
	return ""
}

// adminToken makes an admin API token in the server's database.
func adminToken(t *testing.T, cfg config.Config) string {
	t.Helper()
	db, err := OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, _, err := NewAuth(db, cfg, nil).CreateToken(auth.WithActor(context.Background(), auth.CLIActor("test")), auth.NewToken{Name: "am-test", Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// apiCall sends JSON with the token and decodes the answer into out.
func apiCall(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond until it holds or the bound passes; the bound only
// stops a broken test from hanging, it asserts no speed.
func waitFor(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, bound)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRealAlertmanagerOpensAndResolvesAnIncident configures a real
// Alertmanager with opsdeck as its webhook receiver: an alert posted to
// Alertmanager opens an opsdeck incident, and expiring it resolves it.
func TestRealAlertmanagerOpensAndResolvesAnIncident(t *testing.T) {
	bin := alertmanagerPath(t)
	cfg := testConfig(t)
	addr, _, _ := startServer(t, cfg, "a fine admin password")
	base := "http://" + addr
	token := adminToken(t, cfg)

	var svc struct{ ID int64 }
	if code := apiCall(t, "POST", base+"/api/v1/services", token, map[string]any{"name": "Platform", "group_by": []string{"alertname"}}, &svc); code != 201 {
		t.Fatalf("create service: %d", code)
	}
	var integ struct{ URL string }
	if code := apiCall(t, "POST", base+"/api/v1/integrations", token, map[string]any{"service_id": svc.ID, "name": "am", "kind": "alertmanager"}, &integ); code != 201 || integ.URL == "" {
		t.Fatalf("create integration: %d %+v", code, integ)
	}

	dir := t.TempDir()
	amConfig := fmt.Sprintf(`route:
  receiver: opsdeck
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: opsdeck
    webhook_configs:
      - url: '%s'
        send_resolved: true
`, integ.URL)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(amConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	amAddr := freePort(t)
	var amLog bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = &amLog, &amLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", amLog.String())
		}
	})
	amBase := "http://" + amAddr
	waitFor(t, "Alertmanager ready", 30*time.Second, func() bool {
		resp, err := http.Get(amBase + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	alert := func(endsAt time.Time) []map[string]any {
		a := map[string]any{"labels": map[string]string{"alertname": "OpsdeckE2E", "severity": "critical", "instance": "db1"},
			"annotations": map[string]string{"summary": "db1 is on fire"}, "startsAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}
		if !endsAt.IsZero() {
			a["endsAt"] = endsAt.UTC().Format(time.RFC3339)
		}
		return []map[string]any{a}
	}
	if code := apiCall(t, "POST", amBase+"/api/v2/alerts", "", alert(time.Time{}), nil); code != 200 {
		t.Fatalf("post alert to Alertmanager: %d", code)
	}
	type incidentView struct {
		ID         int64
		Title      string
		Status     string
		Severity   string
		AlertCount int64 `json:"alert_count"`
	}
	var list struct{ Data []incidentView }
	waitFor(t, "the incident to open", 60*time.Second, func() bool {
		apiCall(t, "GET", base+"/api/v1/incidents", token, nil, &list)
		return len(list.Data) == 1
	})
	inc := list.Data[0]
	if inc.Status != "triggered" || inc.Severity != "SEV1" || !strings.Contains(inc.Title, "db1 is on fire") || inc.AlertCount != 1 {
		t.Fatalf("incident from Alertmanager: %+v", inc)
	}

	// Expire the alert: Alertmanager sends it as resolved.
	if code := apiCall(t, "POST", amBase+"/api/v2/alerts", "", alert(time.Now().Add(-time.Second)), nil); code != 200 {
		t.Fatalf("expire alert: %d", code)
	}
	var got incidentView
	waitFor(t, "the incident to resolve", 60*time.Second, func() bool {
		apiCall(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d", base, inc.ID), token, nil, &got)
		return got.Status == "resolved"
	})
	var tl struct {
		Data []struct{ Kind string }
	}
	apiCall(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d/timeline", base, inc.ID), token, nil, &tl)
	var kinds []string
	for _, e := range tl.Data {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); got != "triggered,alert_joined,alert_resolved,resolved" {
		t.Fatalf("timeline %s", got)
	}
}

// buildOpsdeck builds the opsdeck binary into dir, for tests that run the
// real server (and agent) as processes.
func buildOpsdeck(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "opsdeck")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/opsdeck/opsdeck/cmd/opsdeck").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}
