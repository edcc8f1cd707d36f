package config

import (
	"strings"
	"testing"
	"time"
)

func TestSecuritySettings(t *testing.T) {
	c, err := Load("", []string{"OPSDECK_SECURITY_ALERT_SEVERITY=critical", "OPSDECK_SECURITY_CERT_DAYS=30", "OPSDECK_SECURITY_BRUTE_FORCE_WINDOW=2h", "OPSDECK_SECRET_KEY=x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Security.AlertSeverity != "critical" || c.Security.CertDays != 30 || c.Security.BruteForceWindow != 2*time.Hour {
		t.Fatalf("security = %+v", c.Security)
	}
	for env, key := range map[string]string{
		"OPSDECK_SECURITY_ALERT_SEVERITY=apocalyptic": "security.alert_severity",
		"OPSDECK_SECURITY_CERT_DAYS=0":                "security.cert_days",
		"OPSDECK_SECURITY_BRUTE_FORCE_USER=-1":        "security.brute_force_user",
		"OPSDECK_SECURITY_BRUTE_FORCE_ADDR=100000":    "security.brute_force_addr",
		"OPSDECK_SECURITY_BRUTE_FORCE_WINDOW=1s":      "security.brute_force_window",
	} {
		if _, err := Load("", []string{env}, nil); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v, want an error naming %s", env, err, key)
		}
	}
}
