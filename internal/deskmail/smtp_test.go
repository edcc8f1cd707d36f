package deskmail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// startListener runs the SMTP listener on a random loopback port.
func startListener(t testing.TB, f *fixture) string {
	t.Helper()
	ln, err := f.mail.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ln.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

func TestSMTPListenerWithNetSMTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, Config{MaxMessageBytes: 32 << 10})
		addr := startListener(t, f)
		png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
		msg := "From: Alice <alice@customer.example>\r\nTo: support@desk.example\r\nSubject: =?utf-8?q?Caf=C3=A9_screen?=\r\nMessage-ID: <s1@customer.example>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
			"Content-Transfer-Encoding: quoted-printable\r\n\r\nThe caf=E9 screen is black.\r\n--BB\r\nContent-Type: image/png\r\n" +
			"Content-Disposition: attachment; filename=\"shot.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + png + "\r\n--BB\r\n" +
			"Content-Type: text/html\r\nContent-Disposition: attachment; filename=\"evil.html\"\r\n\r\n<script>alert(1)</script>\r\n--BB--\r\n"
		if err := smtp.SendMail(addr, nil, "alice@customer.example", []string{"support@desk.example"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		var tid int64
		if err := db.R.QueryRow(`SELECT ticket_id FROM desk_mail_messages WHERE message_id = 's1@customer.example' AND status = 'done'`).Scan(&tid); err != nil {
			t.Fatal("the listener answered 250 before the ticket was recorded:", err)
		}
		tk := f.ticket(tid)
		if tk.Subject != "Café screen" || !strings.Contains(tk.Description, "café screen is black") {
			t.Fatalf("%q %q", tk.Subject, tk.Description)
		}
		atts, _ := f.desk.Attachments(context.Background(), tid)
		if len(atts) != 1 || atts[0].Filename != "shot.png" || atts[0].ContentType != "image/png" {
			t.Fatalf("attachments %+v", atts)
		}
		cs, _ := f.desk.Comments(context.Background(), tid)
		if len(cs) != 1 || cs[0].Public || !strings.Contains(cs[0].Body, `"evil.html" refused`) {
			t.Fatalf("note on the refused file: %+v", cs)
		}
		// An unknown recipient is refused at RCPT.
		err := smtp.SendMail(addr, nil, "alice@customer.example", []string{"someone@elsewhere.example"}, []byte(msg))
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Fatalf("unknown recipient: %v", err)
		}
		// Over the size cap: 552, recorded as too big, no ticket.
		big := strings.Replace(msg, "s1@customer", "s2@customer", 1) + strings.Repeat(strings.Repeat("x", 98)+"\r\n", 400)
		err = smtp.SendMail(addr, nil, "alice@customer.example", []string{"support@desk.example"}, []byte(big))
		if err == nil { // go-smtp answers 552 and may close mid-DATA: a broken pipe for the sender
			t.Fatal("a message over the cap was accepted")
		}
		// The sender saw the connection close while the listener was
		// still recording; wait for the row.
		var outcome string
		for i := 0; i < 100 && outcome == ""; i++ {
			_ = db.R.QueryRow(`SELECT outcome FROM desk_mail_messages WHERE message_id = 's2@customer.example'`).Scan(&outcome)
			time.Sleep(20 * time.Millisecond)
		}
		if outcome != "too_big" {
			rs, _ := f.mail.Messages(context.Background(), "", 10)
			t.Fatalf("too big row: %q; rows %+v", outcome, rs)
		}
		// A bounce (null sender) is accepted and dropped as a loop.
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Mail("")
		_ = c.Rcpt("support@desk.example")
		w, _ := c.Data()
		fmt.Fprint(w, strings.Replace(mailText("alice@customer.example", "Undeliverable", "s3@x", "", "bounce"), "\n", "\r\n", -1))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		_ = c.Quit()
		if err := db.R.QueryRow(`SELECT outcome FROM desk_mail_messages WHERE message_id = 's3@x'`).Scan(&outcome); err != nil || outcome != "loop" {
			t.Fatalf("bounce row: %q %v", outcome, err)
		}
	})
}

// TestSMTPListenerWithSwaks delivers with Debian's swaks, a real SMTP
// client of its own.
func TestSMTPListenerWithSwaks(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("swaks is not installed (apt-get install swaks)")
		}
		t.Skip("swaks is not installed (apt-get install swaks)")
	}
	f := newFixture(t, storetest.SQLite(t), Config{})
	addr := startListener(t, f)
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, swaks, "--server", host, "--port", port, "--from", "bob@customer.example", "--to", "support@desk.example",
		"--header", "Subject: Swaks says hello", "--header", "Message-Id: <swaks1@customer.example>", "--body", "Sent by swaks.").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "<-  250 2.0.0 OK") {
		t.Fatalf("no 250 after DATA:\n%s", out)
	}
	var tid int64
	if err := f.db.R.QueryRow(`SELECT ticket_id FROM desk_mail_messages WHERE message_id = 'swaks1@customer.example'`).Scan(&tid); err != nil {
		t.Fatal(err)
	}
	if tk := f.ticket(tid); tk.RequesterID != f.users["bob"] || tk.Subject != "Swaks says hello" {
		t.Fatalf("%+v", tk)
	}
}

// TestSMTPListenerSTARTTLS: with a certificate configured the listener
// offers STARTTLS and takes mail over it.
func TestSMTPListenerSTARTTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := dir+"/cert.pem", dir+"/key.pem"
	pool := writeSelfSigned(t, certFile, keyFile)
	f := newFixture(t, storetest.SQLite(t), Config{TLSCertFile: certFile, TLSKeyFile: keyFile})
	addr := startListener(t, f)
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: pool}); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "alice@customer.example", strings.ReplaceAll(mailText("alice@customer.example", "Over TLS", "tls1@c", "", "secret stuff"), "\n", "\r\n")); err != nil {
		t.Fatal(err)
	}
	var tid int64
	if err := f.db.R.QueryRow(`SELECT ticket_id FROM desk_mail_messages WHERE message_id = 'tls1@c'`).Scan(&tid); err != nil || tid == 0 {
		t.Fatal(tid, err)
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 that is its own CA.
func writeSelfSigned(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "opsdeck test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
