package config

import (
	"fmt"
	"time"
)

// validateSecurity checks the security findings' settings.
func (c *Config) validateSecurity(check func(key, msg string)) {
	s := c.Security
	switch s.AlertSeverity {
	case "info", "low", "medium", "high", "critical":
	default:
		check("security.alert_severity", fmt.Sprintf("%q is not a severity; must be one of info, low, medium, high, critical", s.AlertSeverity))
	}
	if s.CertDays < 1 || s.CertDays > 365 {
		check("security.cert_days", fmt.Sprintf("%d is out of range; must be from 1 to 365", s.CertDays))
	}
	if s.BruteForceUser < 1 || s.BruteForceUser > 10000 {
		check("security.brute_force_user", fmt.Sprintf("%d is out of range; must be from 1 to 10000", s.BruteForceUser))
	}
	if s.BruteForceAddr < 1 || s.BruteForceAddr > 10000 {
		check("security.brute_force_addr", fmt.Sprintf("%d is out of range; must be from 1 to 10000", s.BruteForceAddr))
	}
	if d := s.BruteForceWindow; d < time.Minute || d > 24*time.Hour {
		check("security.brute_force_window", fmt.Sprintf("%s is out of range; must be from 1m to 24h", d))
	}
}
