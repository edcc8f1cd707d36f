package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

const nagiosPluginDir = "/usr/lib/nagios/plugins"

// nagiosPlugin returns the path of a plugin from monitoring-plugins-basic,
// skipping the test when it is not installed (failing under CI=true).
func nagiosPlugin(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(nagiosPluginDir, name)
	if _, err := os.Stat(filepath.Join(nagiosPluginDir, "check_dummy")); err != nil {
		msg := fmt.Sprintf("Nagios plugins not installed (%v); run: apt-get install -y --no-install-recommends monitoring-plugins-basic", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("plugin %s missing although check_dummy is there: %v", name, err)
	}
	return path
}

// pluginScript writes an executable /bin/sh script to a temp dir. Tests that
// write scripts do not run in parallel: a concurrent fork can hold the file
// open for writing and make exec fail with "text file busy".
func pluginScript(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "check_script")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// malformedSettingsJSON reports whether err is what decodeSettings returns
// for settings that are not a JSON object: the JSON error, perhaps beside a
// *valid.Error that names no field.
func malformedSettingsJSON(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return true
	}
	ve, ok := valid.As(err)
	return ok && ve.Field == ""
}

func newNagiosT(t *testing.T, command string, args ...string) *Nagios {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"command": command, "args": args})
	n, err := NewNagios(raw)
	if err != nil {
		t.Fatalf("NewNagios: %v", err)
	}
	return n
}

func timedProbe(t *testing.T, p Prober, timeout time.Duration) (Result, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	res := p.Probe(ctx)
	return res, time.Since(start)
}

func TestNewNagiosSettings(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		wantField string // "" means valid, "(json)" malformed JSON
	}{
		{"minimal", `{"command":"/usr/lib/nagios/plugins/check_dummy"}`, ""},
		{"full", `{"command":"/bin/true","args":["-H","a b"],"env":{"FOO":"1","_X2":""}}`, ""},
		{"nulls keep defaults", `{"command":"/bin/true","args":null,"env":null}`, ""},
		{"missing command", `{"args":["x"]}`, "command"},
		{"empty object", `{}`, "command"},
		{"empty raw", ``, "command"},
		{"relative command", `{"command":"check_tcp"}`, "command"},
		{"command with args in it", `{"command":"/usr/lib/nagios/plugins/check_tcp -H x"}`, "command"},
		{"control character", `{"command":"/bin/tr\nue"}`, "command"},
		{"unknown field", `{"command":"/bin/true","timeout_seconds":5}`, "timeout_seconds"},
		{"field names are case-sensitive", `{"Command":"/bin/true"}`, "Command"},
		{"args wrong type", `{"command":"/bin/true","args":"-H x"}`, "args"},
		{"args NUL", `{"command":"/bin/true","args":["a\u0000b"]}`, "args"},
		{"env wrong type", `{"command":"/bin/true","env":{"A":1}}`, "env.A"},
		{"env bad name", `{"command":"/bin/true","env":{"1A":"x"}}`, "env"},
		{"env name with =", `{"command":"/bin/true","env":{"A=B":"x"}}`, "env"},
		{"not an object", `["/bin/true"]`, "(json)"},
		{"trailing garbage", `{"command":"/bin/true"} x`, "(json)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := NewNagios(json.RawMessage(tt.raw))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("NewNagios(%s): %v", tt.raw, err)
				}
				if n.Settings().Command == "" {
					t.Fatal("command not decoded")
				}
				return
			}
			if tt.wantField == "(json)" {
				if !malformedSettingsJSON(err) {
					t.Fatalf("NewNagios(%s) = %v, want a JSON error", tt.raw, err)
				}
				return
			}
			ve, ok := valid.As(err)
			if !ok {
				t.Fatalf("NewNagios(%s) = %v, want a *valid.Error", tt.raw, err)
			}
			if ve.Field != tt.wantField {
				t.Fatalf("NewNagios(%s): field %q (%v), want %q", tt.raw, ve.Field, err, tt.wantField)
			}
		})
	}
}

func TestNagiosTarget(t *testing.T) {
	n := newNagiosT(t, "/usr/lib/nagios/plugins/check_http", "-H", "example.com", "-s", "it's ok")
	want := `/usr/lib/nagios/plugins/check_http -H example.com -s 'it'\''s ok'`
	if got := n.Target(); got != want {
		t.Fatalf("Target() = %q, want %q", got, want)
	}
}

