package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeConfig writes content to opsdeck.yaml in a fresh temp dir and returns its path.
func writeConfig(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opsdeck.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// configErrors flattens err (possibly an errors.Join tree) into its *Error
// leaves, failing the test if any leaf is something else.
func configErrors(t testing.TB, err error) []*Error {
	t.Helper()
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %q (%T) is not a *config.Error", e, e)
		}
		out = append(out, ce)
	}
	if err != nil {
		walk(err)
	}
	return out
}

func TestDefault(t *testing.T) {
	want := Config{
		Addr:    "127.0.0.1:8080",
		DataDir: "./opsdeck-data",
		Log:     LogConfig{Level: "info", Format: "text"},
		HTTP: HTTPConfig{
			ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 120 * time.Second, ShutdownTimeout: 20 * time.Second,
			MaxBodyBytes: 1048576,
		},
		Auth: AuthConfig{
			SessionTTL: 12 * time.Hour, LoginMaxFailuresPerUser: 5, LoginMaxFailuresPerIP: 20,
			LoginFailureWindow: 15 * time.Minute, TokenCacheTTL: 30 * time.Second,
		},
		Monitoring:  MonitoringConfig{Concurrency: 256, RawRetention: 168 * time.Hour, MinuteRetention: 720 * time.Hour, HourRetention: 9600 * time.Hour},
		Notify:      NotifyConfig{Concurrency: 8, MaxAttempts: 10, MaxAge: 24 * time.Hour, BackoffBase: 15 * time.Second, BackoffMax: 15 * time.Minute},
		ServiceDesk: ServiceDeskConfig{ReopenWindow: 336 * time.Hour, MaxAttachmentBytes: 10 << 20},
		Assets:      AssetsConfig{WarnDays: 30},
		Mail:        MailConfig{MaxMessageBytes: 25 << 20, RatePerHour: 30, IMAPInterval: time.Minute},
		Changes:     ChangesConfig{IncidentWindow: 2 * time.Hour},
		Backup:      BackupConfig{SelfRetention: 7},
		Security: SecurityConfig{AlertSeverity: "high", CertDays: 21, BruteForceUser: 5, BruteForceAddr: 10, BruteForceWindow: time.Hour,
			RiskyPackages: []string{"telnetd", "telnetd-ssl", "inetutils-telnetd", "telnet-server", "rsh-server", "rsh-redone-server",
				"tftpd", "tftpd-hpa", "atftpd", "tftp-server", "nis", "ypserv"}},
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() = %+v, want %+v", got, want)
	}
	// With nothing configured, Load must return exactly the defaults.
	got, err := Load("", nil, nil)
	if err != nil {
		t.Fatalf("Load with nothing: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load() = %+v, want %+v", got, want)
	}
	if p := got.SQLitePath(); p != filepath.Join("./opsdeck-data", "opsdeck.db") {
		t.Errorf("SQLitePath() = %q", p)
	}
	if got.IsPostgres() {
		t.Error("default IsPostgres() = true")
	}
}

func TestLoadValid(t *testing.T) {
	const full = `# a complete file
addr: "0.0.0.0:9000"
data: /var/lib/opsdeck
db: postgres://ops:secret@db.internal/opsdeck?sslmode=require
base_url: https://ops.example.com
log:
  level: DEBUG
  format: json
tls:
  cert_file: /etc/opsdeck/cert.pem
  key_file: /etc/opsdeck/key.pem
http:
  read_timeout: 5s
  write_timeout: 1m
  idle_timeout: 2m30s
  max_body_bytes: 2048
  shutdown_timeout: 3s
  trusted_proxies: [10.0.0.0/8, "fd00::/8"]
auth:
  session_ttl: 8h
  login_max_failures_per_user: 3
  login_max_failures_per_ip: 50
  login_failure_window: 1h
  token_cache_ttl: 0s
`
	tests := []struct {
		name    string
		file    *string // nil: no file
		environ []string
		flags   map[string]string
		check   func(t *testing.T, c Config)
	}{
		{
			name: "full file",
			file: ptr(full),
			check: func(t *testing.T, c Config) {
				want := Config{
					Addr: "0.0.0.0:9000", DataDir: "/var/lib/opsdeck",
					DB:      "postgres://ops:secret@db.internal/opsdeck?sslmode=require",
					BaseURL: "https://ops.example.com",
					Log:     LogConfig{Level: "debug", Format: "json"},
					TLS:     TLSConfig{CertFile: "/etc/opsdeck/cert.pem", KeyFile: "/etc/opsdeck/key.pem"},
					HTTP: HTTPConfig{
						ReadTimeout: 5 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 150 * time.Second,
						MaxBodyBytes: 2048, ShutdownTimeout: 3 * time.Second,
						TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"},
					},
					Auth: AuthConfig{
						SessionTTL: 8 * time.Hour, LoginMaxFailuresPerUser: 3, LoginMaxFailuresPerIP: 50,
						LoginFailureWindow: time.Hour, TokenCacheTTL: 0,
					},
					Monitoring:  Default().Monitoring,
					Notify:      Default().Notify,
					ServiceDesk: Default().ServiceDesk,
					Assets:      Default().Assets,
					Mail:        Default().Mail,
					Changes:     Default().Changes,
					Backup:      Default().Backup,
					Security:    Default().Security,
				}
				want.Source = c.Source
				if !reflect.DeepEqual(c, want) {
					t.Fatalf("got  %+v\nwant %+v", c, want)
				}
				if !c.IsPostgres() || c.SQLitePath() != "" {
					t.Errorf("IsPostgres=%v SQLitePath=%q", c.IsPostgres(), c.SQLitePath())
				}
			},
		},
		{
			name: "empty file",
			file: ptr(""),
			check: func(t *testing.T, c Config) {
				want := Default()
				want.Source = c.Source
				if !reflect.DeepEqual(c, want) {
					t.Fatalf("got %+v, want defaults", c)
				}
			},
		},
		{
			name:  "comments only and empty sections",
			file:  ptr("# nothing here\n---\nhttp:\nauth: ~\n"),
			check: func(t *testing.T, c Config) { eq(t, c.HTTP.ReadTimeout, 15*time.Second) },
		},
		{
			name: "precedence file < env < flag",
			file: ptr("addr: 127.0.0.1:1\ndata: /from-file\nlog:\n  level: warn\nhttp:\n  read_timeout: 1s\n  write_timeout: 2s\nauth:\n  session_ttl: 1h\n"),
			environ: []string{
				"OPSDECK_ADDR=127.0.0.1:2",
				"OPSDECK_DATA=/from-env",
				"OPSDECK_HTTP_READ_TIMEOUT=3s",
				"OPSDECK_AUTH_SESSION_TTL=2h",
				"OPSDECK_LOG_FORMAT=json",
				"PATH=/usr/bin",
			},
			flags: map[string]string{"addr": "127.0.0.1:3", "http.read_timeout": "4s", "log.level": "error"},
			check: func(t *testing.T, c Config) {
				eq(t, c.Addr, "127.0.0.1:3")                // flag over env over file
				eq(t, c.DataDir, "/from-env")               // env over file
				eq(t, c.HTTP.ReadTimeout, 4*time.Second)    // flag over env over file
				eq(t, c.HTTP.WriteTimeout, 2*time.Second)   // file only
				eq(t, c.Auth.SessionTTL, 2*time.Hour)       // env over file
				eq(t, c.Log.Level, "error")                 // flag over file
				eq(t, c.Log.Format, "json")                 // env over default
				eq(t, c.HTTP.IdleTimeout, 120*time.Second)  // default
				eq(t, c.Auth.TokenCacheTTL, 30*time.Second) // default
			},
		},
		{
			name:    "env and flags without a file",
			environ: []string{"OPSDECK_DB=sqlite:/tmp/x.db", "OPSDECK_HTTP_TRUSTED_PROXIES=10.0.0.0/8, 192.168.0.0/16,", "OPSDECK_HTTP_MAX_BODY_BYTES=4096"},
			flags:   map[string]string{"auth.login_max_failures_per_ip": "7"},
			check: func(t *testing.T, c Config) {
				eq(t, c.SQLitePath(), "/tmp/x.db")
				eq(t, c.IsPostgres(), false)
				eq(t, strings.Join(c.HTTP.TrustedProxies, ","), "10.0.0.0/8,192.168.0.0/16")
				eq(t, c.HTTP.MaxBodyBytes, int64(4096))
				eq(t, c.Auth.LoginMaxFailuresPerIP, 7)
				eq(t, c.Source, "")
			},
		},
		{
			name:    "env list replaces file list; empty env is unset",
			file:    ptr("http:\n  trusted_proxies:\n    - 10.0.0.0/8\n"),
			environ: []string{"OPSDECK_HTTP_TRUSTED_PROXIES=172.16.0.0/12", "OPSDECK_ADDR="},
			check: func(t *testing.T, c Config) {
				eq(t, strings.Join(c.HTTP.TrustedProxies, ","), "172.16.0.0/12")
				eq(t, c.Addr, "127.0.0.1:8080")
			},
		},
		{
			name:  "flag can clear db back to the default",
			file:  ptr("db: /elsewhere.db\n"),
			flags: map[string]string{"db": ""},
			check: func(t *testing.T, c Config) { eq(t, c.SQLitePath(), filepath.Join("./opsdeck-data", "opsdeck.db")) },
		},
		{
			name:  "aliases on known keys",
			file:  ptr("http:\n  read_timeout: &t 7s\n  write_timeout: *t\n"),
			check: func(t *testing.T, c Config) { eq(t, c.HTTP.WriteTimeout, 7*time.Second) },
		},
		{
			name:    "other parts' variables are ignored",
			environ: []string{"OPSDECK_ADMIN_PASSWORD=hunter2", "OPSDECK_TEST_POSTGRES=postgres://x", "OPSDECK_CONFIG=/etc/opsdeck.yaml", "OPSDECK_TEST_ANYTHING=1"},
			check:   func(t *testing.T, c Config) { eq(t, c.Addr, "127.0.0.1:8080") },
		},
		{
			name:  "postgresql scheme, any case; plain sqlite path; null string",
			file:  ptr("db: PostgreSQL://h/db\nbase_url:\n"),
			check: func(t *testing.T, c Config) { eq(t, c.IsPostgres(), true); eq(t, c.BaseURL, "") },
		},
		{
			name:  "plain file path for db",
			flags: map[string]string{"db": "relative/ops.db", "addr": ":0"},
			check: func(t *testing.T, c Config) { eq(t, c.SQLitePath(), "relative/ops.db") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != nil {
				path = writeConfig(t, *tt.file)
			}
			c, err := Load(path, tt.environ, tt.flags)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			eq(t, c.Source, path)
			tt.check(t, c)
		})
	}
}

