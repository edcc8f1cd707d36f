// Package config holds opsdeck's configuration and the rules for building it.
//
// Settings come from four layers, each overriding the one before it:
// built-in defaults, a YAML file, OPSDECK_* environment variables and
// command-line flags. Every setting has one dotted key (for example
// "http.read_timeout") that names it in the file, derives its environment
// variable (OPSDECK_HTTP_READ_TIMEOUT) and keys the flag map passed to Load.
//
// Mistakes are refused rather than ignored: an operator who misspells a key
// would otherwise run with a default they did not choose, which for things
// like timeouts or trusted proxies fails silently and late. Every problem is
// reported as an *Error naming the file and line, the environment variable or
// the flag it came from.
package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Config is opsdeck's settings for `serve` and the commands that open the store.
type Config struct {
	// Addr is the host:port the HTTP server listens on.
	Addr string
	// DataDir is the directory for opsdeck's own files, including the default SQLite database.
	DataDir string
	// DB selects the database: "" for DataDir/opsdeck.db, a postgres:// or
	// postgresql:// URL, "sqlite:" followed by a path, or a plain file path.
	DB string
	// BaseURL is the absolute http(s) URL used when opsdeck writes links to
	// itself; "" means links are built from the incoming request.
	BaseURL string
	// Log controls logging.
	Log LogConfig
	// TLS names the certificate and key for serving HTTPS; both empty means plain HTTP.
	TLS TLSConfig
	// HTTP holds the HTTP server's limits.
	HTTP HTTPConfig
	// Auth holds session and login-throttling settings.
	Auth AuthConfig
	// Monitoring tunes the check scheduler and how long history is kept.
	Monitoring MonitoringConfig
	// Notify tunes the notification outbox's worker.
	Notify NotifyConfig
	// ServiceDesk holds the ticket reopen window and the attachment cap.
	ServiceDesk ServiceDeskConfig
	// Assets holds how many days ahead warranty and lease ends are flagged.
	Assets AssetsConfig
	// Mail is the service desk's email: the SMTP listener, IMAP polling
	// and the channel outbound mail leaves through.
	Mail MailConfig
	// Changes tunes change management.
	Changes ChangesConfig
	// Backup schedules opsdeck's own backups.
	Backup BackupConfig
	// Security tunes the security findings.
	Security SecurityConfig
	// MonitorsPath names a YAML file, or a folder of *.yaml/*.yml files,
	// declaring monitors as code; they are reconciled into the database on
	// start and on SIGHUP. "" means none.
	MonitorsPath string
	// Source records where the file came from ("" if none), for messages.
	Source string
}

// LogConfig controls logging: Level is one of debug, info, warn or error and
// Format is text or json.
type LogConfig struct{ Level, Format string }

// TLSConfig names the PEM certificate and key files; they are set together or
// not at all.
type TLSConfig struct{ CertFile, KeyFile string }

// HTTPConfig holds the HTTP server's timeouts and limits. TrustedProxies lists
// the CIDRs whose X-Forwarded-For headers are believed.
type HTTPConfig struct {
	ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
	MaxBodyBytes                                            int64
	TrustedProxies                                          []string
}

// AuthConfig holds session lifetime, login throttling and API-token caching
// settings. A TokenCacheTTL of zero disables the token cache.
type AuthConfig struct {
	SessionTTL                                     time.Duration
	LoginMaxFailuresPerUser, LoginMaxFailuresPerIP int
	LoginFailureWindow, TokenCacheTTL              time.Duration
}

// MonitoringConfig holds the scheduler's concurrency and the retention of
// raw results and of the minute and hour rollups.
type MonitoringConfig struct {
	Concurrency                                  int
	RawRetention, MinuteRetention, HourRetention time.Duration
}

// NotifyConfig holds the notification worker's concurrency, retry backoff
// and when it gives up.
type NotifyConfig struct {
	Concurrency, MaxAttempts        int
	MaxAge, BackoffBase, BackoffMax time.Duration
}

