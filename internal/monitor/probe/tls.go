package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Defaults and limits of the tls check.
const (
	tlsDefaultPort     = 443
	tlsDefaultWarnDays = 21
	tlsDefaultCritDays = 7
	tlsMaxDays         = 3650
	tlsCAFileMax       = 1 << 20
	smtpLineMax        = 1000 // RFC 5321 allows 512; some servers say more
	smtpReplyMaxLines  = 100
)

// TLSSettings are the settings of a tls check: a handshake whose certificate
// is verified and whose expiry is watched.
type TLSSettings struct {
	Host string `json:"host"`
	// Port is 443 when unset.
	Port int `json:"port,omitempty"`
	// ServerName is sent as SNI and checked against the certificate; Host
	// when empty.
	ServerName string `json:"server_name,omitempty"`
	// StartTLS is "" for TLS from the first byte, or "smtp" for a plain
	// SMTP session upgraded with STARTTLS (ports 25 and 587).
	StartTLS string `json:"starttls,omitempty"`
	// WarnDays makes the check degraded when fewer days remain; 21 when
	// unset.
	WarnDays *int `json:"warn_days,omitempty"`
	// CritDays makes the check down when fewer days remain; 7 when unset,
	// and below WarnDays. 0 is down only once expired.
	CritDays *int `json:"crit_days,omitempty"`
	// CAFile is a PEM file of CA certificates to trust instead of the
	// system's, for private CAs. It is read when the check is built.
	CAFile string `json:"ca_file,omitempty"`
}

// TLS is a validated tls check.
type TLS struct {
	settings TLSSettings
	roots    *x509.CertPool // nil: the system's
}

var _ Check = (*TLS)(nil)

// NewTLS decodes and validates a tls check's settings and loads ca_file.
// Errors name the offending field as a *valid.Error, except for malformed
// JSON.
func NewTLS(raw json.RawMessage) (*TLS, error) {
	var s TLSSettings
	if err := decodeSettings("tls", raw, &s); err != nil {
		return nil, err
	}
	if err := checkHost("host", s.Host); err != nil {
		return nil, err
	}
	if err := checkPort("port", s.Port, false); err != nil {
		return nil, err
	}
	if s.Port == 0 {
		s.Port = tlsDefaultPort
	}
	if s.ServerName != "" {
		if err := checkHost("server_name", s.ServerName); err != nil {
			return nil, err
		}
	} else {
		s.ServerName = s.Host
	}
	if s.StartTLS != "" && s.StartTLS != "smtp" {
		return nil, valid.Errorf("starttls", "must be empty or \"smtp\"")
	}
	if s.WarnDays == nil {
		s.WarnDays = new(tlsDefaultWarnDays)
	}
	if s.CritDays == nil {
		s.CritDays = new(min(tlsDefaultCritDays, max(*s.WarnDays-1, 0)))
	}
	if *s.WarnDays < 1 || *s.WarnDays > tlsMaxDays {
		return nil, valid.Errorf("warn_days", "must be from 1 to %d", tlsMaxDays)
	}
	if *s.CritDays < 0 || *s.CritDays >= *s.WarnDays {
		return nil, valid.Errorf("crit_days", "must be from 0 to less than warn_days (%d)", *s.WarnDays)
	}
	c := &TLS{settings: s}
	if s.CAFile != "" {
		pool, err := loadCAFile(s.CAFile)
		if err != nil {
			return nil, err
		}
		c.roots = pool
	}
	return c, nil
}

func loadCAFile(path string) (*x509.CertPool, error) {
	const f = "ca_file"
	if err := valid.Text(f, path, true, 4096, false); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(path) {
		return nil, valid.Errorf(f, "must be an absolute path")
	}
	// Stat first: opening a FIFO or device could block or never end.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, valid.Errorf(f, "cannot be read: %s", oneLine(pathErrorText(err)))
	}
	if !fi.Mode().IsRegular() {
		return nil, valid.Errorf(f, "is not a regular file")
	}
	if fi.Size() > tlsCAFileMax {
		return nil, valid.Errorf(f, "is larger than %d KiB", tlsCAFileMax>>10)
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, valid.Errorf(f, "cannot be read: %s", oneLine(pathErrorText(err)))
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, tlsCAFileMax))
	if err != nil {
		return nil, valid.Errorf(f, "cannot be read: %s", oneLine(err.Error()))
	}
	pool := x509.NewCertPool()
	n := 0
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, valid.Errorf(f, "holds a certificate that does not parse: %s", oneLine(err.Error()))
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, valid.Errorf(f, "holds no PEM certificates")
	}
	return pool, nil
}

// pathErrorText is an *os.PathError's cause without the path, which the
// user already sees beside the field.
func pathErrorText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Settings returns the check's settings with defaults filled in.
func (c *TLS) Settings() TLSSettings { return c.settings }

