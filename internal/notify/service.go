package notify

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/opsdeck/opsdeck/internal/secret"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Options configures the Service. Zero values take the defaults noted.
type Options struct {
	// Concurrency bounds deliveries in flight at once (default 8).
	Concurrency int
	// MaxAttempts gives a row up after this many failed sends (default 10).
	MaxAttempts int
	// MaxAge gives a row up when it is still not delivered this long after
	// it became due (default 24h).
	MaxAge time.Duration
	// BackoffBase and BackoffMax shape the retry delay: base·2^(attempt-1),
	// at most max, with ±20 % jitter (defaults 15s and 15m).
	BackoffBase, BackoffMax time.Duration
	// Lease is how long a claimed row stays claimed; a worker that crashed
	// mid-send leaves it to be sent again after this (default 2m, far
	// beyond one send's 20 s timeout).
	Lease time.Duration
	// PollInterval is the longest the worker sleeps without a wake-up
	// (default 1s); enqueues wake it at once.
	PollInterval time.Duration
	// OnOutcome is called after commit for every delivered, failed (will
	// retry) or given-up attempt.
	OnOutcome func(ctx context.Context, o Outcome)
	// HTTPClient overrides the client of the HTTP channels (tests).
	HTTPClient *http.Client
	// Secrets seals secret settings at rest; nil stores them in clear.
	Secrets *secret.Box
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service owns channels, contact methods, rules and the outbox.
type Service struct {
	db    *store.DB
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	env   env
	wake  chan struct{}
	stats *stats
	// finished writes delivery outcomes in group commits.
	finished *store.Batcher[*finishReq]
}

// NewService returns a Service; call Run to start delivering.
func NewService(db *store.DB, opts Options) *Service {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 24 * time.Hour
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 15 * time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 15 * time.Minute
	}
	if opts.BackoffMax < opts.BackoffBase {
		opts.BackoffMax = opts.BackoffBase
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = newHTTPClient()
	}
	s := &Service{db: db, opts: opts, log: opts.Logger, now: opts.Now, env: env{http: hc, now: opts.Now},
		wake: make(chan struct{}, 1)}
	s.stats = newStats(s)
	s.finished = store.NewBatcher(db, store.BatchOptions{MaxItems: 200}, s.writeOutcomes)
	return s
}

// Wake asks the worker to look for due rows now. Enqueues call it; a
// caller may call it again after committing its transaction, so a row
// queued in a long transaction leaves without waiting for the next poll.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
