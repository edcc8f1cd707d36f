// Package agent is the opsdeck host agent (`opsdeck agent`): it enrolls
// with the server once, then every interval collects facts, installed
// software, pending updates, metrics and configuration drift from this
// host's /proc, /sys, /etc and package databases, appends the report to a
// durable on-disk spool and sends the spool oldest first. While the server
// is unreachable reports wait on disk and are delivered later, in order.
//
// The agent needs no root: whatever it cannot read is reported as an error
// (or left empty) and collection goes on. See docs/agent.md.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultInterval   = 30 * time.Second
	DefaultSpoolMax   = 256 << 20
	DefaultStateDir   = "/var/lib/opsdeck-agent"
	defaultFactsEvery = 10 * time.Minute
	defaultUpdates    = time.Hour
	defaultMinBackoff = time.Second
	defaultMaxBackoff = 60 * time.Second
	// MinInterval is the shortest interval the command line allows (tests
	// of the package use shorter ones).
	MinInterval = time.Second
	maxInterval = time.Hour
)

// Config is what Run needs; zero fields take the defaults.
type Config struct {
	// Server is the base URL of the opsdeck server (http://host:8080). It
	// may be empty once enrolled: agent.json remembers it.
	Server string
	// EnrollToken is the one-time enrollment token (odenr_...), needed only
	// when the state folder holds no credential yet.
	EnrollToken string
	// StateDir holds the credential, the spool and the drift state
	// (default /var/lib/opsdeck-agent).
	StateDir string
	// Interval between reports. Zero means 30 s and following the server's
	// interval_seconds; a set interval is kept whatever the server says.
	Interval time.Duration
	// Watch lists absolute paths of files to watch for drift.
	Watch []string
	// SpoolMax caps the spool in bytes (default 256 MiB).
	SpoolMax int64
	// Version is reported as agent_version.
	Version string
	// Logger receives the agent's logs (default: discarded).
	Logger *slog.Logger
	// HTTPClient sends the requests (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// FactsEvery is how often facts are re-read (default 10 min); they are
	// sent on start and when they changed.
	FactsEvery time.Duration
	// UpdatesEvery is how often pending updates are checked (default 1 h,
	// negative: never).
	UpdatesEvery time.Duration
	// MinBackoff and MaxBackoff bound the retry delay after a failed send
	// (defaults 1 s and 60 s).
	MinBackoff, MaxBackoff time.Duration

	// host overrides the /proc, /sys and /etc roots (tests).
	host host
}

