package monitor

import (
	"context"
	"fmt"
	"time"
)

// MetricPoint is one stored value of a check metric.
type MetricPoint struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// MetricSeries is the values of one named metric of a monitor.
type MetricSeries struct {
	Name   string        `json:"name"`
	Unit   string        `json:"unit"`
	Points []MetricPoint `json:"points"`
}

// maxSeriesPoints caps one series; longer ranges are thinned evenly.
const maxSeriesPoints = 2000

// Metrics returns a monitor's metric series over [from, to), each thinned
// to at most 2000 points; name "" returns every metric.
func (s *Service) Metrics(ctx context.Context, id int64, name string, from, to time.Time) ([]MetricSeries, error) {
	q := `SELECT name, unit, at, value FROM check_metrics WHERE monitor_id = $1 AND at >= $2 AND at < $3`
	args := []any{id, from.UTC(), to.UTC()}
	if name != "" {
		q += ` AND name = $4`
		args = append(args, name)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY name, at`, args...)
	if err != nil {
		return nil, fmt.Errorf("monitor: metrics: %w", err)
	}
	defer rows.Close()
	out := []MetricSeries{}
	for rows.Next() {
		var n, unit string
		var p MetricPoint
		if err := rows.Scan(&n, &unit, &p.At, &p.Value); err != nil {
			return nil, fmt.Errorf("monitor: metrics: %w", err)
		}
		p.At = p.At.UTC()
		if len(out) == 0 || out[len(out)-1].Name != n {
			out = append(out, MetricSeries{Name: n, Unit: unit})
		}
		cur := &out[len(out)-1]
		cur.Points = append(cur.Points, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Points = thin(out[i].Points, maxSeriesPoints)
	}
	return out, nil
}

// thin keeps at most n points, evenly spaced, always keeping the last.
func thin(ps []MetricPoint, n int) []MetricPoint {
	if len(ps) <= n {
		return ps
	}
	out := make([]MetricPoint, 0, n)
	step := float64(len(ps)-1) / float64(n-1)
	for i := range n {
		out = append(out, ps[int(float64(i)*step+0.5)])
	}
	return out
}
