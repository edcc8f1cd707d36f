package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Email sends through an SMTP server: implicit TLS, STARTTLS or plain,
// with AUTH PLAIN or LOGIN. The Message-ID is derived from the
// idempotency key, so a resent notification carries the same one and mail
// clients thread or drop the duplicate.
type Email struct {
	set   emailSettings
	from  *mail.Address
	to    []string
	roots *x509.CertPool
	env   env
}

var _ Channel = (*Email)(nil)

type emailSettings struct {
	Host          string `json:"host"`
	Port          int    `json:"port"`
	Security      string `json:"security"`
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	From          string `json:"from"`
	To            string `json:"to"`
	SubjectPrefix string `json:"subject_prefix"`
	CACert        string `json:"ca_cert"`
}

func emailKind() Kind {
	return Kind{
		Name: "email", Label: "Email (SMTP)", Help: "Sends mail through your SMTP server.",
		Field: []SettingField{
			{Name: "host", Label: "SMTP host", Type: "text", Required: true, Hint: "Such as smtp.example.com."},
			{Name: "port", Label: "Port", Type: "number", Hint: "Empty for the usual one: 587 with STARTTLS, 465 with TLS, 25 without."},
			{Name: "security", Label: "Security", Type: "select", Options: []string{"starttls", "tls", "none"}, Hint: "starttls upgrades a plain connection (port 587); tls is encrypted from the start (port 465); none sends in clear and allows no login."},
			{Name: "auth", Label: "Login method", Type: "select", Options: []string{"plain", "login"}, Hint: "AUTH PLAIN or AUTH LOGIN, used when a username is set."},
			{Name: "username", Label: "Username", Type: "text", Hint: "Optional: leave empty for a relay that needs no login."},
			{Name: "password", Label: "Password", Type: "password", Secret: true, Hint: "Not shown again after saving; leave empty when editing to keep it."},
			{Name: "from", Label: "From", Type: "text", Required: true, Hint: "Such as opsdeck <opsdeck@example.com>."},
			{Name: "to", Label: "Team recipients", Type: "text", Hint: "Optional: addresses, separated by commas, for messages to the channel itself; users' own addresses come from their contact methods."},
			{Name: "subject_prefix", Label: "Subject prefix", Type: "text", Hint: "Optional: put before every subject, such as [opsdeck]."},
			{Name: "ca_cert", Label: "CA certificate", Type: "textarea", Hint: "Optional: a PEM certificate to trust for a server with a private CA or a self-signed certificate."},
		},
		AddressLabel: "Email address", AddressHint: "Such as alice@example.com.", AddressRequired: true,
		build:   parseEmail,
		address: func(a string) error { _, err := checkEmail("address", a); return err },
	}
}

func parseEmail(raw []byte, e env) (Channel, error) {
	var s emailSettings
	if err := decodeSettings(raw, &s); err != nil {
		return nil, err
	}
	if err := checkLine("settings.host", s.Host, true, 253); err != nil {
		return nil, err
	}
	if strings.ContainsAny(s.Host, " /:@") {
		return nil, errSetting("settings.host", "must be a host name or address without port or scheme")
	}
	if s.Security == "" {
		s.Security = "starttls"
	}
	if err := checkChoice("settings.security", s.Security, "starttls", "tls", "none"); err != nil {
		return nil, err
	}
	if s.Port == 0 {
		s.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[s.Security]
	}
	if s.Port < 1 || s.Port > 65535 {
		return nil, errSetting("settings.port", "must be from 1 to 65535")
	}
	if s.Auth == "" {
		s.Auth = "plain"
	}
	if err := checkChoice("settings.auth", s.Auth, "plain", "login"); err != nil {
		return nil, err
	}
	if err := checkLine("settings.username", s.Username, false, 200); err != nil {
		return nil, err
	}
	if err := checkLine("settings.password", s.Password, false, 200); err != nil {
		return nil, err
	}
	if s.Username != "" && s.Security == "none" {
		return nil, errSetting("settings.username", "needs security starttls or tls: a password is never sent in clear")
	}
	from, err := checkEmail("settings.from", s.From)
	if err != nil {
		return nil, err
	}
	var to []string
	if strings.TrimSpace(s.To) != "" {
		for _, p := range strings.Split(s.To, ",") {
			a, err := checkEmail("settings.to", strings.TrimSpace(p))
			if err != nil {
				return nil, err
			}
			to = append(to, a.Address)
		}
		if len(to) > 50 {
			return nil, errSetting("settings.to", "may list at most 50 addresses")
		}
	}
	if err := checkLine("settings.subject_prefix", s.SubjectPrefix, false, 50); err != nil {
		return nil, err
	}
	var roots *x509.CertPool
	if strings.TrimSpace(s.CACert) != "" {
		if len(s.CACert) > 8<<10 {
			return nil, errSetting("settings.ca_cert", "is too long (at most 8 KiB)")
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(s.CACert)) {
			return nil, errSetting("settings.ca_cert", "must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
		}
	}
	return &Email{set: s, from: from, to: to, roots: roots, env: e}, nil
}

// checkEmail parses one plain address; control characters (header
// injection) and display-name tricks in recipients are refused.
func checkEmail(field, s string) (*mail.Address, error) {
	if err := checkLine(field, s, true, 254); err != nil {
		return nil, err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || !strings.Contains(a.Address, "@") {
		return nil, errSetting(field, "must be an email address such as alice@example.com")
	}
	return a, nil
}

// Send implements Channel.
func (m *Email) Send(ctx context.Context, d Delivery) error {
	to := m.to
	if d.Address != "" {
		a, err := checkEmail("address", d.Address)
		if err != nil {
			return &PermanentError{Err: err}
		}
		to = []string{a.Address}
	}
	if len(to) == 0 {
		return permanent("notify: email: no recipient: give the channel team recipients or use it through a contact method")
	}
	msg := m.render(d, to)
	if err := m.deliver(ctx, to, msg); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return &PermanentError{Err: err}
		}
		return err
	}
	return nil
}

