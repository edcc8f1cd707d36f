package security

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
)

const findingCols = `id, source, scope, key, title, severity, COALESCE(ci_id, 0), status, evidence, first_seen, last_seen, fixed_at, accepted_reason, accepted_by, accepted_until`

func scanFinding(row interface{ Scan(...any) error }) (Finding, error) {
	var f Finding
	var sev, st, ev string
	var fixed, until sql.NullTime
	if err := row.Scan(&f.ID, &f.Source, &f.Scope, &f.Key, &f.Title, &sev, &f.CIID, &st, &ev, &f.FirstSeen, &f.LastSeen, &fixed, &f.AcceptedReason, &f.AcceptedBy, &until); err != nil {
		return Finding{}, store.MapError(err)
	}
	f.Severity, f.Status, f.Evidence = Severity(sev), Status(st), json.RawMessage(ev)
	f.FirstSeen, f.LastSeen = f.FirstSeen.UTC(), f.LastSeen.UTC()
	if fixed.Valid {
		t := fixed.Time.UTC()
		f.FixedAt = &t
	}
	if until.Valid {
		t := until.Time.UTC()
		f.AcceptedUntil = &t
	}
	return f, nil
}

// Get returns one finding.
func (s *Service) Get(ctx context.Context, id int64) (Finding, error) {
	f, err := scanFinding(s.db.R.QueryRowContext(ctx, `SELECT `+findingCols+` FROM security_findings WHERE id = $1`, id))
	if err != nil {
		return Finding{}, fmt.Errorf("security: finding %d: %w", id, err)
	}
	return f, nil
}

// Filter selects findings; empty fields match everything.
type Filter struct {
	Status      Status
	MinSeverity Severity
	Source      string
	CIID        int64
	// Offset and Limit page the list (Limit 50 when unset, at most 500).
	Offset, Limit int
}

// severityRankSQL orders severities in SQL as Rank does.
const severityRankSQL = `CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 ELSE 1 END`

// List returns findings, most severe first, then most recently seen, and
// the total that match.
func (s *Service) List(ctx context.Context, f Filter) ([]Finding, int, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 500:
		f.Limit = 500
	}
	f.Offset = max(f.Offset, 0)
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if r := f.MinSeverity.Rank(); r > 0 {
		add(severityRankSQL+" >= $%d", r)
	}
	if f.Source != "" {
		add("source = $%d", f.Source)
	}
	if f.CIID > 0 {
		add("ci_id = $%d", f.CIID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM security_findings`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("security: count findings: %w", err)
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+findingCols+` FROM security_findings`+cond+
		fmt.Sprintf(` ORDER BY %s DESC, last_seen DESC, id DESC LIMIT $%d OFFSET $%d`, severityRankSQL, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("security: list findings: %w", err)
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		fd, err := scanFinding(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("security: list findings: %w", err)
		}
		out = append(out, fd)
	}
	return out, total, rows.Err()
}

// incidentSignal is the alert a finding raises.
func incidentSignal(f Finding) incident.Signal {
	sev := incident.SeverityWarning
	switch f.Severity {
	case SeverityCritical:
		sev = incident.SeverityCritical
	case SeverityHigh:
		sev = incident.SeverityError
	case SeverityLow, SeverityInfo:
		sev = incident.SeverityInfo
	}
	labels := map[string]string{"finding_source": f.Source, "finding_severity": string(f.Severity)}
	if f.CIID > 0 {
		labels["ci_id"] = fmt.Sprint(f.CIID)
	}
	return incident.Signal{Source: AlertSource, Service: IncidentService,
		ServiceDescription: "Security findings from opsdeck: certificates, sign-in attacks, admin grants, host updates.",
		Key:                f.Source + ":" + f.Key, Summary: f.Title, Severity: sev, Labels: labels,
		Links: []incident.Link{{Href: fmt.Sprintf("/security/findings/%d", f.ID), Text: "Finding"}}}
}

// Posture sums up open findings, for opsdeck as a whole (ciID 0) or one CI.
type Posture struct {
	// Open counts open findings by severity; Accepted counts accepted risks.
	Open     map[Severity]int `json:"open"`
	OpenAll  int              `json:"open_total"`
	Accepted int              `json:"accepted"`
	// OldestPatch is when the oldest open pending-update finding of the
	// host agent was first seen; nil when none is open.
	OldestPatch *time.Time `json:"oldest_patch,omitempty"`
	// CertHorizon is the soonest expiry among the certificates TLS checks
	// saw; CertName names it.
	CertHorizon *time.Time `json:"cert_horizon,omitempty"`
	CertName    string     `json:"cert_name,omitempty"`
	// Trend is the open findings at the end of each of the last days,
	// oldest first.
	Trend []DayCount `json:"trend"`
}

// DayCount is the open findings at the end of one day.
type DayCount struct {
	Day  time.Time `json:"day"`
	Open int       `json:"open"`
}

// Posture returns the posture of ciID (0 for everything) over days of trend.
func (s *Service) Posture(ctx context.Context, ciID int64, days int) (Posture, error) {
	days = min(max(days, 1), 365)
	p := Posture{Open: map[Severity]int{}}
	ciCond, args := "", []any{}
	if ciID > 0 {
		ciCond, args = " AND ci_id = $1", []any{ciID}
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT status, severity, COUNT(*) FROM security_findings WHERE status <> 'fixed'`+ciCond+` GROUP BY status, severity`, args...)
	if err != nil {
		return p, fmt.Errorf("security: posture: %w", err)
	}
	for rows.Next() {
		var st, sev string
		var n int
		if err := rows.Scan(&st, &sev, &n); err != nil {
			rows.Close()
			return p, fmt.Errorf("security: posture: %w", err)
		}
		if Status(st) == StatusAccepted {
			p.Accepted += n
			continue
		}
		p.Open[Severity(sev)] += n
		p.OpenAll += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("security: posture: %w", err)
	}
	var oldest store.NullTime
	if err := s.db.R.QueryRowContext(ctx, `SELECT MIN(first_seen) FROM security_findings WHERE status = 'open' AND source = '`+SourceAgentUpdates+`'`+ciCond, args...).Scan(&oldest); err != nil {
		return p, fmt.Errorf("security: posture: %w", err)
	}
	if oldest.Valid {
		t := oldest.Time.UTC()
		p.OldestPatch = &t
	}
	var name string
	var notAfter time.Time
	err = s.db.R.QueryRowContext(ctx, `SELECT name, not_after FROM security_certs WHERE 1 = 1`+ciCond+` ORDER BY not_after LIMIT 1`, args...).Scan(&name, &notAfter)
	switch err = store.MapError(err); {
	case err == nil:
		t := notAfter.UTC()
		p.CertHorizon, p.CertName = &t, name
	case !isNotFound(err):
		return p, fmt.Errorf("security: posture: %w", err)
	}
	p.Trend, err = s.trend(ctx, ciCond, args, days)
	return p, err
}

