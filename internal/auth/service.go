package auth

import (
	"context"
	"encoding/base32"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// Options tunes the Service; zero values take the defaults noted.
type Options struct {
	SessionTTL              time.Duration // default 12h
	LoginMaxFailuresPerUser int           // default 5
	LoginMaxFailuresPerIP   int           // default 20
	LoginFailureWindow      time.Duration // default 15m
	TokenCacheTTL           time.Duration // 0 disables the cache
	// Secrets seals TOTP secrets at rest; nil stores them as they are.
	Secrets SecretBox
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service holds identity and access state: the store, the token cache and
// the login limiter.
type Service struct {
	db      *store.DB
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	limiter *loginLimiter
	tokens  *tokenCache
	// policy is the sign-in policy (nil until loaded: the default).
	policy     atomic.Pointer[Policy]
	challenges *challengeBook

	usedMu sync.Mutex
	used   map[int64]time.Time // token id -> last use not yet written
}

// NewService returns a Service over db.
func NewService(db *store.DB, opts Options) *Service {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.LoginMaxFailuresPerUser <= 0 {
		opts.LoginMaxFailuresPerUser = 5
	}
	if opts.LoginMaxFailuresPerIP <= 0 {
		opts.LoginMaxFailuresPerIP = 20
	}
	if opts.LoginFailureWindow <= 0 {
		opts.LoginFailureWindow = 15 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{
		db: db, opts: opts, log: opts.Logger, now: opts.Now,
		limiter:    newLoginLimiter(opts.LoginMaxFailuresPerUser, opts.LoginMaxFailuresPerIP, opts.LoginFailureWindow),
		tokens:     newTokenCache(opts.TokenCacheTTL, 10000),
		used:       make(map[int64]time.Time),
		challenges: newChallengeBook(),
	}
}

// SessionTTL is how long a browser session lives.
func (s *Service) SessionTTL() time.Duration { return s.opts.SessionTTL }

// Run does the service's background work until ctx ends: it writes token
// last-use times in batches and deletes expired sessions.
func (s *Service) Run(ctx context.Context) {
	flush := time.NewTicker(15 * time.Second)
	defer flush.Stop()
	purge := time.NewTicker(10 * time.Minute)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			s.flushTokenUse(fctx)
			cancel()
			return
		case <-flush.C:
			s.flushTokenUse(ctx)
			s.limiter.prune(s.now())
			s.challenges.prune(s.now())
			if err := s.LoadPolicy(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("load sign-in policy", "err", err)
			}
		case <-purge.C:
			if err := s.PurgeExpiredSessions(ctx); err != nil {
				s.log.Warn("purge sessions", "err", err)
			}
		}
	}
}
