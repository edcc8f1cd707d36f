package config

import (
	"fmt"
	"strings"
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

// Limits on security.risky_packages.
const (
	maxRiskyPackages = 500
	maxRiskyPattern  = 100
)

// validateRiskyPackages checks security.risky_packages item by item,
// reporting a bad item on its own line when it came from the file. An
// empty list is allowed: it turns the risky-software findings off.
func (l *loader) validateRiskyPackages() {
	const key = "security.risky_packages"
	if l.failed[key] {
		return
	}
	list := l.cfg.Security.RiskyPackages
	if len(list) > maxRiskyPackages {
		l.errorf(l.origins[key], key, "has %d patterns; at most %d", len(list), maxRiskyPackages)
		return
	}
	for i, p := range list {
		msg := checkPackagePattern(p)
		if msg == "" {
			continue
		}
		o := l.origins[key]
		if lines := l.itemLines[key]; i < len(lines) {
			o.line = lines[i]
		}
		l.errorf(o, key, "item %d: %s", i+1, msg)
	}
	if len(list) == 0 {
		l.cfg.Security.RiskyPackages = nil
	}
}

// checkPackagePattern checks one package name pattern: the characters of
// Debian and RPM package names (letters, digits, . + - _) and the
// wildcards * and ?, with at least one character that is not a wildcard
// (a lone "*" would make every package risky).
func checkPackagePattern(p string) string {
	if p == "" {
		return "is empty"
	}
	if len(p) > maxRiskyPattern {
		return fmt.Sprintf("is longer than %d characters", maxRiskyPattern)
	}
	literal := false
	for _, r := range p {
		switch {
		case r == '*' || r == '?':
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".+-_", r):
			literal = true
		default:
			return fmt.Sprintf("%q is not a package name pattern: %q is not allowed (letters, digits, . + - _ and the wildcards * ?)", p, r)
		}
	}
	if !literal {
		return fmt.Sprintf("%q matches every package; name at least one character", p)
	}
	return ""
}
