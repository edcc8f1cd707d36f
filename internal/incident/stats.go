package incident

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// StatsFilter selects the incidents MTTA and MTTR are computed over: those
// opened in [From, To), optionally of one service or severity. Merged
// incidents are left out (their alerts count in the one they joined).
type StatsFilter struct {
	From, To  time.Time
	ServiceID int64
	Severity  string
}

// Response is how fast incidents of one group were acknowledged (MTTA) and
// resolved (MTTR), both measured from the incident's opening.
type Response struct {
	Key          string  `json:"key"`
	Incidents    int     `json:"incidents"`
	Acknowledged int     `json:"acknowledged"`
	Resolved     int     `json:"resolved"`
	MTTASeconds  float64 `json:"mtta_seconds"`
	MTTRSeconds  float64 `json:"mttr_seconds"`
	ackSum       time.Duration
	resolveSum   time.Duration
}

func (r *Response) add(created time.Time, acked, resolved sql.NullTime) {
	r.Incidents++
	if acked.Valid {
		r.Acknowledged++
		r.ackSum += acked.Time.Sub(created)
	}
	if resolved.Valid {
		r.Resolved++
		r.resolveSum += resolved.Time.Sub(created)
	}
}

func (r *Response) finish() {
	if r.Acknowledged > 0 {
		r.MTTASeconds = (r.ackSum / time.Duration(r.Acknowledged)).Seconds()
	}
	if r.Resolved > 0 {
		r.MTTRSeconds = (r.resolveSum / time.Duration(r.Resolved)).Seconds()
	}
}

// Stats is MTTA and MTTR overall and by service, severity and day (UTC).
type Stats struct {
	From       time.Time  `json:"from"`
	To         time.Time  `json:"to"`
	Overall    Response   `json:"overall"`
	ByService  []Response `json:"by_service"`
	BySeverity []Response `json:"by_severity"`
	ByDay      []Response `json:"by_day"`
}

// maxStatsRows bounds one computation; a year of a busy team is far below.
const maxStatsRows = 200000

// ResponseStats computes MTTA and MTTR for the incidents under f.
func (s *Service) ResponseStats(ctx context.Context, f StatsFilter) (Stats, error) {
	if !f.From.Before(f.To) {
		return Stats{}, valid.Errorf("from", "must be before to")
	}
	if f.To.Sub(f.From) > 400*24*time.Hour {
		return Stats{}, valid.Errorf("from", "the range can be at most 400 days")
	}
	if f.Severity != "" && !slices.Contains(IncidentSeverities, f.Severity) {
		return Stats{}, valid.Errorf("severity", "must be one of %s", strings.Join(IncidentSeverities, ", "))
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT COALESCE(sv.name, '(no service)'), i.severity, i.created_at, i.acknowledged_at, i.resolved_at
		FROM incidents i LEFT JOIN services sv ON sv.id = i.service_id
		WHERE i.created_at >= $1 AND i.created_at < $2 AND i.merged_into IS NULL AND ($3 = 0 OR i.service_id = $3) AND ($4 = '' OR i.severity = $4)
		ORDER BY i.id LIMIT $5`, f.From.UTC(), f.To.UTC(), f.ServiceID, f.Severity, maxStatsRows)
	if err != nil {
		return Stats{}, fmt.Errorf("incident: stats: %w", store.MapError(err))
	}
	defer rows.Close()
	st := Stats{From: f.From.UTC(), To: f.To.UTC(), Overall: Response{Key: "all"}}
	svc, sev, day := map[string]*Response{}, map[string]*Response{}, map[string]*Response{}
	group := func(m map[string]*Response, k string) *Response {
		r, ok := m[k]
		if !ok {
			r = &Response{Key: k}
			m[k] = r
		}
		return r
	}
	for rows.Next() {
		var name, severity string
		var created time.Time
		var acked, resolved sql.NullTime
		if err := rows.Scan(&name, &severity, &created, &acked, &resolved); err != nil {
			return Stats{}, fmt.Errorf("incident: stats: %w", err)
		}
		created = created.UTC()
		st.Overall.add(created, acked, resolved)
		group(svc, name).add(created, acked, resolved)
		group(sev, severity).add(created, acked, resolved)
		group(day, created.Format(time.DateOnly)).add(created, acked, resolved)
	}
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("incident: stats: %w", err)
	}
	st.Overall.finish()
	flatten := func(m map[string]*Response) []Response {
		out := make([]Response, 0, len(m))
		for _, r := range m {
			r.finish()
			out = append(out, *r)
		}
		slices.SortFunc(out, func(a, b Response) int { return strings.Compare(a.Key, b.Key) })
		return out
	}
	st.ByService, st.BySeverity, st.ByDay = flatten(svc), flatten(sev), flatten(day)
	return st, nil
}
