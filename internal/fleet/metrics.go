package fleet

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Rollup resolutions in seconds.
const (
	resMinute = 60
	resHour   = 3600
)

// rollupLag is how long after a minute ends it is rolled up; reports are
// built every 30 s and committed within a moment.
const rollupLag = 90 * time.Second

// prepareSamples resolves the series ids of a report's samples (creating
// new series outside the batch, so a rolled-back batch leaves no cached id
// pointing nowhere), drops duplicates within the report and notes the
// rolled-up buckets late samples fall in.
func (s *Service) prepareSamples(ctx context.Context, w *reportWrite, samples []wire.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	ids, err := s.seriesIDs(ctx, w.agent, samples)
	if err != nil {
		return err
	}
	type pk struct {
		id int64
		t  int64
	}
	seen := make(map[pk]bool, len(samples))
	rolled := s.rolled.Load()
	dirty := map[[2]int64]bool{}
	for i, sm := range samples {
		id := ids[i]
		if seen[pk{id, sm.T}] {
			continue
		}
		seen[pk{id, sm.T}] = true
		w.samples = append(w.samples, []any{id, sm.T, sm.Value})
		if rolled >= 0 && sm.T < rolled {
			dirty[[2]int64{resMinute, sm.T - sm.T%resMinute}] = true
			dirty[[2]int64{resHour, sm.T - sm.T%resHour}] = true
		}
	}
	for d := range dirty {
		w.dirty = append(w.dirty, d)
	}
	return nil
}

// seriesIDs returns the series id of each sample, creating the agent's
// new series in one transaction (one commit, not one per series: on
// PostgreSQL each commit waits for the WAL flush).
func (s *Service) seriesIDs(ctx context.Context, agent int64, samples []wire.Sample) ([]int64, error) {
	ids := make([]int64, len(samples))
	var missing [][]any
	s.mu.Lock()
	for i, sm := range samples {
		id, ok := s.series[seriesKey{agent, sm.Name, sm.Key}]
		if !ok {
			missing = append(missing, []any{agent, sm.Name, sm.Key})
		}
		ids[i] = id
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return ids, nil
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertIgnore(ctx, tx, "agent_series", "agent_id, name, key", 3, missing); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, name, key FROM agent_series WHERE agent_id = $1`, agent)
		if err != nil {
			return err
		}
		defer rows.Close()
		found := map[seriesKey]int64{}
		for rows.Next() {
			var id int64
			k := seriesKey{agent: agent}
			if err := rows.Scan(&id, &k.name, &k.key); err != nil {
				return err
			}
			found[k] = id
		}
		if err := rows.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		for k, id := range found {
			s.series[k] = id
		}
		s.mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: create series: %w", store.MapError(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sm := range samples {
		ids[i] = s.series[seriesKey{agent, sm.Name, sm.Key}]
	}
	return ids, nil
}

// writeSamples inserts a report's samples; a sample already stored (same
// series and second) is kept as it was.
func (s *Service) writeSamples(ctx context.Context, tx *sql.Tx, w *reportWrite) error {
	if err := s.insertIgnore(ctx, tx, "agent_samples", "series_id, t, value", 3, w.samples); err != nil {
		return fmt.Errorf("fleet: write samples: %w", err)
	}
	for _, d := range w.dirty {
		if _, err := tx.ExecContext(ctx, `INSERT INTO agent_rollup_dirty (resolution, bucket) VALUES ($1, $2) ON CONFLICT DO NOTHING`, d[0], d[1]); err != nil {
			return fmt.Errorf("fleet: mark rollup: %w", err)
		}
	}
	return nil
}

// insertIgnore inserts rows with multi-row VALUES, skipping rows whose key
// exists. Table and columns come from code.
func (s *Service) insertIgnore(ctx context.Context, tx *sql.Tx, table, cols string, width int, rows [][]any) error {
	const chunk = 2000
	for len(rows) > 0 {
		n := min(len(rows), chunk)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		args := make([]any, 0, n*width)
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for j := range width {
				if j > 0 {
					b.WriteByte(',')
				}
				if s.db.Dialect == store.SQLite {
					b.WriteByte('?')
				} else {
					fmt.Fprintf(&b, "$%d", len(args)+j+1)
				}
			}
			b.WriteByte(')')
			args = append(args, r...)
		}
		b.WriteString(" ON CONFLICT DO NOTHING")
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// Point is one value of a series at a time; for rollups Value is the
// bucket's average and Min and Max its extremes.
type Point struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
}

// Series is one metric of an agent.
type Series struct {
	Name   string  `json:"name"`
	Key    string  `json:"key,omitempty"`
	Points []Point `json:"points"`
}

// Label is the series as people write it: disk.used_pct{/}.
func (s Series) Label() string {
	if s.Key == "" {
		return s.Name
	}
	return s.Name + "{" + s.Key + "}"
}

// Resolution picks what a chart over [from, to) reads: raw samples up to
// 6 hours, minute rollups up to 14 days, hour rollups beyond.
func Resolution(from, to time.Time) int64 {
	switch d := to.Sub(from); {
	case d <= 6*time.Hour:
		return 0
	case d <= 14*24*time.Hour:
		return resMinute
	}
	return resHour
}

// Metrics returns an agent's series over [from, to] (rollup buckets
// starting in [from, to)) at the resolution
// Resolution picks, ordered by name and key. name "" returns all.
func (s *Service) Metrics(ctx context.Context, agent int64, name string, from, to time.Time) ([]Series, error) {
	res := Resolution(from, to)
	var q string
	if res == 0 {
		q = `SELECT s.name, s.key, x.t, x.value, x.value, x.value FROM agent_series s JOIN agent_samples x ON x.series_id = s.id
			WHERE s.agent_id = $1 AND x.t >= $2 AND x.t <= $3`
	} else {
		q = fmt.Sprintf(`SELECT s.name, s.key, x.bucket, x.avg_value, x.min_value, x.max_value FROM agent_series s JOIN agent_rollups x ON x.series_id = s.id
			WHERE s.agent_id = $1 AND x.bucket >= $2 AND x.bucket < $3 AND x.resolution = %d`, res)
	}
	args := []any{agent, from.Unix(), to.Unix()}
	if name != "" {
		q += ` AND s.name = $4`
		args = append(args, name)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY s.name, s.key, 3`, args...)
	if err != nil {
		return nil, fmt.Errorf("fleet: metrics: %w", err)
	}
	defer rows.Close()
	out := []Series{}
	for rows.Next() {
		var n, k string
		var t int64
		var p Point
		if err := rows.Scan(&n, &k, &t, &p.Value, &p.Min, &p.Max); err != nil {
			return nil, fmt.Errorf("fleet: metrics: %w", err)
		}
		p.At = time.Unix(t, 0).UTC()
		if len(out) == 0 || out[len(out)-1].Name != n || out[len(out)-1].Key != k {
			out = append(out, Series{Name: n, Key: k})
		}
		cur := &out[len(out)-1]
		cur.Points = append(cur.Points, p)
	}
	return out, rows.Err()
}

