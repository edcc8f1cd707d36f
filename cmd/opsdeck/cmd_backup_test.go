package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIBackupRestore: back up a data folder, restore it into a new one
// and find the user created before; a damaged file changes nothing.
func TestCLIBackupRestore(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if code, _, errs := runCLI(t, "correct horse battery staple\n", "user", "create", "--data", data, "--username", "carol", "--role", "viewer", "--password-stdin"); code != 0 {
		t.Fatalf("user create: %s", errs)
	}
	archive := filepath.Join(dir, "opsdeck.tar.gz")
	code, out, errs := runCLI(t, "", "backup", "--data", data, "--to", archive)
	if code != 0 || !strings.Contains(out, "sha256") {
		t.Fatalf("backup: %d %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "backup", "--data", filepath.Join(dir, "none"), "--to", archive+"2"); code != 1 || !strings.Contains(errs, "no database") {
		t.Fatalf("backup of nothing: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "backup", "--data", data); code != 2 || !strings.Contains(errs, "--to") {
		t.Fatalf("no --to: %d %s", code, errs)
	}
	// Restore refuses the live, non-empty folder.
	if code, _, errs := runCLI(t, "", "restore", "--from", archive, "--data", data); code != 1 || !strings.Contains(errs, "not empty") {
		t.Fatalf("restore over data: %d %s", code, errs)
	}
	target := filepath.Join(dir, "restored")
	code, out, errs = runCLI(t, "", "restore", "--from", archive, "--data", target)
	if code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %d %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "user", "list", "--data", target)
	if code != 0 || !strings.Contains(out, "carol") {
		t.Fatalf("restored users: %d %s", code, out)
	}
	// A damaged archive: clear message, folder untouched.
	b, _ := os.ReadFile(archive)
	bad := filepath.Join(dir, "bad.tar.gz")
	_ = os.WriteFile(bad, b[:len(b)/2], 0o600)
	fresh := filepath.Join(dir, "fresh")
	code, _, errs = runCLI(t, "", "restore", "--from", bad, "--data", fresh)
	if code != 1 || !strings.Contains(errs, "not a whole opsdeck backup") {
		t.Fatalf("bad archive: %d %s", code, errs)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("target created: %v", err)
	}
}
