package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits enforced by validation.
const (
	minBodyBytes  = 1 << 10 // below 1 KiB even a login form does not fit
	maxBodyBytes  = 1 << 30 // above 1 GiB a single request can exhaust memory
	minSessionTTL = 5 * time.Minute
	maxTokenCache = 10 * time.Minute // a revoked token must stop working soon
)

// validate checks the assembled configuration. Each problem is attributed to
// the layer that supplied the value, so the user edits the right place.
// Settings whose assignment already failed are skipped: they still hold an
// earlier layer's value and a second error about it would mislead.
func (l *loader) validate() {
	c := &l.cfg
	check := func(key string, msg string) {
		if msg != "" && !l.failed[key] {
			l.errorf(l.origins[key], key, "%s", msg)
		}
	}

	check("addr", checkAddr(c.Addr))
	if c.DataDir == "" {
		check("data", "must not be empty")
	}
	check("db", checkDB(c.DB))
	check("base_url", checkBaseURL(c.BaseURL))

	// Levels and formats are matched without case because "INFO" in an
	// environment variable is an obvious intent; they are stored lowercase
	// so consumers compare against one spelling.
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	check("log.level", checkEnum(c.Log.Level, "debug", "info", "warn", "error"))
	check("log.format", checkEnum(c.Log.Format, "text", "json"))

	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") && !l.failed["tls.cert_file"] && !l.failed["tls.key_file"] {
		set, missing := "tls.cert_file", "tls.key_file"
		if c.TLS.CertFile == "" {
			set, missing = missing, set
		}
		l.errorf(l.origins[set], missing, "%s is set but %s is not; set both to serve HTTPS, or neither", set, missing)
	}

	check("http.read_timeout", positive(c.HTTP.ReadTimeout))
	check("http.write_timeout", positive(c.HTTP.WriteTimeout))
	check("http.idle_timeout", positive(c.HTTP.IdleTimeout))
	check("http.shutdown_timeout", positive(c.HTTP.ShutdownTimeout))
	if n := c.HTTP.MaxBodyBytes; n < minBodyBytes || n > maxBodyBytes {
		check("http.max_body_bytes", fmt.Sprintf("%d is out of range; must be between %d (1 KiB) and %d (1 GiB)", n, minBodyBytes, maxBodyBytes))
	}
	const proxies = "http.trusted_proxies"
	for i, p := range c.HTTP.TrustedProxies {
		if msg := checkCIDR(p); msg != "" && !l.failed[proxies] {
			o := l.origins[proxies]
			if lines := l.itemLines[proxies]; i < len(lines) {
				o.line = lines[i]
			}
			l.errorf(o, proxies, "%s", msg)
		}
	}
	if len(c.HTTP.TrustedProxies) == 0 {
		c.HTTP.TrustedProxies = nil // one spelling of "none", whatever the source
	}

	if c.Auth.SessionTTL < minSessionTTL {
		check("auth.session_ttl", fmt.Sprintf("%s is too short; must be at least %s", c.Auth.SessionTTL, minSessionTTL))
	}
	check("auth.login_max_failures_per_user", atLeastOne(c.Auth.LoginMaxFailuresPerUser))
	check("auth.login_max_failures_per_ip", atLeastOne(c.Auth.LoginMaxFailuresPerIP))
	check("auth.login_failure_window", positive(c.Auth.LoginFailureWindow))
	if d := c.Auth.TokenCacheTTL; d < 0 || d > maxTokenCache {
		check("auth.token_cache_ttl", fmt.Sprintf("%s is out of range; must be between 0 (no cache) and %s", d, maxTokenCache))
	}
	c.validateNotify(check)
	if n := c.Monitoring.Concurrency; n < 1 || n > 10000 {
		check("monitoring.concurrency", fmt.Sprintf("%d is out of range; must be from 1 to 10000", n))
	}
	if d := c.ServiceDesk.ReopenWindow; d < time.Hour || d > 366*24*time.Hour {
		check("servicedesk.reopen_window", fmt.Sprintf("%s is out of range; must be from 1h to 8784h (a year)", d))
	}
	if d := c.Changes.IncidentWindow; d < time.Minute || d > 7*24*time.Hour {
		check("changes.incident_window", fmt.Sprintf("%s is out of range; must be from 1m to 168h (a week)", d))
	}
	c.validateSecurity(check)
	l.validateRiskyPackages()
	if n := c.Assets.WarnDays; n < 1 || n > 365 {
		check("assets.warn_days", fmt.Sprintf("%d is out of range; must be from 1 to 365", n))
	}
	if n := c.Mail.MaxMessageBytes; n < 1024 || n > 1<<30 {
		check("mail.max_message_bytes", fmt.Sprintf("%d is out of range; must be from 1024 to 1073741824 (1 GiB)", n))
	}
	if n := c.Mail.RatePerHour; n < 0 || n > 100000 {
		check("mail.rate_per_hour", fmt.Sprintf("%d is out of range; must be from 0 (no cap) to 100000", n))
	}
	if d := c.Mail.IMAPInterval; d < 5*time.Second || d > 24*time.Hour {
		check("mail.imap_interval", fmt.Sprintf("%s is out of range; must be from 5s to 24h", d))
	}
	if d := c.Backup.SelfInterval; d != 0 && (d < time.Minute || d > 31*24*time.Hour) {
		check("backup.self_interval", fmt.Sprintf("%s is out of range; must be 0 (off) or from 1m to 744h (a month)", d))
	}
	if n := c.Backup.SelfRetention; n < 1 || n > 1000 {
		check("backup.self_retention", fmt.Sprintf("%d is out of range; must be from 1 to 1000", n))
	}
	if n := c.ServiceDesk.MaxAttachmentBytes; n < 1024 || n > 1<<30 {
		check("servicedesk.max_attachment_bytes", fmt.Sprintf("%d is out of range; must be from 1024 to 1073741824 (1 GiB)", n))
	}
	for _, r := range []struct {
		key      string
		d, floor time.Duration
	}{
		{"monitoring.raw_retention", c.Monitoring.RawRetention, 2 * time.Hour},
		{"monitoring.minute_retention", c.Monitoring.MinuteRetention, 2 * time.Hour},
		{"monitoring.hour_retention", c.Monitoring.HourRetention, 48 * time.Hour},
	} {
		// Rollups are computed from raw results, so raw data must outlive
		// the rollup lag; hours need two days to serve 24 h uptime.
		if r.d < r.floor || r.d > 10*366*24*time.Hour {
			check(r.key, fmt.Sprintf("%s is out of range; must be from %s to 10 years (write days as hours, e.g. 168h)", r.d, r.floor))
		}
	}
}