// Target is host:port, with the SMTP upgrade when there is one.
func (c *TLS) Target() string {
	t := net.JoinHostPort(c.settings.Host, strconv.Itoa(c.settings.Port))
	if c.settings.StartTLS != "" {
		t = c.settings.StartTLS + "+starttls://" + t
	}
	return t
}

// Probe connects, upgrades with STARTTLS when set, does the handshake and
// judges the server's certificate: chain, name and days left.
func (c *TLS) Probe(ctx context.Context) Result {
	ctx, cancel, budget := withProbeDeadline(ctx)
	defer cancel()
	s := c.settings
	var rec phaseRecorder
	var res Result
	start := time.Now()
	finish := func(st Status, msg string) Result {
		res.Status, res.Message = st, msg
		res.Latency = time.Since(start)
		res.Phases = rec.phases()
		return res
	}

	conn, stop, err := dialMeasured(ctx, &rec, s.Host, s.Port)
	if err != nil {
		return finish(failure(ctx, err, budget, ""))
	}
	defer conn.Close()
	defer stop()

	if s.StartTLS == "smtp" {
		if err := smtpStartTLS(conn, &rec); err != nil {
			var se *smtpError
			if errors.As(err, &se) {
				return finish(StatusDown, se.msg)
			}
			return finish(failure(ctx, err, budget, "in the SMTP dialogue"))
		}
	}

	// Verification is done below by hand, so a certificate that fails it
	// is still read and described.
	tlsConn := tls.Client(conn, &tls.Config{ServerName: s.ServerName, InsecureSkipVerify: true}) //nolint:gosec // verified below
	t0 := time.Now()
	err = tlsConn.HandshakeContext(ctx)
	rec.addTLS(time.Since(t0))
	if err != nil {
		return finish(failure(ctx, err, budget, "in the TLS handshake"))
	}
	state := tlsConn.ConnectionState()
	if s.StartTLS == "smtp" {
		_, _ = tlsConn.Write([]byte("QUIT\r\n"))
	}
	if len(state.PeerCertificates) == 0 {
		return finish(StatusDown, "the server sent no certificate")
	}
	now := time.Now()
	leaf := state.PeerCertificates[0]
	res.Output = describeChain(state)
	m := certExpiryMetric(leaf, now)
	m.Warn = strconv.Itoa(*s.WarnDays) + ":"
	m.Crit = strconv.Itoa(*s.CritDays) + ":"
	res.Metrics = []Metric{m}

	opts := x509.VerifyOptions{
		DNSName:       s.ServerName,
		Roots:         c.roots,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   now,
	}
	for _, cert := range state.PeerCertificates[1:] {
		opts.Intermediates.AddCert(cert)
	}
	_, verifyErr := leaf.Verify(opts)
	return finish(c.judge(leaf, verifyErr, now))
}

// judge rates a leaf certificate: expired or not yet valid, then an invalid
// chain or name, then days left against crit_days and warn_days.
func (c *TLS) judge(leaf *x509.Certificate, verifyErr error, now time.Time) (Status, string) {
	s := c.settings
	name := oneLine(s.ServerName)
	days := certExpiryDays(leaf, now)
	whole := int(math.Floor(days))
	date := leaf.NotAfter.UTC().Format(time.DateOnly)
	issuer := certIssuer(leaf)
	switch {
	case now.After(leaf.NotAfter):
		ago := int(math.Floor(-days))
		return StatusDown, fmt.Sprintf("certificate for %s expired %s (%s), issuer %s", name, daysAgo(ago), date, issuer)
	case now.Before(leaf.NotBefore):
		return StatusDown, fmt.Sprintf("certificate for %s is not valid before %s, issuer %s", name, leaf.NotBefore.UTC().Format(time.DateOnly), issuer)
	case verifyErr != nil:
		return StatusDown, fmt.Sprintf("certificate for %s is not valid: %s", name, describeVerifyError(verifyErr))
	}
	msg := fmt.Sprintf("certificate for %s expires %s (%s), issuer %s", name, daysIn(whole), date, issuer)
	switch {
	case days < float64(*s.CritDays):
		return StatusDown, msg
	case days < float64(*s.WarnDays):
		return StatusDegraded, msg
	}
	return StatusUp, msg
}

func daysIn(n int) string {
	switch n {
	case 0:
		return "within a day"
	case 1:
		return "in 1 day"
	}
	return "in " + strconv.Itoa(n) + " days"
}

func daysAgo(n int) string {
	switch n {
	case 0:
		return "less than a day ago"
	case 1:
		return "1 day ago"
	}
	return strconv.Itoa(n) + " days ago"
}

func describeVerifyError(err error) string {
	var (
		unk  x509.UnknownAuthorityError
		host x509.HostnameError
	)
	switch {
	case errors.As(err, &unk):
		return "signed by an unknown authority (" + oneLine(certIssuer(unk.Cert)) + ")"
	case errors.As(err, &host):
		return "x509: " + oneLine(strings.TrimPrefix(host.Error(), "x509: "))
	}
	return oneLine(err.Error())
}

