package backup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// TestSelfBackupRetention: scheduled self-backups show as runs of their
// own job and only the newest archives are kept.
func TestSelfBackupRetention(t *testing.T) {
	db := storetest.SQLite(t)
	folder := filepath.Join(t.TempDir(), "backups")
	if err := os.MkdirAll(folder, 0o750); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(folder, "notes.txt")
	_ = os.WriteFile(other, []byte("keep me"), 0o600)
	clk := &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	al := newAlerts()
	s := New(db, Options{Alerts: al, Now: clk.now, Self: SelfOptions{Interval: time.Hour, Folder: folder, Retention: 2, Version: "test"}})
	ctx := context.Background()
	if err := s.ensureSelfJob(ctx); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := 0; i < 4; i++ {
		p, err := s.SelfBackup(ctx)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		clk.add(time.Hour)
	}
	ents, _ := os.ReadDir(folder)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 3 || !strings.Contains(strings.Join(names, " "), "notes.txt") {
		t.Fatalf("folder holds %v; want the newest 2 archives and the unrelated file", names)
	}
	for _, p := range paths[2:] {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("newest archive gone: %v", err)
		}
		if _, err := Restore(ctx, p, filepath.Join(t.TempDir(), "r")); err != nil {
			t.Fatalf("self-backup does not restore: %v", err)
		}
	}
	jobs, _ := s.Jobs(ctx)
	if len(jobs) != 1 || !jobs[0].Self || jobs[0].Name != SelfJobName || jobs[0].State != StateOK {
		t.Fatalf("jobs %+v", jobs)
	}
	runs, _ := s.Runs(ctx, jobs[0].ID, 10)
	if len(runs) != 4 || runs[0].Bytes == nil || *runs[0].Bytes == 0 || runs[0].Status != RunSuccess {
		t.Fatalf("runs %+v", runs)
	}
	// Starting again does not add a second self job.
	if err := s.ensureSelfJob(ctx); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := s.Jobs(ctx); len(jobs) != 1 {
		t.Fatalf("second self job: %d", len(jobs))
	}
	// Without writes the job goes late like any other.
	clk.add(3 * time.Hour)
	if err := s.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := al.states(); !strings.Contains(got, "rpo_breached") {
		t.Fatalf("alerts %q", got)
	}
}
