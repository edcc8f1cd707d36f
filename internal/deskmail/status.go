package deskmail

import (
	"context"
	"time"
)

// Status is the email side at a glance, for the admin page and API. It
// holds no secret: the IMAP account is shown without its password.
type Status struct {
	Listening       bool             `json:"listening"`
	ListenAddr      string           `json:"listen_addr,omitempty"`
	Configured      string           `json:"smtp_addr,omitempty"`
	Address         string           `json:"address,omitempty"`
	Recipients      []string         `json:"recipients"`
	MaxMessageBytes int64            `json:"max_message_bytes"`
	STARTTLS        bool             `json:"starttls"`
	RatePerHour     int              `json:"rate_per_hour"`
	OutboundChannel string           `json:"outbound_channel,omitempty"`
	IMAP            *IMAPStatus      `json:"imap,omitempty"`
	IMAPInterval    string           `json:"imap_interval,omitempty"`
	IMAPDoneFolder  string           `json:"imap_done_folder,omitempty"`
	Counters        map[string]int64 `json:"counters_since_start"`
	Outbox          map[string]int   `json:"outbox"`
	Daily           []DayCount       `json:"daily"`
}

// Status reports the listener, the IMAP poller, the counters and the
// last two weeks of inbound mail by day.
func (s *Service) Status(ctx context.Context) (Status, error) {
	s.mu.Lock()
	st := Status{ListenAddr: s.listen, Listening: s.listen != ""}
	s.mu.Unlock()
	st.Configured, st.Address, st.MaxMessageBytes = s.cfg.SMTPAddr, s.cfg.Address, s.cfg.MaxMessageBytes
	st.STARTTLS, st.RatePerHour, st.OutboundChannel = s.cfg.TLSCertFile != "", s.cfg.RatePerHour, s.cfg.OutboundChannel
	for _, r := range s.routes {
		v := r.match
		if r.group != "" {
			v += " → " + r.group
		}
		st.Recipients = append(st.Recipients, v)
	}
	if im, on := s.IMAPStatus(); on {
		if im.Account == "" {
			if t, err := parseIMAPURL(s.cfg.IMAP.URL); err == nil {
				im.Account = t.String()
			}
		}
		st.IMAP, st.IMAPInterval, st.IMAPDoneFolder = &im, s.cfg.IMAP.Interval.String(), s.cfg.IMAP.DoneFolder
	}
	st.Counters = s.Counters()
	var err error
	if st.Outbox, err = s.OutboxCounts(ctx); err != nil {
		return st, err
	}
	st.Daily, err = s.Daily(ctx, s.now().UTC().Truncate(24*time.Hour).Add(-13*24*time.Hour))
	return st, err
}