// maintain rolls metrics up and applies retention until ctx ends.
func (s *Service) maintain(ctx context.Context) {
	tick := time.NewTicker(20 * time.Second)
	defer tick.Stop()
	var lastRetention time.Time
	for {
		if err := s.RollUp(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("agent metrics rollup", "err", err)
		}
		if s.now().Sub(lastRetention) > time.Hour {
			if err := s.applyRetention(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("agent metrics retention", "err", err)
			}
			lastRetention = s.now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RollUp computes minute rollups from raw samples and hour rollups from
// minutes, for every bucket that has ended, then redoes the buckets late
// samples marked dirty. It is idempotent; after downtime it catches up at
// most a day of minutes per call.
func (s *Service) RollUp(ctx context.Context) error {
	now := s.now().Add(-rollupLag).Unix()
	for _, res := range []int64{resMinute, resHour} {
		next, err := s.nextBucket(ctx, res)
		if err != nil {
			return err
		}
		if res == resMinute && next >= 0 {
			s.rolled.Store(next)
		}
		if next < 0 {
			continue
		}
		for n := 0; n < 1440 && next+res <= now; n++ {
			if err := s.rollBucket(ctx, res, next, true); err != nil {
				return err
			}
			next += res
			if res == resMinute {
				s.rolled.Store(next)
			}
		}
	}
	return s.redoDirty(ctx)
}

// nextBucket is the first bucket of res not rolled up: from the state
// table, else the bucket of the oldest data; -1 when there is no data.
func (s *Service) nextBucket(ctx context.Context, res int64) (int64, error) {
	var next int64
	err := s.db.R.QueryRowContext(ctx, `SELECT next_bucket FROM agent_rollup_state WHERE resolution = $1`, res).Scan(&next)
	if err == nil {
		return next, nil
	}
	if err != sql.ErrNoRows {
		return 0, fmt.Errorf("fleet: rollup state: %w", err)
	}
	var first sql.NullInt64
	if err := s.db.R.QueryRowContext(ctx, `SELECT MIN(t) FROM agent_samples`).Scan(&first); err != nil {
		return 0, fmt.Errorf("fleet: rollup state: %w", err)
	}
	if !first.Valid {
		return -1, nil
	}
	return first.Int64 - first.Int64%res, nil
}

// rollBucket (re)computes one bucket of res for every series and, when
// advance is set, moves the state past it, in one transaction.
func (s *Service) rollBucket(ctx context.Context, res, bucket int64, advance bool) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_rollups WHERE resolution = $1 AND bucket = $2`, res, bucket); err != nil {
			return fmt.Errorf("fleet: rollup: %w", err)
		}
		var q string
		if res == resMinute {
			q = `INSERT INTO agent_rollups (series_id, resolution, bucket, n, min_value, avg_value, max_value)
				SELECT series_id, $1, $2, COUNT(*), MIN(value), AVG(value), MAX(value) FROM agent_samples WHERE t >= $2 AND t < $3 GROUP BY series_id`
		} else {
			q = `INSERT INTO agent_rollups (series_id, resolution, bucket, n, min_value, avg_value, max_value)
				SELECT series_id, $1, $2, SUM(n), MIN(min_value), SUM(avg_value * n) / SUM(n), MAX(max_value) FROM agent_rollups
				WHERE resolution = 60 AND bucket >= $2 AND bucket < $3 GROUP BY series_id`
		}
		if _, err := tx.ExecContext(ctx, q, res, bucket, bucket+res); err != nil {
			return fmt.Errorf("fleet: rollup: %w", err)
		}
		if !advance {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_rollup_state (resolution, next_bucket) VALUES ($1, $2)
			ON CONFLICT (resolution) DO UPDATE SET next_bucket = excluded.next_bucket`, res, bucket+res)
		if err != nil {
			return fmt.Errorf("fleet: rollup state: %w", err)
		}
		return nil
	})
}

