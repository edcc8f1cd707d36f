package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// OIDs every Net-SNMP agent serves, and the test agent's credentials.
const (
	oidSysDescr   = "1.3.6.1.2.1.1.1.0"
	oidSysUpTime  = "1.3.6.1.2.1.1.3.0"
	oidIfDescr    = "1.3.6.1.2.1.2.2.1.2."     // + ifIndex
	oidIfInOct    = "1.3.6.1.2.1.2.2.1.10."    // + ifIndex, Counter32
	oidIfHCInOct  = "1.3.6.1.2.1.31.1.1.1.6."  // + ifIndex, Counter64
	oidNoSuch     = "1.3.6.1.4.1.99999.42.1.0" // a private enterprise nobody serves
	snmpV3User    = "opsdeckuser"
	snmpV3User256 = "opsdeck256" // SHA512 and AES256
	snmpV3Auth    = "authpass123"
	snmpV3Priv    = "privpass123"
	snmpSecretC   = "s3cretCommunity"
	snmpWrongC    = "wr0ngCommunity"
)

// snmpAgent is a private snmpd on a loopback UDP port.
type snmpAgent struct {
	port int
	log  *snmpdLog
}

type snmpdLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *snmpdLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *snmpdLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// snmpdPath finds snmpd, skipping the test when it is not installed
// (failing under CI=true). /usr/sbin is often not in a user's PATH.
func snmpdPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("snmpd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/snmpd"); serr == nil {
			return "/usr/sbin/snmpd"
		}
		msg := fmt.Sprintf("snmpd not installed (%v); run: apt-get install -y --no-install-recommends snmpd snmp", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// snmpFreeUDPPort asks the OS for a UDP port on 127.0.0.1 that is free now.
func snmpFreeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// startSNMPD runs snmpd in the foreground with a private configuration
// and persistent directory in a temp dir: communities public and
// snmpSecretC, and the v3 users snmpV3User (SHA/AES) and snmpV3User256
// (SHA512/AES256), both authPriv only. It returns once the agent answers
// and stops it by pid when the test ends.
func startSNMPD(t *testing.T) *snmpAgent {
	t.Helper()
	bin := snmpdPath(t)
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ { // another process may take the port
		dir := t.TempDir()
		port := snmpFreeUDPPort(t)
		conf := filepath.Join(dir, "snmpd.conf")
		body := fmt.Sprintf(`agentaddress udp:127.0.0.1:%d
rocommunity public 127.0.0.1
rocommunity %s 127.0.0.1
createUser %s SHA "%s" AES "%s"
rouser %s priv
createUser %s SHA512 "%s" AES256 "%s"
rouser %s priv
`, port, snmpSecretC, snmpV3User, snmpV3Auth, snmpV3Priv, snmpV3User,
			snmpV3User256, snmpV3Auth, snmpV3Priv, snmpV3User256)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		log := &snmpdLog{}
		cmd := exec.Command(bin, "-f", "-Lo", "-C", "-m", "", "-c", conf, "-p", filepath.Join(dir, "snmpd.pid"))
		// snmpd keeps engine boots and the localised v3 keys here, not in
		// /var/lib/snmp ("persistentDir" is no snmpd.conf token).
		cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=")
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start snmpd: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		a := &snmpAgent{port: port, log: log}
		if a.waitReady(t, exited) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("snmpd log:\n%s", log.String())
				}
			})
			return a
		}
		stop()
		lastErr = log.String()
	}
	t.Fatalf("snmpd did not answer; its log:\n%s", lastErr)
	return nil
}

