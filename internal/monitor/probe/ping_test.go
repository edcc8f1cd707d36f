package probe

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// pingChildEnv marks the copy of the test binary that TestPingWithoutPrivilege
// runs as an unprivileged user.
const pingChildEnv = "OPSDECK_TEST_PING_UNPRIVILEGED_CHILD"

func newPingT(t *testing.T, settings map[string]any) *Ping {
	t.Helper()
	raw, _ := json.Marshal(settings)
	p, err := NewPing(raw)
	if err != nil {
		t.Fatalf("NewPing(%s): %v", raw, err)
	}
	return p
}

// pingAllowed skips a test when this process can open neither kind of ICMP
// socket, which is the subject of TestPingWithoutPrivilege instead.
func pingAllowed(t *testing.T, res Result) {
	t.Helper()
	if res.Status == StatusUnknown && strings.HasPrefix(res.Message, pingNoPermission) {
		msg := "no ICMP socket available to this test (run as root or allow net.ipv4.ping_group_range): " + res.Message
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func TestPingLoopback(t *testing.T) {
	p := newPingT(t, map[string]any{"host": "127.0.0.1", "count": 3, "ping_interval": "50ms"})
	res, took := timedProbe(t, p, 5*time.Second)
	pingAllowed(t, res)
	if res.Status != StatusUp || !strings.HasPrefix(res.Message, "3/3 replies from 127.0.0.1, rtt min/avg/max ") {
		t.Fatalf("got %s %q, want up with 3/3 replies", res.Status, res.Message)
	}
	if res.Latency <= 0 || res.Latency > time.Second {
		t.Fatalf("latency %v", res.Latency)
	}
	if took > 2*time.Second {
		t.Fatalf("3 pings 50ms apart took %v", took)
	}
	got := map[string]Metric{}
	for _, m := range res.Metrics {
		got[m.Name] = m
	}
	if m := got["packet_loss_percent"]; m.Value != 0 || m.Unit != "%" || m.Warn != "0" || m.Max == nil || *m.Max != 100 {
		t.Fatalf("packet_loss_percent %+v", m)
	}
	for _, name := range []string{"rtt_min", "rtt_avg", "rtt_max"} {
		if m, ok := got[name]; !ok || m.Unit != "s" || m.Value <= 0 || m.Value > 1 {
			t.Fatalf("%s %+v (all: %+v)", name, m, res.Metrics)
		}
	}
	if got["rtt_min"].Value > got["rtt_avg"].Value || got["rtt_avg"].Value > got["rtt_max"].Value {
		t.Fatalf("rtt min/avg/max out of order: %+v", res.Metrics)
	}
}

func TestPingLoopbackByName(t *testing.T) {
	p := newPingT(t, map[string]any{"host": "localhost", "count": 1})
	res, _ := timedProbe(t, p, 5*time.Second)
	pingAllowed(t, res)
	if res.Status != StatusUp || !strings.HasPrefix(res.Message, "1/1 replies from localhost (") {
		t.Fatalf("got %s %q, want up from localhost (address)", res.Status, res.Message)
	}
}

func TestPingIPv6Loopback(t *testing.T) {
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback here:", err)
	} else {
		c.Close()
	}
	p := newPingT(t, map[string]any{"host": "::1", "count": 2, "ping_interval": 0.05})
	res, _ := timedProbe(t, p, 5*time.Second)
	pingAllowed(t, res)
	if res.Status != StatusUp {
		t.Fatalf("got %s %q, want up", res.Status, res.Message)
	}
}

func TestPingMaxRTT(t *testing.T) {
	// No round trip on loopback is under a nanosecond.
	p := newPingT(t, map[string]any{"host": "127.0.0.1", "count": 1, "max_rtt": "1ns"})
	res, _ := timedProbe(t, p, 5*time.Second)
	pingAllowed(t, res)
	if res.Status != StatusDegraded || !strings.Contains(res.Message, "over max_rtt 1ns") {
		t.Fatalf("got %s %q, want degraded over max_rtt", res.Status, res.Message)
	}
}

// unansweredAddr returns a TEST-NET address (RFC 5737) that is not on a
// local network: some sandboxes number their own LAN from TEST-NET-1.
func unansweredAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, cand := range []string{"198.51.100.1", "203.0.113.1", "192.0.2.1"} {
		ip := net.ParseIP(cand)
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.Contains(ip) {
				continue next
			}
		}
		return cand
	}
	t.Skip("every TEST-NET block is a local network here")
	return ""
}

