package security

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Alerter raises and clears alerts in the incident pipeline;
// *incident.Service is one.
type Alerter interface {
	Raise(ctx context.Context, sig incident.Signal) error
	Clear(ctx context.Context, source, service, key string) error
}

var _ Alerter = (*incident.Service)(nil)

// Options configures the Service; zero values take the defaults noted.
type Options struct {
	// Alerts receives findings at or above AlertAt; nil raises nothing.
	Alerts Alerter
	// AlertAt is the least severity that raises an incident (high).
	AlertAt Severity
	// CertDays makes a certificate a finding when fewer days remain (21).
	CertDays int
	// CIOfMonitor names the CMDB item a monitor is linked to (0 for none);
	// nil leaves certificate findings without a CI.
	CIOfMonitor func(ctx context.Context, monitorID int64) int64
	// MonitorExists reports whether a monitor still exists; certificate
	// findings of deleted monitors are fixed. nil keeps them.
	MonitorExists func(ctx context.Context, monitorID int64) (bool, error)
	// BruteForceUser and BruteForceAddr are how many failed sign-ins for
	// one username, or from one address, within BruteForceWindow make a
	// finding (5 and 10 within 1h).
	BruteForceUser, BruteForceAddr int
	BruteForceWindow               time.Duration
	// EventWindow is how long a one-off event (a login from a new address,
	// an admin grant) stays an open finding before it closes by itself (7 days).
	EventWindow time.Duration
	// ScanEvery is how often the sign-in and audit sources are read (1m).
	ScanEvery time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service keeps findings.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger
	now  func() time.Time
	// syncMu serialises Syncs of one process: two Syncs of the same scope
	// must not both insert the same new finding.
	syncMu sync.Mutex
}

// IncidentService is the incident service findings land on.
const IncidentService = "Security"

// AlertSource is the incident pipeline's source for findings.
const AlertSource = "security"

// New returns a Service over db.
func New(db *store.DB, opts Options) *Service {
	if opts.AlertAt == "" {
		opts.AlertAt = SeverityHigh
	}
	if opts.CertDays <= 0 {
		opts.CertDays = 21
	}
	if opts.BruteForceUser <= 0 {
		opts.BruteForceUser = 5
	}
	if opts.BruteForceAddr <= 0 {
		opts.BruteForceAddr = 10
	}
	if opts.BruteForceWindow <= 0 {
		opts.BruteForceWindow = time.Hour
	}
	if opts.EventWindow <= 0 {
		opts.EventWindow = 7 * 24 * time.Hour
	}
	if opts.ScanEvery <= 0 {
		opts.ScanEvery = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{db: db, opts: opts, log: opts.Logger, now: opts.Now}
}

// Run reads the sign-in sources and reopens expired risk acceptances every
// ScanEvery until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.ScanEvery)
	defer t.Stop()
	for {
		if err := s.ScanAuth(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("security: scan sign-ins", "err", err)
		}
		if err := s.SweepCertificates(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("security: sweep certificates", "err", err)
		}
		if err := s.ReopenExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("security: reopen expired acceptances", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
