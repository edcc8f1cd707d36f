package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMailSettings(t *testing.T) {
	p := t.TempDir() + "/o.yaml"
	yaml := "mail:\n  address: support@example.com\n  smtp_addr: 0.0.0.0:2525\n  recipients:\n    - support@example.com\n    - \"@it.example.com=IT\"\n" +
		"  imap_url: imaps://desk@mail.example.com/INBOX\n  imap_interval: 30s\n  imap_done_folder: Processed\n"
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, []string{"OPSDECK_MAIL_IMAP_PASSWORD=s3cret", "OPSDECK_MAIL_RATE_PER_HOUR=0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mail
	if m.Address != "support@example.com" || m.SMTPAddr != "0.0.0.0:2525" || !reflect.DeepEqual(m.Recipients, []string{"support@example.com", "@it.example.com=IT"}) ||
		m.IMAPPassword != "s3cret" || m.IMAPInterval != 30*time.Second || m.RatePerHour != 0 || m.IMAPDone != "Processed" || m.MaxMessageBytes != 25<<20 {
		t.Fatalf("%+v", m)
	}
	if err := os.WriteFile(p, []byte("mail:\n  max_message_bytes: 10\n  imap_interval: 1s\n  rate_per_hour: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p, nil, nil)
	for _, k := range []string{"mail.max_message_bytes", "mail.imap_interval", "mail.rate_per_hour"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Fatalf("bad mail settings, want %s named: %v", k, err)
		}
	}
}
