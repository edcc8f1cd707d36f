package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// selfSigned makes a certificate for 127.0.0.1 that is its own CA.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "opsdeck test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// smtpSink is a real SMTP server (emersion/go-smtp) that requires a login
// over TLS and keeps what it receives.
type smtpSink struct {
	mu       sync.Mutex
	mails    []sunkMail
	authed   []string // mechanism used per session
	user, pw string
}

type sunkMail struct {
	From string
	To   []string
	Data []byte
	TLS  bool
}

type sinkSession struct {
	sink *smtpSink
	conn *smtp.Conn
	cur  sunkMail
	auth bool
}

func (s *smtpSink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &sinkSession{sink: s, conn: c}, nil
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pw string) error {
		if user != ss.sink.user || pw != ss.sink.pw {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "invalid credentials"}
		}
		ss.auth = true
		ss.sink.mu.Lock()
		ss.sink.authed = append(ss.sink.authed, mech)
		ss.sink.mu.Unlock()
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, u, p string) error { return check(u, p) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, errors.New("unsupported mechanism")
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.auth {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.cur = sunkMail{From: from, TLS: isTLS}
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data = b
	ss.sink.mu.Lock()
	ss.sink.mails = append(ss.sink.mails, ss.cur)
	ss.sink.mu.Unlock()
	return nil
}

func (ss *sinkSession) Reset()        { ss.cur = sunkMail{} }
func (ss *sinkSession) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN.
type loginServer struct {
	check func(user, pw string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if resp != nil { // initial response carries the username
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.step++
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

// startSink runs the sink on loopback; implicit selects TLS from the start,
// otherwise STARTTLS is offered.
func startSink(t *testing.T, sink *smtpSink, cert tls.Certificate, implicit bool) int {
	t.Helper()
	srv := smtp.NewServer(sink)
	srv.Domain = "sink.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func TestEmailRealSMTPExchange(t *testing.T) {
	cert, caPEM := selfSigned(t)
	for _, tc := range []struct {
		name, security, auth string
		implicit             bool
	}{
		{"starttls plain", "starttls", "plain", false},
		{"starttls login", "starttls", "login", false},
		{"implicit tls plain", "tls", "plain", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &smtpSink{user: "opsdeck", pw: "s3cret pass"}
			port := startSink(t, sink, cert, tc.implicit)
			ch, err := ParseSettings("email", mustJSON(map[string]any{
				"host": "127.0.0.1", "port": port, "security": tc.security, "auth": tc.auth,
				"username": "opsdeck", "password": "s3cret pass", "from": "opsdeck <ops@example.com>",
				"subject_prefix": "[opsdeck]", "ca_cert": caPEM,
			}))
			if err != nil {
				t.Fatal(err)
			}
			d := Delivery{Key: "inc42/esc1/r0/u7/3", Address: "alice@example.com", Message: Message{
				Title: "[SEV2] #42 Checkout API down — ünïcode", Text: "Down since 07:59.\nSecond line.", Severity: "error",
				URL: "https://opsdeck.example/incidents/42", Actions: []Link{{Label: "Acknowledge", URL: "https://opsdeck.example/a/xyz"}},
				Fields: []Field{{Name: "Service", Value: "checkout"}},
			}}
			if err := ch.Send(context.Background(), d); err != nil {
				t.Fatalf("send: %v", err)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if len(sink.mails) != 1 || len(sink.authed) != 1 || !strings.EqualFold(sink.authed[0], tc.auth) {
				t.Fatalf("mails %d, auth %v", len(sink.mails), sink.authed)
			}
			got := sink.mails[0]
			if !got.TLS || got.From != "ops@example.com" || len(got.To) != 1 || got.To[0] != "alice@example.com" {
				t.Fatalf("envelope: %+v", got)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
			if err != nil {
				t.Fatal(err)
			}
			dec := new(mimeDecoder)
			subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
			if subject != "[opsdeck] [SEV2] #42 Checkout API down — ünïcode" {
				t.Errorf("subject %q", subject)
			}
			if id := msg.Header.Get("Message-ID"); id != MessageID(d.Key, "ops@example.com") || !strings.HasSuffix(id, "@example.com>") {
				t.Errorf("Message-ID %q", id)
			}
			if msg.Header.Get("X-Opsdeck-Idempotency-Key") != d.Key {
				t.Errorf("key header %q", msg.Header.Get("X-Opsdeck-Idempotency-Key"))
			}
			body, _ := io.ReadAll(qpReader(msg.Body))
			for _, want := range []string{"Down since 07:59.", "Service: checkout", "Acknowledge: https://opsdeck.example/a/xyz"} {
				if !strings.Contains(string(body), want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

func TestEmailRefusals(t *testing.T) {
	cert, caPEM := selfSigned(t)
	sink := &smtpSink{user: "opsdeck", pw: "right"}
	port := startSink(t, sink, cert, false)
	base := map[string]any{"host": "127.0.0.1", "port": port, "username": "opsdeck", "password": "wrong", "from": "ops@example.com", "ca_cert": caPEM}
	ch, err := ParseSettings("email", mustJSON(base))
	if err != nil {
		t.Fatal(err)
	}
	err = ch.Send(context.Background(), Delivery{Key: "k", Address: "a@example.com", Message: Message{Title: "t"}})
	var pe *PermanentError
	if !errors.As(err, &pe) {
		t.Fatalf("a wrong password must be permanent: %v", err)
	}
	// Without the CA the self-signed certificate is refused.
	delete(base, "ca_cert")
	base["password"] = "right"
	ch, _ = ParseSettings("email", mustJSON(base))
	if err := ch.Send(context.Background(), Delivery{Key: "k", Address: "a@example.com", Message: Message{Title: "t"}}); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	if len(sink.mails) != 0 {
		t.Fatalf("mail accepted: %d", len(sink.mails))
	}
}

type mimeDecoder = mime.WordDecoder

func qpReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }
