package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/store"
)

// TestServerWiresBackups: a server with self-backups configured shows
// their job at start, and its check-in routes answer (an unknown key gets
// 404).
func TestServerWiresBackups(t *testing.T) {
	cfg := testConfig(t)
	cfg.Backup.SelfInterval = time.Hour
	addr, _, stop := startServer(t, cfg, "correct horse battery staple")
	resp, err := http.Post("http://"+addr+"/backup/ping/bk_nothere/success", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown key: %d", resp.StatusCode)
	}
	db, err := store.Open(context.Background(), cfg.SQLitePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var name string
		var period int64
		err := db.R.QueryRow(`SELECT name, period_seconds FROM backup_jobs WHERE self_backup = $1`, true).Scan(&name, &period)
		if err == nil {
			if name != backup.SelfJobName || period != 3600 {
				t.Fatalf("self job %q every %ds", name, period)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no self-backup job: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