func (a *snmpAgent) waitReady(t *testing.T, exited <-chan struct{}) bool {
	t.Helper()
	c := a.check(t, `"oids":[{"oid":"`+oidSysDescr+`"}],"retries":0`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		res := c.Probe(ctx)
		cancel()
		if res.Status == StatusUp {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// check builds an snmp check against the agent from the JSON members
// after host and port.
func (a *snmpAgent) check(t *testing.T, members string) *SNMP {
	t.Helper()
	raw := fmt.Sprintf(`{"host":"127.0.0.1","port":%d,%s}`, a.port, members)
	c, err := NewSNMP(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("NewSNMP(%s): %v", raw, err)
	}
	return c
}

func snmpProbeWithin(c *SNMP, d time.Duration) Result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Probe(ctx)
}

// snmpLoIndex is the loopback interface's ifIndex, which Net-SNMP takes from
// the kernel.
func snmpLoIndex(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/sys/class/net/lo/ifindex")
	if err != nil {
		t.Skipf("no loopback ifindex: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func snmpMetric(res Result, name string) (Metric, bool) {
	for _, m := range res.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

func snmpAssertNoSecret(t *testing.T, res Result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(res.Message, s) || strings.Contains(res.Output, s) {
			t.Errorf("secret %q shown in result: %q / %q", s, res.Message, res.Output)
		}
	}
}

func TestSNMPAgent(t *testing.T) {
	a := startSNMPD(t)
	lo := snmpLoIndex(t)

	t.Run("v2c get", func(t *testing.T) {
		c := a.check(t, `"community":"`+snmpSecretC+`","oids":[
			{"oid":"`+oidSysDescr+`","name":"sysDescr"},
			{"oid":".`+oidSysUpTime+`","name":"sysUpTime"},
			{"oid":"`+oidIfDescr+lo+`","name":"ifDescr","expect":"lo"}]`)
		res := snmpProbeWithin(c, 5*time.Second)
		if res.Status != StatusUp {
			t.Fatalf("status %s: %s", res.Status, res.Message)
		}
		if !strings.HasPrefix(res.Message, "sysDescr=") || !strings.Contains(res.Message, ", sysUpTime=") || !strings.Contains(res.Message, "ifDescr=lo") {
			t.Errorf("message %q", res.Message)
		}
		if !strings.Contains(res.Output, "sysDescr ("+oidSysDescr+") OctetString: ") || !strings.Contains(res.Output, "sysUpTime ("+oidSysUpTime+") TimeTicks: ") {
			t.Errorf("output %q", res.Output)
		}
		if len(res.Metrics) != 1 {
			t.Fatalf("metrics %+v, want sysUpTime only", res.Metrics)
		}
		if m := res.Metrics[0]; m.Name != "sysUpTime" || m.Value <= 0 || m.Unit != "" {
			t.Errorf("metric %+v", m)
		}
		if res.Latency <= 0 || res.Latency > 5*time.Second {
			t.Errorf("latency %v", res.Latency)
		}
		snmpAssertNoSecret(t, res, snmpSecretC)
	})

	t.Run("default community and name", func(t *testing.T) {
		res := snmpProbeWithin(a.check(t, `"oids":[{"oid":"`+oidSysUpTime+`"}]`), 5*time.Second)
		if res.Status != StatusUp || !strings.HasPrefix(res.Message, oidSysUpTime+"=") {
			t.Fatalf("%s: %s", res.Status, res.Message)
		}
		if _, ok := snmpMetric(res, oidSysUpTime); !ok {
			t.Errorf("no metric named by the OID: %+v", res.Metrics)
		}
	})

	t.Run("expect mismatch", func(t *testing.T) {
		c := a.check(t, `"oids":[{"oid":"`+oidSysUpTime+`","name":"sysUpTime"},
			{"oid":"`+oidIfDescr+lo+`","name":"ifDescr","expect":"eth99"}]`)
		res := snmpProbeWithin(c, 5*time.Second)
		if res.Status != StatusDown || !strings.HasPrefix(res.Message, "ifDescr=lo (want eth99), sysUpTime=") {
			t.Fatalf("%s: %q", res.Status, res.Message)
		}
	})

	t.Run("numeric expect", func(t *testing.T) {
		// ifOperStatus of lo is up(1); "1.0" matches numerically.
		c := a.check(t, `"oids":[{"oid":"1.3.6.1.2.1.2.2.1.8.`+lo+`","name":"ifOperStatus","expect":"1.0"}]`)
		if res := snmpProbeWithin(c, 5*time.Second); res.Status != StatusUp || res.Message != "ifOperStatus=1" {
			t.Fatalf("%s: %q", res.Status, res.Message)
		}
	})

	t.Run("thresholds", func(t *testing.T) {
		for _, tc := range []struct {
			warn, crit string
			want       Status
			note       string
		}{
			{"", "@0:", StatusDown, " (crit @0:)"},          // alerts inside 0..inf: always
			{"@0:", "@~:-1", StatusDegraded, " (warn @0:)"}, // crit never alerts
			{"0:", "~:", StatusUp, ""},                      // neither alerts
			{"", "~:-1", StatusDown, " (crit ~:-1)"},        // alerts above -1: always
		} {
			c := a.check(t, fmt.Sprintf(`"oids":[{"oid":"%s","name":"sysUpTime","warn":%q,"crit":%q}]`, oidSysUpTime, tc.warn, tc.crit))
			res := snmpProbeWithin(c, 5*time.Second)
			if res.Status != tc.want || !strings.HasPrefix(res.Message, "sysUpTime=") || !strings.HasSuffix(res.Message, tc.note) {
				t.Errorf("warn %q crit %q: %s %q", tc.warn, tc.crit, res.Status, res.Message)
			}
			if m, ok := snmpMetric(res, "sysUpTime"); !ok || m.Warn != tc.warn || m.Crit != tc.crit {
				t.Errorf("warn %q crit %q: metric %+v", tc.warn, tc.crit, res.Metrics)
			}
		}
	})

	t.Run("no such object or instance", func(t *testing.T) {
		c := a.check(t, `"oids":[{"oid":"`+oidSysUpTime+`","name":"up"},
			{"oid":"`+oidNoSuch+`","name":"private"},
			{"oid":"1.3.6.1.2.1.1.3.7","name":"badInstance"}]`)
		res := snmpProbeWithin(c, 5*time.Second)
		if res.Status != StatusDown {
			t.Fatalf("%s: %q", res.Status, res.Message)
		}
		if !strings.HasPrefix(res.Message, "private: noSuchObject, badInstance: noSuch") || !strings.Contains(res.Message, ", up=") {
			t.Errorf("message %q", res.Message)
		}
		if len(res.Metrics) != 1 || res.Metrics[0].Name != "up" {
			t.Errorf("metrics %+v", res.Metrics)
		}
	})

	t.Run("wrong community times out", func(t *testing.T) {
		c := a.check(t, `"community":"`+snmpWrongC+`","retries":1,"oids":[{"oid":"`+oidSysDescr+`"}]`)
		start := time.Now()
		res := snmpProbeWithin(c, time.Second)
		el := time.Since(start)
		t.Logf("%s: %s", res.Status, res.Message)
		want := fmt.Sprintf("no answer from 127.0.0.1:%d (timeout after 1s, 2 tries)", a.port)
		if res.Status != StatusDown || !strings.HasPrefix(res.Message, want) {
			t.Fatalf("%s: %q, want prefix %q", res.Status, res.Message, want)
		}
		if el < 900*time.Millisecond || el > 1500*time.Millisecond {
			t.Errorf("took %v for a 1s timeout", el)
		}
		snmpAssertNoSecret(t, res, snmpWrongC)
	})

	t.Run("closed port", func(t *testing.T) {
		raw := fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"oids":[{"oid":"%s"}]}`, snmpFreeUDPPort(t), oidSysDescr)
		c, err := NewSNMP(json.RawMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		res := snmpProbeWithin(c, time.Second)
		t.Logf("%s: %s", res.Status, res.Message)
		// Loopback answers with ICMP port unreachable; elsewhere it may be a timeout.
		if res.Status != StatusDown || !(strings.HasSuffix(res.Message, "failed: connection refused") || strings.HasPrefix(res.Message, "no answer from")) {
			t.Fatalf("%s: %q", res.Status, res.Message)
		}
	})

	v3 := func(level, auth, authPass, priv, privPass string) string {
		s := fmt.Sprintf(`"version":"3","username":%q,"security_level":%q`, snmpV3User, level)
		if auth != "" {
			s += fmt.Sprintf(`,"auth_protocol":%q,"auth_password":%q`, auth, authPass)
		}
		if priv != "" {
			s += fmt.Sprintf(`,"priv_protocol":%q,"priv_password":%q`, priv, privPass)
		}
		return s + `,"retries":0,"oids":[{"oid":"` + oidSysDescr + `","name":"sysDescr"},{"oid":"` + oidSysUpTime + `","name":"sysUpTime"}]`
	}

	t.Run("v3 authPriv", func(t *testing.T) {
		c := a.check(t, v3("authpriv", "sha", snmpV3Auth, "aes", snmpV3Priv))
		if s := c.Settings(); s.SecurityLevel != "authPriv" || s.AuthProtocol != "SHA" || s.PrivProtocol != "AES" {
			t.Errorf("not normalised: %+v", s)
		}
		res := snmpProbeWithin(c, 5*time.Second)
		if res.Status != StatusUp || !strings.HasPrefix(res.Message, "sysDescr=") || len(res.Metrics) != 1 {
			t.Fatalf("%s: %q %+v", res.Status, res.Message, res.Metrics)
		}
		snmpAssertNoSecret(t, res, snmpV3Auth, snmpV3Priv)
	})

	t.Run("v3 SHA512 AES256", func(t *testing.T) {
		s := strings.Replace(v3("authPriv", "SHA512", snmpV3Auth, "AES256", snmpV3Priv), snmpV3User, snmpV3User256, 1)
		if res := snmpProbeWithin(a.check(t, s), 5*time.Second); res.Status != StatusUp {
			t.Fatalf("%s: %q", res.Status, res.Message)
		}
	})

	for _, tc := range []struct {
		name, settings, want string
	}{
		{"v3 wrong auth password", v3("authPriv", "SHA", "wrongpass1", "AES", snmpV3Priv),
			`authentication failed for user "opsdeckuser": check username, auth_protocol and auth_password`},
		{"v3 wrong auth protocol", v3("authPriv", "MD5", snmpV3Auth, "AES", snmpV3Priv),
			`authentication failed for user "opsdeckuser": check username, auth_protocol and auth_password`},
		{"v3 level below the user's", v3("authNoPriv", "SHA", snmpV3Auth, "", ""),
			`agent answered authorizationError (access denied to this user, security level or OID)`},
		{"v3 unknown user", strings.Replace(v3("authPriv", "SHA", snmpV3Auth, "AES", snmpV3Priv), snmpV3User, "nobody", 1),
			`authentication failed for user "nobody": check username, auth_protocol and auth_password`},
		{"v3 unknown user without auth", strings.Replace(v3("noAuthNoPriv", "", "", "", ""), snmpV3User, "nobody", 1),
			`the agent does not know user "nobody"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := snmpProbeWithin(a.check(t, tc.settings), 3*time.Second)
			if res.Status != StatusDown || res.Message != tc.want {
				t.Fatalf("%s: %q, want %q", res.Status, res.Message, tc.want)
			}
			snmpAssertNoSecret(t, res, snmpV3Auth, snmpV3Priv, "wrongpass1")
		})
	}

	t.Run("v3 wrong priv password", func(t *testing.T) {
		// The agent cannot decrypt the request: it answers a decryption
		// error report or nothing, depending on the version.
		res := snmpProbeWithin(a.check(t, v3("authPriv", "SHA", snmpV3Auth, "AES", "wrongpriv1")), time.Second)
		t.Logf("%s: %s", res.Status, res.Message)
		if res.Status != StatusDown || !(strings.HasPrefix(res.Message, "decryption failed") || strings.HasSuffix(res.Message, "refuses our address or priv_password")) {
			t.Fatalf("%s: %q", res.Status, res.Message)
		}
		snmpAssertNoSecret(t, res, snmpV3Auth, "wrongpriv1")
	})

	t.Run("two requests beyond 32 OIDs", func(t *testing.T) {
		var items []string
		for i := range snmpMaxOIDs {
			items = append(items, fmt.Sprintf(`{"oid":"%s","name":"up%02d"}`, oidSysUpTime, i))
		}
		res := snmpProbeWithin(a.check(t, `"oids":[`+strings.Join(items, ",")+`]`), 5*time.Second)
		if res.Status != StatusUp || len(res.Metrics) != snmpMaxOIDs || res.Metrics[63].Name != "up63" {
			t.Fatalf("%s: %q, %d metrics", res.Status, res.Message, len(res.Metrics))
		}
		if len(res.Message) > snmpMaxMessage || !strings.HasSuffix(res.Message, "…") {
			t.Errorf("message not capped at %d bytes: %d %q", snmpMaxMessage, len(res.Message), res.Message)
		}
	})

	t.Run("counter rate", func(t *testing.T) {
		c := a.check(t, `"oids":[
			{"oid":"`+oidIfInOct+lo+`","name":"lo_in","rate":true,"crit":"@~:-1"},
			{"oid":"`+oidIfHCInOct+lo+`","name":"lo_in_hc","rate":true},
			{"oid":"`+oidSysUpTime+`","name":"sysUpTime"}]`)
		first := snmpProbeWithin(c, 5*time.Second)
		firstAt := time.Now()
		if first.Status != StatusUp || !strings.Contains(first.Message, "lo_in=") || !strings.Contains(first.Message, "(first sample, rate from the next check)") {
			t.Fatalf("first run: %s %q", first.Status, first.Message)
		}
		if len(first.Metrics) != 1 || first.Metrics[0].Name != "sysUpTime" {
			t.Fatalf("first run reports rates: %+v", first.Metrics)
		}
		// Net-SNMP caches interface statistics for a few seconds: make
		// traffic on lo until the agent shows the counter moved.
		raw := a.check(t, `"oids":[{"oid":"`+oidIfHCInOct+lo+`"}]`)
		before := snmpHCValue(t, raw)
		deadline := time.Now().Add(15 * time.Second)
		for snmpHCValue(t, raw) == before {
			if time.Now().After(deadline) {
				t.Fatal("ifHCInOctets of lo did not move")
			}
			snmpLoopbackTraffic(t, 256<<10)
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(time.Until(firstAt.Add(snmpMinRateInterval + 100*time.Millisecond)))
		second := snmpProbeWithin(c, 5*time.Second)
		if second.Status != StatusUp {
			t.Fatalf("second run: %s %q", second.Status, second.Message)
		}
		for _, name := range []string{"lo_in", "lo_in_hc"} {
			m, ok := snmpMetric(second, name)
			if !ok || m.Unit != "/s" || m.Value <= 0 || m.Value > 1e11 || math.IsNaN(m.Value) {
				t.Errorf("%s: %+v in %+v", name, m, second.Metrics)
			}
			if !strings.Contains(second.Message, name+"=") || !strings.Contains(second.Output, "/s") {
				t.Errorf("%s: %q %q", name, second.Message, second.Output)
			}
		}
		if m, _ := snmpMetric(second, "lo_in"); m.Crit != "@~:-1" {
			t.Errorf("crit not kept: %+v", m)
		}
	})

	t.Run("concurrent runs share the counter state safely", func(t *testing.T) {
		c := a.check(t, `"oids":[{"oid":"`+oidIfInOct+lo+`","name":"lo_in","rate":true}]`)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if res := snmpProbeWithin(c, 5*time.Second); res.Status != StatusUp {
					t.Errorf("%s: %q", res.Status, res.Message)
				}
			})
		}
		wg.Wait()
	})
}

