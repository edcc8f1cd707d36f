// Package backup watches backups and disaster recovery: backup jobs with
// check-in URLs their scripts call, an evaluator that raises late, missed,
// failed, too-long, too-small and RPO alerts into the incident pipeline,
// restore tests (the measured RTO), DR plans with their exercises, coverage
// of the CMDB, and opsdeck's own backup and restore (archive.go).
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/kb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Source is the alert source of every backup alert; IncidentService is the
// incident service they land on.
const (
	Source          = "backup"
	IncidentService = "Backups"
)

// Alerter is the part of the incident pipeline the evaluator talks to;
// *incident.Service implements it.
type Alerter interface {
	Raise(ctx context.Context, sig incident.Signal) error
	Clear(ctx context.Context, source, service, key string) error
}

var _ Alerter = (*incident.Service)(nil)

// Options configures the Service.
type Options struct {
	Logger *slog.Logger
	// Alerts receives raised and cleared alerts; nil keeps them on the
	// dashboard only.
	Alerts Alerter
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
	// Every is how often the evaluator looks at every job (default 30s).
	Every time.Duration
	// Self configures scheduled backups of opsdeck's own database; a zero
	// Interval turns them off.
	Self SelfOptions
}

// SelfOptions configures scheduled self-backups.
type SelfOptions struct {
	Interval  time.Duration
	Folder    string
	Retention int
	// Version is written into each archive's manifest.
	Version string
	// DSN is the PostgreSQL connection string for pg_dump ("" on SQLite).
	DSN string
}

// Service is the backup domain.
type Service struct {
	db     *store.DB
	log    *slog.Logger
	alerts Alerter
	now    func() time.Time
	every  time.Duration
	self   SelfOptions
	md     *kb.Renderer

	// evalMu serialises evaluations, so a check-in and the ticker never
	// raise or clear the same alert twice.
	evalMu sync.Mutex

	unknownKeys prometheus.Counter
	unknownN    atomic.Int64
	checkIns    *prometheus.CounterVec
}

// New returns a Service.
func New(db *store.DB, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Every <= 0 {
		opts.Every = 30 * time.Second
	}
	if opts.Self.Retention <= 0 {
		opts.Self.Retention = 7
	}
	return &Service{db: db, log: opts.Logger, alerts: opts.Alerts, every: opts.Every, self: opts.Self, md: kb.NewRenderer(),
		now: func() time.Time { return opts.Now().UTC() },
		unknownKeys: prometheus.NewCounter(prometheus.CounterOpts{Name: "opsdeck_backup_checkins_unknown_key_total",
			Help: "Backup check-ins refused because no job has their key."}),
		checkIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsdeck_backup_checkins_total",
			Help: "Backup check-ins recorded, by kind."}, []string{"kind"}),
	}
}

// Collectors are the service's Prometheus metrics.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.unknownKeys, s.checkIns}
}

// UnknownKeyCount reports how many check-ins named no job (for tests and
// the dashboard).
func (s *Service) UnknownKeyCount() float64 {
	return float64(s.unknownN.Load())
}

func hashKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := valid.As(err); ok {
		return err
	}
	return fmt.Errorf("backup: %s: %w", op, store.MapError(err))
}

// ErrUnknownKey means no job has the check-in key.
var ErrUnknownKey = errors.New("backup: unknown check-in key")

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Keep whole UTF-8 sequences: step back to a rune start.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// tail keeps the last n bytes of s (the end of a log says how it ended).
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && s[i]&0xC0 == 0x80 {
		i++
	}
	return s[i:]
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }
