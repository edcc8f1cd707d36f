package deskmail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/netutil"
)

// maxConns bounds the SMTP connections served at once; more wait in the
// kernel's accept queue.
const maxConns = 200

// Listener is the built-in SMTP server: it accepts mail for the
// configured recipients and answers 250 only after Ingest committed the
// ticket or reply (or recorded why the message was dropped), so a crash
// before that makes the sending server try again.
type Listener struct {
	s   *Service
	srv *smtp.Server
	ln  net.Listener
}

// Listen binds the SMTP listener to addr ("127.0.0.1:0" picks a port).
func (s *Service) Listen(addr string) (*Listener, error) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		remote := ""
		if a := c.Conn().RemoteAddr(); a != nil {
			remote = a.String()
		}
		return &session{s: s, remote: remote}, nil
	}))
	srv.Domain = "opsdeck"
	if _, d, ok := cutAt(s.cfg.Address); ok {
		srv.Domain = d
	}
	srv.MaxMessageBytes = s.cfg.MaxMessageBytes
	srv.MaxRecipients = 50
	srv.ReadTimeout, srv.WriteTimeout = 2*time.Minute, 2*time.Minute
	srv.ErrorLog = smtpLog{s}
	if s.cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("deskmail: mail.tls_cert_file: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("deskmail: SMTP listen on %s: %w", addr, err)
	}
	s.mu.Lock()
	s.listen = ln.Addr().String()
	s.mu.Unlock()
	// go-smtp serves every connection it accepts; a bound keeps a flood of
	// idle clients from holding unbounded goroutines and buffers.
	return &Listener{s: s, srv: srv, ln: netutil.LimitListener(ln, maxConns)}, nil
}

// Addr is where the listener listens.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts connections until ctx ends, then lets messages in flight
// finish for up to ten seconds.
func (l *Listener) Serve(ctx context.Context) error {
	l.s.log.Info("SMTP listener started", "addr", l.ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- l.srv.Serve(l.ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.srv.Shutdown(sctx); err != nil {
		_ = l.srv.Close()
	}
	<-done
	l.s.mu.Lock()
	l.s.listen = ""
	l.s.mu.Unlock()
	return nil
}

type smtpLog struct{ s *Service }

func (l smtpLog) Printf(format string, v ...any) {
	l.s.log.Debug("smtp", "msg", fmt.Sprintf(format, v...))
}
func (l smtpLog) Println(v ...any) { l.s.log.Debug("smtp", "msg", fmt.Sprint(v...)) }

// session is one SMTP transaction's state.
type session struct {
	s          *Service
	remote     string
	nullSender bool
	rcpts      []string
}

func (ss *session) Reset()        { ss.rcpts, ss.nullSender = nil, false }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.nullSender = from == ""
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, ok := accept(ss.s.routes, to); !ok {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, r)
	env := Envelope{Via: "smtp", Rcpts: ss.rcpts, NullSender: ss.nullSender}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if errors.Is(err, smtp.ErrDataTooLarge) {
		if _, derr := ss.s.TooBig(ctx, buf.Bytes(), env); derr != nil {
			ss.s.log.Warn("could not record a message over the size cap", "err", derr)
		}
		return smtp.ErrDataTooLarge
	}
	if err != nil {
		return err
	}
	if _, err := ss.s.Ingest(ctx, buf.Bytes(), env); err != nil {
		ss.s.log.Warn("message not accepted; the sender will retry", "err", err, "remote", ss.remote)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
	}
	return nil
}

// cutAt splits an address at its @.
func cutAt(a string) (string, string, bool) {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] == '@' {
			return a[:i], a[i+1:], i > 0 && i < len(a)-1
		}
	}
	return a, "", false
}
