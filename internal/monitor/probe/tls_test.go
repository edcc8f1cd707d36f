package probe

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPKI is a private CA that issues leaf certificates for the tests.
type testPKI struct {
	ca     *x509.Certificate
	key    *ecdsa.PrivateKey
	caFile string // the CA as PEM, for ca_file
	serial int64
	mu     sync.Mutex
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Opsdeck Test CA", Organization: []string{"Opsdeck Tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, key: key, caFile: caFile, serial: 1}
}

// leaf issues a server certificate for names (DNS names or IP addresses)
// valid from notBefore to notAfter.
func (p *testPKI) leaf(t *testing.T, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.serial++
	serial := p.serial
	p.mu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// loopbackServer accepts connections on 127.0.0.1 and hands each to serve
// on its own goroutine; cleanup closes the listener and waits for them.
func loopbackServer(t *testing.T, serve func(net.Conn)) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				stop := make(chan struct{})
				defer close(stop)
				go func() { // unblock serve when the test ends
					select {
					case <-done:
						conn.Close()
					case <-stop:
					}
				}()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				serve(conn)
			})
		}
	})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	addr := ln.Addr().(*net.TCPAddr)
	return addr.IP.String(), addr.Port
}

// serveTLS does the server side of a handshake with cert, then waits for
// the client to leave.
func serveTLS(cert tls.Certificate) func(net.Conn) {
	return func(conn net.Conn) {
		tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
		if tc.Handshake() != nil {
			return
		}
		io.Copy(io.Discard, tc)
	}
}

