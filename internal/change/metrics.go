package change

import (
	"context"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Metrics are change management's figures over a period.
type Metrics struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Opened counts changes created in the period (drafts included).
	Opened int `json:"opened"`
	// Closed counts changes closed in the period, by outcome.
	Closed     int `json:"closed"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
	RolledBack int `json:"rolled_back"`
	// SuccessRate is Successful / Closed (0 with nothing closed).
	SuccessRate float64 `json:"success_rate"`
	// Emergency counts emergency changes opened; EmergencyShare is their
	// share of Opened.
	Emergency      int     `json:"emergency"`
	EmergencyShare float64 `json:"emergency_share"`
	// CausingIncidents counts changes started in the period flagged as
	// possibly causing an incident; CausingShare is their share of the
	// changes started.
	Started          int     `json:"started"`
	CausingIncidents int     `json:"causing_incidents"`
	CausingShare     float64 `json:"causing_share"`
	// LeadTimeHours is the mean time from submission to the start of
	// implementation of changes started in the period.
	LeadTimeHours float64 `json:"lead_time_hours"`
	// Weeks are the same figures per week (Monday 00:00 UTC), oldest first.
	Weeks []WeekFigures `json:"weeks"`
}

// WeekFigures are one week's counts.
type WeekFigures struct {
	Start      time.Time `json:"start"`
	Opened     int       `json:"opened"`
	Closed     int       `json:"closed"`
	Successful int       `json:"successful"`
	Emergency  int       `json:"emergency"`
	Causing    int       `json:"causing"`
}

// Metrics computes the figures for [from, to), at most a year.
func (s *Service) Metrics(ctx context.Context, from, to time.Time) (Metrics, error) {
	from, to = from.UTC(), to.UTC()
	if !to.After(from) {
		return Metrics{}, valid.Errorf("to", "must be after from")
	}
	if to.Sub(from) > 370*24*time.Hour {
		return Metrics{}, valid.Errorf("from", "metrics cover at most a year")
	}
	m := Metrics{From: from, To: to, Weeks: []WeekFigures{}}
	first := weekStart(from)
	for w := first; w.Before(to); w = w.AddDate(0, 0, 7) {
		m.Weeks = append(m.Weeks, WeekFigures{Start: w})
	}
	week := func(t time.Time) *WeekFigures {
		i := int(weekStart(t).Sub(first) / (7 * 24 * time.Hour))
		if i < 0 || i >= len(m.Weeks) {
			return &WeekFigures{}
		}
		return &m.Weeks[i]
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.type, c.outcome, c.created_at, c.closed_at, c.state, c.submitted_at, c.actual_start,
		EXISTS (SELECT 1 FROM change_links l WHERE l.change_id = c.id AND l.kind = 'incident' AND l.caused)
		FROM changes c WHERE (c.created_at >= $1 AND c.created_at < $2) OR (c.closed_at >= $1 AND c.closed_at < $2) OR (c.actual_start >= $1 AND c.actual_start < $2)`, from, to)
	if err != nil {
		return m, fmt.Errorf("change: metrics: %w", err)
	}
	defer rows.Close()
	var lead time.Duration
	for rows.Next() {
		var typ, outcome, state string
		var created time.Time
		var closed, submitted, started store.NullTime
		var caused bool
		if err := rows.Scan(&typ, &outcome, &created, &closed, &state, &submitted, &started, &caused); err != nil {
			return m, fmt.Errorf("change: metrics: %w", err)
		}
		in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
		if in(created) {
			m.Opened++
			week(created).Opened++
			if Type(typ) == Emergency {
				m.Emergency++
				week(created).Emergency++
			}
		}
		if closed.Valid && in(closed.Time) && State(state) == Closed {
			m.Closed++
			w := week(closed.Time)
			w.Closed++
			switch Outcome(outcome) {
			case Successful:
				m.Successful++
				w.Successful++
			case Failed:
				m.Failed++
			case RolledBack:
				m.RolledBack++
			}
		}
		if started.Valid && in(started.Time) {
			m.Started++
			if caused {
				m.CausingIncidents++
				week(started.Time).Causing++
			}
			if submitted.Valid && started.Time.After(submitted.Time) {
				lead += started.Time.Sub(submitted.Time)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return m, err
	}
	m.SuccessRate = ratio(m.Successful, m.Closed)
	m.EmergencyShare = ratio(m.Emergency, m.Opened)
	m.CausingShare = ratio(m.CausingIncidents, m.Started)
	if m.Started > 0 {
		m.LeadTimeHours = lead.Hours() / float64(m.Started)
	}
	return m, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// weekStart is the Monday 00:00 UTC of t's week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}
