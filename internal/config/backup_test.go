package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackupSettings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "opsdeck.yaml")
	if err := os.WriteFile(p, []byte("backup:\n  self_interval: 6h\n  self_folder: /var/backups/opsdeck\n  self_retention: 14\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, nil, nil)
	if err != nil || c.Backup.SelfInterval != 6*time.Hour || c.Backup.SelfFolder != "/var/backups/opsdeck" || c.Backup.SelfRetention != 14 {
		t.Fatalf("%+v %v", c.Backup, err)
	}
	for body, key := range map[string]string{"backup:\n  self_interval: 5s\n": "backup.self_interval", "backup:\n  self_retention: 0\n": "backup.self_retention"} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p, nil, nil); err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("%q: %v", body, err)
		}
	}
	if c, err := Load("", []string{"OPSDECK_BACKUP_SELF_INTERVAL=1h"}, nil); err != nil || c.Backup.SelfInterval != time.Hour || c.Backup.SelfRetention != 7 {
		t.Fatalf("env: %+v %v", c.Backup, err)
	}
}