func TestPingUnroutable(t *testing.T) {
	// TEST-NET addresses are never answered. Depending on the routes the
	// requests go unanswered (loss) or cannot be sent (unreachable).
	host := unansweredAddr(t)
	p := newPingT(t, map[string]any{"host": host, "count": 3, "ping_interval": "100ms"})
	const timeout = time.Second
	res, took := timedProbe(t, p, timeout)
	pingAllowed(t, res)
	if res.Status != StatusDown {
		t.Fatalf("got %s %q, want down", res.Status, res.Message)
	}
	if took > timeout+300*time.Millisecond {
		t.Fatalf("Probe took %v with a %v deadline", took, timeout)
	}
	if strings.HasPrefix(res.Message, "no reply") {
		if res.Message != "no reply from "+host+": 3/3 lost" {
			t.Fatalf("message %q", res.Message)
		}
		if len(res.Metrics) != 1 || res.Metrics[0].Name != "packet_loss_percent" || res.Metrics[0].Value != 100 {
			t.Fatalf("metrics %+v, want only 100%% loss", res.Metrics)
		}
	} else if !strings.Contains(res.Message, "unreachable") {
		t.Fatalf("message %q, want no reply or unreachable", res.Message)
	}
}

func TestPingUnknownHost(t *testing.T) {
	p := newPingT(t, map[string]any{"host": "no-such-host.invalid"})
	res, _ := timedProbe(t, p, 3*time.Second)
	if res.Status != StatusDown || !strings.Contains(res.Message, "no-such-host.invalid") {
		t.Fatalf("got %s %q, want down naming the host", res.Status, res.Message)
	}
}

