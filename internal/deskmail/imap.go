package deskmail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// processedKeyword marks a message opsdeck has taken in, when processed
// messages stay in the folder (no DoneFolder); \Seen is set too.
const processedKeyword imap.Flag = "$OpsdeckProcessed"

// IMAPStatus is how the IMAP poller fares, for the admin page.
type IMAPStatus struct {
	Account    string    `json:"account"` // user@host:port/folder, no password
	LastPollAt time.Time `json:"last_poll_at"`
	LastError  string    `json:"last_error,omitempty"`
	Fetched    int64     `json:"fetched"`
}

// imapTarget is a parsed IMAP URL.
type imapTarget struct {
	security string // tls, starttls, insecure
	addr     string
	user     string
	folder   string
}

func (t imapTarget) String() string { return t.user + "@" + t.addr + "/" + t.folder }

// parseIMAPURL checks mail.imap_url. A password in the URL is refused:
// it goes in mail.imap_password, which is never shown or logged.
func parseIMAPURL(raw string) (imapTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return imapTarget{}, valid.Errorf("mail.imap_url", "is not a URL such as imaps://desk@mail.example.com/INBOX")
	}
	var t imapTarget
	port := ""
	switch u.Scheme {
	case "imaps":
		t.security, port = "tls", "993"
	case "imap":
		t.security, port = "starttls", "143"
	case "imap+insecure":
		t.security, port = "insecure", "143"
	default:
		return imapTarget{}, valid.Errorf("mail.imap_url", "must start with imaps://, imap:// (STARTTLS) or imap+insecure:// (loopback only)")
	}
	if u.User == nil || u.User.Username() == "" {
		return imapTarget{}, valid.Errorf("mail.imap_url", "needs the user name: imaps://USER@host/INBOX")
	}
	if _, ok := u.User.Password(); ok {
		return imapTarget{}, valid.Errorf("mail.imap_url", "must not hold the password; set mail.imap_password")
	}
	if u.Hostname() == "" {
		return imapTarget{}, valid.Errorf("mail.imap_url", "needs a host")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	t.addr, t.user = net.JoinHostPort(u.Hostname(), port), u.User.Username()
	if t.security == "insecure" {
		if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
			return imapTarget{}, valid.Errorf("mail.imap_url", "imap+insecure:// is allowed on loopback only: a password is never sent in clear over a network")
		}
	}
	t.folder = strings.Trim(u.Path, "/")
	if t.folder == "" {
		t.folder = "INBOX"
	}
	return t, nil
}

// IMAPStatus returns the poller's state.
func (s *Service) IMAPStatus() (IMAPStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.imap, s.cfg.IMAP.URL != ""
}

// PollIMAP polls the configured mailbox every interval until ctx ends.
func (s *Service) PollIMAP(ctx context.Context) {
	for {
		n, err := s.PollOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("IMAP poll failed", "err", err)
		} else if n > 0 {
			s.log.Info("IMAP poll", "messages", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.IMAP.Interval):
		}
	}
}

// imapBatch is how many messages one fetch asks for.
const imapBatch = 50

// PollOnce takes in the mailbox's new messages once and returns how many
// it processed. A message is flagged or moved only after Ingest
// committed it; one that failed stays for the next poll.
func (s *Service) PollOnce(ctx context.Context) (int, error) {
	t, err := parseIMAPURL(s.cfg.IMAP.URL)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.imap.Account = t.String()
	s.mu.Unlock()
	n, err := s.poll(ctx, t)
	s.mu.Lock()
	s.imap.LastPollAt = s.now().UTC()
	s.imap.Fetched += int64(n)
	s.imap.LastError = ""
	if err != nil {
		s.imap.LastError = oneLine(err.Error(), 300)
	}
	s.mu.Unlock()
	return n, err
}

func (s *Service) poll(ctx context.Context, t imapTarget) (int, error) {
	host, _, _ := net.SplitHostPort(t.addr)
	opts := &imapclient.Options{TLSConfig: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}, Dialer: &net.Dialer{Timeout: 30 * time.Second}}
	var c *imapclient.Client
	var err error
	switch t.security {
	case "tls":
		c, err = imapclient.DialTLS(t.addr, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(t.addr, opts)
	default:
		c, err = imapclient.DialInsecure(t.addr, opts)
	}
	if err != nil {
		return 0, fmt.Errorf("deskmail: IMAP connect %s: %w", t.addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(t.user, s.cfg.IMAP.Password).Wait(); err != nil {
		return 0, fmt.Errorf("deskmail: IMAP login as %s: %w", t.user, err)
	}
	if _, err := c.Select(t.folder, nil).Wait(); err != nil {
		return 0, fmt.Errorf("deskmail: IMAP select %s: %w", t.folder, err)
	}
	crit := &imap.SearchCriteria{}
	if s.cfg.IMAP.DoneFolder == "" {
		crit.NotFlag = []imap.Flag{processedKeyword}
	}
	found, err := c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("deskmail: IMAP search: %w", err)
	}
	uids := found.AllUIDs()
	done := 0
	for len(uids) > 0 && ctx.Err() == nil {
		batch := uids[:min(len(uids), imapBatch)]
		uids = uids[len(batch):]
		n, err := s.pollBatch(ctx, c, batch)
		done += n
		if err != nil {
			return done, err
		}
	}
	_ = c.Logout().Wait()
	return done, nil
}

func (s *Service) pollBatch(ctx context.Context, c *imapclient.Client, uids []imap.UID) (int, error) {
	sizes, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return 0, fmt.Errorf("deskmail: IMAP fetch sizes: %w", err)
	}
	env := Envelope{Via: "imap", Group: s.cfg.IMAP.Group}
	var ok []imap.UID
	var errs []error
	for _, m := range sizes {
		whole := m.RFC822Size <= s.cfg.MaxMessageBytes
		section := &imap.FetchItemBodySection{Peek: true}
		if !whole {
			section = &imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierHeader}
		}
		bufs, err := c.Fetch(imap.UIDSetNum(m.UID), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return len(ok), fmt.Errorf("deskmail: IMAP fetch %d: %w", m.UID, err)
		}
		if len(bufs) == 0 {
			continue
		}
		raw := bufs[0].FindBodySection(section)
		if whole {
			_, err = s.Ingest(ctx, raw, env)
		} else {
			_, err = s.TooBig(ctx, raw, env)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("message %d: %w", m.UID, err))
			continue
		}
		ok = append(ok, m.UID)
	}
	if len(ok) > 0 {
		set := imap.UIDSetNum(ok...)
		if s.cfg.IMAP.DoneFolder != "" {
			if _, err := c.Move(set, s.cfg.IMAP.DoneFolder).Wait(); err != nil {
				return 0, fmt.Errorf("deskmail: IMAP move to %s: %w", s.cfg.IMAP.DoneFolder, err)
			}
		} else if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen, processedKeyword}}, nil).Close(); err != nil {
			return 0, fmt.Errorf("deskmail: IMAP flag: %w", err)
		}
	}
	return len(ok), errors.Join(errs...)
}