func TestNagiosCheckDummy(t *testing.T) {
	dummy := nagiosPlugin(t, "check_dummy")
	tests := []struct {
		code    string
		status  Status
		message string
	}{
		{"0", StatusUp, "OK: all good"},
		{"1", StatusDegraded, "WARNING: all good"},
		{"2", StatusDown, "CRITICAL: all good"},
		{"3", StatusUnknown, "UNKNOWN: all good"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			res, _ := timedProbe(t, newNagiosT(t, dummy, tt.code, "all good"), 5*time.Second)
			if res.Status != tt.status || res.Message != tt.message {
				t.Fatalf("check_dummy %s: %s %q, want %s %q", tt.code, res.Status, res.Message, tt.status, tt.message)
			}
			if res.Latency <= 0 {
				t.Fatalf("latency %v, want > 0", res.Latency)
			}
		})
	}
}

func TestNagiosCheckTCP(t *testing.T) {
	checkTCP := nagiosPlugin(t, "check_tcp")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello\r\n"))
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	t.Run("open port", func(t *testing.T) {
		res, _ := timedProbe(t, newNagiosT(t, checkTCP, "-H", "127.0.0.1", "-p", port), 5*time.Second)
		if res.Status != StatusUp || !strings.HasPrefix(res.Message, "TCP OK") {
			t.Fatalf("got %s %q, want up TCP OK", res.Status, res.Message)
		}
		assertTimeMetric(t, res)
	})
	t.Run("unexpected banner is critical", func(t *testing.T) {
		res, _ := timedProbe(t, newNagiosT(t, checkTCP, "-H", "127.0.0.1", "-p", port, "-e", "nope", "-M", "crit"), 5*time.Second)
		if res.Status != StatusDown || !strings.Contains(res.Message, "Unexpected response") {
			t.Fatalf("got %s %q, want down with Unexpected response", res.Status, res.Message)
		}
		assertTimeMetric(t, res)
	})
	t.Run("closed port", func(t *testing.T) {
		closed, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closedPort := strconv.Itoa(closed.Addr().(*net.TCPAddr).Port)
		closed.Close()
		res, _ := timedProbe(t, newNagiosT(t, checkTCP, "-H", "127.0.0.1", "-p", closedPort), 5*time.Second)
		// check_tcp 2.3.3 prints no perfdata when the connection is refused.
		if res.Status != StatusDown || !strings.Contains(res.Message, "Connection refused") {
			t.Fatalf("got %s %q, want down Connection refused", res.Status, res.Message)
		}
	})
}

// assertTimeMetric checks check_tcp's and check_http's "time=0.000102s;;;0.000000;10.000000".
func assertTimeMetric(t *testing.T, res Result) {
	t.Helper()
	for _, m := range res.Metrics {
		if m.Name != "time" {
			continue
		}
		if m.Unit != "s" || m.Value < 0 || m.Value > 5 || m.Min == nil || *m.Min != 0 || m.Max == nil || *m.Max != 10 {
			t.Fatalf("time metric %+v, want seconds with min 0 max 10", m)
		}
		return
	}
	t.Fatalf("no time metric in %+v", res.Metrics)
}

func TestNagiosCheckHTTP(t *testing.T) {
	checkHTTP := nagiosPlugin(t, "check_http")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "hello from opsdeck")
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))

	res, _ := timedProbe(t, newNagiosT(t, checkHTTP, "-H", host, "-p", port, "-u", "/", "-s", "hello from opsdeck"), 5*time.Second)
	if res.Status != StatusUp || !strings.HasPrefix(res.Message, "HTTP OK") {
		t.Fatalf("got %s %q, want up HTTP OK", res.Status, res.Message)
	}
	assertTimeMetric(t, res)
	var size bool
	for _, m := range res.Metrics {
		if m.Name == "size" && m.Unit == "B" && m.Value > 0 {
			size = true
		}
	}
	if !size {
		t.Fatalf("no size metric in %+v", res.Metrics)
	}

	res, _ = timedProbe(t, newNagiosT(t, checkHTTP, "-H", host, "-p", port, "-u", "/broken"), 5*time.Second)
	if res.Status != StatusDown || !strings.Contains(res.Message, "500") {
		t.Fatalf("got %s %q, want down with 500", res.Status, res.Message)
	}
}

