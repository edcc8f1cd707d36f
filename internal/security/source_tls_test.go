package security

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// shortLivedServer starts a real TLS server whose self-signed certificate
// for 127.0.0.1 expires after life, and writes the certificate to a PEM
// file the check can trust.
func shortLivedServer(t *testing.T, life time.Duration) (port int, caFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "short-lived.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(life),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.Listener.Addr().(*net.TCPAddr).Port, caFile
}

// TestRealTLSCertificateFinding runs a real tls monitor against a real TLS
// server with a certificate that expires in two days; the monitor's result
// hook must open a high finding that raises an incident on the Security
// service, and the certificate horizon must show the expiry.
func TestRealTLSCertificateFinding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		incs, err := incident.Open(ctx, db, incident.Options{})
		if err != nil {
			t.Fatal(err)
		}
		go incs.Run(ctx)
		sec := New(db, Options{Alerts: incs})
		mons := monitor.NewService(db, monitor.Options{Checks: probe.New, OnResult: sec.ObserveCheck})
		done := make(chan struct{})
		go func() { defer close(done); _ = mons.Run(ctx) }()
		defer func() { cancel(); <-done }()
		<-mons.Started()

		port, ca := shortLivedServer(t, 50*time.Hour)
		badPort, _ := shortLivedServer(t, 90*24*time.Hour) // trusted by nobody
		for _, m := range []struct {
			name string
			port int
			ca   string
		}{{"short-lived", port, ca}, {"untrusted", badPort, ""}} {
			def := monitor.Definition{"name": raw(m.name), "type": raw("tls"), "host": raw("127.0.0.1"), "port": raw(m.port), "interval": raw("1s")}
			if m.ca != "" {
				def["ca_file"] = raw(m.ca)
			}
			if _, err := mons.Create(ctx, def); err != nil {
				t.Fatal(err)
			}
		}
		var list []Finding
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			list, _, err = sec.List(ctx, Filter{Source: SourceTLS, Status: StatusOpen})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 2 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(list) != 2 {
			t.Fatalf("tls findings = %+v, want 2", list)
		}
		for _, f := range list {
			switch {
			case strings.Contains(f.Title, "short-lived"):
				if f.Severity != SeverityHigh || !strings.Contains(f.Title, "expires in 2 days") {
					t.Errorf("short-lived finding = %q %s", f.Title, f.Severity)
				}
				var ev map[string]any
				if err := json.Unmarshal(f.Evidence, &ev); err != nil || ev["monitor"] != "short-lived" {
					t.Errorf("evidence = %s", f.Evidence)
				}
			case strings.Contains(f.Title, "untrusted"):
				if f.Severity != SeverityHigh || !strings.Contains(f.Title, "is not valid") {
					t.Errorf("untrusted finding = %q %s", f.Title, f.Severity)
				}
			default:
				t.Errorf("unexpected finding %q", f.Title)
			}
		}
		p, err := sec.Posture(ctx, 0, 7)
		if err != nil {
			t.Fatal(err)
		}
		if p.CertHorizon == nil || p.CertName != "short-lived" || time.Until(*p.CertHorizon) > 51*time.Hour {
			t.Errorf("horizon = %v %q", p.CertHorizon, p.CertName)
		}
		if p.Open[SeverityHigh] != 2 || p.Trend[len(p.Trend)-1].Open != 2 {
			t.Errorf("posture = %+v", p)
		}
		// Both findings are at the alert level: the Security service has
		// their alerts.
		svc, err := incs.ServiceByName(ctx, IncidentService)
		if err != nil {
			t.Fatal(err)
		}
		alerts, _, err := incs.ListAlerts(ctx, incident.AlertFilter{ServiceID: svc.ID, Status: "open"})
		if err != nil || len(alerts) != 2 {
			t.Fatalf("security alerts = %d (%v), want 2", len(alerts), err)
		}
	})
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return b
}

func TestCertFindingClosesWhenRenewed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, alerts, _ := newTestService(t, db, Options{})
		ctx := context.Background()
		m := monitor.Monitor{ID: 7, Name: "web", Type: "tls"}
		res := func(days float64) probe.Result {
			return probe.Result{Status: probe.StatusDegraded, Metrics: []probe.Metric{{Name: certMetric, Value: days}}}
		}
		s.ObserveCheck(ctx, m, res(3))
		if got := statusOf(t, s, SourceTLS, "monitor:7"); got != StatusOpen {
			t.Fatalf("3 days left: %q", got)
		}
		// Host down: no certificate seen, the finding stays as it was.
		s.ObserveCheck(ctx, m, probe.Result{Status: probe.StatusDown, Message: "connection refused"})
		if got := statusOf(t, s, SourceTLS, "monitor:7"); got != StatusOpen {
			t.Fatalf("host down: %q", got)
		}
		s.ObserveCheck(ctx, m, res(-1))
		list, _, _ := s.List(ctx, Filter{Source: SourceTLS})
		if len(list) != 1 || list[0].Severity != SeverityCritical {
			t.Fatalf("expired: %+v", list)
		}
		s.ObserveCheck(ctx, m, res(89))
		if got := statusOf(t, s, SourceTLS, "monitor:7"); got != StatusFixed {
			t.Fatalf("renewed: %q", got)
		}
		raised, cleared := alerts.take()
		if len(raised) != 2 || len(cleared) != 1 {
			t.Errorf("raised %v cleared %v", raised, cleared)
		}
		// The monitor is deleted while its certificate is expiring: the sweep
		// fixes the finding and forgets the certificate.
		s.ObserveCheck(ctx, m, res(2))
		s.opts.MonitorExists = func(_ context.Context, id int64) (bool, error) { return id != 7, nil }
		if err := s.SweepCertificates(ctx); err != nil {
			t.Fatal(err)
		}
		if got := statusOf(t, s, SourceTLS, "monitor:7"); got != StatusFixed {
			t.Fatalf("after deletion: %q", got)
		}
		if p, _ := s.Posture(ctx, 0, 1); p.CertHorizon != nil {
			t.Errorf("horizon still shows a deleted monitor: %v", p.CertHorizon)
		}
	})
}