func (c *Config) defaults() {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.SpoolMax <= 0 {
		c.SpoolMax = DefaultSpoolMax
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.FactsEvery <= 0 {
		c.FactsEvery = defaultFactsEvery
	}
	if c.UpdatesEvery == 0 {
		c.UpdatesEvery = defaultUpdates
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = defaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = defaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.host == (host{}) {
		c.host = realHost()
	}
}

// agent is one running agent.
type agent struct {
	cfg        Config
	log        *slog.Logger
	state      stateDir
	client     *client
	credential string
	spool      *spool

	interval     atomic.Int64 // nanoseconds
	followServer bool
	needSoftware atomic.Bool
	resendAll    atomic.Bool   // the server is past every seq we made: resend facts and packages
	wake         chan struct{} // the collector tells the sender a report is spooled
	// intervalChanged: the sender tells the collector the server set a new interval.
	intervalChanged chan struct{}

	seqMu   sync.Mutex
	lastSeq uint64
}

// Run enrolls if needed and then collects and sends until ctx ends. It
// returns nil on a clean stop and an error when it cannot start (bad
// configuration, unusable state folder, enrollment refused).
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Interval < 0 || cfg.Interval > maxInterval {
		return fmt.Errorf("agent: interval %s is outside 0..%s", cfg.Interval, maxInterval)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("agent: state folder: %w", err)
	}
	a := &agent{cfg: cfg, log: cfg.Logger, state: stateDir(cfg.StateDir), wake: make(chan struct{}, 1), intervalChanged: make(chan struct{}, 1)}
	a.followServer = cfg.Interval == 0
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	a.interval.Store(int64(cfg.Interval))

	unlock, err := lockState(cfg.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	watcher, err := newDriftWatcher(cfg.StateDir, cfg.Watch)
	if err != nil {
		return err
	}

	server := cfg.Server
	if id, err := a.state.identity(); server == "" && err == nil {
		server = id.Server
	}
	if server == "" {
		return errors.New("agent: no server: give --server")
	}
	c, err := newClient(server, cfg.HTTPClient, cfg.Version)
	if err != nil {
		return err
	}
	a.client = c
	if c.base.Scheme == "http" && !isLoopback(c.base.Hostname()) {
		a.log.Warn("agent: the server URL is plain http: the credential and reports cross the network unencrypted", "server", server)
	}
	if a.credential, err = a.state.credential(); err != nil {
		return err
	}
	if a.credential == "" {
		if err := a.enroll(ctx, server); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	if a.spool, err = openSpool(a.state.path("spool"), cfg.SpoolMax); err != nil {
		return err
	}
	last, err := a.state.lastSeq()
	if err != nil {
		a.log.Warn("agent: sequence file unreadable; continuing after the spool's last report", "err", err)
	}
	if _, _, spooled, _ := a.spool.stats(); spooled > last {
		last = spooled
	}
	a.lastSeq = last
	n, size, _, _ := a.spool.stats()
	a.log.Info("agent: started", "server", server, "state", cfg.StateDir, "interval", cfg.Interval,
		"watch", len(cfg.Watch), "spooled", n, "spool_bytes", size, "last_seq", last)

	var wg sync.WaitGroup
	wg.Go(func() { a.sendLoop(ctx) })
	wg.Go(func() { a.collectLoop(ctx, watcher) })
	wg.Wait()
	n, size, _, dropped := a.spool.stats()
	a.log.Info("agent: stopped", "spooled", n, "spool_bytes", size, "dropped_for_space", dropped)
	return nil
}

// enroll exchanges the enrollment token for a credential, retrying while
// the server is unreachable.
func (a *agent) enroll(ctx context.Context, server string) error {
	if a.cfg.EnrollToken == "" {
		return errors.New("agent: not enrolled yet: give --enroll with a token from 'opsdeck agent-token create'")
	}
	facts, _ := collectFacts(a.cfg.host)
	req := enrollRequest{Token: a.cfg.EnrollToken, Hostname: facts.Hostname, MachineID: facts.MachineID, AgentVersion: a.cfg.Version}
	for attempt := 0; ; attempt++ {
		er, err := a.client.enroll(ctx, req)
		if err == nil {
			a.credential = er.Credential
			a.log.Info("agent: enrolled", "agent_id", er.AgentID)
			return a.state.saveEnrollment(server, er)
		}
		var r retryable
		if !errors.As(err, &r) {
			return err
		}
		d := a.backoff(attempt)
		a.log.Warn("agent: enrollment failed; retrying", "err", err, "in", d.Round(time.Millisecond))
		if !sleep(ctx, d) {
			return nil
		}
	}
}

// nextSeq hands out the next sequence number and persists it first, so a
// restart never reuses one.
func (a *agent) nextSeq() (uint64, error) {
	a.seqMu.Lock()
	defer a.seqMu.Unlock()
	if err := a.state.saveSeq(a.lastSeq + 1); err != nil {
		return 0, fmt.Errorf("agent: save seq: %w", err)
	}
	a.lastSeq++
	return a.lastSeq, nil
}

// skipSeqPast makes the next seq greater than n: after a reinstall the
// server may already have accepted higher numbers from this host. The
// reports dropped then may have carried the facts and the package list, so
// the next report carries them again.
func (a *agent) skipSeqPast(n uint64) {
	a.seqMu.Lock()
	defer a.seqMu.Unlock()
	if a.lastSeq <= n {
		a.resendAll.Store(true)
	}
	if a.lastSeq < n {
		if err := a.state.saveSeq(n); err == nil {
			a.lastSeq = n
		}
	}
}

// backoff is the delay before retry attempt (0-based): doubling from
// MinBackoff up to MaxBackoff, with jitter in [d/2, d] so a fleet that lost
// its server does not come back in step.
func (a *agent) backoff(attempt int) time.Duration {
	d := a.cfg.MinBackoff
	for i := 0; i < attempt && d < a.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, a.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func isLoopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