// redoDirty recomputes the buckets late samples arrived in, minutes
// before hours so an hour sees its corrected minutes.
func (s *Service) redoDirty(ctx context.Context) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT resolution, bucket FROM agent_rollup_dirty ORDER BY resolution, bucket LIMIT 5000`)
	if err != nil {
		return fmt.Errorf("fleet: dirty rollups: %w", err)
	}
	var todo [][2]int64
	for rows.Next() {
		var d [2]int64
		if err := rows.Scan(&d[0], &d[1]); err != nil {
			rows.Close()
			return fmt.Errorf("fleet: dirty rollups: %w", err)
		}
		todo = append(todo, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range todo {
		if err := s.rollBucket(ctx, d[0], d[1], false); err != nil {
			return err
		}
		if _, err := s.db.W.ExecContext(ctx, `DELETE FROM agent_rollup_dirty WHERE resolution = $1 AND bucket = $2`, d[0], d[1]); err != nil {
			return fmt.Errorf("fleet: dirty rollups: %w", err)
		}
	}
	return nil
}

// applyRetention deletes samples and rollups past their retention, in
// chunks so the writer is never held long.
func (s *Service) applyRetention(ctx context.Context) error {
	now := s.now()
	for {
		res, err := s.db.W.ExecContext(ctx, `DELETE FROM agent_samples WHERE (series_id, t) IN (SELECT series_id, t FROM agent_samples WHERE t < $1 LIMIT 5000)`,
			now.Add(-s.opts.RawRetention).Unix())
		if err != nil {
			return fmt.Errorf("fleet: retention: %w", err)
		}
		if n, _ := res.RowsAffected(); n < 5000 {
			break
		}
	}
	// Inventories no host has any more.
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM agent_software_sets WHERE created_at < $1
		AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.software_hash = agent_software_sets.hash)`, now.Add(-time.Hour)); err != nil {
		return fmt.Errorf("fleet: retention: %w", err)
	}
	for _, r := range []struct {
		res int64
		cut time.Duration
	}{{resMinute, s.opts.MinuteRetention}, {resHour, s.opts.HourRetention}} {
		if _, err := s.db.W.ExecContext(ctx, `DELETE FROM agent_rollups WHERE resolution = $1 AND bucket < $2`, r.res, now.Add(-r.cut).Unix()); err != nil {
			return fmt.Errorf("fleet: retention: %w", err)
		}
	}
	return nil
}