// describeChain is the Output of a tls check: what the server presented.
func describeChain(state tls.ConnectionState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s\n", tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite))
	for i, cert := range state.PeerCertificates {
		fmt.Fprintf(&b, "%d: subject %s\n   issuer %s\n   valid %s to %s\n", i,
			oneLine(cert.Subject.String()), oneLine(cert.Issuer.String()),
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
		if i == 0 {
			names := append([]string{}, cert.DNSNames...)
			for _, ip := range cert.IPAddresses {
				names = append(names, ip.String())
			}
			if len(names) > 0 {
				fmt.Fprintf(&b, "   names %s\n", oneLine(strings.Join(names, ", ")))
			}
		}
		if b.Len() > outputLimit {
			break
		}
	}
	return excerpt([]byte(b.String()))
}

// smtpError is an SMTP dialogue that went wrong on the server's side; its
// msg is the check's Message.
type smtpError struct{ msg string }

func (e *smtpError) Error() string { return e.msg }

// smtpStartTLS reads the greeting, says EHLO, checks that STARTTLS is
// offered and asks for it, leaving conn ready for the TLS handshake.
func smtpStartTLS(conn net.Conn, rec *phaseRecorder) error {
	rec.markReady(time.Now())
	br := bufio.NewReaderSize(conn, smtpLineMax+2)
	code, lines, err := readSMTPReply(br, rec)
	if err != nil {
		return err
	}
	if code != 220 {
		return &smtpError{fmt.Sprintf("SMTP greeting %d %s", code, oneLine(strings.Join(lines, " ")))}
	}
	if _, err := fmt.Fprintf(conn, "EHLO %s\r\n", ehloName(conn)); err != nil {
		return err
	}
	code, lines, err = readSMTPReply(br, nil)
	if err != nil {
		return err
	}
	if code != 250 {
		return &smtpError{fmt.Sprintf("SMTP EHLO refused: %d %s", code, oneLine(strings.Join(lines, " ")))}
	}
	offered := false
	for _, l := range lines[1:] {
		if strings.EqualFold(strings.TrimSpace(l), "STARTTLS") {
			offered = true
		}
	}
	if !offered {
		return &smtpError{"the SMTP server does not offer STARTTLS"}
	}
	if _, err := io.WriteString(conn, "STARTTLS\r\n"); err != nil {
		return err
	}
	code, lines, err = readSMTPReply(br, nil)
	if err != nil {
		return err
	}
	if code != 220 {
		return &smtpError{fmt.Sprintf("SMTP STARTTLS refused: %d %s", code, oneLine(strings.Join(lines, " ")))}
	}
	// Bytes sent before our ClientHello would be read as plain text by a
	// careless client (the STARTTLS injection attack); refuse them.
	if br.Buffered() > 0 {
		return &smtpError{"the SMTP server sent data after its STARTTLS reply"}
	}
	return nil
}

// readSMTPReply reads one, possibly multiline, SMTP reply and returns its
// code and the text of each line.
func readSMTPReply(br *bufio.Reader, rec *phaseRecorder) (int, []string, error) {
	var lines []string
	code := 0
	for {
		line, err := br.ReadSlice('\n')
		if rec != nil && len(lines) == 0 && len(line) > 0 {
			rec.addFirstByte(time.Now())
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return 0, nil, &smtpError{"SMTP reply line too long"}
		}
		if err != nil {
			return 0, nil, err
		}
		text := strings.TrimRight(string(line), "\r\n")
		if len(text) < 3 {
			return 0, nil, &smtpError{"not an SMTP reply: " + strconv.Quote(oneLine(text))}
		}
		n, err := strconv.Atoi(text[:3])
		if err != nil || n < 200 || n > 599 || (code != 0 && n != code) || len(text) > 3 && text[3] != ' ' && text[3] != '-' {
			return 0, nil, &smtpError{"not an SMTP reply: " + strconv.Quote(oneLine(text))}
		}
		code = n
		lines = append(lines, strings.TrimSpace(text[min(4, len(text)):]))
		if len(text) == 3 || text[3] == ' ' {
			return code, lines, nil
		}
		if len(lines) >= smtpReplyMaxLines {
			return 0, nil, &smtpError{"SMTP reply has too many lines"}
		}
	}
}

// ehloName is the address literal of our end of conn, which RFC 5321 allows
// when a client has no name worth giving.
func ehloName(conn net.Conn) string {
	ap, err := netip.ParseAddrPort(conn.LocalAddr().String())
	if err != nil {
		return "[127.0.0.1]"
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is6() {
		return "[IPv6:" + a.String() + "]"
	}
	return "[" + a.String() + "]"
}
