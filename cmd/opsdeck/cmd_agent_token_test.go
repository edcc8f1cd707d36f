package main

import (
	"strings"
	"testing"
)

func TestAgentTokenCommands(t *testing.T) {
	data := t.TempDir()
	code, out, errs := runCLI(t, "", "agent-token", "create", "--data", data, "--ttl", "2h", "--note", "rack 4", "--server", "https://ops.example")
	tok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(tok, "odenr_") || strings.Contains(tok, "\n") || !strings.Contains(errs, "opsdeck agent --server https://ops.example --enroll "+tok) {
		t.Fatalf("create: %d %q %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "agent-token", "create", "--data", data, "--ttl", "900h"); code != 1 || !strings.Contains(errs, "ttl") {
		t.Fatalf("ttl too long: %d %s", code, errs)
	}
	_, out, _ = runCLI(t, "", "agent-token", "list", "--data", data)
	if !strings.Contains(out, "rack 4") || !strings.Contains(out, "active") || strings.Contains(out, tok) {
		t.Fatalf("list:\n%s", out)
	}
	if code, _, errs := runCLI(t, "", "agent-token", "revoke", "--data", data, "--id", "1"); code != 0 {
		t.Fatalf("revoke: %s", errs)
	}
	if code, _, errs := runCLI(t, "", "agent-token", "revoke", "--data", data, "--id", "1"); code != 1 || !strings.Contains(errs, "no unused") {
		t.Fatalf("second revoke: %d %s", code, errs)
	}
	if _, out, _ = runCLI(t, "", "agent-token", "list", "--data", data); !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke:\n%s", out)
	}
}
