package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Limits of the tcp check.
const (
	tcpSendMax   = 64 << 10
	tcpReadLimit = 64 << 10 // how far expect is looked for
)

// TCPSettings are the settings of a tcp check: a connect, optionally over
// TLS, optionally sending a line and looking for an expected reply.
type TCPSettings struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Send is written once connected; JSON escapes such as \r\n give
	// control characters.
	Send string `json:"send,omitempty"`
	// Expect must appear in the first 64 KiB received before the timeout.
	// Without Send it is looked for in what the server says first (a
	// banner such as "SSH-2.0").
	Expect string `json:"expect,omitempty"`
	// TLS makes the connection a TLS one (e.g. IMAPS, LDAPS).
	TLS bool `json:"tls,omitempty"`
	// TLSVerify checks the certificate when TLS is on; true when unset.
	TLSVerify *bool `json:"tls_verify,omitempty"`
}

// TCP is a validated tcp check.
type TCP struct {
	settings TCPSettings
}

var _ Check = (*TCP)(nil)

// NewTCP decodes and validates a tcp check's settings. Errors name the
// offending field as a *valid.Error, except for malformed JSON.
func NewTCP(raw json.RawMessage) (*TCP, error) {
	var s TCPSettings
	if err := decodeSettings("tcp", raw, &s); err != nil {
		return nil, err
	}
	if err := checkHost("host", s.Host); err != nil {
		return nil, err
	}
	if err := checkPort("port", s.Port, true); err != nil {
		return nil, err
	}
	if len(s.Send) > tcpSendMax {
		return nil, valid.Errorf("send", "is too long (%d bytes, at most %d)", len(s.Send), tcpSendMax)
	}
	if len(s.Expect) > tcpReadLimit {
		return nil, valid.Errorf("expect", "is too long (%d bytes, at most %d)", len(s.Expect), tcpReadLimit)
	}
	if s.TLSVerify != nil && !s.TLS {
		return nil, valid.Errorf("tls_verify", "only applies with tls on")
	}
	if s.TLSVerify == nil {
		s.TLSVerify = new(true)
	}
	return &TCP{settings: s}, nil
}

func checkPort(field string, port int, required bool) error {
	if port == 0 && required {
		return valid.Errorf(field, "is required")
	}
	if port < 0 || port > 65535 {
		return valid.Errorf(field, "must be from 1 to 65535")
	}
	return nil
}

// Settings returns the check's settings with defaults filled in.
func (c *TCP) Settings() TCPSettings { return c.settings }

// Target is host:port.
func (c *TCP) Target() string {
	return net.JoinHostPort(c.settings.Host, strconv.Itoa(c.settings.Port))
}

// Probe connects, does the TLS handshake and the send/expect exchange when
// set, and closes.
func (c *TCP) Probe(ctx context.Context) Result {
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

	if s.TLS {
		tlsConn := tls.Client(conn, &tls.Config{ServerName: s.Host, InsecureSkipVerify: !*s.TLSVerify}) //nolint:gosec // the user's choice, default on
		t0 := time.Now()
		err := tlsConn.HandshakeContext(ctx)
		rec.addTLS(time.Since(t0))
		if leaf := unverifiedLeaf(err); leaf != nil {
			res.Metrics = append(res.Metrics, certExpiryMetric(leaf, time.Now()))
		}
		if err != nil {
			return finish(failure(ctx, err, budget, "in the TLS handshake"))
		}
		if certs := tlsConn.ConnectionState().PeerCertificates; len(certs) > 0 {
			res.Metrics = append(res.Metrics, certExpiryMetric(certs[0], time.Now()))
		}
		conn = tlsConn
	}

	if s.Send != "" {
		if _, err := conn.Write([]byte(s.Send)); err != nil {
			return finish(failure(ctx, err, budget, "sending"))
		}
	}
	rec.markReady(time.Now())
	if s.Expect == "" {
		msg := "connected"
		if s.TLS {
			msg = "connected over TLS"
		}
		return finish(StatusUp, msg)
	}

	got, found, err := readUntil(conn, []byte(s.Expect), tcpReadLimit, &rec)
	res.Output = excerpt(got)
	switch {
	case found:
		return finish(StatusUp, fmt.Sprintf("connected, got %q", oneLine(s.Expect)))
	case err == nil:
		return finish(StatusDown, fmt.Sprintf("%q not in the first %d KiB received", oneLine(s.Expect), tcpReadLimit>>10))
	}
	st, msg := failure(ctx, err, budget, fmt.Sprintf("waiting for %q (got %d bytes)", oneLine(s.Expect), len(got)))
	if msg == "connection closed by the server" {
		msg = fmt.Sprintf("connection closed after %d bytes without %q", len(got), oneLine(s.Expect))
	}
	return finish(st, msg)
}

// readUntil reads from conn until want appears, limit bytes have come, or
// reading fails (io.EOF included). It marks the first byte in rec.
func readUntil(conn net.Conn, want []byte, limit int, rec *phaseRecorder) ([]byte, bool, error) {
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for len(buf) < limit {
		n, err := conn.Read(chunk[:min(len(chunk), limit-len(buf))])
		if n > 0 {
			if len(buf) == 0 {
				rec.addFirstByte(time.Now())
			}
			// Search only the new bytes and the overlap before them.
			from := max(0, len(buf)-len(want)+1)
			buf = append(buf, chunk[:n]...)
			if bytes.Contains(buf[from:], want) {
				return buf, true, nil
			}
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}