// smtpServer is a minimal SMTP server that offers STARTTLS, in one of a few
// misbehaving variants.
func smtpServer(cert tls.Certificate, variant string) func(net.Conn) {
	return func(conn net.Conn) {
		r := bufio.NewReader(conn)
		if variant == "busy" {
			io.WriteString(conn, "554 5.3.2 too busy\r\n")
			return
		}
		io.WriteString(conn, "220-mx.test ESMTP\r\n220 welcome\r\n")
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "EHLO [127.0.0.1]") {
			io.WriteString(conn, "501 say EHLO properly\r\n")
			return
		}
		if variant == "no-starttls" {
			io.WriteString(conn, "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
			return
		}
		io.WriteString(conn, "250-mx.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
		if line, err = r.ReadString('\n'); err != nil || line != "STARTTLS\r\n" {
			return
		}
		if variant == "inject" {
			io.WriteString(conn, "220 ready\r\n250 injected\r\n")
			return
		}
		io.WriteString(conn, "220 2.0.0 ready\r\n")
		tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
		if tc.Handshake() != nil {
			return
		}
		line, _ = bufio.NewReader(tc).ReadString('\n')
		if line == "QUIT\r\n" {
			io.WriteString(tc, "221 bye\r\n")
		}
	}
}

func mustNewTLS(t *testing.T, settings string) *TLS {
	t.Helper()
	c, err := NewTLS(json.RawMessage(settings))
	if err != nil {
		t.Fatalf("NewTLS(%s): %v", settings, err)
	}
	return c
}

func TestTLSProbe(t *testing.T) {
	pki := newTestPKI(t)
	now := time.Now()
	day := 24 * time.Hour
	// An hour more than whole days, so "expires in N days" is stable.
	valid := func(days int) time.Time { return now.Add(time.Duration(days)*day + time.Hour) }
	serve := func(notAfter time.Time, names ...string) (string, int) {
		return loopbackServer(t, serveTLS(pki.leaf(t, now.Add(-30*day), notAfter, names...)))
	}
	h60, p60 := serve(valid(60), "example.test", "127.0.0.1")
	_, p15 := serve(valid(15), "example.test")
	_, p3 := serve(valid(3), "example.test")
	_, pExpired := serve(now.Add(-2*day-time.Hour), "example.test")
	_, pOther := serve(valid(60), "other.test")
	_, pFuture := loopbackServer(t, serveTLS(pki.leaf(t, now.Add(day), valid(60), "example.test")))
	_, pSMTP := loopbackServer(t, smtpServer(pki.leaf(t, now.Add(-day), valid(60), "mx.test"), ""))
	_, pNoStartTLS := loopbackServer(t, smtpServer(pki.leaf(t, now.Add(-day), valid(60), "mx.test"), "no-starttls"))
	_, pBusy := loopbackServer(t, smtpServer(pki.leaf(t, now.Add(-day), valid(60), "mx.test"), "busy"))
	_, pInject := loopbackServer(t, smtpServer(pki.leaf(t, now.Add(-day), valid(60), "mx.test"), "inject"))
	_, pPlain := loopbackServer(t, func(c net.Conn) { io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n") })
	_, pSilent := loopbackServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	_, pClosed := netClosedPort(t)
	ca := pki.caFile

	tests := []struct {
		name     string
		settings string
		timeout  time.Duration
		status   Status
		message  string
		days     float64 // 0: no metric expected
	}{
		{"60 days", `{"host":"%s","port":%d,"server_name":"example.test","ca_file":"%s"}`, 0, StatusUp,
			"certificate for example.test expires in 60 days (" + valid(60).UTC().Format(time.DateOnly) + "), issuer Opsdeck Test CA", 60},
		{"by IP address", `{"host":"%s","port":%d,"ca_file":"%s"}`, 0, StatusUp, "certificate for 127.0.0.1 expires in 60 days", 60},
		{"15 days warns", `{"host":"%s","port":%d,"server_name":"example.test","ca_file":"%s"}`, 0, StatusDegraded, "expires in 15 days", 15},
		{"15 days under a lower warn", `{"host":"%s","port":%d,"server_name":"example.test","ca_file":"%s","warn_days":10}`, 0, StatusUp, "expires in 15 days", 15},
		{"3 days is critical", `{"host":"%s","port":%d,"server_name":"example.test","ca_file":"%s"}`, 0, StatusDown, "expires in 3 days", 3},
		{"3 days under a lower crit", `{"host":"%s","port":%d,"server_name":"example.test","ca_file":"%s","crit_days":2}`, 0, StatusDegraded, "expires in 3 days", 3},
		{"expired", `{"host":"%s","port":%d,"server_name":"example.test","ca_file":"%s"}`, 0, StatusDown, "certificate for example.test expired 2 days ago", -2},
		{"not yet valid", `{"host":"%s","port":%d,"server_name":"example.test","ca_file":"%s"}`, 0, StatusDown, "is not valid before", 60},
		{"wrong host name", `{"host":"%s","port":%d,"server_name":"example.test","ca_file":"%s"}`, 0, StatusDown, "certificate for example.test is not valid: x509: certificate is valid for other.test, not example.test", 60},
		{"unknown CA", `{"host":"%s","port":%d,"server_name":"example.test"%.0s}`, 0, StatusDown, "signed by an unknown authority (Opsdeck Test CA)", 60},
		{"smtp starttls", `{"host":"%s","port":%d,"server_name":"mx.test","starttls":"smtp","ca_file":"%s"}`, 0, StatusUp, "certificate for mx.test expires in 60 days", 60},
		{"smtp without starttls", `{"host":"%s","port":%d,"server_name":"mx.test","starttls":"smtp","ca_file":"%s"}`, 0, StatusDown, "does not offer STARTTLS", 0},
		{"smtp busy", `{"host":"%s","port":%d,"starttls":"smtp","ca_file":"%s"}`, 0, StatusDown, "SMTP greeting 554 5.3.2 too busy", 0},
		{"smtp injection", `{"host":"%s","port":%d,"starttls":"smtp","ca_file":"%s"}`, 0, StatusDown, "sent data after its STARTTLS reply", 0},
		{"not TLS", `{"host":"%s","port":%d,"ca_file":"%s"}`, 0, StatusDown, "the server did not answer with TLS", 0},
		{"silent", `{"host":"%s","port":%d,"ca_file":"%s"}`, 300 * time.Millisecond, StatusDown, "timeout after 300ms in the TLS handshake", 0},
		{"smtp silent", `{"host":"%s","port":%d,"starttls":"smtp","ca_file":"%s"}`, 300 * time.Millisecond, StatusDown, "timeout after 300ms in the SMTP dialogue", 0},
		{"refused", `{"host":"%s","port":%d,"ca_file":"%s"}`, 0, StatusDown, "connection refused", 0},
	}
	ports := map[string]int{
		"60 days": p60, "by IP address": p60, "15 days warns": p15, "15 days under a lower warn": p15,
		"3 days is critical": p3, "3 days under a lower crit": p3, "expired": pExpired, "not yet valid": pFuture,
		"wrong host name": pOther, "unknown CA": p60, "smtp starttls": pSMTP, "smtp without starttls": pNoStartTLS,
		"smtp busy": pBusy, "smtp injection": pInject, "not TLS": pPlain, "silent": pSilent, "smtp silent": pSilent,
		"refused": pClosed,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustNewTLS(t, fmt.Sprintf(tt.settings, h60, ports[tt.name], ca))
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			res := netProbe(c, timeout)
			if res.Status != tt.status || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("got %s %q, want %s %q", res.Status, res.Message, tt.status, tt.message)
			}
			days, ok := netMetric(res, metricCertExpiry)
			switch {
			case tt.days == 0 && ok:
				t.Errorf("unexpected cert_expiry_days %v", days)
			case tt.days != 0 && (!ok || days < tt.days-1 || days > tt.days+1):
				t.Errorf("cert_expiry_days = %v (%v), want about %v", days, ok, tt.days)
			}
			if tt.days != 0 {
				if res.Metrics[0].Crit == "" || res.Phases.TLS <= 0 || !strings.Contains(res.Output, "issuer CN=Opsdeck Test CA") {
					t.Errorf("metric %+v, phases %+v, output %q", res.Metrics[0], res.Phases, res.Output)
				}
			}
			if res.Latency > timeout+time.Second {
				t.Errorf("Latency %v outlived the timeout", res.Latency)
			}
		})
	}
}

