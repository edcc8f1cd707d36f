package monitor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/store"
)

// PingKind says what a heartbeat ping reports.
type PingKind string

// The kinds of ping: /ping/KEY (success), /ping/KEY/start, /ping/KEY/fail,
// and /ping/KEY/CODE (success when 0, fail otherwise).
const (
	PingSuccess PingKind = "success"
	PingStart   PingKind = "start"
	PingFail    PingKind = "fail"
)

// Ping is one received heartbeat ping.
type Ping struct {
	At         time.Time `json:"at"`
	Kind       PingKind  `json:"kind"`
	ExitCode   *int      `json:"exit_code,omitempty"`
	RunID      string    `json:"rid,omitempty"`
	Body       string    `json:"body,omitempty"`
	SourceAddr string    `json:"source_addr,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
}

// ErrUnknownPingKey means no heartbeat monitor has the key.
var ErrUnknownPingKey = errors.New("monitor: unknown ping key")

// maxOpenRuns bounds the started-but-unfinished runs kept per monitor.
const maxOpenRuns = 100

// beatBook is the in-memory state of every heartbeat monitor.
type beatBook struct {
	mu sync.Mutex
	m  map[int64]*beatState
}

func newBeatBook() *beatBook { return &beatBook{m: map[int64]*beatState{}} }

// apply folds a ping into a monitor's state.
func (b *beatBook) apply(id int64, p Ping) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.m[id]
	if st == nil {
		st = &beatState{open: map[string]time.Time{}}
		b.m[id] = st
	}
	switch p.Kind {
	case PingStart:
		if len(st.open) >= maxOpenRuns {
			var oldest string
			for rid, t := range st.open {
				if oldest == "" || t.Before(st.open[oldest]) {
					oldest = rid
				}
			}
			delete(st.open, oldest)
		}
		st.open[p.RunID] = p.At
	case PingSuccess, PingFail:
		delete(st.open, p.RunID)
		if p.Kind == PingSuccess {
			st.lastSuccess = p.At
		} else {
			st.lastFail, st.failCode = p.At, p.ExitCode
		}
	}
}

func (b *beatBook) snapshot(id int64) beatState {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.m[id]
	if st == nil {
		return beatState{}
	}
	c := *st
	c.open = make(map[string]time.Time, len(st.open))
	for k, v := range st.open {
		c.open[k] = v
	}
	return c
}

func (s *Service) evaluateBeat(m Monitor, hb *Heartbeat) probe.Result {
	st := s.beats.snapshot(m.ID)
	return hb.evaluate(&st, m.CreatedAt, s.now().UTC())
}

// ensurePingKey gives a heartbeat monitor its ping key once; it never
// changes afterwards, so a job's URL survives edits of the monitor.
func ensurePingKey(ctx context.Context, tx *sql.Tx, m Monitor) error {
	if m.Type != TypeHeartbeat {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO heartbeat_keys (monitor_id, ping_key) VALUES ($1, $2) ON CONFLICT (monitor_id) DO NOTHING`,
		m.ID, auth.RandomSecret(16))
	if err != nil {
		return fmt.Errorf("monitor: ping key: %w", err)
	}
	return nil
}

// PingKey returns a heartbeat monitor's ping key.
func (s *Service) PingKey(ctx context.Context, id int64) (string, error) {
	var key string
	if err := s.db.R.QueryRowContext(ctx, `SELECT ping_key FROM heartbeat_keys WHERE monitor_id = $1`, id).Scan(&key); err != nil {
		return "", fmt.Errorf("monitor %d ping key: %w", id, store.MapError(err))
	}
	return key, nil
}

// RecordPing stores a ping for the monitor with key and re-evaluates the
// monitor at once, so a recovered job turns it up without waiting for the
// next turn. It returns only after the ping is committed.
func (s *Service) RecordPing(ctx context.Context, key string, p Ping) error {
	if key == "" || len(key) > 64 {
		return ErrUnknownPingKey
	}
	var id int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT monitor_id FROM heartbeat_keys WHERE ping_key = $1`, key).Scan(&id); err != nil {
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return ErrUnknownPingKey
		}
		return fmt.Errorf("monitor: ping: %w", err)
	}
	p.At = s.now().UTC()
	p.RunID, p.Body = clip(p.RunID, 64), clip(p.Body, 10_000)
	p.UserAgent, p.SourceAddr = clip(p.UserAgent, 300), clip(p.SourceAddr, 64)
	var code any
	if p.ExitCode != nil {
		code = int64(*p.ExitCode)
	}
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO heartbeat_pings (monitor_id, at, kind, exit_code, rid, body, source_addr, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, p.At, string(p.Kind), code, p.RunID, p.Body, p.SourceAddr, p.UserAgent); err != nil {
		return fmt.Errorf("monitor: ping: %w", store.MapError(err))
	}
	s.beats.apply(id, p)
	if rt := s.sched.get(id); rt != nil {
		rt.mu.Lock()
		m, check := rt.mon, rt.check
		rt.mu.Unlock()
		if hb, ok := check.(*Heartbeat); ok && !m.Paused {
			s.record(ctx, rt, hb.evaluate(ptr(s.beats.snapshot(id)), m.CreatedAt, s.now().UTC()), true)
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// Pings returns a heartbeat monitor's latest pings, newest first.
func (s *Service) Pings(ctx context.Context, id int64, limit int) ([]Ping, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT at, kind, exit_code, rid, body, source_addr, user_agent FROM heartbeat_pings
		WHERE monitor_id = $1 ORDER BY id DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("monitor: pings: %w", err)
	}
	defer rows.Close()
	out := []Ping{}
	for rows.Next() {
		var p Ping
		var kind string
		var code sql.NullInt64
		if err := rows.Scan(&p.At, &kind, &code, &p.RunID, &p.Body, &p.SourceAddr, &p.UserAgent); err != nil {
			return nil, fmt.Errorf("monitor: pings: %w", err)
		}
		p.At, p.Kind = p.At.UTC(), PingKind(kind)
		if code.Valid {
			c := int(code.Int64)
			p.ExitCode = &c
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// loadBeats rebuilds the heartbeat state from each monitor's recent pings.
func (s *Service) loadBeats(ctx context.Context) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT monitor_id FROM heartbeat_keys`)
	if err != nil {
		return fmt.Errorf("monitor: load heartbeats: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("monitor: load heartbeats: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		ps, err := s.Pings(ctx, id, 200)
		if err != nil {
			return err
		}
		for i := len(ps) - 1; i >= 0; i-- {
			s.beats.apply(id, ps[i])
		}
	}
	return nil
}
