package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAssetsWarnDays(t *testing.T) {
	p := filepath.Join(t.TempDir(), "opsdeck.yaml")
	if err := os.WriteFile(p, []byte("assets:\n  warn_days: 45\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, nil, nil)
	if err != nil || c.Assets.WarnDays != 45 {
		t.Fatalf("%+v %v", c.Assets, err)
	}
	if err := os.WriteFile(p, []byte("assets:\n  warn_days: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, nil, nil); err == nil || !strings.Contains(err.Error(), "assets.warn_days") {
		t.Fatalf("warn_days 0: %v", err)
	}
}
