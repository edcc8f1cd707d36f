package probe

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func mustNewTCP(t *testing.T, settings string) *TCP {
	t.Helper()
	c, err := NewTCP(json.RawMessage(settings))
	if err != nil {
		t.Fatalf("NewTCP(%s): %v", settings, err)
	}
	return c
}

func TestTCPProbe(t *testing.T) {
	pki := newTestPKI(t)
	cert := pki.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), "127.0.0.1")
	servers := map[string]func(net.Conn){
		"idle": func(c net.Conn) { io.Copy(io.Discard, c) },
		"echo": func(c net.Conn) {
			line, err := bufio.NewReader(c).ReadString('\n')
			if err == nil {
				fmt.Fprintf(c, "+OK you said %q\r\n", line)
			}
		},
		"banner": func(c net.Conn) { io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n"); io.Copy(io.Discard, c) },
		"split": func(c net.Conn) {
			io.WriteString(c, "+O")
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, "K ready\r\n")
			io.Copy(io.Discard, c)
		},
		"closes": func(c net.Conn) { io.WriteString(c, "-ERR go away\r\n") },
		"flood": func(c net.Conn) {
			chunk := bytes.Repeat([]byte("z"), 16<<10)
			for range 16 {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
			io.Copy(io.Discard, c)
		},
		"tls": func(c net.Conn) {
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
			line, err := bufio.NewReader(tc).ReadString('\n')
			if err == nil && line == "PING\r\n" {
				io.WriteString(tc, "PONG\r\n")
			}
			io.Copy(io.Discard, tc)
		},
	}
	ports := map[string]int{}
	for name, serve := range servers {
		_, ports[name] = loopbackServer(t, serve)
	}
	_, ports["closed"] = netClosedPort(t)

	tests := []struct {
		name, server, settings string // settings gets the port
		timeout                time.Duration
		status                 Status
		message                string
		output                 string
	}{
		{"connect", "idle", `{"host":"127.0.0.1","port":%d}`, 0, StatusUp, "connected", ""},
		{"connect by name", "idle", `{"host":"localhost","port":%d}`, 0, StatusUp, "connected", ""},
		{"send and expect", "echo", `{"host":"127.0.0.1","port":%d,"send":"HELLO\r\n","expect":"+OK"}`, 0, StatusUp, `connected, got "+OK"`, `+OK you said "HELLO\r\n"`},
		{"send without expect", "echo", `{"host":"127.0.0.1","port":%d,"send":"HELLO\r\n"}`, 0, StatusUp, "connected", ""},
		{"banner", "banner", `{"host":"127.0.0.1","port":%d,"expect":"SSH-2.0"}`, 0, StatusUp, "", "SSH-2.0-OpenSSH_9.6\r\n"},
		{"expect split over reads", "split", `{"host":"127.0.0.1","port":%d,"expect":"+OK"}`, 0, StatusUp, "", "+OK ready"},
		{"wrong reply then close", "closes", `{"host":"127.0.0.1","port":%d,"expect":"+OK"}`, 0, StatusDown, `connection closed after 14 bytes without "+OK"`, "-ERR go away"},
		{"never answers", "idle", `{"host":"127.0.0.1","port":%d,"send":"HELLO\r\n","expect":"+OK"}`, 300 * time.Millisecond, StatusDown, `timeout after 300ms waiting for "+OK" (got 0 bytes)`, ""},
		{"flood without the answer", "flood", `{"host":"127.0.0.1","port":%d,"expect":"+OK"}`, 0, StatusDown, `"+OK" not in the first 64 KiB received`, "zzz"},
		{"refused", "closed", `{"host":"127.0.0.1","port":%d}`, 0, StatusDown, "connection refused", ""},
		{"tls", "tls", `{"host":"127.0.0.1","port":%d,"tls":true,"tls_verify":false,"send":"PING\r\n","expect":"PONG"}`, 0, StatusUp, "", "PONG"},
		{"tls verified", "tls", `{"host":"127.0.0.1","port":%d,"tls":true}`, 0, StatusDown, "certificate: x509: certificate signed by unknown authority", ""},
		{"tls to plain", "banner", `{"host":"127.0.0.1","port":%d,"tls":true}`, 0, StatusDown, "TLS handshake failed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustNewTCP(t, fmt.Sprintf(tt.settings, ports[tt.server]))
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			res := netProbe(c, timeout)
			if res.Status != tt.status || !strings.Contains(res.Message, tt.message) || !strings.Contains(res.Output, tt.output) {
				t.Fatalf("got %s %q output %q, want %s %q output %q", res.Status, res.Message, res.Output, tt.status, tt.message, tt.output)
			}
			if res.Status == StatusUp && (res.Phases.Connect <= 0 || res.Latency < res.Phases.Connect) {
				t.Errorf("phases %+v, latency %v", res.Phases, res.Latency)
			}
			if strings.Contains(tt.settings, `"tls":true`) && tt.server == "tls" {
				if _, ok := netMetric(res, metricCertExpiry); !ok || res.Phases.TLS <= 0 {
					t.Errorf("TLS phase %v, metrics %+v", res.Phases.TLS, res.Metrics)
				}
			}
			if res.Latency > timeout+time.Second {
				t.Errorf("Latency %v outlived the timeout", res.Latency)
			}
		})
	}
}