func TestNagiosMultiLinePerfdata(t *testing.T) {
	// The example of the Nagios Plugin Development Guidelines.
	script := pluginScript(t, `cat <<'EOF'
DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968
/ 15272 MB (77%);
/boot 68 MB (69%);
/home 69357 MB (27%);
/var/log 819 MB (84%); | /boot=68MB;88;93;0;98
/home=69357MB;253404;253409;0;253414
/var/log=818MB;970;975;0;980
EOF
exit 1
`)
	res, _ := timedProbe(t, newNagiosT(t, script), 5*time.Second)
	if res.Status != StatusDegraded {
		t.Fatalf("status %s, want degraded", res.Status)
	}
	if want := "DISK OK - free space: / 3326 MB (56%);"; res.Message != want {
		t.Fatalf("message %q, want %q", res.Message, want)
	}
	if want := "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);"; res.Output != want {
		t.Fatalf("output %q, want %q", res.Output, want)
	}
	var names []string
	for _, m := range res.Metrics {
		names = append(names, fmt.Sprintf("%s=%g%s;%s;%s", m.Name, m.Value, m.Unit, m.Warn, m.Crit))
	}
	want := "/=2643MB;5948;5958 /boot=68MB;88;93 /home=69357MB;253404;253409 /var/log=818MB;970;975"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("metrics %s, want %s", got, want)
	}
}

func TestNagiosHugeOutputIsCapped(t *testing.T) {
	// 50 MB of long text after a normal first line.
	script := pluginScript(t, `echo 'OK - chatty|items=3;;;0;'
yes 'a line of long text that goes on and on and on and on and on and on' | head -c 52428800
echo
exit 0
`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, took := timedProbe(t, newNagiosT(t, script), 30*time.Second)
	runtime.ReadMemStats(&after)

	if res.Status != StatusUp || res.Message != "OK - chatty" {
		t.Fatalf("got %s %q, want up OK - chatty", res.Status, res.Message)
	}
	if len(res.Output) > nagiosMaxOutput+200 {
		t.Fatalf("output is %d bytes, want at most about %d", len(res.Output), nagiosMaxOutput)
	}
	if !strings.Contains(res.Output, "[output too long:") {
		t.Fatalf("output does not say it was cut: %q", res.Output[len(res.Output)-200:])
	}
	if len(res.Metrics) != 1 || res.Metrics[0].Name != "items" {
		t.Fatalf("metrics %+v, want items", res.Metrics)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("probe allocated %d bytes for 50 MB of output; it must not buffer it", alloc)
	}
	t.Logf("50 MB plugin output drained in %v; output ends %q", took, res.Output[len(res.Output)-90:])
}

// processGone reports whether pid no longer runs (absent, or a zombie left
// for init to reap).
func processGone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the ")" that closes the command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	for range 50 {
		b, err := os.ReadFile(path)
		if err == nil {
			if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNagiosTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := pluginScript(t, `sleep 1000 &
echo $! > `+pidFile+`
echo "OK - about to hang"
wait
`)
	const timeout = 700 * time.Millisecond
	res, took := timedProbe(t, newNagiosT(t, script), timeout)
	if res.Status != StatusDown || !strings.HasPrefix(res.Message, "timeout after ") ||
		!strings.HasSuffix(res.Message, "ms; plugin killed with its process group: OK - about to hang") {
		t.Fatalf("got %s %q, want down timeout, with what the plugin printed", res.Status, res.Message)
	}
	if took > timeout+time.Second {
		t.Fatalf("Probe returned %v after the %v deadline", took-timeout, timeout)
	}
	waitGone(t, readPid(t, pidFile))
}

func TestNagiosLeftoverChildIsKilled(t *testing.T) {
	// The plugin exits at once but leaves a child holding its stdout; Probe
	// must not wait for the child, and the child must not outlive the run.
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := pluginScript(t, `sleep 1000 &
echo $! > `+pidFile+`
echo "OK - forked"
exit 0
`)
	res, took := timedProbe(t, newNagiosT(t, script), 10*time.Second)
	if res.Status != StatusUp || res.Message != "OK - forked" {
		t.Fatalf("got %s %q, want up OK - forked", res.Status, res.Message)
	}
	if took > 2*time.Second {
		t.Fatalf("Probe took %v; it waited for the leftover child", took)
	}
	waitGone(t, readPid(t, pidFile))
}

func TestNagiosEscapedChildDoesNotBlock(t *testing.T) {
	// A child that leaves the process group (setsid) cannot be killed with
	// it; Probe still returns soon, closing its end of the pipes.
	if _, err := os.Stat("/usr/bin/setsid"); err != nil {
		t.Skip("setsid not installed")
	}
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := pluginScript(t, `setsid sh -c 'echo $$ > `+pidFile+`.tmp; mv `+pidFile+`.tmp `+pidFile+`; exec sleep 1000' &
while [ ! -s `+pidFile+` ]; do sleep 0.01; done
echo "OK - escaped"
exit 0
`)
	res, took := timedProbe(t, newNagiosT(t, script), 10*time.Second)
	pid := readPid(t, pidFile)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if res.Status != StatusUp || res.Message != "OK - escaped" {
		t.Fatalf("got %s %q, want up OK - escaped", res.Status, res.Message)
	}
	if took > 3*time.Second {
		t.Fatalf("Probe took %v waiting for an escaped child", took)
	}
	if processGone(pid) {
		t.Fatalf("the escaped child %d is gone; the test did not test an escape", pid)
	}
}

func TestNagiosAbnormalEnds(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  Status
		message string
	}{
		{"exit code 4", "echo 'weird - thing'\nexit 4\n", StatusUnknown, "plugin exited with code 4 (want 0-3): weird - thing"},
		{"killed by signal", "echo 'about to die'\nkill -KILL $$\n", StatusUnknown, "plugin killed by signal SIGKILL: about to die"},
		{"terminated", "kill -TERM $$\n", StatusUnknown, "plugin killed by signal SIGTERM"},
		{"stderr only", "echo 'cannot open config' >&2\nexit 2\n", StatusDown, "cannot open config"},
		{"no output", "exit 0\n", StatusUp, "plugin exited with code 0 and printed nothing"},
		{"args reach the plugin untouched", `echo "OK [$1] [$2] [$3]"` + "\n", StatusUp, "OK [$HOME] [a b] [; rm -rf /tmp/x]"},
		{"environment", `echo "OK $LC_ALL ${OPSDECK_TEST_SECRET:-unset} $FOO"` + "\n", StatusUp, "OK C unset bar"},
		{"NUL and invalid UTF-8 are cleaned", `printf 'OK a\000b\377c\n'` + "\n", StatusUp, "OK ab\uFFFDc"},
		{"control characters become spaces", `printf 'OK \033[1mbold\033[0m\ttab\n'` + "\n", StatusUp, "OK  [1mbold [0m tab"},
	}
	t.Setenv("OPSDECK_TEST_SECRET", "hunter2")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := pluginScript(t, tt.body)
			raw, _ := json.Marshal(map[string]any{
				"command": script,
				"args":    []string{"$HOME", "a b", "; rm -rf /tmp/x"},
				"env":     map[string]string{"FOO": "bar"},
			})
			n, err := NewNagios(raw)
			if err != nil {
				t.Fatal(err)
			}
			res, _ := timedProbe(t, n, 5*time.Second)
			if res.Status != tt.status || res.Message != tt.message {
				t.Fatalf("got %s %q, want %s %q", res.Status, res.Message, tt.status, tt.message)
			}
		})
	}
}