func snmpHCValue(t *testing.T, c *SNMP) string {
	t.Helper()
	res := snmpProbeWithin(c, 3*time.Second)
	if res.Status != StatusUp || len(res.Metrics) != 1 {
		t.Fatalf("%s: %q", res.Status, res.Message)
	}
	return strconv.FormatFloat(res.Metrics[0].Value, 'f', -1, 64)
}

// snmpLoopbackTraffic sends n bytes over a TCP connection on 127.0.0.1.
func snmpLoopbackTraffic(t *testing.T, n int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		_, err = io.Copy(io.Discard, conn)
		done <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSNMPCanceled(t *testing.T) {
	c, err := NewSNMP(json.RawMessage(`{"host":"127.0.0.1","oids":[{"oid":"1.3.6.1.2.1.1.1.0"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := c.Probe(ctx); res.Status != StatusUnknown {
		t.Fatalf("%s: %q", res.Status, res.Message)
	}
}

func TestSNMPCounterDelta(t *testing.T) {
	const max32, max64 = math.MaxUint32, math.MaxUint64
	for _, tc := range []struct {
		name      string
		typ       gosnmp.Asn1BER
		prev, cur uint64
		delta     uint64
		ok        bool
	}{
		{"32 up", gosnmp.Counter32, 100, 350, 250, true},
		{"32 same", gosnmp.Counter32, 7, 7, 0, true},
		{"32 wrap", gosnmp.Counter32, max32 - 9, 5, 15, true},
		{"32 wrap to zero", gosnmp.Counter32, max32, 0, 1, true},
		{"32 big increase is no reset", gosnmp.Counter32, 10, max32, max32 - 10, true},
		{"32 reset after restart", gosnmp.Counter32, 1 << 30, 1000, 0, false},
		{"32 wrap just under half", gosnmp.Counter32, 1<<31 + 1, 0, 1<<31 - 1, true},
		{"64 up", gosnmp.Counter64, 1 << 40, 1<<40 + 9, 9, true},
		{"64 wrap", gosnmp.Counter64, max64 - 1, 3, 5, true},
		{"64 reset after restart", gosnmp.Counter64, 6053143484, 12, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := snmpCounterDelta(tc.typ, tc.prev, tc.cur)
			if d != tc.delta || ok != tc.ok {
				t.Fatalf("snmpCounterDelta(%d, %d) = %d, %v; want %d, %v", tc.prev, tc.cur, d, ok, tc.delta, tc.ok)
			}
		})
	}
}

func newSNMPUnit(t *testing.T, oids string) *SNMP {
	t.Helper()
	c, err := NewSNMP(json.RawMessage(`{"host":"192.0.2.1","oids":` + oids + `}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSNMPRate(t *testing.T) {
	c := newSNMPUnit(t, `[{"oid":"1.3.6.1.2.1.2.2.1.10.1","name":"in","rate":true,"warn":"100"}]`)
	t0 := time.Unix(1_700_000_000, 0)
	pdu := func(typ gosnmp.Asn1BER, v any) []gosnmp.SnmpPDU {
		return []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.2.2.1.10.1", Type: typ, Value: v}}
	}
	steps := []struct {
		vars   []gosnmp.SnmpPDU
		at     time.Time
		status Status
		msg    string
		rate   float64 // -1: no metric
	}{
		{pdu(gosnmp.Counter32, uint(math.MaxUint32-99)), t0, StatusUp, "in=4294967196 (first sample, rate from the next check)", -1},
		{pdu(gosnmp.Counter32, uint(100)), t0.Add(10 * time.Second), StatusUp, "in=20/s", 20}, // wrapped
		{pdu(gosnmp.Counter32, uint(100+3*1001)), t0.Add(13 * time.Second), StatusDegraded, "in=1001/s (warn 100)", 1001},
		{pdu(gosnmp.Counter32, uint(5)), t0.Add(14 * time.Second), StatusUp, "in=5 (counter reset, rate from the next check)", -1},
		{pdu(gosnmp.Counter32, uint(5)), t0.Add(12 * time.Second), StatusUp, "in=5 (rate from the next check)", -1},                      // an older, overlapping run
		{pdu(gosnmp.Counter32, uint(9)), t0.Add(14*time.Second + 100*time.Millisecond), StatusUp, "in=9 (rate from the next check)", -1}, // too soon
		{pdu(gosnmp.Counter64, uint64(50)), t0.Add(15 * time.Second), StatusUp, "in=50 (counter type changed, rate from the next check)", -1},
		{pdu(gosnmp.Counter64, uint64(53)), t0.Add(17 * time.Second), StatusUp, "in=1.5/s", 1.5},
		{pdu(gosnmp.Gauge32, uint(53)), t0.Add(18 * time.Second), StatusDown, "in=53 (Gauge32, not a counter: rate needs Counter32 or Counter64)", -1},
		{pdu(gosnmp.Counter64, uint64(60)), t0.Add(19 * time.Second), StatusUp, "in=60 (first sample, rate from the next check)", -1},
		{pdu(gosnmp.NoSuchInstance, nil), t0.Add(20 * time.Second), StatusDown, "in: noSuchInstance", -1},
		{pdu(gosnmp.Counter64, uint64(70)), t0.Add(21 * time.Second), StatusUp, "in=70 (first sample, rate from the next check)", -1},
	}
	for i, s := range steps {
		res := c.judge(s.vars, []time.Time{s.at})
		if res.Status != s.status || res.Message != s.msg {
			t.Errorf("step %d: %s %q, want %s %q", i, res.Status, res.Message, s.status, s.msg)
		}
		m, ok := snmpMetric(res, "in")
		switch {
		case s.rate < 0 && ok:
			t.Errorf("step %d: metric %+v, want none", i, m)
		case s.rate >= 0 && (!ok || m.Value != s.rate || m.Unit != "/s" || m.Warn != "100"):
			t.Errorf("step %d: metric %+v, want %v/s", i, m, s.rate)
		}
	}
}

func TestSNMPJudgeValues(t *testing.T) {
	c := newSNMPUnit(t, `[
		{"oid":"1.3.6.1.2.1.2.2.1.6.2","name":"mac","expect":"00 1A 2b:3c-4d:5e"},
		{"oid":"1.3.6.1.4.1.2021.10.1.3.1","name":"load1","warn":"1","crit":"4"},
		{"oid":"1.3.6.1.2.1.1.2.0","name":"objectID","expect":".1.3.6.1.4.1.8072.3.2.10"},
		{"oid":"1.3.6.1.2.1.1.5.0","name":"sysName","crit":"10"},
		{"oid":"1.3.6.1.2.1.2.2.1.8.1","name":"ifOperStatus","expect":"1","warn":"1"},
		{"oid":"1.3.6.1.2.1.4.20.1.1.127.0.0.1","name":"ip","expect":"127.0.0.1"},
		{"oid":"1.3.6.1.4.1.1.1","name":"temp","warn":"~:30"}]`)
	vars := []gosnmp.SnmpPDU{
		{Type: gosnmp.OctetString, Value: []byte{0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e}},
		{Type: gosnmp.OctetString, Value: []byte("1.50")},
		{Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.8072.3.2.10"},
		{Type: gosnmp.OctetString, Value: []byte("db1\x07")},
		{Type: gosnmp.Integer, Value: 2},
		{Type: gosnmp.IPAddress, Value: "127.0.0.1"},
		{Type: gosnmp.OpaqueFloat, Value: float32(31.5)},
	}
	for i := range vars {
		vars[i].Name = c.oids[i].wire
	}
	res := c.judge(vars, make([]time.Time, len(vars)))
	want := "sysName=64:62:31:07 (not a number, cannot compare with warn/crit), ifOperStatus=2 (want 1) (warn 1), " +
		"load1=1.50 (warn 1), temp=31.5 (warn ~:30), mac=00:1a:2b:3c:4d:5e, objectID=1.3.6.1.4.1.8072.3.2.10, ip=127.0.0.1"
	if res.Status != StatusDown || res.Message != want {
		t.Errorf("%s %q\nwant %q", res.Status, res.Message, want)
	}
	if len(res.Metrics) != 3 || res.Metrics[0].Name != "load1" || res.Metrics[0].Value != 1.5 ||
		res.Metrics[1].Name != "ifOperStatus" || res.Metrics[1].Value != 2 || res.Metrics[2].Value != 31.5 {
		t.Errorf("metrics %+v", res.Metrics)
	}
	if !strings.Contains(res.Output, "mac (1.3.6.1.2.1.2.2.1.6.2) OctetString: 00:1a:2b:3c:4d:5e\n") ||
		!strings.Contains(res.Output, "ip (1.3.6.1.2.1.4.20.1.1.127.0.0.1) IpAddress: 127.0.0.1\n") {
		t.Errorf("output %q", res.Output)
	}

	// Long and hostile values are cut and kept on one line.
	c = newSNMPUnit(t, `[{"oid":"1.3.6.1.2.1.1.1.0","name":"d","expect":"x"}]`)
	long := strings.Repeat("é", 100) + "\n\x1b[31m"
	res = c.judge([]gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.1.0", Type: gosnmp.OctetString, Value: []byte(long)}}, make([]time.Time, 1))
	if res.Status != StatusDown || strings.ContainsAny(res.Message, "\n\x1b") || len(res.Message) > 100 || !strings.HasSuffix(res.Message, "… (want x)") {
		t.Errorf("%s %q", res.Status, res.Message)
	}
}

func TestSNMPRedactsCommunityFromErrors(t *testing.T) {
	c := newSNMPUnit(t, `[{"oid":"1.3.6.1.2.1.1.1.0"}]`)
	c.settings.Community = snmpSecretC
	c.addSecret(snmpSecretC)
	_, msg := c.failure(context.Background(), fmt.Errorf("bad packet for community %s", snmpSecretC), time.Second)
	if strings.Contains(msg, snmpSecretC) || !strings.Contains(msg, "[redacted]") {
		t.Fatalf("%q", msg)
	}
}

func TestNewSNMPDefaults(t *testing.T) {
	c, err := NewSNMP(json.RawMessage(`{"host":"switch1.example.net","oids":[{"oid":".1.3.6.1.2.1.1.3.0"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Settings()
	if s.Port != 161 || s.Version != "2c" || s.Community != "public" || s.Retries == nil || *s.Retries != 1 ||
		s.OIDs[0].OID != "1.3.6.1.2.1.1.3.0" || s.OIDs[0].Name != "1.3.6.1.2.1.1.3.0" || c.Target() != "switch1.example.net:161" {
		t.Fatalf("%+v target %q", s, c.Target())
	}
	c, err = NewSNMP(json.RawMessage(`{"host":"::1","port":1161,"retries":0,"version":"3","username":"u","security_level":"noAuthNoPriv","oids":[{"oid":"0.0"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Settings(); *s.Retries != 0 || s.Community != "" || c.Target() != "[::1]:1161" {
		t.Fatalf("%+v target %q", s, c.Target())
	}
}

func TestNewSNMPValidation(t *testing.T) {
	const oid = `"oids":[{"oid":"1.3.6.1.2.1.1.3.0"}]`
	const v3 = `"host":"h","version":"3","username":"u",`
	manyOIDs := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"oid":"1.3.6.1.2.1.1.3.0","name":"n%d"}`, i)
		}
		return `"oids":[` + strings.Join(items, ",") + `]`
	}
	for _, tc := range []struct {
		raw, field, msg string
	}{
		{`{` + oid + `}`, "host", "is required"},
		{`{"host":"a b",` + oid + `}`, "host", ""},
		{`{"host":"h","port":70000,` + oid + `}`, "port", "1 to 65535"},
		{`{"host":"h","port":-1,` + oid + `}`, "port", ""},
		{`{"host":"h","port":"161",` + oid + `}`, "port", "whole number"},
		{`{"host":"h","version":"1",` + oid + `}`, "version", `"2c" or "3"`},
		{`{"host":"h","version":"v2c",` + oid + `}`, "version", ""},
		{`{"host":"h","version":3,` + oid + `}`, "version", "string"},
		{`{"host":"h","retries":6,` + oid + `}`, "retries", "0 to 5"},
		{`{"host":"h","retries":-1,` + oid + `}`, "retries", ""},
		{`{"host":"h","community":"a\u0000b",` + oid + `}`, "community", "control character"},
		{`{"host":"h","community":"` + strings.Repeat("c", 256) + `",` + oid + `}`, "community", "too long"},
		{`{"host":"h","username":"u",` + oid + `}`, "username", `only applies to version "3"`},
		{`{"host":"h","security_level":"authPriv",` + oid + `}`, "security_level", ""},
		{`{"host":"h","auth_protocol":"SHA",` + oid + `}`, "auth_protocol", ""},
		{`{"host":"h","auth_password":"12345678",` + oid + `}`, "auth_password", ""},
		{`{"host":"h","priv_protocol":"AES",` + oid + `}`, "priv_protocol", ""},
		{`{"host":"h","priv_password":"12345678",` + oid + `}`, "priv_password", ""},
		{`{` + v3 + `"community":"public","security_level":"noAuthNoPriv",` + oid + `}`, "community", `only applies to version "2c"`},
		{`{"host":"h","version":"3","security_level":"noAuthNoPriv",` + oid + `}`, "username", "is required"},
		{`{"host":"h","version":"3","username":"` + strings.Repeat("u", 33) + `","security_level":"noAuthNoPriv",` + oid + `}`, "username", "too long"},
		{`{` + v3 + oid + `}`, "security_level", "is required"},
		{`{` + v3 + `"security_level":"authpriv2",` + oid + `}`, "security_level", "must be"},
		{`{` + v3 + `"security_level":"noAuthNoPriv","auth_protocol":"SHA",` + oid + `}`, "auth_protocol", "does not apply"},
		{`{` + v3 + `"security_level":"noAuthNoPriv","auth_password":"12345678",` + oid + `}`, "auth_password", "does not apply"},
		{`{` + v3 + `"security_level":"authNoPriv",` + oid + `}`, "auth_protocol", "is required"},
		{`{` + v3 + `"security_level":"authNoPriv","auth_protocol":"SHA1",` + oid + `}`, "auth_protocol", "MD5, SHA, SHA256 or SHA512"},
		{`{` + v3 + `"security_level":"authNoPriv","auth_protocol":"SHA",` + oid + `}`, "auth_password", "is required"},
		{`{` + v3 + `"security_level":"authNoPriv","auth_protocol":"SHA","auth_password":"short",` + oid + `}`, "auth_password", "at least 8"},
		{`{` + v3 + `"security_level":"authNoPriv","auth_protocol":"SHA","auth_password":"12345678","priv_protocol":"AES",` + oid + `}`, "priv_protocol", "does not apply"},
		{`{` + v3 + `"security_level":"authNoPriv","auth_protocol":"SHA","auth_password":"12345678","priv_password":"12345678",` + oid + `}`, "priv_password", "does not apply"},
		{`{` + v3 + `"security_level":"authPriv","auth_protocol":"SHA","auth_password":"12345678",` + oid + `}`, "priv_protocol", "is required"},
		{`{` + v3 + `"security_level":"authPriv","auth_protocol":"SHA","auth_password":"12345678","priv_protocol":"3DES",` + oid + `}`, "priv_protocol", "DES, AES or AES256"},
		{`{` + v3 + `"security_level":"authPriv","auth_protocol":"SHA","auth_password":"12345678","priv_protocol":"AES",` + oid + `}`, "priv_password", "is required"},
		{`{` + v3 + `"security_level":"authPriv","auth_protocol":"SHA","auth_password":"12345678","priv_protocol":"AES","priv_password":"1234567",` + oid + `}`, "priv_password", "at least 8"},
		{`{` + v3 + `"security_level":"authPriv","auth_protocol":"SHA","auth_password":"12345678","priv_protocol":"AES","priv_password":"` + strings.Repeat("p", 256) + `",` + oid + `}`, "priv_password", "too long"},
		{`{"host":"h"}`, "oids", "at least one"},
		{`{"host":"h","oids":[]}`, "oids", "at least one"},
		{`{"host":"h",` + manyOIDs(65) + `}`, "oids", "at most 64"},
		{`{"host":"h","oids":[{"name":"x"}]}`, "oids[0].oid", "is required"},
		{`{"host":"h","oids":[{"oid":"1.3.6.1.2.1.1.3.0"},{"oid":"sysUpTime.0"}]}`, "oids[1].oid", "numeric OID"},
		{`{"host":"h","oids":[{"oid":"1"}]}`, "oids[0].oid", "numeric OID"},
		{`{"host":"h","oids":[{"oid":"1.3..6"}]}`, "oids[0].oid", "numeric OID"},
		{`{"host":"h","oids":[{"oid":"1.3.6."}]}`, "oids[0].oid", "numeric OID"},
		{`{"host":"h","oids":[{"oid":"1.3.-6"}]}`, "oids[0].oid", "numeric OID"},
		{`{"host":"h","oids":[{"oid":"1.3.06"}]}`, "oids[0].oid", "leading zero"},
		{`{"host":"h","oids":[{"oid":"3.1"}]}`, "oids[0].oid", "0, 1 or 2"},
		{`{"host":"h","oids":[{"oid":"1.40"}]}`, "oids[0].oid", "over 39"},
		{`{"host":"h","oids":[{"oid":"1.3.4294967296"}]}`, "oids[0].oid", "4294967295"},
		{`{"host":"h","oids":[{"oid":"1.3` + strings.Repeat(".1", 127) + `"}]}`, "oids[0].oid", "2 to 128"},
		{`{"host":"h","oids":[{"oid":1.3}]}`, "oids.oid", "string"},
		{`{"host":"h","oids":[{"oid":"1.3","name":"a=b"}]}`, "oids[0].name", "must not contain"},
		{`{"host":"h","oids":[{"oid":"1.3","name":" a"}]}`, "oids[0].name", "space"},
		{`{"host":"h","oids":[{"oid":"1.3","name":"a\tb"}]}`, "oids[0].name", "control character"},
		{`{"host":"h","oids":[{"oid":"1.3","name":"` + strings.Repeat("n", 101) + `"}]}`, "oids[0].name", "too long"},
		{`{"host":"h","oids":[{"oid":"1.3","name":"x"},{"oid":"1.4","name":"x"}]}`, "oids[1].name", "already the name of oids[0]"},
		{`{"host":"h","oids":[{"oid":"1.3"},{"oid":".1.3"}]}`, "oids[1].name", "already"},
		{`{"host":"h","oids":[{"oid":"1.3","expect":"` + strings.Repeat("e", 1025) + `"}]}`, "oids[0].expect", "at most 1024"},
		{`{"host":"h","oids":[{"oid":"1.3","expect":"1","rate":true}]}`, "oids[0].expect", "rate"},
		{`{"host":"h","oids":[{"oid":"1.3","warn":"x"}]}`, "oids[0].warn", "Nagios range"},
		{`{"host":"h","oids":[{"oid":"1.3","crit":"10:5"}]}`, "oids[0].crit", "Nagios range"},
		{`{"host":"h","oids":[{"oid":"1.3","rate":"yes"}]}`, "oids.rate", "true or false"},
		{`{"host":"h","oids":[{"oid":"1.3","unit":"x"}]}`, "oids.unit", "not a known setting"},
		{`{"host":"h","Host":"h",` + oid + `}`, "Host", "not a known setting"},
	} {
		c, err := NewSNMP(json.RawMessage(tc.raw))
		ve, ok := valid.As(err)
		if c != nil || !ok || ve.Field != tc.field || !strings.Contains(ve.Msg, tc.msg) {
			t.Errorf("NewSNMP(%.120s) = %v, want %s: …%s…", tc.raw, err, tc.field, tc.msg)
			continue
		}
		for _, secret := range []string{"12345678", "1234567", "short", strings.Repeat("p", 256)} {
			if strings.Contains(tc.raw, secret) && strings.Contains(err.Error(), secret) {
				t.Errorf("NewSNMP(%.80s) error quotes the password: %v", tc.raw, err)
			}
		}
	}
	for _, raw := range []string{`[]`, `"x"`, `{"host":`} {
		if _, err := NewSNMP(json.RawMessage(raw)); !malformedSettingsJSON(err) {
			t.Errorf("NewSNMP(%s) = %v, want a JSON error", raw, err)
		}
	}
	// Every accepted protocol spelling.
	for _, auth := range []string{"MD5", "sha", "SHA256", "sha512"} {
		for _, priv := range []string{"des", "AES", "aes256"} {
			raw := fmt.Sprintf(`{%s"security_level":"AUTHPRIV","auth_protocol":%q,"auth_password":"12345678","priv_protocol":%q,"priv_password":"abcdefgh",%s}`, v3, auth, priv, oid)
			if _, err := NewSNMP(json.RawMessage(raw)); err != nil {
				t.Errorf("%s/%s: %v", auth, priv, err)
			}
		}
	}
}

func FuzzNewSNMP(f *testing.F) {
	for _, seed := range []string{
		`{"host":"10.0.0.1","oids":[{"oid":"1.3.6.1.2.1.1.3.0","name":"sysUpTime","warn":"10:","crit":"@0:5"}]}`,
		`{"host":"sw1","port":1161,"community":"c0mm","retries":0,"oids":[{"oid":".1.3.6.1.2.1.2.2.1.8.1","expect":"1"},{"oid":"1.3.6.1.2.1.2.2.1.10.1","rate":true}]}`,
		`{"host":"h","version":"3","username":"u","security_level":"authPriv","auth_protocol":"SHA","auth_password":"12345678","priv_protocol":"AES","priv_password":"abcdefgh","oids":[{"oid":"0.0"}]}`,
		`{"host":"h","version":"3","username":"u","security_level":"noAuthNoPriv","oids":[{"oid":"2.999.4294967295"}]}`,
		`{"host":"h","oids":[{"oid":"1.3.06"}]}`, `{"oids":null}`, `[]`, `{"host":"h","oids":[{"oid":"1.3","name":"x"},{"oid":"1.3","name":"x"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := NewSNMP(raw)
		if err != nil {
			if c != nil || !netSettingsError(err) {
				t.Fatalf("NewSNMP(%q) = %v, %v", raw, c, err)
			}
			return
		}
		s := c.Settings()
		if s.Host == "" || s.Port < 1 || s.Port > 65535 || s.Retries == nil || *s.Retries < 0 || *s.Retries > snmpMaxRetries || c.Target() == "" {
			t.Fatalf("NewSNMP(%q) accepted %+v", raw, s)
		}
		switch s.Version {
		case "2c":
			if s.Community == "" || s.Username != "" {
				t.Fatalf("NewSNMP(%q) accepted v2c %+v", raw, s)
			}
		case "3":
			_, authOK := snmpAuthProtocols[s.AuthProtocol]
			_, privOK := snmpPrivProtocols[s.PrivProtocol]
			if s.Community != "" || s.Username == "" ||
				(s.SecurityLevel == snmpNoAuthNoPriv) != (s.AuthProtocol == "" && s.AuthPassword == "") ||
				(s.SecurityLevel != snmpNoAuthNoPriv && (!authOK || len(s.AuthPassword) < snmpMinPassword)) ||
				(s.SecurityLevel == snmpAuthPriv) != privOK || (s.SecurityLevel == snmpAuthPriv && len(s.PrivPassword) < snmpMinPassword) {
				t.Fatalf("NewSNMP(%q) accepted v3 %+v", raw, s)
			}
		default:
			t.Fatalf("NewSNMP(%q) accepted version %q", raw, s.Version)
		}
		if len(c.oids) == 0 || len(c.oids) > snmpMaxOIDs || len(c.oids) != len(s.OIDs) || len(c.last) != len(c.oids) {
			t.Fatalf("NewSNMP(%q) accepted %d OIDs", raw, len(c.oids))
		}
		names := map[string]bool{}
		for i, o := range c.oids {
			if norm, msg := normSNMPOID(o.wire); msg != "" || "."+norm != o.wire || s.OIDs[i].OID != norm {
				t.Fatalf("NewSNMP(%q) accepted OID %q", raw, o.wire)
			}
			if o.name == "" || names[o.name] || checkSNMPName(o.name) != "" {
				t.Fatalf("NewSNMP(%q) accepted name %q", raw, o.name)
			}
			names[o.name] = true
			if o.rate && o.expect != nil {
				t.Fatalf("NewSNMP(%q) accepted expect with rate", raw)
			}
		}
	})
}
