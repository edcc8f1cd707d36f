package agent

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// TestUnprivileged re-runs the collectors and a short agent as the user
// "nobody" when the tests run as root: the agent must need no privileges,
// and what it cannot read must come back as errors, not stop it.
func TestUnprivileged(t *testing.T) {
	if os.Getenv("OPSDECK_AGENT_UNPRIVILEGED_CHILD") == "1" {
		unprivilegedChild(t)
		return
	}
	if os.Geteuid() != 0 {
		unprivilegedChild(t) // already unprivileged: run the checks here
		return
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// The test binary must be reachable by nobody: copy it to a 0755 folder.
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir makes both levels 0700
	os.Chmod(dir, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "agent.test")
	copyFile(t, self, bin)
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	os.Chown(state, uid, gid)
	cmd := exec.Command(bin, "-test.run", "^TestUnprivileged$", "-test.v", "-test.count=1")
	cmd.Env = []string{"OPSDECK_AGENT_UNPRIVILEGED_CHILD=1", "OPSDECK_AGENT_STATE=" + state, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent"}
	cmd.Dir = mustAbs(t, ".") // testdata
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("as nobody: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestUnprivileged") {
		t.Fatal("the child did not run the test")
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func unprivilegedChild(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("still root")
	}
	f, errs := collectFacts(realHost())
	for _, err := range errs {
		t.Logf("unreadable (expected without root): %v", err)
	}
	if f.Hostname == "" || f.CPU.Threads < 1 || f.MemoryBytes == 0 || len(f.Filesystems) == 0 {
		t.Errorf("facts as an unprivileged user: %+v", f)
	}
	s := newSampler(realHost())
	s.sample(time.Now())
	time.Sleep(50 * time.Millisecond)
	samples, _ := s.sample(time.Now())
	if len(samples) < 10 {
		t.Errorf("only %d samples", len(samples))
	}
	if _, err := os.Stat(dpkgStatusPath); err == nil {
		pkgs, _, errs := newInventory().collect(context.Background(), time.Now())
		if len(pkgs) < 100 || len(errs) > 0 {
			t.Errorf("dpkg as an unprivileged user: %d packages, %v", len(pkgs), errs)
		}
	}
	// A root-only file is reported with its error; the rest goes on.
	state := os.Getenv("OPSDECK_AGENT_STATE")
	if state == "" {
		state = t.TempDir()
	}
	w, err := newDriftWatcher(state, []string{"/etc/shadow", "/etc/hostname"})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := w.check(time.Now())
	if len(ch) != 2 {
		t.Fatalf("changes %+v", ch)
	}
	if _, err := os.ReadFile("/etc/shadow"); err != nil {
		if ch[0].Error == "" || !strings.Contains(ch[0].Error, "permission denied") {
			t.Errorf("/etc/shadow: %+v", ch[0])
		}
	}
	if ch[1].Error != "" || ch[1].SHA256 == "" {
		t.Errorf("/etc/hostname: %+v", ch[1])
	}
	r := wire.Report{Seq: 1, SentAt: time.Now(), AgentVersion: "t", Facts: &f, Metrics: samples, Files: ch}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}
