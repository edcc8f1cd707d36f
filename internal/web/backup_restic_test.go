package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/backup"
)

// TestResticWrapper runs a real restic backup of a folder through the
// documented wrapper (docs/examples/restic-backup.sh) against this
// server, and checks that the success check-in arrived with the size and
// snapshot id; then a missed run turns the job late (the evaluator's
// clock is moved, nothing sleeps).
func TestResticWrapper(t *testing.T) {
	for _, prog := range []string{"restic", "curl"} {
		if _, err := exec.LookPath(prog); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; CI installs it (.ci/run)", prog)
			}
			t.Skipf("%s is not installed (Debian package %s)", prog, prog)
		}
	}
	script, err := filepath.Abs("../../docs/examples/restic-backup.sh")
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t)
	j := e.backupJob(t, `{"name": "etc files", "tool": "restic", "period": "24h", "grace": "1h", "rpo": "26h", "min_bytes": 1000}`)

	dir := t.TempDir()
	repo, src := filepath.Join(dir, "repo"), filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"a.txt", "b.txt", "sub/c.bin"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(strings.Repeat("opsdeck backup test\n", 200*(i+1))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "RESTIC_REPOSITORY="+repo, "RESTIC_PASSWORD=test-only-password", "RESTIC_CACHE_DIR="+filepath.Join(dir, "cache"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
	init := exec.Command("restic", "init")
	init.Env = env
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("restic init: %v\n%s", err, out)
	}
	run := exec.Command("sh", script)
	run.Env = append(env, "OPSDECK_CHECKIN_URL="+j.CheckInURLs["start"][:len(j.CheckInURLs["start"])-len("/start")], "BACKUP_PATHS="+src)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("wrapper: %v\n%s", err, out)
	}
	ctx := context.Background()
	runs, err := e.backup.Runs(ctx, j.ID, 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v %v", runs, err)
	}
	r := runs[0]
	if r.Status != backup.RunSuccess || r.StartedAt == nil || r.Bytes == nil || *r.Bytes < 12000 || r.Files == nil || *r.Files != 3 || len(r.SnapshotID) < 8 ||
		!strings.Contains(r.LogTail, r.SnapshotID) {
		t.Fatalf("run %+v (bytes %v files %v)", r, deref(r.Bytes), deref(r.Files))
	}
	// The snapshot the wrapper reported is really in the repository.
	snaps := exec.Command("restic", "snapshots", "--json")
	snaps.Env = env
	if out, err := snaps.Output(); err != nil || !strings.Contains(string(out), r.SnapshotID) {
		t.Fatalf("restic snapshots: %v %s", err, out)
	}
	jb, _ := e.backup.Job(ctx, j.ID)
	if jb.State != backup.StateOK {
		t.Fatalf("state %s (%s)", jb.State, jb.StateDetail)
	}

	// The next run is due 24h after this one started; at 25h01m it is late.
	late := r.StartedAt.Add(25*time.Hour + time.Minute)
	ev := backup.New(e.db, backup.Options{Alerts: e.incs, Now: func() time.Time { return late }})
	if err := ev.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	jb, _ = e.backup.Job(ctx, j.ID)
	if jb.State != backup.StateLate || !strings.Contains(jb.StateDetail, "has not checked in") {
		t.Fatalf("after a missed check-in: %s (%s)", jb.State, jb.StateDetail)
	}

	// A failing restic run (wrong password) checks in as a failure with
	// its exit code and the end of its output.
	bad := exec.Command("sh", script)
	bad.Env = append(env, "RESTIC_PASSWORD=wrong", "OPSDECK_CHECKIN_URL="+strings.TrimSuffix(j.CheckInURLs["start"], "/start"), "BACKUP_PATHS="+src)
	if err := bad.Run(); err == nil {
		t.Fatal("wrapper with a wrong password succeeded")
	}
	runs, _ = e.backup.Runs(ctx, j.ID, 10)
	if f := runs[0]; f.Status != backup.RunFail || f.ExitCode == nil || *f.ExitCode == 0 || !strings.Contains(f.LogTail, "password") {
		t.Fatalf("failed run %+v", f)
	}
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
