package monitor

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// Rollup resolutions in seconds, as stored in monitor_rollups.resolution.
const (
	resMinute = 60
	resHour   = 3600
)

// rollupLag is how long after a bucket ends it is rolled up: results are
// stamped when their check finishes and reach the database within a batch,
// so a minute is complete well within this.
const rollupLag = 30 * time.Second

// maintain rolls results up and applies retention until ctx ends.
func (s *Service) maintain(ctx context.Context) {
	tick := time.NewTicker(20 * time.Second)
	defer tick.Stop()
	lastRetention := time.Time{}
	for {
		if err := s.RollUp(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("monitor rollup", "err", err)
		}
		if s.now().Sub(lastRetention) > time.Hour {
			if err := s.applyRetention(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("monitor retention", "err", err)
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

// RollUp computes the minute and hour rollups of every bucket that has ended
// and is not rolled up yet. It is idempotent and safe to run at any time;
// after downtime it catches up at most 24 hours of minutes per call.
func (s *Service) RollUp(ctx context.Context) error {
	now := s.now().UTC()
	for _, res := range []int64{resMinute, resHour} {
		step := time.Duration(res) * time.Second
		next, err := s.nextBucket(ctx, res)
		if err != nil || next.IsZero() {
			return err
		}
		for n := 0; n < 1440 && !next.Add(step+rollupLag).After(now); n++ {
			if err := s.rollBucket(ctx, res, next); err != nil {
				return err
			}
			next = next.Add(step)
		}
	}
	return nil
}

// nextBucket is the first bucket of a resolution not yet rolled up: the one
// after the newest rollup, or the bucket of the oldest result.
func (s *Service) nextBucket(ctx context.Context, res int64) (time.Time, error) {
	step := time.Duration(res) * time.Second
	var last store.NullTime
	if err := s.db.R.QueryRowContext(ctx, `SELECT MAX(bucket) FROM monitor_rollups WHERE resolution = $1`, res).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("monitor: rollup state: %w", err)
	}
	if last.Valid {
		return last.Time.UTC().Add(step), nil
	}
	var first store.NullTime
	if err := s.db.R.QueryRowContext(ctx, `SELECT MIN(at) FROM check_results`).Scan(&first); err != nil {
		return time.Time{}, fmt.Errorf("monitor: rollup state: %w", err)
	}
	if !first.Valid {
		return time.Time{}, nil
	}
	return first.Time.UTC().Truncate(step), nil
}

type agg struct {
	up, degraded, down int64
	lat                []int64
}

// rollBucket aggregates the raw results of one bucket per monitor. Reading
// the latencies gives exact percentiles; a bucket with no results still gets
// a marker row (monitor 0 is never used) so the next run moves on.
func (s *Service) rollBucket(ctx context.Context, res int64, bucket time.Time) error {
	end := bucket.Add(time.Duration(res) * time.Second)
	rows, err := s.db.R.QueryContext(ctx, `SELECT monitor_id, status, latency_us FROM check_results WHERE at >= $1 AND at < $2`, bucket, end)
	if err != nil {
		return fmt.Errorf("monitor: rollup read: %w", err)
	}
	aggs := map[int64]*agg{}
	for rows.Next() {
		var id, lat int64
		var status string
		if err := rows.Scan(&id, &status, &lat); err != nil {
			rows.Close()
			return fmt.Errorf("monitor: rollup read: %w", err)
		}
		a := aggs[id]
		if a == nil {
			a = &agg{}
			aggs[id] = a
		}
		switch State(status) {
		case StateUp:
			a.up++
		case StateDegraded:
			a.degraded++
		default:
			a.down++
		}
		a.lat = append(a.lat, lat)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("monitor: rollup read: %w", err)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var vals [][]any
		for id, a := range aggs {
			slices.Sort(a.lat)
			var sum int64
			for _, l := range a.lat {
				sum += l
			}
			n := int64(len(a.lat))
			vals = append(vals, []any{id, res, bucket, n, a.up, a.degraded, a.down,
				a.lat[0], sum / n, a.lat[n-1], pct(a.lat, 50), pct(a.lat, 95), pct(a.lat, 99)})
		}
		// Delete first so a re-run (after a crash between buckets) replaces.
		if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_rollups WHERE resolution = $1 AND bucket = $2`, res, bucket); err != nil {
			return fmt.Errorf("monitor: rollup write: %w", err)
		}
		if len(vals) == 0 {
			return s.writeMarker(ctx, tx, res, bucket)
		}
		return s.db.InsertMany(ctx, tx, "monitor_rollups", []string{"monitor_id", "resolution", "bucket", "n_total", "n_up", "n_degraded", "n_down",
			"lat_min_us", "lat_avg_us", "lat_max_us", "lat_p50_us", "lat_p95_us", "lat_p99_us"}, vals)
	})
}

// writeMarker records that an empty bucket was processed. The rollup table
// references monitors, so the marker borrows the lowest monitor id with zero
// counts; it adds nothing to any sum. With no monitors at all, there is
// nothing to mark and nothing to roll up.
func (s *Service) writeMarker(ctx context.Context, tx *sql.Tx, res int64, bucket time.Time) error {
	var id sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MIN(id) FROM monitors`).Scan(&id); err != nil {
		return fmt.Errorf("monitor: rollup marker: %w", err)
	}
	if !id.Valid {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO monitor_rollups (monitor_id, resolution, bucket, n_total, n_up, n_degraded, n_down,
		lat_min_us, lat_avg_us, lat_max_us, lat_p50_us, lat_p95_us, lat_p99_us) VALUES ($1, $2, $3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)`, id.Int64, res, bucket)
	if err != nil {
		return fmt.Errorf("monitor: rollup marker: %w", err)
	}
	return nil
}

// pct is the nearest-rank percentile of sorted values.
func pct(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// applyRetention deletes raw results and rollups past their retention, in
// chunks so the writer is never held for long.
func (s *Service) applyRetention(ctx context.Context) error {
	now := s.now().UTC()
	for _, d := range []struct {
		q   string
		cut time.Time
	}{
		{`DELETE FROM check_results WHERE id IN (SELECT id FROM check_results WHERE at < $1 LIMIT 5000)`, now.Add(-s.opts.RawRetention)},
		{`DELETE FROM monitor_events WHERE id IN (SELECT id FROM monitor_events WHERE at < $1 LIMIT 5000)`, now.Add(-s.opts.HourRetention)},
		{`DELETE FROM heartbeat_pings WHERE id IN (SELECT id FROM heartbeat_pings WHERE at < $1 LIMIT 5000)`, now.Add(-s.opts.RawRetention)},
		{`DELETE FROM check_metrics WHERE at < $1`, now.Add(-s.opts.RawRetention)},
	} {
		for {
			res, err := s.db.W.ExecContext(ctx, d.q, d.cut)
			if err != nil {
				return fmt.Errorf("monitor: retention: %w", err)
			}
			if n, _ := res.RowsAffected(); n < 5000 {
				break
			}
		}
	}
	for _, r := range []struct {
		res int64
		cut time.Time
	}{{resMinute, now.Add(-s.opts.MinuteRetention)}, {resHour, now.Add(-s.opts.HourRetention)}} {
		if _, err := s.db.W.ExecContext(ctx, `DELETE FROM monitor_rollups WHERE resolution = $1 AND bucket < $2`, r.res, r.cut); err != nil {
			return fmt.Errorf("monitor: retention: %w", err)
		}
	}
	return nil
}
