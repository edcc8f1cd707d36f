package servicedesk

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Period is the width of a metrics bucket.
type Period string

// The metrics periods (UTC days; weeks start on Monday).
const (
	PeriodDay   Period = "day"
	PeriodWeek  Period = "week"
	PeriodMonth Period = "month"
)

// MetricsFilter selects the tickets measured: those opened on the UTC days
// from From (rounded down to its day) to To (rounded up), of one group
// when GroupID is set, bucketed by Period of their opening. Merged
// duplicates are left out.
type MetricsFilter struct {
	GroupID int64
	From    time.Time
	To      time.Time
	Period  Period
}

// MetricsRow is the service-desk measures of one bucket (a period, a group
// or everything). Averages and rates are nil when nothing was measured.
type MetricsRow struct {
	Key     string `json:"key"`
	GroupID int64  `json:"group_id,omitempty"`
	// Tickets opened in the bucket.
	Tickets int `json:"tickets"`
	// Responded have had a public agent reply; ResponseAvgSeconds is the
	// mean business time to it.
	Responded          int      `json:"responded"`
	ResponseAvgSeconds *float64 `json:"response_avg_seconds"`
	// Resolved are resolved or closed; ResolutionAvgSeconds is the mean
	// business time the resolution clock ran.
	Resolved             int      `json:"resolved"`
	ResolutionAvgSeconds *float64 `json:"resolution_avg_seconds"`
	// SLA compliance: met / (met + breached) of each timer, in percent.
	ResponseMet             int      `json:"response_met"`
	ResponseBreached        int      `json:"response_breached"`
	ResponseCompliance      *float64 `json:"response_compliance_percent"`
	ResolutionMet           int      `json:"resolution_met"`
	ResolutionBreached      int      `json:"resolution_breached"`
	ResolutionCompliance    *float64 `json:"resolution_compliance_percent"`
	FirstContact            int      `json:"first_contact_resolved"`
	FirstContactRate        *float64 `json:"first_contact_resolution_percent"`
	Rated                   int      `json:"rated"`
	CSATAverage             *float64 `json:"csat_average"`
	CSATResponseRate        *float64 `json:"csat_response_rate_percent"`
	responseSum, resolveSum int64
	csatSum                 int64
}

func (r *MetricsRow) add(o MetricsRow) {
	r.Tickets += o.Tickets
	r.Responded += o.Responded
	r.responseSum += o.responseSum
	r.Resolved += o.Resolved
	r.resolveSum += o.resolveSum
	r.ResponseMet += o.ResponseMet
	r.ResponseBreached += o.ResponseBreached
	r.ResolutionMet += o.ResolutionMet
	r.ResolutionBreached += o.ResolutionBreached
	r.FirstContact += o.FirstContact
	r.Rated += o.Rated
	r.csatSum += o.csatSum
}

func ratio(num, den int64, scale float64) *float64 {
	if den == 0 {
		return nil
	}
	v := float64(num) / float64(den) * scale
	return &v
}

func (r *MetricsRow) finish() {
	r.ResponseAvgSeconds = ratio(r.responseSum, int64(r.Responded), 1)
	r.ResolutionAvgSeconds = ratio(r.resolveSum, int64(r.Resolved), 1)
	r.ResponseCompliance = ratio(int64(r.ResponseMet), int64(r.ResponseMet+r.ResponseBreached), 100)
	r.ResolutionCompliance = ratio(int64(r.ResolutionMet), int64(r.ResolutionMet+r.ResolutionBreached), 100)
	r.FirstContactRate = ratio(int64(r.FirstContact), int64(r.Resolved), 100)
	r.CSATAverage = ratio(r.csatSum, int64(r.Rated), 1)
	r.CSATResponseRate = ratio(int64(r.Rated), int64(r.Resolved), 100)
}

// BacklogBuckets names the age buckets of the backlog, youngest first:
// how many UTC days ago the tickets were opened.
var BacklogBuckets = []string{"today", "1–2 days ago", "3–6 days ago", "7–29 days ago", "30 days ago or more"}

// backlogEdges are the first day-age of each bucket after the first.
var backlogEdges = []int64{1, 3, 7, 30}

// BacklogRow counts one group's unresolved tickets (new, open, pending,
// not merged) by the day they were opened, in the buckets of
// BacklogBuckets.
type BacklogRow struct {
	GroupID int64  `json:"group_id,omitempty"`
	Group   string `json:"group"`
	Counts  []int  `json:"counts"`
	Total   int    `json:"total"`
}

// Metrics is the service desk's measures over a range.
type Metrics struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Period Period    `json:"period"`
	// Clock says how durations are counted.
	Clock    string       `json:"clock"`
	Overall  MetricsRow   `json:"overall"`
	ByPeriod []MetricsRow `json:"by_period"`
	ByGroup  []MetricsRow `json:"by_group"`
	// Backlog is as of now, by group and opening day, whatever the range.
	BacklogBuckets []string     `json:"backlog_buckets"`
	Backlog        []BacklogRow `json:"backlog"`
}

// MetricsClock is Metrics.Clock's text.
const MetricsClock = "business time on each ticket's SLA calendar (wall-clock time for tickets without an SLA policy), pending time excluded"

// maxMetricsRange bounds a metrics range.
const maxMetricsRange = 400 * 24 * time.Hour