// ServiceDeskConfig holds how long resolved tickets may be reopened and
// the attachment size cap.
type ServiceDeskConfig struct {
	ReopenWindow       time.Duration
	MaxAttachmentBytes int64
}

// MailConfig is the service desk's email (see docs/servicedesk.md). The
// IMAP password is a secret: never printed, never logged.
type MailConfig struct {
	Address, SMTPAddr               string
	Recipients                      []string
	MaxMessageBytes                 int64
	TLSCertFile, TLSKeyFile         string
	RatePerHour                     int
	OutboundChannel                 string
	IMAPURL, IMAPPassword, IMAPDone string
	IMAPGroup                       string
	IMAPInterval                    time.Duration
}

// ChangesConfig tunes change management: how long after a change started
// or ended an incident on its CIs is flagged as possibly caused by it.
type ChangesConfig struct {
	IncidentWindow time.Duration
}

// AssetsConfig tunes the asset register.
type AssetsConfig struct {
	WarnDays int
}

// BackupConfig schedules self-backups: every SelfInterval (0 = off) an
// archive goes to SelfFolder ("" = DataDir/backups), keeping the newest
// SelfRetention.
type BackupConfig struct {
	SelfInterval  time.Duration
	SelfFolder    string
	SelfRetention int
}

// SecurityConfig tunes the security findings: which severity pages, how
// near a certificate's expiry is a finding, what counts as brute force, and
// which packages must not be installed on servers (RiskyPackages: name
// patterns, case-insensitive, * and ? wildcards).
type SecurityConfig struct {
	AlertSeverity    string
	CertDays         int
	BruteForceUser   int
	BruteForceAddr   int
	BruteForceWindow time.Duration
	RiskyPackages    []string
}

// DefaultRiskyPackages are legacy network servers that send passwords in
// clear text or trust the network, with no place on a server today
// (Debian names and their Red Hat twins):
//   - telnetd, telnetd-ssl, inetutils-telnetd, telnet-server: Telnet
//     logins in clear text (SSH replaces them);
//   - rsh-server, rsh-redone-server: rsh/rlogin/rexec, clear text and
//     trust by host name and address (.rhosts);
//   - tftpd, tftpd-hpa, atftpd, tftp-server: TFTP, file transfer with no
//     authentication at all (a PXE boot server may accept the risk);
//   - nis, ypserv: NIS hands password hashes to anyone on the network who
//     asks for the map.
//
// Clients (telnet, rsh-client, tftp) are not listed: they open nothing.
func DefaultRiskyPackages() []string {
	return []string{"telnetd", "telnetd-ssl", "inetutils-telnetd", "telnet-server",
		"rsh-server", "rsh-redone-server",
		"tftpd", "tftpd-hpa", "atftpd", "tftp-server",
		"nis", "ypserv"}
}

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		Addr:    "127.0.0.1:8080",
		DataDir: "./opsdeck-data",
		Log:     LogConfig{Level: "info", Format: "text"},
		HTTP: HTTPConfig{
			ReadTimeout:     15 * time.Second,
			WriteTimeout:    30 * time.Second,
			IdleTimeout:     120 * time.Second,
			ShutdownTimeout: 20 * time.Second,
			MaxBodyBytes:    1 << 20,
		},
		Auth: AuthConfig{
			SessionTTL:              12 * time.Hour,
			LoginMaxFailuresPerUser: 5,
			LoginMaxFailuresPerIP:   20,
			LoginFailureWindow:      15 * time.Minute,
			TokenCacheTTL:           30 * time.Second,
		},
		Monitoring: MonitoringConfig{
			Concurrency:     256,
			RawRetention:    7 * 24 * time.Hour,
			MinuteRetention: 30 * 24 * time.Hour,
			HourRetention:   400 * 24 * time.Hour,
		},
		Notify: NotifyConfig{
			Concurrency: 8,
			MaxAttempts: 10,
			MaxAge:      24 * time.Hour,
			BackoffBase: 15 * time.Second,
			BackoffMax:  15 * time.Minute,
		},
		ServiceDesk: ServiceDeskConfig{ReopenWindow: 14 * 24 * time.Hour, MaxAttachmentBytes: 10 << 20},
		Assets:      AssetsConfig{WarnDays: 30},
		Mail:        MailConfig{MaxMessageBytes: 25 << 20, RatePerHour: 30, IMAPInterval: time.Minute},
		Changes:     ChangesConfig{IncidentWindow: 2 * time.Hour},
		Backup:      BackupConfig{SelfRetention: 7},
		Security: SecurityConfig{AlertSeverity: "high", CertDays: 21, BruteForceUser: 5, BruteForceAddr: 10, BruteForceWindow: time.Hour,
			RiskyPackages: DefaultRiskyPackages()},
	}
}