// TestPingWithoutPrivilege runs a copy of this test binary as nobody, where
// (with net.ipv4.ping_group_range = "1 0", the default) neither ICMP socket
// opens, and checks the result says what to change.
func TestPingWithoutPrivilege(t *testing.T) {
	if os.Getenv(pingChildEnv) == "1" {
		p := newPingT(t, map[string]any{"host": "127.0.0.1", "count": 1})
		res, _ := timedProbe(t, p, 2*time.Second)
		if res.Status != StatusUnknown || !strings.HasPrefix(res.Message, pingNoPermission+" (") {
			t.Fatalf("got %s %q, want unknown %q", res.Status, res.Message, pingNoPermission)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the test binary as another user")
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); err != nil || strings.Join(strings.Fields(string(b)), " ") != "1 0" {
		t.Skipf("net.ipv4.ping_group_range is %q, which may let nobody ping", b)
	}
	dir, err := os.MkdirTemp("", "opsdeck-ping-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "probe.test")
	if err := copyExecutable(self, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestPingWithoutPrivilege$", "-test.v")
	cmd.Dir = dir
	cmd.Env = []string{pingChildEnv + "=1", "PATH=/usr/bin:/bin", "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestPingWithoutPrivilege") {
		t.Fatalf("unprivileged child: %v\n%s", err, out)
	}
}

func copyExecutable(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func TestNewPingSettings(t *testing.T) {
	tests := []struct {
		raw       string
		wantField string
		check     func(PingSettings) bool
	}{
		{`{"host":"192.0.2.1"}`, "", func(s PingSettings) bool {
			return s.Count == 3 && s.Interval.D() == 200*time.Millisecond && s.MaxLossPercent == 0 && s.MaxRTT == 0
		}},
		{`{"host":"example.com","count":20,"ping_interval":"1s","max_loss_percent":50,"max_rtt":"150ms"}`, "", func(s PingSettings) bool {
			return s.Count == 20 && s.Interval.D() == time.Second && s.MaxLossPercent == 50 && s.MaxRTT.D() == 150*time.Millisecond
		}},
		{`{"host":"2001:db8::1","ping_interval":0.5,"max_rtt":0.1}`, "", func(s PingSettings) bool {
			return s.Interval.D() == 500*time.Millisecond && s.MaxRTT.D() == 100*time.Millisecond
		}},
		{`{}`, "host", nil},
		{`{"host":"a b"}`, "host", nil},
		{`{"host":"http://example.com"}`, "host", nil},
		{`{"host":"example.com","count":21}`, "count", nil},
		{`{"host":"example.com","count":-1}`, "count", nil},
		{`{"host":"example.com","count":"3"}`, "count", nil},
		{`{"host":"example.com","count":1.5}`, "count", nil},
		{`{"host":"example.com","ping_interval":"5ms"}`, "ping_interval", nil},
		{`{"host":"example.com","ping_interval":"1 minute"}`, "ping_interval", nil},
		{`{"host":"example.com","ping_interval":true}`, "ping_interval", nil},
		{`{"host":"example.com","ping_interval":-1}`, "ping_interval", nil},
		{`{"host":"example.com","max_loss_percent":101}`, "max_loss_percent", nil},
		{`{"host":"example.com","max_loss_percent":-1}`, "max_loss_percent", nil},
		{`{"host":"example.com","max_rtt":"-1s"}`, "max_rtt", nil},
		{`{"host":"example.com","max_rtt":"2h"}`, "max_rtt", nil},
		{`{"host":"example.com","timeout":"1s"}`, "timeout", nil},
	}
	for _, tt := range tests {
		p, err := NewPing(json.RawMessage(tt.raw))
		if tt.wantField == "" {
			if err != nil {
				t.Errorf("NewPing(%s): %v", tt.raw, err)
			} else if !tt.check(p.Settings()) {
				t.Errorf("NewPing(%s) settings %+v", tt.raw, p.Settings())
			}
			continue
		}
		ve, ok := valid.As(err)
		if !ok || ve.Field != tt.wantField {
			t.Errorf("NewPing(%s) = %v, want a *valid.Error for %q", tt.raw, err, tt.wantField)
		}
	}
}

func TestPingSettingsRoundTrip(t *testing.T) {
	p := newPingT(t, map[string]any{"host": "example.com", "ping_interval": 0.25, "max_rtt": "80ms"})
	raw, err := json.Marshal(p.Settings())
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewPing(raw)
	if err != nil {
		t.Fatalf("NewPing(%s): %v", raw, err)
	}
	if again.Settings() != p.Settings() {
		t.Fatalf("%s reads back as %+v, want %+v", raw, again.Settings(), p.Settings())
	}
	if p.Target() != "example.com" {
		t.Fatalf("Target() = %q", p.Target())
	}
}

func FuzzNewPing(f *testing.F) {
	for _, s := range []string{
		`{"host":"127.0.0.1","count":3,"ping_interval":"200ms","max_loss_percent":20,"max_rtt":"100ms"}`,
		`{"host":"example.com","ping_interval":0.2,"max_rtt":1e300}`,
		`{"host":"::1","count":1e3}`,
		`{"host":null,"ping_interval":null}`, `[]`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := NewPing(raw)
		if err != nil {
			if _, ok := valid.As(err); !ok && !malformedSettingsJSON(err) {
				t.Fatalf("NewPing error %v is neither a *valid.Error nor a JSON error", err)
			}
			return
		}
		s := p.Settings()
		if s.Count < 1 || s.Count > pingMaxCount || s.Interval.D() < pingMinInterval || s.Interval.D() > pingMaxInterval ||
			s.MaxLossPercent < 0 || s.MaxLossPercent > 100 || s.MaxRTT < 0 {
			t.Fatalf("accepted %s as %+v", raw, s)
		}
	})
}