// trend counts, for each of the last days, the findings first seen by the
// day's end and not fixed by then: those open when the window starts, plus
// those first seen, minus those fixed, day by day, each counted by the
// database grouped by day. Accepted risks are left out. A finding fixed and
// reopened counts from its first sighting: the table keeps its latest fix.
func (s *Service) trend(ctx context.Context, ciCond string, args []any, days int) ([]DayCount, error) {
	now := s.now().UTC()
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(days - 1))
	out := make([]DayCount, days)
	index := make(map[string]int, days)
	for i := range out {
		out[i].Day = start.AddDate(0, 0, i)
		index[out[i].Day.Format(time.DateOnly)] = i
	}
	day := func(col string) string {
		if s.db.Dialect == store.Postgres {
			return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
		}
		return "substr(" + col + ", 1, 10)" // stored in UTC as text
	}
	n := fmt.Sprint(len(args) + 1)
	a := append(append([]any{}, args...), start)
	var base int
	if err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM security_findings WHERE status <> 'accepted'
		AND first_seen < $`+n+` AND (fixed_at IS NULL OR fixed_at >= $`+n+`)`+ciCond, a...).Scan(&base); err != nil {
		return nil, fmt.Errorf("security: trend: %w", err)
	}
	delta := make([]int, days)
	for _, q := range []struct {
		col  string
		sign int
	}{{"first_seen", 1}, {"fixed_at", -1}} {
		rows, err := s.db.R.QueryContext(ctx, `SELECT `+day(q.col)+`, COUNT(*) FROM security_findings WHERE status <> 'accepted'
			AND `+q.col+` >= $`+n+ciCond+` GROUP BY 1`, a...)
		if err != nil {
			return nil, fmt.Errorf("security: trend: %w", err)
		}
		for rows.Next() {
			var d string
			var c int
			if err := rows.Scan(&d, &c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("security: trend: %w", err)
			}
			if i, ok := index[d]; ok {
				delta[i] += q.sign * c
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("security: trend: %w", err)
		}
	}
	open := base
	for i := range out {
		open += delta[i]
		out[i].Open = open
	}
	return out, nil
}

// CIPosture is one CI's open findings, for the overall posture page.
type CIPosture struct {
	CIID  int64    `json:"ci_id"`
	Open  int      `json:"open"`
	Worst Severity `json:"worst"`
}

// PostureByCI lists the CIs with open findings, worst first (at most 200).
func (s *Service) PostureByCI(ctx context.Context) ([]CIPosture, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT ci_id, COUNT(*), MAX(`+severityRankSQL+`) AS worst FROM security_findings
		WHERE status = 'open' AND ci_id IS NOT NULL GROUP BY ci_id ORDER BY worst DESC, COUNT(*) DESC, ci_id LIMIT 200`)
	if err != nil {
		return nil, fmt.Errorf("security: posture by CI: %w", err)
	}
	defer rows.Close()
	var out []CIPosture
	for rows.Next() {
		var c CIPosture
		var rank int
		if err := rows.Scan(&c.CIID, &c.Open, &rank); err != nil {
			return nil, fmt.Errorf("security: posture by CI: %w", err)
		}
		c.Worst = AllSeverities()[5-rank]
		out = append(out, c)
	}
	return out, rows.Err()
}

// queryIDs returns the ids a one-column query selects, read in full before
// the caller writes (SQLite: no write while a read is open on the pool).
func (s *Service) queryIDs(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
