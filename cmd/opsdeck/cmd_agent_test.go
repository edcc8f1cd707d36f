package main

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"256MiB": 256 << 20, "1GiB": 1 << 30, "500MB": 500e6, "1048576": 1 << 20, "64K": 64 << 10, "1.5 MiB": 3 << 19,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1MiB", "0", "MiB", "12XB", "1e30", "9999999PiB", "1.2.3M"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestAgentCommandFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"agent", "--help"}, 0, "--spool-max"},
		{[]string{"agent", "--interval", "100ms", "--server", "http://127.0.0.1:1"}, 1, "shorter than 1s"},
		{[]string{"agent", "--spool-max", "lots"}, 2, "size"},
		{[]string{"agent", "extra"}, 2, "unexpected arguments"},
		{[]string{"agent", "--state", "STATE"}, 1, "no server"},
		{[]string{"agent", "--state", "STATE", "--server", "http://127.0.0.1:1"}, 1, "--enroll"},
		{[]string{"agent", "--state", "STATE", "--server", "gopher://x", "--enroll", "odenr_x"}, 1, "not an http(s) URL"},
		{[]string{"agent", "--state", "STATE", "--server", "http://127.0.0.1:1", "--enroll", "odenr_x", "--watch", "rel/path"}, 1, "absolute"},
	} {
		state := t.TempDir()
		for i, a := range tc.args {
			if a == "STATE" {
				tc.args[i] = state
			}
		}
		code, out, errs := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("opsdeck %v: code %d (want %d), output lacks %q:\n%s%s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}