func (f *MetricsFilter) check() error {
	if f.Period == "" {
		f.Period = PeriodDay
	}
	if !slices.Contains([]Period{PeriodDay, PeriodWeek, PeriodMonth}, f.Period) {
		return valid.Errorf("period", "must be day, week or month")
	}
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return valid.Errorf("from", "must be before to")
	}
	if f.To.Sub(f.From) > maxMetricsRange {
		return valid.Errorf("from", "the range can be at most 400 days")
	}
	if f.GroupID < 0 {
		return valid.Errorf("group", "must be a group id")
	}
	f.From, f.To = f.From.UTC(), f.To.UTC()
	return nil
}

// periodKey is the first day (YYYY-MM-DD, UTC) of the period holding day.
func periodKey(p Period, day int64) string {
	t := time.Unix(day*86400, 0).UTC()
	switch p {
	case PeriodWeek:
		t = t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	case PeriodMonth:
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return t.Format(time.DateOnly)
}

// Metrics computes the desk's measures for agents and viewers (requesters
// get ErrForbidden). See docs/servicedesk.md for each definition.
func (s *Service) Metrics(ctx context.Context, f MetricsFilter) (Metrics, error) {
	if isRequesterOnly(auth.ActorFrom(ctx)) {
		return Metrics{}, ErrForbidden
	}
	if err := f.check(); err != nil {
		return Metrics{}, err
	}
	names := map[int64]string{0: "(no group)"}
	groups, err := s.Groups(ctx)
	if err != nil {
		return Metrics{}, err
	}
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	m := Metrics{From: f.From, To: f.To, Period: f.Period, Clock: MetricsClock, Overall: MetricsRow{Key: "all"},
		ByPeriod: []MetricsRow{}, ByGroup: []MetricsRow{}, BacklogBuckets: BacklogBuckets, Backlog: []BacklogRow{}}
	// Whole UTC days: from rounded down, to rounded up.
	fromDay, toDay := dayOf(f.From), (f.To.Unix()+86399)/86400
	m.From, m.To = time.Unix(fromDay*86400, 0).UTC(), time.Unix(toDay*86400, 0).UTC()
	rows, err := s.db.R.QueryContext(ctx, `SELECT day, group_id, tickets, responded, response_sum, resolved, resolution_sum,
		response_met, response_breached, resolution_met, resolution_breached, first_contact, rated, csat_sum
		FROM sd_metrics_daily WHERE day >= $1 AND day < $2 AND ($3 = 0 OR group_id = $3) AND tickets > 0`, fromDay, toDay, f.GroupID)
	if err != nil {
		return Metrics{}, wrap("metrics", err)
	}
	defer rows.Close()
	byPeriod, byGroup := map[string]*MetricsRow{}, map[int64]*MetricsRow{}
	for rows.Next() {
		var day int64
		var r MetricsRow
		if err := rows.Scan(&day, &r.GroupID, &r.Tickets, &r.Responded, &r.responseSum, &r.Resolved, &r.resolveSum,
			&r.ResponseMet, &r.ResponseBreached, &r.ResolutionMet, &r.ResolutionBreached, &r.FirstContact, &r.Rated, &r.csatSum); err != nil {
			return Metrics{}, wrap("metrics", err)
		}
		m.Overall.add(r)
		key := periodKey(f.Period, day)
		p, ok := byPeriod[key]
		if !ok {
			p = &MetricsRow{Key: key}
			byPeriod[key] = p
		}
		p.add(r)
		g, ok := byGroup[r.GroupID]
		if !ok {
			g = &MetricsRow{Key: names[r.GroupID], GroupID: r.GroupID}
			byGroup[r.GroupID] = g
		}
		g.add(r)
	}
	if err := rows.Err(); err != nil {
		return Metrics{}, wrap("metrics", err)
	}
	m.Overall.finish()
	for _, p := range byPeriod {
		p.finish()
		m.ByPeriod = append(m.ByPeriod, *p)
	}
	slices.SortFunc(m.ByPeriod, func(a, b MetricsRow) int { return strings.Compare(a.Key, b.Key) })
	for _, g := range byGroup {
		g.finish()
		m.ByGroup = append(m.ByGroup, *g)
	}
	slices.SortFunc(m.ByGroup, func(a, b MetricsRow) int { return strings.Compare(a.Key, b.Key) })
	if m.Backlog, err = s.backlog(ctx, f.GroupID, names); err != nil {
		return Metrics{}, err
	}
	return m, nil
}

// backlog counts unresolved tickets by group and opening day, from the
// rollup.
func (s *Service) backlog(ctx context.Context, groupID int64, names map[int64]string) ([]BacklogRow, error) {
	today := dayOf(s.now())
	rows, err := s.db.R.QueryContext(ctx, `SELECT group_id, day, unresolved FROM sd_metrics_daily
		WHERE unresolved > 0 AND ($1 = 0 OR group_id = $1)`, groupID)
	if err != nil {
		return nil, wrap("backlog", err)
	}
	defer rows.Close()
	byGroup := map[int64]*BacklogRow{}
	for rows.Next() {
		var g, day, n int64
		if err := rows.Scan(&g, &day, &n); err != nil {
			return nil, wrap("backlog", err)
		}
		r, ok := byGroup[g]
		if !ok {
			r = &BacklogRow{GroupID: g, Group: names[g], Counts: make([]int, len(BacklogBuckets))}
			byGroup[g] = r
		}
		i := 0
		for i < len(backlogEdges) && today-day >= backlogEdges[i] {
			i++
		}
		r.Counts[i] += int(n)
		r.Total += int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("backlog", err)
	}
	out := []BacklogRow{}
	for _, r := range byGroup {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b BacklogRow) int { return strings.Compare(a.Group, b.Group) })
	return out, nil
}
