package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// agentPost sends an agent request: body gzipped when zip, with the
// credential when cred is set.
func (e *testEnv) agentPost(path, cred string, body []byte, zip bool) *http.Response {
	e.t.Helper()
	if zip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, _ := http.NewRequest("POST", e.http.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if zip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *testEnv) enrollAgent(host, machine string) wire.EnrollResponse {
	e.t.Helper()
	resp := e.do("POST", "/api/v1/agent-tokens", auth.RoleAdmin, `{"ttl":"1h","note":"test"}`)
	var tok createdEnrollToken
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&tok) != nil || !strings.Contains(tok.Command, "--enroll "+tok.Token) {
		e.t.Fatalf("create token: %d %+v", resp.StatusCode, tok)
	}
	b, _ := json.Marshal(wire.EnrollRequest{Token: tok.Token, Hostname: host, MachineID: machine, AgentVersion: "1.0"})
	resp = e.agentPost("/api/v1/agent/enroll", "", b, false)
	var er wire.EnrollResponse
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&er) != nil {
		e.t.Fatalf("enroll: %d", resp.StatusCode)
	}
	if resp := e.agentPost("/api/v1/agent/enroll", "", b, false); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(readBody(e.t, resp), "invalid_token") {
		e.t.Fatalf("second enroll with one token: %d", resp.StatusCode)
	}
	return er
}

func agentReport(seq uint64, host string, v float64) []byte {
	r := wire.Report{Seq: seq, SentAt: time.Now().UTC(), AgentVersion: "1.0",
		Facts:   &wire.Facts{Hostname: host, MachineID: "m-" + host, OS: wire.OSInfo{Pretty: "Debian GNU/Linux 12 (bookworm)"}, CPU: wire.CPUInfo{Cores: 2}},
		Metrics: []wire.Sample{{T: time.Now().Unix(), Name: "disk.used_pct", Key: "/", Value: v}, {T: time.Now().Unix(), Name: "cpu.used_pct", Value: 12}}}
	b, _ := json.Marshal(r)
	return b
}

func TestAgentEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		if resp := e.do("POST", "/api/v1/agent-tokens", auth.RoleOperator, `{"ttl":"1h"}`); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("operator made an enrollment token: %d", resp.StatusCode)
		}
		if resp := e.do("POST", "/api/v1/agent-tokens", auth.RoleAdmin, `{"ttl":"90d"}`); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("ttl over 30 days: %d", resp.StatusCode)
		}
		a := e.enrollAgent("web-a", "ma")
		b := e.enrollAgent("web-b", "mb")

		resp := e.agentPost("/api/v1/agent/report", a.Credential, agentReport(1, "web-a", 50), true)
		var rr wire.ReportResponse
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&rr) != nil || rr.AcceptedSeq != 1 || rr.IntervalSeconds != 30 {
			t.Fatalf("report: %d %+v", resp.StatusCode, rr)
		}
		// Replay: 409 with the accepted seq, nothing applied.
		resp = e.agentPost("/api/v1/agent/report", a.Credential, agentReport(1, "web-a", 99), true)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `"code":"replay"`) || !strings.Contains(body, `"accepted_seq":1`) {
			t.Fatalf("replay: %d %s", resp.StatusCode, body)
		}
		// Wrong and missing credentials: 401 and counted; the secret is not echoed.
		before := e.fleet.Stats().AuthFailures.Load()
		for _, cred := range []string{"", "odagt_wrong", a.Credential + "x", e.tokens[auth.RoleAdmin]} {
			resp := e.agentPost("/api/v1/agent/report", cred, agentReport(2, "web-a", 1), true)
			if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || (cred != "" && strings.Contains(body, cred)) {
				t.Fatalf("credential %q: %d %s", cred, resp.StatusCode, body)
			}
		}
		if e.fleet.Stats().AuthFailures.Load() != before+4 {
			t.Fatalf("auth failures counted %d", e.fleet.Stats().AuthFailures.Load()-before)
		}
		// B claims to be web-a in its body: the credential decides, so
		// everything lands on B and A is untouched.
		resp = e.agentPost("/api/v1/agent/report", b.Credential, agentReport(1, "web-a", 77), false)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("report b: %d %s", resp.StatusCode, readBody(t, resp))
		}
		var nA, nB int
		db.R.QueryRow(`SELECT COUNT(*) FROM agent_samples x JOIN agent_series s ON s.id = x.series_id WHERE s.agent_id = $1`, a.AgentID).Scan(&nA)
		db.R.QueryRow(`SELECT COUNT(*) FROM agent_samples x JOIN agent_series s ON s.id = x.series_id WHERE s.agent_id = $1 AND x.value = 77`, b.AgentID).Scan(&nB)
		if nA != 2 || nB != 1 {
			t.Fatalf("samples: a %d (want 2), b's 77 on b %d", nA, nB)
		}
		ga, _ := e.fleet.Get(t.Context(), a.AgentID)
		gb, _ := e.fleet.Get(t.Context(), b.AgentID)
		if ga.LastSeq != 1 || gb.LastSeq != 1 || ga.CIID == gb.CIID || ga.Facts.MachineID != "m-web-a" {
			t.Fatalf("a %+v b %+v", ga, gb)
		}

		// Oversize, gzip bomb, garbage.
		big := bytes.Repeat([]byte(" "), wire.MaxCompressedBytes+10)
		if resp := e.agentPost("/api/v1/agent/report", a.Credential, big, false); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversize: %d", resp.StatusCode)
		}
		bomb := append([]byte(`{"seq":2,"agent_version":"`), bytes.Repeat([]byte("A"), 32<<20)...)
		if resp := e.agentPost("/api/v1/agent/report", a.Credential, bomb, true); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("gzip bomb: %d", resp.StatusCode)
		}
		for _, c := range []struct{ body, field string }{
			{`{"seq":"two"}`, "seq"}, {`not json`, "body"}, {`{"seq":2,"sent_at":"2026-01-01T00:00:00Z","metrics":[{"t":1780000000,"n":"cpu","v":"x"}]}`, "metrics.v"},
			{`{"seq":2,"sent_at":"2026-01-01T00:00:00Z","facts":{"hostname":""}}`, "facts.hostname"},
		} {
			resp := e.agentPost("/api/v1/agent/report", a.Credential, []byte(c.body), true)
			var ae apiError
			if resp.StatusCode != http.StatusBadRequest || json.NewDecoder(resp.Body).Decode(&ae) != nil || ae.Error.Field != c.field {
				t.Fatalf("%s: %d %+v", c.body, resp.StatusCode, ae)
			}
		}

		// Management API and pages.
		resp = e.do("GET", "/api/v1/agents", auth.RoleViewer, "")
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"hostname":"web-a"`) || strings.Contains(body, "credential") {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
		resp = e.do("GET", "/api/v1/agents/"+strconv.FormatInt(a.AgentID, 10)+"/metrics?range=1h", auth.RoleViewer, "")
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"disk.used_pct"`) {
			t.Fatalf("metrics: %d %s", resp.StatusCode, body)
		}
		resp = e.do("GET", "/agents", auth.RoleViewer, "")
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "web-a") || !strings.Contains(body, "Online") {
			t.Fatalf("fleet page: %d", resp.StatusCode)
		}
		resp = e.do("GET", "/agents/"+strconv.FormatInt(a.AgentID, 10), auth.RoleViewer, "")
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `<figure class="card chart">`) || !strings.Contains(body, "disk.used_pct{/}") || !strings.Contains(body, "Debian GNU/Linux 12") {
			t.Fatalf("agent page: %d", resp.StatusCode)
		}
		if resp := e.do("GET", "/agent-tokens", auth.RoleViewer, ""); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("viewer on tokens page: %d", resp.StatusCode)
		}
		resp = e.doForm("/agent-tokens", auth.RoleAdmin, url.Values{"ttl": {"2h"}, "note": {"rack 9"}})
		if body := readBody(t, resp); resp.StatusCode != http.StatusCreated || !strings.Contains(body, "opsdeck agent --server") || !strings.Contains(body, "odenr_") {
			t.Fatalf("token form: %d", resp.StatusCode)
		}
		resp = e.do("GET", "/monitors/new", auth.RoleOperator, "")
		if body := readBody(t, resp); !strings.Contains(body, "agent_metric") || !strings.Contains(body, "Agent metric") {
			t.Fatal("the monitor form does not offer agent_metric")
		}
		// Revoke: the next report is refused.
		if resp := e.do("POST", "/api/v1/agents/"+strconv.FormatInt(a.AgentID, 10)+"/revoke", auth.RoleAdmin, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		if resp := e.agentPost("/api/v1/agent/report", a.Credential, agentReport(2, "web-a", 1), true); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("report after revoke: %d", resp.StatusCode)
		}
	})
}

// doForm posts a UI form with a role's token (no CSRF: not a cookie session).
func (e *testEnv) doForm(path string, role auth.Role, v url.Values) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.http.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}
