package security

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
)

// certMetric is the metric TLS and HTTPS checks report days to expiry in.
const certMetric = "cert_expiry_days"

// ObserveCheck is the monitor service's OnResult hook: a check that saw a
// certificate (tls checks, and http checks of https URLs) updates the
// certificate horizon and syncs the monitor's certificate finding. A check
// that got no certificate (the host is down) changes nothing: it says
// nothing about the certificate.
func (s *Service) ObserveCheck(ctx context.Context, m monitor.Monitor, res probe.Result) {
	days, ok := certDays(res)
	if !ok {
		return
	}
	if err := s.observeCert(ctx, m, res, days); err != nil {
		s.log.Error("security: certificate finding", "monitor", m.Name, "err", err)
	}
}

func certDays(res probe.Result) (float64, bool) {
	for _, m := range res.Metrics {
		if m.Name == certMetric && !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
			return m.Value, true
		}
	}
	return 0, false
}

func (s *Service) observeCert(ctx context.Context, m monitor.Monitor, res probe.Result, days float64) error {
	var ci int64
	if s.opts.CIOfMonitor != nil {
		ci = s.opts.CIOfMonitor(ctx, m.ID)
	}
	now := s.now().UTC()
	notAfter := now.Add(time.Duration(days * float64(24*time.Hour))).Truncate(time.Minute)
	name := clipText(m.Name, maxName)
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO security_certs (monitor_id, name, ci_id, not_after, checked_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (monitor_id) DO UPDATE SET name = excluded.name, ci_id = excluded.ci_id, not_after = excluded.not_after, checked_at = excluded.checked_at`,
		m.ID, name, nullID(ci), notAfter, now); err != nil {
		return fmt.Errorf("security: record certificate: %w", err)
	}
	var sigs []Signal
	ev := map[string]any{"monitor_id": m.ID, "monitor": m.Name, "type": m.Type, "days_left": days,
		"not_after": notAfter.Format(time.RFC3339), "check_status": string(res.Status), "message": clipText(res.Message, 500)}
	invalid := m.Type == "tls" && res.Status == probe.StatusDown &&
		(strings.Contains(res.Message, " is not valid") || strings.Contains(res.Message, "not valid before"))
	sig := Signal{Key: fmt.Sprintf("monitor:%d", m.ID), CIID: ci, Evidence: ev}
	switch {
	case days < 0:
		sig.Severity = SeverityCritical
		sig.Title = "TLS certificate of " + name + " has expired"
	case invalid:
		sig.Severity = SeverityHigh
		sig.Title = "TLS certificate of " + name + " is not valid"
	case days < 7:
		sig.Severity = SeverityHigh
		sig.Title = fmt.Sprintf("TLS certificate of %s expires in %s", name, daysText(days))
	case days < float64(s.opts.CertDays):
		sig.Severity = SeverityMedium
		sig.Title = fmt.Sprintf("TLS certificate of %s expires in %s", name, daysText(days))
	}
	if sig.Title != "" {
		sigs = append(sigs, sig)
	}
	return s.Sync(ctx, SourceTLS, fmt.Sprintf("monitor:%d", m.ID), sigs)
}

func daysText(d float64) string {
	n := int(math.Floor(d))
	switch n {
	case 0:
		return "less than a day"
	case 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// clipText makes outside text fit a one-line field: control characters
// become spaces, invalid UTF-8 is replaced and the text is cut to n runes.
func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// SweepCertificates forgets the certificates of deleted monitors and fixes
// their findings: no check will report on them again.
func (s *Service) SweepCertificates(ctx context.Context) error {
	if s.opts.MonitorExists == nil {
		return nil
	}
	ids, err := s.queryIDs(ctx, `SELECT monitor_id FROM security_certs
		UNION SELECT CAST(substr(scope, 9) AS BIGINT) FROM security_findings WHERE source = 'tls' AND status <> 'fixed' AND substr(scope, 1, 8) = 'monitor:'`)
	if err != nil {
		return fmt.Errorf("security: sweep certificates: %w", err)
	}
	for _, id := range ids {
		ok, err := s.opts.MonitorExists(ctx, id)
		if err != nil || ok {
			continue
		}
		if _, err := s.db.W.ExecContext(ctx, `DELETE FROM security_certs WHERE monitor_id = $1`, id); err != nil {
			return fmt.Errorf("security: sweep certificates: %w", err)
		}
		if err := s.Sync(ctx, SourceTLS, fmt.Sprintf("monitor:%d", id), nil); err != nil {
			return err
		}
	}
	return nil
}
