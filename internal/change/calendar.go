package change

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Windows is what the calendar reads of monitoring: the maintenance
// windows (per CI or service, through the monitors linked to them).
// *monitor.Service is one.
type Windows interface {
	Windows(ctx context.Context) ([]*monitor.Window, error)
}

var _ Windows = (*monitor.Service)(nil)

// Entry is one item of the change calendar.
type Entry struct {
	// Kind is change, freeze or maintenance.
	Kind  string    `json:"kind"`
	ID    int64     `json:"id"`
	Title string    `json:"title"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// For changes: type, state, risk and whether it is flagged.
	Type    Type  `json:"type,omitempty"`
	State   State `json:"state,omitempty"`
	Risk    Risk  `json:"risk,omitempty"`
	Flagged bool  `json:"flagged,omitempty"`
}

// MaxCalendarSpan bounds a calendar query.
const MaxCalendarSpan = 100 * 24 * time.Hour

// Calendar returns the planned changes (submitted and not cancelled), the
// freeze occurrences and the monitor maintenance windows overlapping
// [from, to), by start.
func (s *Service) Calendar(ctx context.Context, from, to time.Time) ([]Entry, error) {
	if !to.After(from) {
		return nil, valid.Errorf("to", "must be after from")
	}
	if to.Sub(from) > MaxCalendarSpan {
		return nil, valid.Errorf("to", "a calendar covers at most 100 days")
	}
	cs, err := s.query(ctx, `SELECT `+changeCols+changeFrom+` WHERE c.state NOT IN ('draft', 'cancelled') AND c.planned_start < $1 AND c.planned_end > $2
		ORDER BY c.planned_start, c.id LIMIT 5000`, to.UTC(), from.UTC())
	if err != nil {
		return nil, err
	}
	out := []Entry{}
	for _, c := range cs {
		out = append(out, Entry{Kind: "change", ID: c.ID, Title: c.Title, Start: *c.PlannedStart, End: *c.PlannedEnd, Type: c.Type, State: c.State,
			Risk: c.Risk, Flagged: c.Unapproved || c.InFreeze})
	}
	fs, err := s.Freezes(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		for _, sp := range f.Occurrences(from, to) {
			out = append(out, Entry{Kind: "freeze", ID: f.ID, Title: f.Name, Start: sp.Start, End: sp.End})
		}
	}
	if s.opts.Windows != nil {
		ws, err := s.opts.Windows.Windows(ctx)
		if err != nil {
			return nil, fmt.Errorf("change: calendar: %w", err)
		}
		for _, w := range ws {
			for _, sp := range windowSpans(w, from, to) {
				out = append(out, Entry{Kind: "maintenance", ID: w.ID, Title: w.Name, Start: sp.Start, End: sp.End})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// windowSpans expands a monitor maintenance window into its occurrences.
func windowSpans(w *monitor.Window, from, to time.Time) []Span {
	if w.StartsAt != nil && w.EndsAt != nil {
		if w.StartsAt.Before(to) && w.EndsAt.After(from) {
			return []Span{{w.StartsAt.UTC(), w.EndsAt.UTC()}}
		}
		return nil
	}
	sched, loc, err := monitor.ParseCron(w.Cron, w.Timezone)
	if err != nil {
		return nil
	}
	d, err := time.ParseDuration(w.Duration)
	if err != nil || d <= 0 {
		return nil
	}
	return recurring(sched, loc, d, from, to)
}