func TestNewTCP(t *testing.T) {
	c := mustNewTCP(t, `{"host":"::1","port":22}`)
	if c.Target() != "[::1]:22" || !*c.Settings().TLSVerify {
		t.Errorf("Target %q, settings %+v", c.Target(), c.Settings())
	}
	c = mustNewTCP(t, `{"host":"smtp.example.com","port":25,"send":"EHLO x\r\n","expect":"250"}`)
	if c.Settings().Send != "EHLO x\r\n" {
		t.Errorf("send %q: JSON escapes not decoded", c.Settings().Send)
	}
}

func TestNewTCPInvalid(t *testing.T) {
	tests := []struct{ name, settings, field string }{
		{"empty", `{}`, "host"},
		{"null", `null`, "host"},
		{"host number", `{"host":1,"port":1}`, "host"},
		{"host with port", `{"host":"a.test:80","port":80}`, "host"},
		{"host control", `{"host":"a\u0000.test","port":80}`, "host"},
		{"no port", `{"host":"a.test"}`, "port"},
		{"port zero", `{"host":"a.test","port":0}`, "port"},
		{"port high", `{"host":"a.test","port":65536}`, "port"},
		{"port string", `{"host":"a.test","port":"80"}`, "port"},
		{"port fraction", `{"host":"a.test","port":80.5}`, "port"},
		{"port huge", `{"host":"a.test","port":1e30}`, "port"},
		{"send type", `{"host":"a.test","port":80,"send":["x"]}`, "send"},
		{"send long", `{"host":"a.test","port":80,"send":"` + strings.Repeat("s", 64<<10+1) + `"}`, "send"},
		{"expect long", `{"host":"a.test","port":80,"expect":"` + strings.Repeat("e", 64<<10+1) + `"}`, "expect"},
		{"tls type", `{"host":"a.test","port":80,"tls":"yes"}`, "tls"},
		{"tls_verify without tls", `{"host":"a.test","port":80,"tls_verify":false}`, "tls_verify"},
		{"unknown field", `{"host":"a.test","port":80,"timeout":5}`, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTCP(json.RawMessage(tt.settings))
			netFieldError(t, err, tt.field)
		})
	}
}

func FuzzNewTCP(f *testing.F) {
	for _, seed := range []string{
		`{"host":"a.test","port":80}`,
		`{"host":"127.0.0.1","port":6379,"send":"PING\r\n","expect":"+PONG","tls":true,"tls_verify":false}`,
		`{"host":"fe80::1%eth0","port":1}`, `{"port":-1}`, `"x"`, `{"host":null,"port":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := NewTCP(raw)
		if err != nil {
			if c != nil || !netSettingsError(err) {
				t.Fatalf("NewTCP(%q) = %v, %v", raw, c, err)
			}
			return
		}
		s := c.Settings()
		if s.Port < 1 || s.Port > 65535 || s.Host == "" || s.TLSVerify == nil || c.Target() == "" {
			t.Fatalf("NewTCP(%q) accepted %+v", raw, s)
		}
	})
}