// MessageID derives an email Message-ID from an idempotency key and the
// sender's domain.
func MessageID(key, from string) string {
	sum := sha256.Sum256([]byte(key))
	domain := "opsdeck"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// headerText keeps a header value on one line whatever it holds.
func headerText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func (m *Email) render(d Delivery, to []string) []byte {
	subject := d.Message.Title
	if m.set.SubjectPrefix != "" {
		subject = m.set.SubjectPrefix + " " + subject
	}
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", m.from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", headerText(subject)))
	h("Date", m.env.now().UTC().Format(time.RFC1123Z))
	h("Message-ID", MessageID(d.Key, m.from.Address))
	h("X-Opsdeck-Idempotency-Key", d.Key)
	if d.Message.Severity != "" {
		h("X-Opsdeck-Severity", d.Message.Severity)
	}
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	h("Content-Type", `text/plain; charset="utf-8"`)
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(plainText(d.Message, false), "\n", "\r\n") + "\r\n"))
	_ = qp.Close()
	return b.Bytes()
}

func (m *Email) deliver(ctx context.Context, to []string, msg []byte) error {
	addr := net.JoinHostPort(m.set.Host, strconv.Itoa(m.set.Port))
	tcfg := &tls.Config{ServerName: m.set.Host, RootCAs: m.roots, MinVersion: tls.VersionTLS12}
	dialer := &net.Dialer{Timeout: sendTimeout}
	var conn net.Conn
	var err error
	if m.set.Security == "tls" {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tcfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("notify: email: connect %s: %w", addr, err)
	}
	deadline := time.Now().Add(sendTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, m.set.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("notify: email: greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("opsdeck"); err != nil {
		return fmt.Errorf("notify: email: EHLO: %w", err)
	}
	if m.set.Security == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanent("notify: email: %s does not offer STARTTLS; choose security tls or none", addr)
		}
		if err := c.StartTLS(tcfg); err != nil {
			return fmt.Errorf("notify: email: STARTTLS: %w", err)
		}
	}
	if m.set.Username != "" {
		var a smtp.Auth = smtp.PlainAuth("", m.set.Username, m.set.Password, m.set.Host)
		if m.set.Auth == "login" {
			a = &loginAuth{user: m.set.Username, pass: m.set.Password}
		}
		if err := c.Auth(a); err != nil {
			return fmt.Errorf("notify: email: AUTH: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("notify: email: MAIL FROM: %w", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("notify: email: RCPT TO %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("notify: email: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("notify: email: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: email: end of data: %w", err)
	}
	_ = c.Quit()
	return nil
}

// loginAuth is AUTH LOGIN, which net/smtp lacks; like its PLAIN it is only
// used over TLS (the settings refuse a login without it).
type loginAuth struct{ user, pass string }

func (a *loginAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS {
		return "", nil, errors.New("notify: email: refusing AUTH LOGIN without TLS")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(from []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(from))) {
	case "username:", "username":
		return []byte(a.user), nil
	case "password:", "password":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("notify: email: unexpected AUTH LOGIN challenge %q", from)
}
