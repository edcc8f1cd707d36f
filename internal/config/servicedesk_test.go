package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestServiceDeskSettings(t *testing.T) {
	p := t.TempDir() + "/o.yaml"
	if err := os.WriteFile(p, []byte("servicedesk:\n  reopen_window: 72h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, []string{"OPSDECK_SERVICEDESK_MAX_ATTACHMENT_BYTES=2048"}, nil)
	if err != nil || c.ServiceDesk.ReopenWindow != 72*time.Hour || c.ServiceDesk.MaxAttachmentBytes != 2048 {
		t.Fatalf("%+v %v", c.ServiceDesk, err)
	}
	if err := os.WriteFile(p, []byte("servicedesk:\n  reopen_window: 10m\n  max_attachment_bytes: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "servicedesk.reopen_window") || !strings.Contains(err.Error(), "servicedesk.max_attachment_bytes") {
		t.Fatalf("bad service desk settings: %v", err)
	}
}
