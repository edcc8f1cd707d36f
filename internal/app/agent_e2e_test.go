package app

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/fleet"
)

// TestAgentBinaryBuffersThroughServerRestart runs the real `opsdeck agent`
// against the real `opsdeck serve`, both as built binaries, on this
// machine's /proc and dpkg data. The server is stopped while the agent
// runs and started again on the same address: every report the agent made
// meanwhile arrives afterwards, in order, so the metric series has no gap.
func TestAgentBinaryBuffersThroughServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real server and agent; skipped in -short mode")
	}
	dir := t.TempDir()
	bin := buildOpsdeck(t, dir)
	cfg := testConfig(t)
	cfg.DataDir = filepath.Join(dir, "data")
	db, err := OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithActor(context.Background(), auth.CLIActor("test"))
	token, _, err := fleet.NewService(db, fleet.Options{}).CreateToken(ctx, time.Hour, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	addr := freePort(t)
	serve := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", cfg.DataDir, "--addr", addr, "--log-level", "warn")
		cmd.Env = append(os.Environ(), "OPSDECK_ADMIN_PASSWORD=a fine admin password")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitFor(t, "the server to listen", 60*time.Second, func() bool {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		return cmd
	}
	server := serve()

	state := filepath.Join(dir, "agent")
	watched := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(watched, []byte("workers = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	agentCmd := exec.Command(bin, "agent", "--server", "http://"+addr, "--enroll", token, "--state", state,
		"--interval", "1s", "--watch", watched, "--log-level", "warn")
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() })

	// The server's view, read from its database while it runs (WAL).
	lookAgent := func() (fleet.Agent, bool) {
		db, err := OpenStore(context.Background(), cfg, nil)
		if err != nil {
			return fleet.Agent{}, false
		}
		defer db.Close()
		fl := fleet.NewService(db, fleet.Options{})
		list, err := fl.List(context.Background())
		if err != nil || len(list) != 1 {
			return fleet.Agent{}, false
		}
		a, err := fl.Get(context.Background(), list[0].ID) // with its facts
		return a, err == nil
	}
	var before fleet.Agent
	waitFor(t, "the agent to enroll and report facts and software", 90*time.Second, func() bool {
		a, ok := lookAgent()
		before = a
		return ok && a.LastSeq >= 3 && a.CIID > 0 && a.SoftwareCount > 0
	})
	if before.Facts == nil || before.Facts.CPU.Cores < 1 || before.Facts.MemoryBytes == 0 {
		t.Fatalf("facts from /proc missing: %+v", before.Facts)
	}

	// Stop the server while the agent keeps collecting.
	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = server.Wait()
	down := time.Now()
	spool := filepath.Join(state, "spool")
	waitFor(t, "reports to pile up in the agent's spool", 60*time.Second, func() bool {
		files, _ := os.ReadDir(spool)
		return len(files) >= 5
	})
	if err := os.WriteFile(watched, []byte("workers = 8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the drift lands in the spool too
	up := time.Now()
	serve()

	waitFor(t, "the spool to drain into the restarted server", 120*time.Second, func() bool {
		files, _ := os.ReadDir(spool)
		return len(files) == 0
	})
	after, ok := lookAgent()
	if !ok || after.LastSeq < before.LastSeq+5 {
		t.Fatalf("server accepted seq %d after the restart, had %d before", after.LastSeq, before.LastSeq)
	}

	// Every interval of the outage has its CPU sample: no gap longer than
	// a few intervals between the last sample before the stop and the
	// first after the start.
	db, err = OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fl := fleet.NewService(db, fleet.Options{})
	series, err := fl.Metrics(context.Background(), after.ID, "cpu.used_pct", down.Add(-10*time.Second), up.Add(10*time.Second))
	if err != nil || len(series) != 1 {
		t.Fatalf("cpu series: %v %+v", err, series)
	}
	pts := series[0].Points
	var inOutage int
	for i, p := range pts {
		if p.At.After(down) && p.At.Before(up) {
			inOutage++
		}
		if i > 0 && p.At.Sub(pts[i-1].At) > 5*time.Second {
			t.Errorf("gap in cpu.used_pct from %s to %s", pts[i-1].At, p.At)
		}
	}
	if inOutage < 4 {
		t.Errorf("only %d samples from the %s the server was down", inOutage, up.Sub(down).Round(time.Second))
	}
	changes, err := fl.FileChanges(context.Background(), after.ID, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range changes {
		if c.Path == watched && c.Diff != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("the drift made while the server was down did not arrive: %+v", changes)
	}
}
