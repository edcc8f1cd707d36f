package incident

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsdeck/opsdeck/internal/store"
)

// Paging is what incident calls inside its own transaction when an incident
// triggers (Start, with the service's escalation policy) and when it is
// acknowledged, resolved or merged (Stop). oncall.Service implements it.
type Paging interface {
	Start(ctx context.Context, q store.Querier, incidentID, policyID int64) error
	Stop(ctx context.Context, q store.Querier, incidentID int64) error
}

// Options configures the Service. Zero values take the defaults noted.
type Options struct {
	// Paging may be nil: then nothing is paged (tests of intake).
	Paging Paging
	// OnEvent is called after commit with lifecycle events, for reactions
	// that need not be durable (live refresh, metrics).
	OnEvent func(ctx context.Context, e LifecycleEvent)
	// ActionLinkTTL is how long signed ack/resolve links work (default 24h).
	ActionLinkTTL time.Duration
	// MaxBatch caps one intake transaction (default 1,000 events).
	MaxBatch int
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service is the incident domain: integrations, intake, alerts, incidents.
type Service struct {
	db      *store.DB
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	intake  *store.Batcher[*intakeItem]
	secret  []byte
	keys    *keyCache
	stmts   *stmtCache
	metrics *intakeMetrics
	runOnce sync.Once
	running chan struct{}
}

// Open builds the Service: it loads (or on first start creates) the server
// secret that signs action links. Call Run to start the intake writer.
func Open(ctx context.Context, db *store.DB, opts Options) (*Service, error) {
	if opts.ActionLinkTTL <= 0 {
		opts.ActionLinkTTL = 24 * time.Hour
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{db: db, opts: opts, log: opts.Logger, now: opts.Now, keys: newKeyCache(), metrics: newIntakeMetrics(), running: make(chan struct{})}
	// Whatever queued while the previous commit ran forms the next batch:
	// under load batches grow by themselves, and a lone event waits for no
	// timer (measured: no window is both faster and lower-latency here).
	s.intake = store.NewBatcher(db, store.BatchOptions{MaxItems: opts.MaxBatch}, s.writeBatch)
	secret, err := loadSecret(ctx, db, "action_links")
	if err != nil {
		return nil, err
	}
	s.secret = secret
	if s.stmts, err = newStmtCache(ctx, db.W, hotStatements()...); err != nil {
		return nil, fmt.Errorf("incident: prepare statements: %w", store.MapError(err))
	}
	return s, nil
}

// Run writes intake batches until ctx ends, then writes what is queued.
func (s *Service) Run(ctx context.Context) {
	s.runOnce.Do(func() { close(s.running) })
	s.intake.Run(ctx)
	if err := s.stmts.Close(); err != nil {
		s.log.Warn("close prepared statements", "err", err)
	}
}

// Collectors are the Prometheus collectors of the intake.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.metrics.events, s.metrics.refused}
}

// loadSecret returns the named secret, creating a random one on first use.
// Two servers starting at once both insert; the second insert does nothing
// and both read the same value.
func loadSecret(ctx context.Context, db *store.DB, name string) ([]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("incident: make secret: %w", err)
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO incident_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, hex.EncodeToString(b[:])); err != nil {
		return nil, fmt.Errorf("incident: store secret: %w", store.MapError(err))
	}
	var v string
	if err := db.W.QueryRowContext(ctx, `SELECT value FROM incident_secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("incident: load secret: %w", store.MapError(err))
	}
	secret, err := hex.DecodeString(v)
	if err != nil || len(secret) < 16 {
		return nil, errors.New("incident: stored secret is damaged")
	}
	return secret, nil
}

// intakeMetrics counts what the intake took and refused.
type intakeMetrics struct {
	events  *prometheus.CounterVec
	refused *prometheus.CounterVec
}

func newIntakeMetrics() *intakeMetrics {
	return &intakeMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsdeck_incident_events_total",
			Help: "Alert events committed, by integration kind and action."}, []string{"kind", "action"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsdeck_incident_intake_refused_total",
			Help: "Intake requests refused, by endpoint kind and reason (bad_key, invalid, too_large)."}, []string{"kind", "reason"}),
	}
}

// Refused counts a refused intake request; the web layer calls it for
// errors it finds before the domain sees the request (oversize bodies).
func (s *Service) Refused(kind, reason string) {
	s.metrics.refused.WithLabelValues(kind, reason).Inc()
}

// nullInt64 turns an optional id into a SQL value.
func nullInt64(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func ptrInt64(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func ptrTime(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	v := n.Time.UTC()
	return &v
}