func eq[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// wantErr describes one expected *Error. Source "FILE" stands for the temp
// file's path; Line anyLine accepts any positive line; Msg is a substring.
const anyLine = -1

type wantErr struct {
	Source string
	Line   int
	Field  string
	Msg    string
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    *string // nil: no file
		path    string  // used instead of file when set
		environ []string
		flags   map[string]string
		want    []wantErr
	}{
		{
			name: "unknown top-level key",
			file: ptr("addr: :80\naddres: :81\n"),
			want: []wantErr{{"FILE", 2, "addres", `unknown key (did you mean "addr"?)`}},
		},
		{
			name: "nested unknown key",
			file: ptr("http:\n  read_timeout: 1s\n  foo: 1\n"),
			want: []wantErr{{"FILE", 3, "http.foo", "unknown key"}},
		},
		{
			name: "unknown section",
			file: ptr("\n\nmetrics:\n  enabled: true\n"),
			want: []wantErr{{"FILE", 3, "metrics", "unknown key"}},
		},
		{
			name: "wrong type list for string",
			file: ptr("addr: [1,2]\n"),
			want: []wantErr{{"FILE", 1, "addr", "expected a string, got a list"}},
		},
		{
			name: "wrong type scalar for section",
			file: ptr("log: debug\n"),
			want: []wantErr{{"FILE", 1, "log", "expected a mapping"}},
		},
		{
			name: "wrong type scalar for list",
			file: ptr("http:\n  trusted_proxies: 10.0.0.0/8\n"),
			want: []wantErr{{"FILE", 2, "http.trusted_proxies", "expected a list"}},
		},
		{
			name: "bad duration with line",
			file: ptr("addr: :80\n\nhttp:\n  idle_timeout: 1m\n  read_timeout: abc\n"),
			want: []wantErr{{"FILE", 5, "http.read_timeout", `invalid duration "abc"`}},
		},
		{
			name: "duration without unit",
			file: ptr("auth:\n  session_ttl: 3600\n"),
			want: []wantErr{{"FILE", 2, "auth.session_ttl", `invalid duration "3600"`}},
		},
		{
			name: "bad integer",
			file: ptr("http:\n  max_body_bytes: lots\n"),
			want: []wantErr{{"FILE", 2, "http.max_body_bytes", `invalid integer "lots"`}},
		},
		{
			name: "missing value for duration",
			file: ptr("http:\n  read_timeout:\n"),
			want: []wantErr{{"FILE", 2, "http.read_timeout", "missing value"}},
		},
		{
			name: "duplicate key",
			file: ptr("addr: :80\naddr: :81\n"),
			want: []wantErr{{"FILE", 2, "addr", "duplicate key (first set on line 1)"}},
		},
		{
			name: "duplicate nested key",
			file: ptr("log:\n  level: info\n  level: debug\n"),
			want: []wantErr{{"FILE", 3, "log.level", "duplicate key"}},
		},
		{
			name: "top level not a mapping",
			file: ptr("- addr\n"),
			want: []wantErr{{"FILE", 1, "", "must be a mapping"}},
		},
		{
			name: "yaml syntax error has line",
			file: ptr("addr: :80\nhttp:\n  read_timeout: [1s\n"),
			want: []wantErr{{"FILE", anyLine, "", "invalid YAML"}},
		},
		{
			name: "two documents",
			file: ptr("addr: :80\n---\naddr: :81\n"),
			want: []wantErr{{"FILE", 2, "", "more than one YAML document"}},
		},
		{
			name: "binary garbage",
			file: ptr("\x00\x01\x02\xff\xfe garbage \x7f\x80"),
			want: []wantErr{{"FILE", 0, "", "invalid YAML"}},
		},
		{
			name: "merge key",
			file: ptr("base: &b {read_timeout: 1s}\nhttp:\n  <<: *b\n"),
			want: []wantErr{{"FILE", 1, "base", "unknown key"}, {"FILE", 3, "http", "merge keys"}},
		},
		{
			name: "missing file",
			path: filepath.Join(os.TempDir(), "opsdeck-definitely-missing", "opsdeck.yaml"),
			want: []wantErr{{filepath.Join(os.TempDir(), "opsdeck-definitely-missing", "opsdeck.yaml"), 0, "", "not found"}},
		},
		{
			name: "oversize file",
			file: ptr("# " + strings.Repeat("x", maxFileSize) + "\n"),
			want: []wantErr{{"FILE", 0, "", "larger than"}},
		},
		{
			name: "tls half set in file",
			file: ptr("tls:\n  cert_file: /c.pem\n"),
			want: []wantErr{{"FILE", 2, "tls.key_file", "tls.cert_file is set but tls.key_file is not"}},
		},
		{
			name:    "tls half set by env",
			environ: []string{"OPSDECK_TLS_KEY_FILE=/k.pem"},
			want:    []wantErr{{"env OPSDECK_TLS_KEY_FILE", 0, "tls.cert_file", "tls.key_file is set but tls.cert_file is not"}},
		},
		{
			name:    "bad env value names the variable",
			environ: []string{"OPSDECK_HTTP_WRITE_TIMEOUT=soon", "OPSDECK_AUTH_LOGIN_MAX_FAILURES_PER_USER=x"},
			want: []wantErr{
				{"env OPSDECK_AUTH_LOGIN_MAX_FAILURES_PER_USER", 0, "auth.login_max_failures_per_user", `invalid integer "x"`},
				{"env OPSDECK_HTTP_WRITE_TIMEOUT", 0, "http.write_timeout", `invalid duration "soon"`},
			},
		},
		{
			name:    "env value failing validation names the variable",
			environ: []string{"OPSDECK_ADDR=localhost"},
			want:    []wantErr{{"env OPSDECK_ADDR", 0, "addr", "must be host:port"}},
		},
		{
			name:    "unknown OPSDECK_ env var",
			environ: []string{"OPSDECK_ADMIN_PASSWORD=x", "OPSDECK_TEST_POSTGRES=y", "OPSDECK_ADRR=:80"},
			want:    []wantErr{{"env OPSDECK_ADRR", 0, "", "unknown setting (did you mean OPSDECK_ADDR?)"}},
		},
		{
			name:  "bad flag",
			flags: map[string]string{"log.level": "loud"},
			want:  []wantErr{{"flag --log-level", 0, "log.level", `invalid value "loud"`}},
		},
		{
			name:  "unknown flag key",
			flags: map[string]string{"nope": "1"},
			want:  []wantErr{{"flag --nope", 0, "nope", "unknown setting"}},
		},
		{
			name: "validation attributes to the file line",
			file: ptr("addr: \"127.0.0.1:99999\"\nbase_url: /relative\nlog:\n  format: xml\nhttp:\n  max_body_bytes: 10\n  trusted_proxies:\n    - 10.0.0.0/8\n    - 10.0.0.1\n    - nonsense\nauth:\n  session_ttl: 1m\n  token_cache_ttl: 11m\n  login_max_failures_per_ip: 0\n  login_failure_window: -1s\n"),
			want: []wantErr{
				{"FILE", 1, "addr", `invalid port "99999"`},
				{"FILE", 2, "base_url", "absolute http"},
				{"FILE", 4, "log.format", `invalid value "xml"`},
				{"FILE", 6, "http.max_body_bytes", "out of range"},
				{"FILE", 9, "http.trusted_proxies", `write "10.0.0.1/32"`},
				{"FILE", 10, "http.trusted_proxies", `invalid CIDR "nonsense"`},
				{"FILE", 12, "auth.session_ttl", "at least 5m0s"},
				{"FILE", 14, "auth.login_max_failures_per_ip", "at least 1"},
				{"FILE", 15, "auth.login_failure_window", "greater than zero"},
				{"FILE", 13, "auth.token_cache_ttl", "out of range"},
			},
		},
		{
			name: "bad risky package patterns on their own lines",
			file: ptr("security:\n  risky_packages:\n    - telnetd\n    - \"rsh server\"\n    - \"*\"\n    - \"\"\n    - tftpd*\n"),
			want: []wantErr{
				{"FILE", 4, "security.risky_packages", `item 2: "rsh server" is not a package name pattern`},
				{"FILE", 5, "security.risky_packages", `item 3: "*" matches every package`},
				{"FILE", 6, "security.risky_packages", "item 4: is empty"},
			},
		},
		{
			name:    "bad risky package pattern from the environment",
			environ: []string{"OPSDECK_SECURITY_RISKY_PACKAGES=telnetd,nis;rm"},
			want:    []wantErr{{"env OPSDECK_SECURITY_RISKY_PACKAGES", 0, "security.risky_packages", `item 2: "nis;rm"`}},
		},
		{
			name:  "unsupported database scheme",
			flags: map[string]string{"db": "mysql://root:pw@h/db"},
			want:  []wantErr{{"flag --db", 0, "db", `unsupported database "mysql://..."`}},
		},
		{
			name:  "empty sqlite path and empty data dir",
			flags: map[string]string{"db": "sqlite:", "data": ""},
			want:  []wantErr{{"flag --data", 0, "data", "must not be empty"}, {"flag --db", 0, "db", "must be followed by a file path"}},
		},
		{
			name:    "later layer fixes an earlier bad value but the file error still counts",
			file:    ptr("http:\n  read_timeout: abc\n"),
			environ: []string{"OPSDECK_HTTP_READ_TIMEOUT=1s"},
			want:    []wantErr{{"FILE", 2, "http.read_timeout", "invalid duration"}},
		},
		{
			name: "non-scalar key",
			file: ptr("? [a, b]\n: 1\n"),
			want: []wantErr{{"FILE", 1, "", "keys must be plain names"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if tt.file != nil {
				path = writeConfig(t, *tt.file)
			}
			c, err := Load(path, tt.environ, tt.flags)
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want errors", c)
			}
			if !reflect.DeepEqual(c, Config{}) {
				t.Errorf("on error Load returned non-zero Config %+v", c)
			}
			// The brief's contract: callers can reach an *Error with errors.As.
			var first *Error
			if !errors.As(err, &first) {
				t.Fatalf("errors.As(%v, *Error) = false", err)
			}
			got := configErrors(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				if w.Source == "FILE" {
					w.Source = path
				}
				if w.Line == anyLine && g.Line > 0 {
					w.Line = g.Line
				}
				if g.Source != w.Source || g.Line != w.Line || g.Field != w.Field || !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("error %d = {%q %d %q %q}, want {%q %d %q ~%q}", i, g.Source, g.Line, g.Field, g.Msg, w.Source, w.Line, w.Field, w.Msg)
				}
			}
		})
	}
}

