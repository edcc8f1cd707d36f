package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setting ties one dotted key to its field in Config. The table is the single
// place a setting is declared, so the file, environment and flag layers
// cannot disagree about which keys exist.
type setting struct {
	key string
	ptr func(*Config) any
}

// settings returns the table of every setting. It is a function rather than a
// package variable so that no caller can alter it.
func settings() []setting {
	return []setting{
		{"addr", func(c *Config) any { return &c.Addr }},
		{"data", func(c *Config) any { return &c.DataDir }},
		{"db", func(c *Config) any { return &c.DB }},
		{"base_url", func(c *Config) any { return &c.BaseURL }},
		{"monitors_path", func(c *Config) any { return &c.MonitorsPath }},
		{"log.level", func(c *Config) any { return &c.Log.Level }},
		{"log.format", func(c *Config) any { return &c.Log.Format }},
		{"tls.cert_file", func(c *Config) any { return &c.TLS.CertFile }},
		{"tls.key_file", func(c *Config) any { return &c.TLS.KeyFile }},
		{"http.read_timeout", func(c *Config) any { return &c.HTTP.ReadTimeout }},
		{"http.write_timeout", func(c *Config) any { return &c.HTTP.WriteTimeout }},
		{"http.idle_timeout", func(c *Config) any { return &c.HTTP.IdleTimeout }},
		{"http.max_body_bytes", func(c *Config) any { return &c.HTTP.MaxBodyBytes }},
		{"http.shutdown_timeout", func(c *Config) any { return &c.HTTP.ShutdownTimeout }},
		{"http.trusted_proxies", func(c *Config) any { return &c.HTTP.TrustedProxies }},
		{"auth.session_ttl", func(c *Config) any { return &c.Auth.SessionTTL }},
		{"auth.login_max_failures_per_user", func(c *Config) any { return &c.Auth.LoginMaxFailuresPerUser }},
		{"auth.login_max_failures_per_ip", func(c *Config) any { return &c.Auth.LoginMaxFailuresPerIP }},
		{"auth.login_failure_window", func(c *Config) any { return &c.Auth.LoginFailureWindow }},
		{"auth.token_cache_ttl", func(c *Config) any { return &c.Auth.TokenCacheTTL }},
		{"monitoring.concurrency", func(c *Config) any { return &c.Monitoring.Concurrency }},
		{"monitoring.raw_retention", func(c *Config) any { return &c.Monitoring.RawRetention }},
		{"monitoring.minute_retention", func(c *Config) any { return &c.Monitoring.MinuteRetention }},
		{"monitoring.hour_retention", func(c *Config) any { return &c.Monitoring.HourRetention }},
		{"notify.concurrency", func(c *Config) any { return &c.Notify.Concurrency }},
		{"notify.max_attempts", func(c *Config) any { return &c.Notify.MaxAttempts }},
		{"notify.max_age", func(c *Config) any { return &c.Notify.MaxAge }},
		{"notify.backoff_base", func(c *Config) any { return &c.Notify.BackoffBase }},
		{"notify.backoff_max", func(c *Config) any { return &c.Notify.BackoffMax }},
		{"servicedesk.reopen_window", func(c *Config) any { return &c.ServiceDesk.ReopenWindow }},
		{"servicedesk.max_attachment_bytes", func(c *Config) any { return &c.ServiceDesk.MaxAttachmentBytes }},
		{"assets.warn_days", func(c *Config) any { return &c.Assets.WarnDays }},
		{"mail.address", func(c *Config) any { return &c.Mail.Address }},
		{"mail.smtp_addr", func(c *Config) any { return &c.Mail.SMTPAddr }},
		{"mail.recipients", func(c *Config) any { return &c.Mail.Recipients }},
		{"mail.max_message_bytes", func(c *Config) any { return &c.Mail.MaxMessageBytes }},
		{"mail.tls_cert_file", func(c *Config) any { return &c.Mail.TLSCertFile }},
		{"mail.tls_key_file", func(c *Config) any { return &c.Mail.TLSKeyFile }},
		{"mail.rate_per_hour", func(c *Config) any { return &c.Mail.RatePerHour }},
		{"mail.outbound_channel", func(c *Config) any { return &c.Mail.OutboundChannel }},
		{"mail.imap_url", func(c *Config) any { return &c.Mail.IMAPURL }},
		{"mail.imap_password", func(c *Config) any { return &c.Mail.IMAPPassword }},
		{"mail.imap_interval", func(c *Config) any { return &c.Mail.IMAPInterval }},
		{"mail.imap_done_folder", func(c *Config) any { return &c.Mail.IMAPDone }},
		{"mail.imap_group", func(c *Config) any { return &c.Mail.IMAPGroup }},
		{"changes.incident_window", func(c *Config) any { return &c.Changes.IncidentWindow }},
		{"backup.self_interval", func(c *Config) any { return &c.Backup.SelfInterval }},
		{"backup.self_folder", func(c *Config) any { return &c.Backup.SelfFolder }},
		{"backup.self_retention", func(c *Config) any { return &c.Backup.SelfRetention }},
		{"security.alert_severity", func(c *Config) any { return &c.Security.AlertSeverity }},
		{"security.cert_days", func(c *Config) any { return &c.Security.CertDays }},
		{"security.brute_force_user", func(c *Config) any { return &c.Security.BruteForceUser }},
		{"security.brute_force_addr", func(c *Config) any { return &c.Security.BruteForceAddr }},
		{"security.brute_force_window", func(c *Config) any { return &c.Security.BruteForceWindow }},
		{"security.risky_packages", func(c *Config) any { return &c.Security.RiskyPackages }},
	}
}

