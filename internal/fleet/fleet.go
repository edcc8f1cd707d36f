// Package fleet is the server side of the host agent: enrollment tokens,
// agents and their credentials, report ingest (facts into the host CI and
// its hardware asset, the software inventory, pending updates, metrics with
// rollups, configuration drift into CI history) and the agent_metric
// monitor check. The wire format is in package wire.
package fleet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Options configures a Service.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// CMDB receives the host CIs and drift history; nil skips them.
	CMDB *cmdb.Service
	// Assets receives the hardware assets; nil skips them.
	Assets *assets.Service
	// OnUpdates, if set, is called after a report with pending updates
	// committed: the agent, its host CI (0 when none) and the list.
	OnUpdates func(ctx context.Context, agentID int64, ciID int64, pending []wire.Update)
	// OnSoftware, if set, is called after a report whose software
	// inventory changed committed: the agent, its host CI (0 when none)
	// and the whole new inventory. An unchanged inventory does not call it.
	OnSoftware func(ctx context.Context, agentID int64, ciID int64, pkgs []wire.Package)
	// Interval is the report interval the server asks agents for (30s).
	Interval time.Duration
	// RawRetention keeps raw samples (default 48h); MinuteRetention and
	// HourRetention keep rollups (default 30 and 400 days).
	RawRetention, MinuteRetention, HourRetention time.Duration
}

// Service is the agent fleet. Build it with NewService and run Run in a
// goroutine: it commits reports (group commit), rolls metrics up and
// applies retention.
type Service struct {
	db    *store.DB
	opts  Options
	log   *slog.Logger
	batch *store.Batcher[*reportWrite]

	mu     sync.Mutex
	agents map[int64]*agentState
	byCred map[string]int64 // credential hash → agent id
	series map[seriesKey]int64

	// rolled is the first minute bucket (unix seconds) not rolled up yet;
	// samples older than it mark their buckets dirty.
	rolled atomic.Int64

	stats Stats

	// slots bounds the big reports (inventories) being decoded and applied
	// at once, so a burst (a fleet starting together) costs bounded memory.
	slots chan struct{}
	// hostSync bounds the reports updating CIs and assets at once: those
	// writes queue on the CMDB's lock anyway, and each holds database
	// connections while it waits.
	hostSync chan struct{}
}

// MaxConcurrentReports is how many reports are decoded and applied at
// once; the others wait for a slot.
const MaxConcurrentReports = 32

// ErrBusy is a report that waited too long for a slot; the agent retries.
var ErrBusy = errors.New("fleet: too many reports at once")

// Admit waits for a report slot (at most 10 s) and returns its release.
func (s *Service) Admit(ctx context.Context) (func(), error) {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stats are the fleet's counters since start.
type Stats struct {
	Reports, Replays, Refused, AuthFailures, Enrollments, EnrollFailures atomic.Int64
	// SoftwareWrites counts inventories accepted with a changed hash;
	// SoftwareSetsWritten those whose package list was new and stored.
	SoftwareWrites, SoftwareSetsWritten atomic.Int64
}

// agentState is what ingest keeps of an agent between reports. mu
// serializes one agent's reports so seq checks and writes do not race.
type agentState struct {
	mu           sync.Mutex
	id           int64
	hostname     string
	machineID    string
	revoked      bool
	lastSeq      uint64
	softwareHash string
	factsHash    string
	ciID         int64
	assetID      int64
}

type seriesKey struct {
	agent     int64
	name, key string
}

// Errors of the agent endpoints.
var (
	// ErrInvalidToken is a wrong, used, revoked or expired enrollment token.
	ErrInvalidToken = errors.New("fleet: invalid enrollment token")
	// ErrBadCredential is an unknown or revoked agent credential.
	ErrBadCredential = errors.New("fleet: invalid agent credential")
)

// ReplayError refuses a report whose seq is not above the accepted one.
type ReplayError struct{ Accepted uint64 }

func (e *ReplayError) Error() string { return "fleet: report replayed or out of order" }

// NewService builds the fleet service on db.
func NewService(db *store.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.RawRetention <= 0 {
		opts.RawRetention = 48 * time.Hour
	}
	if opts.MinuteRetention <= 0 {
		opts.MinuteRetention = 30 * 24 * time.Hour
	}
	if opts.HourRetention <= 0 {
		opts.HourRetention = 400 * 24 * time.Hour
	}
	s := &Service{db: db, opts: opts, log: opts.Logger, agents: map[int64]*agentState{}, byCred: map[string]int64{}, series: map[seriesKey]int64{},
		slots: make(chan struct{}, MaxConcurrentReports), hostSync: make(chan struct{}, 4)}
	// Small batches: a first report may carry thousands of packages, and a
	// long transaction holds SQLite's one writer.
	s.batch = store.NewBatcher(db, store.BatchOptions{MaxItems: 64}, s.flushReports)
	s.rolled.Store(-1)
	return s
}

// Stats returns the service's counters.
func (s *Service) Stats() *Stats { return &s.stats }

// Run commits reports and maintains metrics until ctx ends; reports
// accepted before then are written before it returns.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.batch.Run(ctx) })
	wg.Go(func() { s.maintain(ctx) })
	wg.Wait()
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// newSecret returns prefix + base64url of n random bytes.
func newSecret(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("fleet: crypto/rand: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is the stored form of a token or credential.
func hashSecret(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// nullTime is a *time.Time for a nullable column.
func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