func TestYAMLSyntaxErrorLine(t *testing.T) {
	path := writeConfig(t, "addr: :80\nhttp:\n  read_timeout: 1s\n   bad: indent: here\n")
	_, err := Load(path, nil, nil)
	errs := configErrors(t, err)
	if len(errs) != 1 || errs[0].Line == 0 {
		t.Fatalf("want one error with a line, got %v", err)
	}
	if !strings.HasPrefix(err.Error(), path+":") {
		t.Errorf("message %q does not start with the file name", err)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{"opsdeck.yaml", 7, "http.read_timeout", `invalid duration "abc"`}, `opsdeck.yaml:7: http.read_timeout: invalid duration "abc"`},
		{Error{"env OPSDECK_ADDR", 0, "addr", "bad"}, `env OPSDECK_ADDR: addr: bad`},
		{Error{"opsdeck.yaml", 0, "", "config file not found"}, `opsdeck.yaml: config file not found`},
		{Error{"", 0, "addr", "bad"}, `addr: bad`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestPostgresPasswordNotEchoed guards against leaking database credentials
// into logs through validation messages.
func TestPostgresPasswordNotEchoed(t *testing.T) {
	_, err := Load("", []string{"OPSDECK_DB=postgres://u:s3cret@h:bad port/db"}, nil)
	if err == nil {
		t.Fatal("want error for unparsable URL")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestErrorFloodIsCapped(t *testing.T) {
	path := writeConfig(t, strings.Repeat("nope: 1\n", 500))
	_, err := Load(path, nil, nil)
	errs := configErrors(t, err)
	if len(errs) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d", len(errs), maxErrors+1)
	}
	if last := errs[len(errs)-1]; last.Error() != "config: 480 more problems not shown" {
		t.Errorf("last error = %q", last)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"addr", "db", "data", "http.read_timeout"}
	tests := map[string]string{"adr": "addr", "addres": "addr", "a": "", "http.read_timout": "http.read_timeout", "completely_else": ""}
	for in, want := range tests {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	_, err := Load(t.TempDir(), nil, nil)
	if errs := configErrors(t, err); len(errs) != 1 || !strings.Contains(errs[0].Msg, "directory") {
		t.Fatalf("got %v", err)
	}
}

func TestDefaultIsFresh(t *testing.T) {
	// Callers may modify what they get; that must not leak into later loads.
	c, err := Load("", []string{"OPSDECK_HTTP_TRUSTED_PROXIES=10.0.0.0/8"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP.TrustedProxies[0] = "changed"
	if d := Default(); d.HTTP.TrustedProxies != nil {
		t.Fatalf("Default() shares state: %v", d.HTTP.TrustedProxies)
	}
}

func ptr(s string) *string { return &s }

func TestMonitoringSettings(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/o.yaml"
	if err := os.WriteFile(p, []byte("monitoring:\n  concurrency: 64\n  raw_retention: 72h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, []string{"OPSDECK_MONITORING_HOUR_RETENTION=720h"}, nil)
	if err != nil || c.Monitoring.Concurrency != 64 || c.Monitoring.RawRetention != 72*time.Hour || c.Monitoring.HourRetention != 720*time.Hour {
		t.Fatalf("%+v %v", c.Monitoring, err)
	}
	if err := os.WriteFile(p, []byte("monitoring:\n  raw_retention: 1h\n  concurrency: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "monitoring.raw_retention") || !strings.Contains(err.Error(), "monitoring.concurrency") {
		t.Fatalf("bad monitoring settings: %v", err)
	}
}

func TestRiskyPackages(t *testing.T) {
	c, err := Load("", []string{"OPSDECK_SECURITY_RISKY_PACKAGES=telnetd, Rsh-Server,tftp?-*"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"telnetd", "Rsh-Server", "tftp?-*"}; !reflect.DeepEqual(c.Security.RiskyPackages, want) {
		t.Fatalf("from env: %q, want %q (the env list replaces the default)", c.Security.RiskyPackages, want)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("security:\n  risky_packages: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(p, nil, nil); err != nil || c.Security.RiskyPackages != nil {
		t.Fatalf("an empty list turns the check off: %q %v", c.Security.RiskyPackages, err)
	}
	long := strings.Repeat("a", 101)
	if _, err := Load("", []string{"OPSDECK_SECURITY_RISKY_PACKAGES=" + long}, nil); err == nil || !strings.Contains(err.Error(), "security.risky_packages") {
		t.Fatalf("oversize pattern: %v", err)
	}
	many := strings.Repeat("x,", 501)
	if _, err := Load("", []string{"OPSDECK_SECURITY_RISKY_PACKAGES=" + many}, nil); err == nil || !strings.Contains(err.Error(), "at most 500") {
		t.Fatalf("too many patterns: %v", err)
	}
}
