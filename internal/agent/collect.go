package agent

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// Limits of the request body the server accepts (the wire contract).
const (
	maxBodyRaw  = 8 << 20
	maxBodyGzip = 2 << 20
)

// collector builds reports. It lives in the collect loop's goroutine only,
// apart from the updates check, which runs in a goroutine of its own and
// hands its result over a channel.
type collector struct {
	a       *agent
	sampler *sampler
	inv     *inventory
	watcher *driftWatcher

	factsAt   time.Time
	lastFacts []byte // JSON of the last sent facts, uptime left out
	sentSoft  string // hash of the last inventory put in a report with its packages

	updatesAt    time.Time
	updatesRun   bool               // a check is running
	updates      chan *wire.Updates // its result
	updatesStamp string             // aptInputsStamp of the last successful check

	// warned keeps each distinct collection error logged once.
	warned map[string]bool

	// maxRaw and maxGzip are the server's body limits (tests lower them).
	maxRaw, maxGzip int
	zw              *gzip.Writer // reused for every report
}

func (a *agent) collectLoop(ctx context.Context, watcher *driftWatcher) {
	c := &collector{
		a: a, sampler: newSampler(a.cfg.host), inv: newInventory(), watcher: watcher,
		updates: make(chan *wire.Updates, 1), warned: map[string]bool{},
		maxRaw: maxBodyRaw, maxGzip: maxBodyGzip, zw: gzip.NewWriter(io.Discard),
	}
	var bg sync.WaitGroup
	defer bg.Wait()
	for {
		start := time.Now()
		c.step(ctx, start, &bg)
		for waiting := true; waiting; {
			// Re-armed when the server changes the interval, so a shorter
			// one applies at once rather than after the old wait.
			t := time.NewTimer(max(time.Duration(a.interval.Load())-time.Since(start), 0))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-a.intervalChanged:
				t.Stop()
			case <-t.C:
				waiting = false
			}
		}
	}
}

// step builds one report, spools it and wakes the sender.
func (c *collector) step(ctx context.Context, now time.Time, bg *sync.WaitGroup) {
	r, commit := c.build(ctx, now, bg)
	seq, err := c.a.nextSeq()
	if err != nil {
		c.a.log.Error("agent: report not spooled", "err", err)
		return
	}
	r.Seq = seq
	body, err := c.encode(r)
	if err != nil {
		c.a.log.Error("agent: report not spooled", "seq", seq, "err", err)
		return
	}
	dropped, err := c.a.spool.add(seq, body)
	if err != nil {
		c.a.log.Error("agent: report not spooled", "seq", seq, "err", err)
		return
	}
	if dropped > 0 {
		_, _, _, total := c.a.spool.stats()
		c.a.log.Warn("agent: spool full; dropped the oldest reports", "dropped", dropped, "dropped_total", total, "spool_max", c.a.cfg.SpoolMax)
	}
	commit()
	select {
	case c.a.wake <- struct{}{}:
	default:
	}
}

// encode validates and gzips a report, shrinking one that would be too
// big for the server: first the diffs go, then the package list (the server
// asks for it again).
func (c *collector) encode(r *wire.Report) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		body, raw, err := encodeReport(c.zw, r)
		if err != nil {
			return nil, err
		}
		if raw <= c.maxRaw && len(body) <= c.maxGzip {
			return body, nil
		}
		if attempt == 0 && slices.ContainsFunc(r.Files, func(f wire.FileChange) bool { return f.Diff != "" }) {
			for i := range r.Files {
				if r.Files[i].Diff != "" {
					r.Files[i].Diff, r.Files[i].Truncated = "", true
				}
			}
			continue
		}
		if r.Software != nil && len(r.Software.Packages) > 0 {
			r.Software.Packages = nil
			c.sentSoft = ""
			continue
		}
		return nil, errors.New("agent: report too large for the server even without diffs and packages")
	}
}

// build collects one report; commit is called once it is spooled.
func (c *collector) build(ctx context.Context, now time.Time, bg *sync.WaitGroup) (*wire.Report, func()) {
	a := c.a
	r := &wire.Report{SentAt: now.UTC().Truncate(time.Millisecond), AgentVersion: a.cfg.Version}
	var commits []func()

	if a.resendAll.Swap(false) {
		c.factsAt, c.lastFacts, c.sentSoft = time.Time{}, nil, ""
	}
	if c.factsAt.IsZero() || now.Sub(c.factsAt) >= a.cfg.FactsEvery {
		f, errs := collectFacts(a.cfg.host)
		c.warn("facts", errs)
		c.factsAt = now
		cmp := f
		cmp.UptimeSeconds = 0
		key, _ := json.Marshal(cmp)
		if string(key) != string(c.lastFacts) {
			r.Facts = &f
			commits = append(commits, func() { c.lastFacts = key })
		}
	}

	pkgs, hash, errs := c.inv.collect(ctx, now)
	c.warn("software", errs)
	r.Software = &wire.Software{Hash: hash}
	if hash != c.sentSoft || a.needSoftware.Load() {
		r.Software.Packages = pkgs
		commits = append(commits, func() {
			if r.Software.Packages != nil { // not shrunk away by encode
				c.sentSoft = hash
				a.needSoftware.Store(false)
			}
		})
	}

	select {
	case u := <-c.updates:
		r.Updates = u // nil when the check failed or apt is absent
		c.updatesRun = false
		if u == nil {
			c.updatesStamp = "" // retry at the next due time
		}
	default:
	}
	if a.cfg.UpdatesEvery > 0 && !c.updatesRun && (c.updatesAt.IsZero() || now.Sub(c.updatesAt) >= a.cfg.UpdatesEvery) {
		c.updatesAt = now
		// The answer can only change when the package lists or the
		// installed packages did; the simulation costs seconds of CPU as
		// an unprivileged user (apt cannot keep its cache), so skip it.
		if stamp := aptInputsStamp(); stamp == "" || stamp != c.updatesStamp {
			c.updatesRun = true
			bg.Go(func() {
				u, ok, err := checkUpdates(ctx, time.Now())
				if err != nil && ctx.Err() == nil {
					a.log.Warn("agent: update check failed", "err", err)
				}
				if !ok || err != nil {
					u = nil
				}
				c.updates <- u // buffered, and only one check runs at a time
			})
			c.updatesStamp = stamp
		}
	}

	samples, errs := c.sampler.sample(now)
	c.warn("metrics", errs)
	r.Metrics = samples

	if c.watcher != nil {
		changes, updates := c.watcher.check(now)
		r.Files = changes
		if len(updates) > 0 {
			commits = append(commits, func() {
				if err := c.watcher.commit(updates); err != nil {
					a.log.Warn("agent: saving watched file state failed", "err", err)
				}
			})
		}
	}
	return r, func() {
		for _, f := range commits {
			f()
		}
	}
}

// warn logs each distinct collection error once: an unprivileged agent
// meets the same unreadable file at every interval.
func (c *collector) warn(what string, errs []error) {
	for _, err := range errs {
		if err == nil || c.warned[err.Error()] {
			continue
		}
		c.warned[err.Error()] = true
		c.a.log.Warn("agent: could not read", "what", what, "err", err)
	}
}
