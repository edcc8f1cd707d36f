package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as a config file. Config files are
// operator input, so whatever they hold Load must not panic, and every
// problem must surface as an *Error that says where it came from.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"",
		"# only a comment\n",
		"addr: 127.0.0.1:8080\ndata: ./d\n",
		"addr: \":0\"\nlog: {level: debug, format: json}\ntls: {cert_file: a, key_file: b}\n",
		"http:\n  read_timeout: 1s\n  max_body_bytes: 4096\n  trusted_proxies: [10.0.0.0/8, ::1/128]\n",
		"auth:\n  session_ttl: 1h\n  token_cache_ttl: 0s\n  login_max_failures_per_ip: 3\n",
		"db: postgres://u:p@h/db\nbase_url: https://x.example\n",
		"addr: [1,2]\n",
		"http:\n  foo: 1\n",
		"http:\n  read_timeout: abc\n",
		"addr: :80\naddr: :81\n",
		"a: &a [*a, *a]\nb: *a\n",
		"http: &h\n  x: *h\n",
		"? [a]\n: b\n",
		"- 1\n- 2\n",
		"addr: :80\n---\naddr: :81\n",
		"{{{{ ]]]",
		"\x00\xff\xfe binary",
		"\xef\xbb\xbfaddr: ':1'\n",
		"tls:\n  cert_file: only\n",
		"http:\n  trusted_proxies:\n    - {a: b}\n",
		"<<: {addr: ':1'}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "opsdeck.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, nil, nil)
		if err == nil {
			// A config that loads must be one the rest of opsdeck can use.
			if c.Addr == "" || c.DataDir == "" || c.HTTP.MaxBodyBytes < minBodyBytes || c.Auth.SessionTTL < minSessionTTL {
				t.Fatalf("accepted config fails its own rules: %+v", c)
			}
			if c.Source != path {
				t.Fatalf("Source = %q, want %q", c.Source, path)
			}
			return
		}
		checkLeaves(t, err)
	})
}

// checkLeaves asserts every leaf of a possibly joined error is an *Error
// naming a source or field and with a non-empty message.
func checkLeaves(t *testing.T, err error) {
	t.Helper()
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			checkLeaves(t, e)
		}
		return
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %q (%T) is not a *config.Error", err, err)
	}
	if ce.Source == "" && ce.Field == "" {
		t.Fatalf("error %q names neither source nor field", err)
	}
	if ce.Msg == "" {
		t.Fatalf("error %+v has no message", ce)
	}
}