func TestNagiosPluginNotRunnable(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "check_noexec")
	noShebang := filepath.Join(dir, "check_noshebang")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noShebang, []byte("echo OK\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
	}{
		{filepath.Join(dir, "check_missing"), "not found"},
		{notExec, "not executable"},
		{dir, "not a regular file"},
		{noShebang, "exec format error"},
	}
	for _, tt := range tests {
		res, _ := timedProbe(t, newNagiosT(t, tt.path), 5*time.Second)
		if res.Status != StatusUnknown || !strings.Contains(res.Message, tt.want) {
			t.Errorf("%s: got %s %q, want unknown with %q", tt.path, res.Status, res.Message, tt.want)
		}
	}
}

func FuzzNewNagios(f *testing.F) {
	for _, s := range []string{
		`{"command":"/usr/lib/nagios/plugins/check_tcp","args":["-H","127.0.0.1","-p","22"]}`,
		`{"command":"/bin/true","env":{"A":"b"}}`,
		`{"command":null,"args":[null],"env":{"":""}}`,
		`{"command":"/x y","args":{}}`,
		`[]`, `null`, `"x"`, `{"command":1e999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, err := NewNagios(raw)
		if err != nil {
			if _, ok := valid.As(err); !ok && !malformedSettingsJSON(err) {
				t.Fatalf("NewNagios error %v is neither a *valid.Error nor a JSON error", err)
			}
			return
		}
		if !filepath.IsAbs(n.Settings().Command) {
			t.Fatalf("accepted relative command %q", n.Settings().Command)
		}
		_ = n.Target()
	})
}
