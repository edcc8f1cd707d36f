package fleet

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// CheckType is the monitor check type of agent metric thresholds.
const CheckType = "agent_metric"

// MetricCheckSettings are an agent_metric monitor's settings: the check is
// down when metric{key} of host compares true against threshold for the
// whole of For (0: the latest sample decides), and down when the agent
// sent no sample of it within For (at least 2 minutes).
type MetricCheckSettings struct {
	Host       string `json:"host"`
	Metric     string `json:"metric"`
	Key        string `json:"key,omitempty"`
	Comparison string `json:"comparison"`
	Threshold  Number `json:"threshold"`
	For        string `json:"for,omitempty"`
}

// Number is a threshold: a JSON number, or a string holding one (as the
// monitor form sends it).
type Number float64

// UnmarshalJSON reads 90 or "90".
func (n *Number) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return valid.Errorf("threshold", "must be a number")
	}
	*n = Number(f)
	return nil
}

// Comparisons an agent_metric check may use.
var Comparisons = []string{">", ">=", "<", "<="}

// MetricCheck is a configured agent_metric check.
type MetricCheck struct {
	db       *store.DB
	now      func() time.Time
	settings MetricCheckSettings
	dur      time.Duration
}

var _ probe.Check = (*MetricCheck)(nil)

// Checks wraps a check factory (probe.New in the app) so that it also
// builds agent_metric checks reading db.
func Checks(db *store.DB, next func(string, json.RawMessage) (probe.Check, error)) func(string, json.RawMessage) (probe.Check, error) {
	return func(typ string, raw json.RawMessage) (probe.Check, error) {
		if typ == CheckType {
			c, err := NewMetricCheck(db, raw, time.Now)
			if err != nil {
				return nil, err
			}
			return c, nil
		}
		return next(typ, raw)
	}
}

// NewMetricCheck validates settings and returns the check.
func NewMetricCheck(db *store.DB, raw json.RawMessage, now func() time.Time) (*MetricCheck, error) {
	var s MetricCheckSettings
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		if ve, ok := valid.As(err); ok {
			return nil, ve
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, valid.Errorf(te.Field, "must be a %s", te.Type.Kind())
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, valid.Errorf(strings.Trim(f, `"`), "is not a setting of agent_metric (host, metric, key, comparison, threshold, for)")
		}
		return nil, valid.Errorf("settings", "agent_metric settings must be a JSON object")
	}
	s.Host, s.Metric, s.Key, s.Comparison, s.For = strings.TrimSpace(s.Host), strings.TrimSpace(s.Metric), strings.TrimSpace(s.Key),
		strings.TrimSpace(s.Comparison), strings.TrimSpace(s.For)
	if err := valid.Text("host", s.Host, true, 253, false); err != nil {
		return nil, err
	}
	if err := valid.Text("metric", s.Metric, true, 64, false); err != nil {
		return nil, err
	}
	if err := valid.Text("key", s.Key, false, 256, false); err != nil {
		return nil, err
	}
	if s.Comparison == "" {
		s.Comparison = ">"
	}
	if !slices.Contains(Comparisons, s.Comparison) {
		return nil, valid.Errorf("comparison", "must be one of > >= < <=")
	}
	c := &MetricCheck{db: db, now: now, settings: s}
	if s.For != "" {
		d, err := time.ParseDuration(s.For)
		if err != nil || d < 0 || d > 24*time.Hour {
			return nil, valid.Errorf("for", "must be a duration from 0s to 24h, such as 5m")
		}
		c.dur = d
	}
	return c, nil
}

// Settings returns the check's settings.
func (c *MetricCheck) Settings() MetricCheckSettings { return c.settings }

// Target names what is watched: web1 disk.used_pct{/} > 90 for 5m.
func (c *MetricCheck) Target() string {
	s := c.settings
	m := s.Metric
	if s.Key != "" {
		m += "{" + s.Key + "}"
	}
	t := fmt.Sprintf("%s %s %s %s", s.Host, m, s.Comparison, strconv.FormatFloat(float64(s.Threshold), 'g', -1, 64))
	if c.dur > 0 {
		t += " for " + c.dur.String()
	}
	return t
}

func (c *MetricCheck) breaches(v float64) bool {
	t := float64(c.settings.Threshold)
	switch c.settings.Comparison {
	case ">":
		return v > t
	case ">=":
		return v >= t
	case "<":
		return v < t
	}
	return v <= t
}

// Probe reads the agent's samples: down with a clear message when there
// are none in the window, down when every sample for the duration
// breaches, degraded while a breach is younger than the duration, up
// otherwise.
func (c *MetricCheck) Probe(ctx context.Context) probe.Result {
	start := time.Now()
	res := c.probe(ctx)
	res.Latency = time.Since(start)
	return res
}

func (c *MetricCheck) probe(ctx context.Context) probe.Result {
	s := c.settings
	now := c.now()
	window := max(c.dur, 2*time.Minute)
	var series int64
	var host string
	err := c.db.R.QueryRowContext(ctx, `SELECT s.id, a.hostname FROM agent_series s JOIN agents a ON a.id = s.agent_id
		WHERE (LOWER(a.hostname) = LOWER($1) OR a.id = $2) AND a.revoked_at IS NULL AND s.name = $3 AND s.key = $4
		ORDER BY a.last_seen DESC LIMIT 1`, s.Host, hostID(s.Host), s.Metric, s.Key).Scan(&series, &host)
	if errors.Is(err, sql.ErrNoRows) {
		return probe.Result{Status: probe.StatusDown, Message: fmt.Sprintf("no agent %q reports %s", s.Host, c.metricLabel())}
	}
	if err != nil {
		return probe.Result{Status: probe.StatusUnknown, Message: "cannot read agent metrics: " + err.Error()}
	}
	// Read back further than the window to find where a breach began.
	from := now.Add(-window - 10*time.Minute).Unix()
	rows, err := c.db.R.QueryContext(ctx, `SELECT t, value FROM agent_samples WHERE series_id = $1 AND t >= $2 AND t <= $3 ORDER BY t`, series, from, now.Unix())
	if err != nil {
		return probe.Result{Status: probe.StatusUnknown, Message: "cannot read agent metrics: " + err.Error()}
	}
	type pt struct {
		t int64
		v float64
	}
	var pts []pt
	for rows.Next() {
		var p pt
		if err := rows.Scan(&p.t, &p.v); err != nil {
			rows.Close()
			return probe.Result{Status: probe.StatusUnknown, Message: "cannot read agent metrics: " + err.Error()}
		}
		pts = append(pts, p)
	}
	rows.Close()
	if len(pts) == 0 || pts[len(pts)-1].t < now.Add(-window).Unix() {
		return probe.Result{Status: probe.StatusDown, Message: fmt.Sprintf("no data: %s sent no %s for %s", host, c.metricLabel(), shortDur(window))}
	}
	last := pts[len(pts)-1]
	metrics := []probe.Metric{{Name: s.Metric, Value: last.v}}
	val := strconv.FormatFloat(last.v, 'g', 6, 64)
	thr := strconv.FormatFloat(float64(s.Threshold), 'g', -1, 64)
	if !c.breaches(last.v) {
		return probe.Result{Status: probe.StatusUp, Message: fmt.Sprintf("%s = %s (alert when %s %s)", c.metricLabel(), val, s.Comparison, thr), Metrics: metrics}
	}
	since := last.t
	for i := len(pts) - 1; i >= 0 && c.breaches(pts[i].v); i-- {
		since = pts[i].t
	}
	held := time.Duration(last.t-since) * time.Second
	if held >= c.dur {
		return probe.Result{Status: probe.StatusDown, Message: fmt.Sprintf("%s = %s %s %s for %s", c.metricLabel(), val, s.Comparison, thr, shortDur(held)), Metrics: metrics}
	}
	return probe.Result{Status: probe.StatusDegraded, Metrics: metrics,
		Message: fmt.Sprintf("%s = %s %s %s for %s (down after %s)", c.metricLabel(), val, s.Comparison, thr, shortDur(held), shortDur(c.dur))}
}

func (c *MetricCheck) metricLabel() string {
	if c.settings.Key == "" {
		return c.settings.Metric
	}
	return c.settings.Metric + "{" + c.settings.Key + "}"
}

// hostID reads a host setting that is an agent id ("12"); -1 otherwise.
func hostID(h string) int64 {
	id, err := strconv.ParseInt(h, 10, 64)
	if err != nil || id <= 0 {
		return -1
	}
	return id
}

func shortDur(d time.Duration) string {
	s := d.Round(time.Second).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}