func TestNewTLSDefaults(t *testing.T) {
	s := mustNewTLS(t, `{"host":"example.com"}`).Settings()
	if s.Port != 443 || s.ServerName != "example.com" || *s.WarnDays != 21 || *s.CritDays != 7 {
		t.Errorf("defaults: %+v", s)
	}
	s = mustNewTLS(t, `{"host":"example.com","warn_days":5}`).Settings()
	if *s.CritDays != 4 {
		t.Errorf("crit_days under warn_days 5 = %d, want 4", *s.CritDays)
	}
	s = mustNewTLS(t, `{"host":"example.com","crit_days":0}`).Settings()
	if *s.CritDays != 0 {
		t.Errorf("crit_days 0 became %d", *s.CritDays)
	}
	if got := mustNewTLS(t, `{"host":"mx.example.com","port":25,"starttls":"smtp"}`).Target(); got != "smtp+starttls://mx.example.com:25" {
		t.Errorf("Target = %q", got)
	}
	if got := mustNewTLS(t, `{"host":"::1"}`).Target(); got != "[::1]:443" {
		t.Errorf("Target = %q", got)
	}
}

func TestNewTLSInvalid(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	badPEM := filepath.Join(dir, "bad.pem")
	os.WriteFile(badPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), 0o600)
	tests := []struct{ name, settings, field string }{
		{"empty", `{}`, "host"},
		{"host type", `{"host":["a"]}`, "host"},
		{"host with port", `{"host":"example.com:443"}`, "host"},
		{"host bracketed", `{"host":"[::1]"}`, "host"},
		{"host URL", `{"host":"https://example.com"}`, "host"},
		{"host space", `{"host":"exa mple.com"}`, "host"},
		{"host empty label", `{"host":"a..b"}`, "host"},
		{"host long", `{"host":"` + strings.Repeat("a", 300) + `"}`, "host"},
		{"port high", `{"host":"a.test","port":65536}`, "port"},
		{"port negative", `{"host":"a.test","port":-1}`, "port"},
		{"port string", `{"host":"a.test","port":"443"}`, "port"},
		{"port fraction", `{"host":"a.test","port":443.5}`, "port"},
		{"server name", `{"host":"a.test","server_name":"a b"}`, "server_name"},
		{"starttls", `{"host":"a.test","starttls":"imap"}`, "starttls"},
		{"starttls type", `{"host":"a.test","starttls":true}`, "starttls"},
		{"warn zero", `{"host":"a.test","warn_days":0}`, "warn_days"},
		{"warn huge", `{"host":"a.test","warn_days":100000}`, "warn_days"},
		{"crit equals warn", `{"host":"a.test","warn_days":7,"crit_days":7}`, "crit_days"},
		{"crit above warn", `{"host":"a.test","crit_days":30}`, "crit_days"},
		{"crit negative", `{"host":"a.test","crit_days":-1}`, "crit_days"},
		{"crit type", `{"host":"a.test","crit_days":"7"}`, "crit_days"},
		{"ca relative", `{"host":"a.test","ca_file":"ca.pem"}`, "ca_file"},
		{"ca missing", `{"host":"a.test","ca_file":"` + filepath.Join(dir, "none.pem") + `"}`, "ca_file"},
		{"ca directory", `{"host":"a.test","ca_file":"` + dir + `"}`, "ca_file"},
		{"ca not PEM", `{"host":"a.test","ca_file":"` + notPEM + `"}`, "ca_file"},
		{"ca bad certificate", `{"host":"a.test","ca_file":"` + badPEM + `"}`, "ca_file"},
		{"ca device", `{"host":"a.test","ca_file":"/dev/zero"}`, "ca_file"},
		{"unknown field", `{"host":"a.test","verify":false}`, "verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTLS(json.RawMessage(tt.settings))
			netFieldError(t, err, tt.field)
		})
	}
}

func FuzzNewTLS(f *testing.F) {
	for _, seed := range []string{
		`{"host":"example.com"}`,
		`{"host":"127.0.0.1","port":8443,"server_name":"x.test","warn_days":30,"crit_days":10}`,
		`{"host":"mx.test","port":25,"starttls":"smtp","crit_days":0}`,
		`{"host":"a.test","ca_file":"/nonexistent.pem"}`,
		`{"host":"::1","port":65535}`, `{"port":"x"}`, `[1]`, `{"host":"a","warn_days":1e99}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := NewTLS(raw)
		if err != nil {
			if c != nil || !netSettingsError(err) {
				t.Fatalf("NewTLS(%q) = %v, %v", raw, c, err)
			}
			return
		}
		s := c.Settings()
		if s.Port < 1 || s.Port > 65535 || s.ServerName == "" || *s.CritDays >= *s.WarnDays || *s.CritDays < 0 {
			t.Fatalf("NewTLS(%q) accepted %+v", raw, s)
		}
	})
}
