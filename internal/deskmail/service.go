// Package deskmail is the service desk's email: a built-in SMTP listener
// and IMAP polling turn mail into tickets and threaded replies, and an
// outbox mails requesters and assignees about replies and status changes,
// with Message-IDs and Reply-To that thread their answers back.
package deskmail

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// DefaultMaxMessage is the inbound size cap when Config leaves it unset.
const DefaultMaxMessage = 25 << 20

// Config is the email setup, from the mail.* settings.
type Config struct {
	// Address is the desk's mailbox (support@example.com): the Reply-To of
	// every outbound mail and a sender that never creates tickets.
	Address string
	// SMTPAddr is where the built-in SMTP listener listens ("" = off).
	SMTPAddr string
	// Recipients are the addresses and domains the listener accepts, each
	// "support@example.com" or "@example.com", optionally "=Group name"
	// to file the tickets in that group (queue). Empty accepts Address.
	Recipients []string
	// MaxMessageBytes caps one inbound message (default 25 MiB).
	MaxMessageBytes int64
	// TLSCertFile and TLSKeyFile offer STARTTLS on the listener.
	TLSCertFile, TLSKeyFile string
	// RatePerHour caps the messages one sender gets in per hour (0 = no
	// cap; the setting's default is 30); further mail is dropped and
	// counted.
	RatePerHour int
	// OutboundChannel names the notify email channel whose SMTP settings
	// send the desk's mail ("" = no outbound mail).
	OutboundChannel string
	// IMAP is one mailbox to poll ("" URL = none).
	IMAP IMAPConfig
	// BaseURL links mails to tickets.
	BaseURL string
}

// IMAPConfig is one mailbox polled for mail.
type IMAPConfig struct {
	// URL is imaps://user@host:993/INBOX or imap://… (STARTTLS is used
	// when the server offers it; "imap+insecure://" allows plain text on
	// loopback only).
	URL string
	// Password is a secret: never shown, never logged.
	Password string
	// Interval between polls (default 1m).
	Interval time.Duration
	// DoneFolder receives processed messages; "" flags them \Seen and
	// \Flagged and leaves them.
	DoneFolder string
	// Group names the group (queue) new tickets from this mailbox go to.
	Group string
}

// FromSettings turns the mail.* settings into a Config.
func FromSettings(m config.MailConfig) Config {
	return Config{Address: m.Address, SMTPAddr: m.SMTPAddr, Recipients: m.Recipients, MaxMessageBytes: m.MaxMessageBytes,
		TLSCertFile: m.TLSCertFile, TLSKeyFile: m.TLSKeyFile, RatePerHour: m.RatePerHour, OutboundChannel: m.OutboundChannel,
		IMAP: IMAPConfig{URL: m.IMAPURL, Password: m.IMAPPassword, Interval: m.IMAPInterval, DoneFolder: m.IMAPDone, Group: m.IMAPGroup}}
}

// route is one accepted recipient: an address or "@domain", and the
// group its tickets go to.
type route struct {
	match string
	group string
}

// parseRoutes checks Config.Recipients.
func parseRoutes(in []string, address string) ([]route, error) {
	var out []route
	for _, r := range in {
		m, g, _ := strings.Cut(r, "=")
		m = strings.ToLower(strings.TrimSpace(m))
		g = strings.TrimSpace(g)
		ok := false
		if d, isDomain := strings.CutPrefix(m, "@"); isDomain {
			ok = d != "" && !strings.ContainsAny(d, "@ <>")
		} else if a, err := mail.ParseAddress(m); err == nil && a.Address == m {
			ok = true
		}
		if !ok {
			return nil, valid.Errorf("mail.recipients", "%q is neither an address nor @domain", r)
		}
		out = append(out, route{match: m, group: g})
	}
	if len(out) == 0 && address != "" {
		out = append(out, route{match: strings.ToLower(address)})
	}
	return out, nil
}

// accept returns the route an envelope recipient matches, if any.
func accept(routes []route, rcpt string) (route, bool) {
	rcpt = strings.ToLower(strings.TrimSpace(rcpt))
	_, domain, _ := strings.Cut(rcpt, "@")
	for _, r := range routes {
		if r.match == rcpt {
			return r, true
		}
	}
	for _, r := range routes {
		if r.match == "@"+domain {
			return r, true
		}
	}
	return route{}, false
}

// Service receives and sends the desk's mail.
type Service struct {
	db     *store.DB
	desk   *servicedesk.Service
	notify *notify.Service
	cfg    Config
	routes []route
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}
	counts map[Outcome]*atomic.Int64

	mu     sync.Mutex
	listen string // the listener's bound address, once up
	from   string // the outbound channel's From address
	imap   IMAPStatus
}

// Options are the Service's collaborators.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
}

// New checks cfg and returns a Service; call Run to start the listener,
// the IMAP poller and the outbox.
func New(db *store.DB, desk *servicedesk.Service, ns *notify.Service, cfg Config, opts Options) (*Service, error) {
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessage
	}
	if cfg.IMAP.Interval <= 0 {
		cfg.IMAP.Interval = time.Minute
	}
	cfg.Address = strings.ToLower(strings.TrimSpace(cfg.Address))
	if cfg.Address != "" {
		if a, err := mail.ParseAddress(cfg.Address); err != nil || a.Address != cfg.Address {
			return nil, valid.Errorf("mail.address", "must be an address such as support@example.com")
		}
	}
	routes, err := parseRoutes(cfg.Recipients, cfg.Address)
	if err != nil {
		return nil, err
	}
	if cfg.SMTPAddr != "" && len(routes) == 0 {
		return nil, valid.Errorf("mail.address", "is needed with mail.smtp_addr: it says which recipients the listener accepts")
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, valid.Errorf("mail.tls_cert_file", "and mail.tls_key_file are set together")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{db: db, desk: desk, notify: ns, cfg: cfg, routes: routes, log: opts.Logger.With("component", "deskmail"), now: opts.Now,
		wake: make(chan struct{}, 1), counts: map[Outcome]*atomic.Int64{}}
	for _, o := range Outcomes() {
		s.counts[o] = &atomic.Int64{}
	}
	if cfg.IMAP.URL != "" {
		if _, err := parseIMAPURL(cfg.IMAP.URL); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Config returns the configuration with the IMAP password removed.
func (s *Service) Config() Config {
	c := s.cfg
	if c.IMAP.Password != "" {
		c.IMAP.Password = "(set)"
	}
	return c
}

// SetBaseURL sets the link mails point to tickets with; call it before
// Run.
func (s *Service) SetBaseURL(u string) { s.cfg.BaseURL = u }

// Wake asks the outbound side to look for new replies now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run serves SMTP, polls IMAP and sends the outbox until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	if s.cfg.SMTPAddr != "" {
		ln, err := s.Listen(s.cfg.SMTPAddr)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs <- ln.Serve(ctx) }()
	}
	if s.cfg.IMAP.URL != "" {
		wg.Add(1)
		go func() { defer wg.Done(); s.PollIMAP(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.RunOutbound(ctx) }()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("deskmail: %w", err)
		}
	}
	return nil
}
