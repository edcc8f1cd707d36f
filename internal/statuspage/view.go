package statuspage

import (
	"context"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Days is how many UTC days of uptime a page shows.
const Days = 90

// View is what a status page shows: only names chosen for the public, states
// and uptime. It holds no monitor ids, targets, tags or check messages, so
// nothing built from it can leak them.
type View struct {
	Slug        string
	Title       string
	Description string
	Public      bool
	Overall     Overall
	Monitors    []MonitorView
	// Days are the first days of the bars, oldest first (UTC midnights).
	Days []time.Time
	// At is when the view was read.
	At time.Time
}

// MonitorView is one monitor as the page shows it.
type MonitorView struct {
	Name    string
	Section string
	State   monitor.State
	// Daily has one entry per day of View.Days.
	Daily []Count
	// Windows are the uptime over the last 24 hours, 7, 30 and 90 days,
	// in the order of WindowNames.
	Windows [4]Count
}

// WindowNames name MonitorView.Windows, as the JSON summary keys them.
var WindowNames = [4]string{"24h", "7d", "30d", "90d"}

var windowLengths = [4]time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour}

// Count is a number of checks and how many of them found the service up.
// Degraded results count as up, as monitor.Uptime counts them: the
// service answered.
type Count struct {
	Total int64
	Good  int64
}

// Percent is the share of good checks, or false without any check.
func (c Count) Percent() (float64, bool) {
	if c.Total == 0 {
		return 0, false
	}
	return float64(c.Good) * 100 / float64(c.Total), true
}

func (c *Count) add(o Count) { c.Total += o.Total; c.Good += o.Good }

// Group is a run of monitors under one section heading.
type Group struct {
	Section  string
	Monitors []MonitorView
}

// Groups gathers the monitors by section, sections in the order of their
// first monitor, monitors in page order. Monitors without a section come
// under a group with an empty heading, in its place among the others.
func (v View) Groups() []Group {
	var out []Group
	at := map[string]int{}
	for _, m := range v.Monitors {
		i, ok := at[m.Section]
		if !ok {
			i = len(out)
			at[m.Section] = i
			out = append(out, Group{Section: m.Section})
		}
		out[i].Monitors = append(out[i].Monitors, m)
	}
	return out
}

// Total sums a window over the page's monitors, for the page's own badge.
func (v View) Total(window int) Count {
	var c Count
	for _, m := range v.Monitors {
		c.add(m.Windows[window])
	}
	return c
}

// Find returns the monitor the page shows under name.
func (v View) Find(name string) (MonitorView, bool) {
	for _, m := range v.Monitors {
		if m.Name == name {
			return m, true
		}
	}
	return MonitorView{}, false
}

// ViewBySlug reads what the page at slug shows now: the page, its monitors'
// states, and their daily and windowed uptime through the monitor service's
// batched queries, a fixed number whatever the number of monitors. An
// unknown slug is store.ErrNotFound.
func (s *Service) ViewBySlug(ctx context.Context, slug string) (View, error) {
	now := s.now().UTC()
	var v View
	var id int64
	err := s.db.R.QueryRowContext(ctx, `SELECT id, slug, title, description, public FROM status_pages WHERE slug = $1`, slug).
		Scan(&id, &v.Slug, &v.Title, &v.Description, &v.Public)
	if err != nil {
		return v, fmt.Errorf("status page %q: %w", slug, store.MapError(err))
	}
	v.At = now
	rows, err := s.db.R.QueryContext(ctx, `SELECT e.monitor_id, e.display_name, e.section, m.name, st.state
		FROM status_page_monitors e JOIN monitors m ON m.id = e.monitor_id JOIN monitor_status st ON st.monitor_id = e.monitor_id
		WHERE e.page_id = $1 ORDER BY e.position, e.monitor_id`, id)
	if err != nil {
		return v, fmt.Errorf("statuspage: view: %w", err)
	}
	var ids []int64
	var states []monitor.State
	for rows.Next() {
		var mid int64
		var e Entry
		var state string
		if err := rows.Scan(&mid, &e.DisplayName, &e.Section, &e.MonitorName, &state); err != nil {
			rows.Close()
			return v, fmt.Errorf("statuspage: view: %w", err)
		}
		st := publicState(state)
		ids, states = append(ids, mid), append(states, st)
		v.Monitors = append(v.Monitors, MonitorView{Name: e.Name(), Section: e.Section, State: st})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("statuspage: view: %w", err)
	}
	v.Overall = OverallOf(states)
	hist, err := s.history(ctx, ids, now)
	if err != nil {
		return v, err
	}
	v.Days = hist.days
	for i, mid := range ids {
		h := hist.byMonitor[mid]
		v.Monitors[i].Daily, v.Monitors[i].Windows = h.daily, h.windows
	}
	return v, nil
}