// Error is one configuration problem, naming where it came from.
type Error struct {
	Source string // file path, "env OPSDECK_X", or "flag --x"
	Line   int    // line in the file, 0 if not from a file
	Field  string // dotted key, e.g. "http.read_timeout"
	Msg    string
}

// Error formats the problem as "source[:line]: [field: ]message", the shape
// compilers use, so editors and terminals can jump to the offending line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// SQLitePath returns the SQLite file path when DB selects SQLite
// (DataDir/opsdeck.db by default), and "" for PostgreSQL. A relative path in
// DB is relative to the working directory, not DataDir, as with any other
// path given on the command line.
func (c Config) SQLitePath() string {
	switch {
	case c.DB == "":
		return filepath.Join(c.DataDir, "opsdeck.db")
	case c.IsPostgres():
		return ""
	case strings.HasPrefix(c.DB, sqlitePrefix):
		return strings.TrimPrefix(c.DB, sqlitePrefix)
	default:
		return c.DB
	}
}

// IsPostgres reports whether DB is a postgres URL. The scheme is matched
// without regard to case because URL schemes are case-insensitive.
func (c Config) IsPostgres() bool {
	return hasPrefixFold(c.DB, "postgres://") || hasPrefixFold(c.DB, "postgresql://")
}

// maxErrors caps how many problems Load reports in one go.
const maxErrors = 20

// sqlitePrefix is the explicit form for choosing SQLite in DB.
const sqlitePrefix = "sqlite:"

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Load builds the configuration: defaults, then the YAML file at path (skipped
// when path is ""; a missing named file is an error), then environment
// (environ in os.Environ() form; only OPSDECK_* keys are considered, and an
// unknown one is an error except for the variables other parts of opsdeck
// own), then flags: a map from dotted key ("addr", "log.level", ...) to value
// holding only the flags the user actually set.
//
// Empty environment variables are treated as unset, because shells and
// container files commonly export empty placeholders; an empty flag value is
// applied, because the user typed it. List settings (http.trusted_proxies)
// are comma-separated in environment variables and flags and replace, rather
// than extend, the list from the file.
//
// It validates the result and returns *Error values (several are joined with
// errors.Join) for every problem found, so one run shows them all (past
// twenty, a final Error with Source "config" counts the rest). On error
// the returned Config is the zero value, so it cannot be used by mistake.
func Load(path string, environ []string, flags map[string]string) (Config, error) {
	l := newLoader()
	if path != "" {
		l.cfg.Source = path
		l.loadFile(path)
	}
	l.loadEnv(environ)
	l.loadFlags(flags)
	l.validate()
	if len(l.errs) > maxErrors {
		// A wrong file (say, a log passed as the config) can produce an error
		// per line; the first few say all there is to say.
		more := len(l.errs) - maxErrors
		l.errs = append(l.errs[:maxErrors], &Error{Source: "config", Msg: fmt.Sprintf("%d more problems not shown", more)})
	}
	if len(l.errs) > 0 {
		return Config{}, errors.Join(l.errs...)
	}
	return l.cfg, nil
}
