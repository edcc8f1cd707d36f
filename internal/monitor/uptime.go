package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// Uptime counts check results over a range. Degraded results count as up
// (the service answered, slowly or partly); down and unknown count as down.
type Uptime struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Total    int64     `json:"checks"`
	Up       int64     `json:"up"`
	Degraded int64     `json:"degraded"`
	Down     int64     `json:"down"`
	// Percent is nil when there were no checks in the range.
	Percent *float64 `json:"percent"`
}

func (u *Uptime) add(o Uptime) {
	u.Total += o.Total
	u.Up += o.Up
	u.Degraded += o.Degraded
	u.Down += o.Down
}

func (u *Uptime) finish() {
	if u.Total > 0 {
		p := float64(u.Up+u.Degraded) * 100 / float64(u.Total)
		u.Percent = &p
	}
}

// lastRolled is the end of the newest rolled-up bucket of a resolution, or
// the zero time when none is.
func (s *Service) lastRolled(ctx context.Context, res int64) (time.Time, error) {
	var last store.NullTime
	if err := s.db.R.QueryRowContext(ctx, `SELECT MAX(bucket) FROM monitor_rollups WHERE resolution = $1`, res).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("monitor: uptime: %w", err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return last.Time.UTC().Add(time.Duration(res) * time.Second), nil
}

// Uptime returns the uptime of monitor id over [from, to). from is rounded
// down to the hour: whole hours come from the hourly rollups (one indexed
// range read, fast over 90 days), and the part after the newest rollup from
// the raw results.
func (s *Service) Uptime(ctx context.Context, id int64, from, to time.Time) (Uptime, error) {
	from, to = from.UTC().Truncate(time.Hour), to.UTC()
	u := Uptime{From: from, To: to}
	rolled, err := s.lastRolled(ctx, resHour)
	if err != nil {
		return u, err
	}
	tail := from
	if rolled.After(from) {
		end := minTime(rolled, to)
		if err := s.db.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(n_total), 0), COALESCE(SUM(n_up), 0), COALESCE(SUM(n_degraded), 0), COALESCE(SUM(n_down), 0)
			FROM monitor_rollups WHERE monitor_id = $1 AND resolution = $2 AND bucket >= $3 AND bucket < $4`,
			id, resHour, from, end).Scan(&u.Total, &u.Up, &u.Degraded, &u.Down); err != nil {
			return u, fmt.Errorf("monitor: uptime: %w", err)
		}
		tail = end
	}
	if tail.Before(to) {
		raw, err := s.rawUptime(ctx, id, tail, to)
		if err != nil {
			return u, err
		}
		u.add(raw)
	}
	u.finish()
	return u, nil
}

func (s *Service) rawUptime(ctx context.Context, id int64, from, to time.Time) (Uptime, error) {
	var u Uptime
	rows, err := s.db.R.QueryContext(ctx, `SELECT status, COUNT(*) FROM check_results WHERE monitor_id = $1 AND at >= $2 AND at < $3 GROUP BY status`, id, from, to)
	if err != nil {
		return u, fmt.Errorf("monitor: uptime: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return u, fmt.Errorf("monitor: uptime: %w", err)
		}
		u.Total += n
		switch State(st) {
		case StateUp:
			u.Up += n
		case StateDegraded:
			u.Degraded += n
		default:
			u.Down += n
		}
	}
	return u, rows.Err()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// DailyUptime returns one Uptime per UTC day for the last `days` days,
// oldest first, for the uptime bar.
func (s *Service) DailyUptime(ctx context.Context, id int64, days int, now time.Time) ([]Uptime, error) {
	if days < 1 || days > 400 {
		days = 90
	}
	today := now.UTC().Truncate(24 * time.Hour)
	start := today.AddDate(0, 0, -(days - 1))
	out := make([]Uptime, days)
	for i := range out {
		out[i].From = start.AddDate(0, 0, i)
		out[i].To = out[i].From.AddDate(0, 0, 1)
	}
	dayIndex := func(t time.Time) int { return int(t.UTC().Sub(start) / (24 * time.Hour)) }
	rolled, err := s.lastRolled(ctx, resHour)
	if err != nil {
		return nil, err
	}
	tail := start
	if rolled.After(start) {
		rows, err := s.db.R.QueryContext(ctx, `SELECT bucket, n_total, n_up, n_degraded, n_down FROM monitor_rollups
			WHERE monitor_id = $1 AND resolution = $2 AND bucket >= $3 ORDER BY bucket`, id, resHour, start)
		if err != nil {
			return nil, fmt.Errorf("monitor: daily uptime: %w", err)
		}
		for rows.Next() {
			var b time.Time
			var r Uptime
			if err := rows.Scan(&b, &r.Total, &r.Up, &r.Degraded, &r.Down); err != nil {
				rows.Close()
				return nil, fmt.Errorf("monitor: daily uptime: %w", err)
			}
			if i := dayIndex(b); i >= 0 && i < days {
				out[i].add(r)
			}
		}
		rows.Close()
		tail = rolled
	}
	// The hours not rolled up yet, from raw results, bucketed by day in Go.
	rows, err := s.db.R.QueryContext(ctx, `SELECT at, status FROM check_results WHERE monitor_id = $1 AND at >= $2`, id, tail)
	if err != nil {
		return nil, fmt.Errorf("monitor: daily uptime: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var st string
		if err := rows.Scan(&at, &st); err != nil {
			return nil, fmt.Errorf("monitor: daily uptime: %w", err)
		}
		i := dayIndex(at)
		if i < 0 || i >= days {
			continue
		}
		out[i].Total++
		switch State(st) {
		case StateUp:
			out[i].Up++
		case StateDegraded:
			out[i].Degraded++
		default:
			out[i].Down++
		}
	}
	for i := range out {
		out[i].finish()
	}
	return out, rows.Err()
}

// Point is one bucket of a latency series.
type Point struct {
	At    time.Time `json:"at"`
	Count int64     `json:"checks"`
	Down  int64     `json:"down"`
	AvgMS float64   `json:"avg_ms"`
	P95MS float64   `json:"p95_ms"`
	MaxMS float64   `json:"max_ms"`
}

// Latency returns the latency series of a monitor over [from, to): minute
// buckets for ranges up to two days, hourly ones beyond.
func (s *Service) Latency(ctx context.Context, id int64, from, to time.Time) ([]Point, error) {
	res := int64(resMinute)
	if to.Sub(from) > 48*time.Hour {
		res = resHour
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT bucket, n_total, n_down, lat_avg_us, lat_p95_us, lat_max_us FROM monitor_rollups
		WHERE monitor_id = $1 AND resolution = $2 AND bucket >= $3 AND bucket < $4 ORDER BY bucket`, id, res, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("monitor: latency: %w", err)
	}
	defer rows.Close()
	out := []Point{}
	for rows.Next() {
		var p Point
		var avg, p95, mx int64
		if err := rows.Scan(&p.At, &p.Count, &p.Down, &avg, &p95, &mx); err != nil {
			return nil, fmt.Errorf("monitor: latency: %w", err)
		}
		if p.Count == 0 {
			continue // an empty-bucket marker
		}
		p.At, p.AvgMS, p.P95MS, p.MaxMS = p.At.UTC(), float64(avg)/1000, float64(p95)/1000, float64(mx)/1000
		out = append(out, p)
	}
	return out, rows.Err()
}

// Result is one stored check result.
type Result struct {
	At        time.Time `json:"at"`
	Status    string    `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
	Message   string    `json:"message"`
}

// Results returns a monitor's raw results, newest first, before a time.
func (s *Service) Results(ctx context.Context, id int64, before time.Time, limit int) ([]Result, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT at, status, latency_us, message FROM check_results
		WHERE monitor_id = $1 AND at < $2 ORDER BY at DESC LIMIT $3`, id, before.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("monitor: results: %w", err)
	}
	defer rows.Close()
	out := []Result{}
	for rows.Next() {
		var r Result
		var lat int64
		if err := rows.Scan(&r.At, &r.Status, &lat, &r.Message); err != nil {
			return nil, fmt.Errorf("monitor: results: %w", err)
		}
		r.At, r.LatencyMS = r.At.UTC(), float64(lat)/1000
		out = append(out, r)
	}
	return out, rows.Err()
}
