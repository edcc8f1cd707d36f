package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

func TestDriftWatcher(t *testing.T) {
	state := t.TempDir()
	dir := t.TempDir()
	p := filepath.Join(dir, "sshd_config")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Port 22\nPermitRootLogin no\n")
	w, err := newDriftWatcher(state, []string{p})
	if err != nil {
		t.Fatal(err)
	}
	check := func(commit bool) []wire.FileChange {
		t.Helper()
		ch, up := w.check(testTime)
		if commit {
			if err := w.commit(up); err != nil {
				t.Fatal(err)
			}
		}
		r := wire.Report{Seq: 1, SentAt: testTime, AgentVersion: "t", Files: ch}
		if err := r.Validate(); err != nil {
			t.Fatalf("changes do not validate: %v", err)
		}
		return ch
	}
	ch := check(true)
	sum := sha256.Sum256([]byte("Port 22\nPermitRootLogin no\n"))
	if len(ch) != 1 || ch[0].Diff != "" || ch[0].SHA256 != hex.EncodeToString(sum[:]) || ch[0].Size != 27 || ch[0].Mode != "0644" {
		t.Fatalf("first sight: %+v", ch)
	}
	if ch := check(true); len(ch) != 0 {
		t.Fatalf("unchanged file reported: %+v", ch)
	}

	write("Port 2222\nPermitRootLogin no\n")
	ch = check(false) // not committed: the next check reports it again
	if len(ch) != 1 || !strings.Contains(ch[0].Diff, "-Port 22\n+Port 2222\n") {
		t.Fatalf("change: %+v", ch)
	}
	ch = check(true)
	if len(ch) != 1 || !strings.Contains(ch[0].Diff, "+Port 2222") {
		t.Fatalf("uncommitted change not reported again: %+v", ch)
	}

	// Touched but identical: nothing to report.
	later := time.Now().Add(time.Hour)
	os.Chtimes(p, later, later)
	if ch := check(true); len(ch) != 0 {
		t.Fatalf("touch reported: %+v", ch)
	}

	// A restarted watcher remembers the last content.
	w, err = newDriftWatcher(state, []string{p})
	if err != nil {
		t.Fatal(err)
	}
	if ch := check(true); len(ch) != 0 {
		t.Fatalf("restart re-reported: %+v", ch)
	}
	write("Port 2222\nPermitRootLogin yes\n")
	if ch := check(true); len(ch) != 1 || !strings.Contains(ch[0].Diff, "+PermitRootLogin yes") {
		t.Fatalf("change after restart: %+v", ch)
	}

	// Mode only.
	os.Chmod(p, 0o600)
	if ch := check(true); len(ch) != 1 || ch[0].Mode != "0600" || ch[0].Diff != "" {
		t.Fatalf("mode change: %+v", ch)
	}

	// Binary content.
	write("\x00\x01binary")
	if ch := check(true); len(ch) != 1 || !strings.HasPrefix(ch[0].Diff, "Binary files") {
		t.Fatalf("binary: %+v", ch)
	}
	write("text again\n")
	if ch := check(true); len(ch) != 1 || !strings.HasPrefix(ch[0].Diff, "Binary files") {
		t.Fatalf("binary to text: %+v", ch)
	}

	// Too large to diff: hashed, truncated, no diff.
	big := strings.Repeat("x", maxDiffInput+10)
	write(big)
	ch = check(true)
	if len(ch) != 1 || ch[0].Diff != "" || !ch[0].Truncated || ch[0].Size != int64(len(big)) {
		t.Fatalf("large file: %+v", ch[0].Size)
	}

	// Gone, then back.
	os.Remove(p)
	if ch := check(true); len(ch) != 1 || ch[0].SHA256 != "" {
		t.Fatalf("gone: %+v", ch)
	}
	if ch := check(true); len(ch) != 0 {
		t.Fatalf("gone twice: %+v", ch)
	}
	write("back\n")
	if ch := check(true); len(ch) != 1 || ch[0].SHA256 == "" {
		t.Fatalf("back: %+v", ch)
	}

	// Unreadable (a folder in its place): an error, reported once.
	os.Remove(p)
	os.Mkdir(p, 0o755)
	if ch := check(true); len(ch) != 1 || ch[0].Error == "" {
		t.Fatalf("unreadable: %+v", ch)
	}
	if ch := check(true); len(ch) != 0 {
		t.Fatalf("unreadable twice: %+v", ch)
	}

	// Saved state is private.
	ents, _ := os.ReadDir(filepath.Join(state, "files"))
	for _, e := range ents {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", e.Name(), info.Mode())
		}
	}
}

func TestDriftWatcherBadPaths(t *testing.T) {
	if _, err := newDriftWatcher(t.TempDir(), []string{"relative/path"}); err == nil {
		t.Error("relative path accepted")
	}
	w, err := newDriftWatcher(t.TempDir(), []string{"/nonexistent/dir/../file"})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := w.check(testTime)
	if len(ch) != 1 || ch[0].Path != "/nonexistent/file" || ch[0].SHA256 != "" {
		t.Errorf("%+v", ch)
	}
}