// envPrefix marks the environment variables that belong to opsdeck.
const envPrefix = "OPSDECK_"

// envName derives a setting's environment variable from its key, so the
// mapping is mechanical and documented by the key alone.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// flagName is how a flag is named in messages: the key with "." and "_" turned
// into "-" (addr → --addr, log.level → --log-level).
func flagName(key string) string {
	return "--" + strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// ignoredEnv reports whether an OPSDECK_ variable belongs to another part of
// opsdeck and so must not be treated as an unknown setting.
func ignoredEnv(name string) bool {
	switch name {
	case "OPSDECK_ADMIN_PASSWORD", "OPSDECK_CONFIG", "OPSDECK_TEST_POSTGRES", "OPSDECK_CHROMIUM", "OPSDECK_SCREENSHOTS", "OPSDECK_SECRET_KEY":
		return true
	}
	return strings.HasPrefix(name, "OPSDECK_TEST_")
}

// assign parses raw into the field ptr points at. It returns a message
// describing the problem, or "" on success; the caller adds where it came from.
// Lists are comma-separated, which is how they arrive from env and flags.
func assign(ptr any, raw string) string {
	switch p := ptr.(type) {
	case *string:
		*p = raw
	case *time.Duration:
		s := strings.TrimSpace(raw)
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("invalid duration %s; write it like \"15s\", \"2m\" or \"1h30m\"", quote(s))
		}
		*p = d
	case *int:
		s := strings.TrimSpace(raw)
		n, err := strconv.Atoi(s)
		if err != nil {
			return intMsg(s, err)
		}
		*p = n
	case *int64:
		s := strings.TrimSpace(raw)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return intMsg(s, err)
		}
		*p = n
	case *[]string:
		var list []string
		for _, item := range strings.Split(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		*p = list
	default:
		// Only reachable if the settings table gains a field type this
		// function was not taught; failing loudly beats ignoring the value.
		panic(fmt.Sprintf("config: unsupported setting type %T", ptr))
	}
	return ""
}

func intMsg(s string, err error) string {
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return fmt.Sprintf("integer %s is out of range", quote(s))
	}
	return fmt.Sprintf("invalid integer %s", quote(s))
}

// kindName describes what a field expects, for type errors.
func kindName(ptr any) string {
	switch ptr.(type) {
	case *time.Duration:
		return "a duration such as \"15s\""
	case *int, *int64:
		return "an integer"
	case *[]string:
		return "a list"
	default:
		return "a string"
	}
}

// maxQuoted bounds how much of a bad value is echoed back, so a stray binary
// blob does not turn into a screenful of error text.
const maxQuoted = 64

// quote renders a user-supplied value for a message.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

// suggest returns the candidate closest to s by edit distance when it is
// close enough to be a likely typo, or "".
func suggest(s string, candidates []string) string {
	// Allow roughly one edit per three characters, at most two: beyond that
	// the "suggestion" for a short key is noise ("a" → "db").
	best, bestDist := "", min(2, len(s)/3)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b. Inputs longer
// than a key could plausibly be are not compared, to keep the cost bounded.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