// validateNotify checks the notification worker's settings.
func (c *Config) validateNotify(check func(field, msg string)) {
	if n := c.Notify.Concurrency; n < 1 || n > 1000 {
		check("notify.concurrency", fmt.Sprintf("%d is out of range; must be from 1 to 1000", n))
	}
	if n := c.Notify.MaxAttempts; n < 1 || n > 1000 {
		check("notify.max_attempts", fmt.Sprintf("%d is out of range; must be from 1 to 1000", n))
	}
	if d := c.Notify.MaxAge; d < time.Minute || d > 30*24*time.Hour {
		check("notify.max_age", fmt.Sprintf("%s is out of range; must be from 1m to 720h (30 days)", d))
	}
	if d := c.Notify.BackoffBase; d < 100*time.Millisecond || d > time.Hour {
		check("notify.backoff_base", fmt.Sprintf("%s is out of range; must be from 100ms to 1h", d))
	}
	if d := c.Notify.BackoffMax; d < c.Notify.BackoffBase || d > 24*time.Hour {
		check("notify.backoff_max", fmt.Sprintf("%s is out of range; must be from notify.backoff_base (%s) to 24h", d, c.Notify.BackoffBase))
	}
}

// checkAddr requires host:port with a numeric port, since the server cannot
// resolve service names and an empty or malformed address fails only at
// listen time, far from the setting.
func checkAddr(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("invalid address %s; must be host:port, e.g. \"127.0.0.1:8080\" or \":8080\"", quote(addr))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return fmt.Sprintf("invalid port %s in %s; must be a number from 0 to 65535", quote(port), quote(addr))
	}
	return ""
}

// checkDB accepts "", a postgres URL, "sqlite:"+path or a plain file path.
// Postgres URLs are never echoed in full, because they usually carry a
// password.
func checkDB(db string) string {
	switch {
	case db == "":
		return ""
	case Config{DB: db}.IsPostgres():
		if _, err := url.Parse(db); err != nil {
			return "invalid PostgreSQL URL (value not shown because it may contain a password)"
		}
		return ""
	case strings.HasPrefix(db, sqlitePrefix):
		if strings.TrimPrefix(db, sqlitePrefix) == "" {
			return "\"sqlite:\" must be followed by a file path"
		}
		return ""
	}
	if scheme, _, ok := strings.Cut(db, "://"); ok {
		return fmt.Sprintf("unsupported database %s; use a postgres:// or postgresql:// URL, \"sqlite:\" followed by a path, or a file path", quote(scheme+"://..."))
	}
	return ""
}

// checkBaseURL requires an absolute http(s) URL, because it is pasted into
// links sent outside the request that produced them (emails, notifications).
func checkBaseURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("invalid URL %s; must be an absolute http:// or https:// URL such as \"https://ops.example.com\"", quote(s))
	}
	return ""
}

func checkEnum(v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return ""
		}
	}
	return fmt.Sprintf("invalid value %s; must be one of %s", quote(v), strings.Join(allowed, ", "))
}

func checkCIDR(s string) string {
	if _, err := netip.ParsePrefix(s); err == nil {
		return ""
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return fmt.Sprintf("invalid CIDR %s; for a single address write %q", quote(s), netip.PrefixFrom(a, a.BitLen()).String())
	}
	return fmt.Sprintf("invalid CIDR %s; write a network such as \"10.0.0.0/8\"", quote(s))
}

func positive(d time.Duration) string {
	if d <= 0 {
		return fmt.Sprintf("%s is not allowed; must be greater than zero", d)
	}
	return ""
}

func atLeastOne(n int) string {
	if n < 1 {
		return fmt.Sprintf("%d is not allowed; must be at least 1", n)
	}
	return ""
}
