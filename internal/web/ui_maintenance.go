package web

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
)

// maintenanceList is the data of the maintenance window list.
type maintenanceList struct {
	Windows []windowRow
	// CanEdit is set for operators; viewers see the windows but no buttons.
	CanEdit bool
}

// windowRow is one maintenance window as the list and a monitor's page
// show it: its schedule in words, what it covers and whether it is open.
type windowRow struct {
	ID          int64
	Name        string
	Description string
	Schedule    string
	Monitors    []monitorRef
	Tags        []string
	Phase       windowPhase
	CreatedBy   string
}

// monitorRef names a monitor a window covers; Gone when it was deleted.
type monitorRef struct {
	ID   int64
	Name string
	Gone bool
}

// windowPhase says whether a window is open now, still to come, or over,
// with its current or next opening (Start, End; zero when there is none).
type windowPhase struct {
	Key, Label, Class, Mark string
	Start, End              time.Time
}

// Badge is the phase as inline HTML: a word and a mark as well as a colour.
// Every part is a constant of phaseOf.
func (p windowPhase) Badge() template.HTML {
	return template.HTML(`<span class="status status-` + p.Class + `"><span class="status-mark" aria-hidden="true">` + p.Mark + `</span> ` + p.Label + `</span>`) //nolint:gosec // constants only
}

// Active reports whether the window is open now.
func (p windowPhase) Active() bool { return p.Key == "active" }

// maintenanceURL is the edit page of a window.
func maintenanceURL(id int64) string { return "/maintenance/" + strconv.FormatInt(id, 10) }

// maxWindowRuns bounds the walk over a recurring window's overlapping runs
// (a cron every minute with a duration of 7 days has 10,080 of them).
const maxWindowRuns = 11000

// phaseOf places a window relative to now. Whether it is open comes from
// the domain's own rule (Window.ActiveAt); the times are for people.
func phaseOf(w *monitor.Window, now time.Time) windowPhase {
	active := windowPhase{Key: "active", Label: "Active now", Class: "info", Mark: "◆"}
	upcoming := windowPhase{Key: "upcoming", Label: "Upcoming", Class: "warn", Mark: "◇"}
	ended := windowPhase{Key: "ended", Label: "Ended", Class: "off", Mark: "■"}
	var p windowPhase
	switch {
	case w.StartsAt != nil && w.EndsAt != nil:
		switch {
		case w.ActiveAt(now):
			p = active
		case now.Before(*w.StartsAt):
			p = upcoming
		default:
			p = ended
		}
		p.Start, p.End = w.StartsAt.UTC(), w.EndsAt.UTC()
		return p
	case w.Cron != "":
		sched, loc, err := monitor.ParseCron(w.Cron, w.Timezone)
		d, derr := time.ParseDuration(w.Duration)
		if err != nil || derr != nil || d <= 0 {
			return ended
		}
		start := sched.Next(now.Add(-d).In(loc))
		if start.IsZero() {
			return ended
		}
		p = upcoming
		if w.ActiveAt(now) && !start.After(now) {
			p = active
		}
		// Runs that start before this one ends extend it.
		end, cur := start.Add(d), start
		for range maxWindowRuns {
			n := sched.Next(cur)
			if n.IsZero() || n.After(end) {
				break
			}
			end, cur = n.Add(d), n
		}
		p.Start, p.End = start.UTC(), end.UTC()
		return p
	}
	return ended
}

// scheduleText says when a window opens, in words: "once: 2026-12-01 21:00
// → 23:00 UTC" or "cron 0 3 * * 0 for 2h (Europe/Berlin)".
func scheduleText(w *monitor.Window) string {
	if w.StartsAt != nil && w.EndsAt != nil {
		s, e := w.StartsAt.UTC(), w.EndsAt.UTC()
		end := e.Format("2006-01-02 15:04")
		if s.Format(time.DateOnly) == e.Format(time.DateOnly) {
			end = e.Format("15:04")
		}
		return "once: " + s.Format("2006-01-02 15:04") + " → " + end + " UTC"
	}
	tz := w.Timezone
	if tz == "" {
		tz = "UTC"
	}
	return "cron " + w.Cron + " for " + durationText(w.Duration) + " (" + tz + ")"
}

// durationText writes a stored duration ("2h0m0s") as people type it.
func durationText(v string) string {
	if d, err := time.ParseDuration(v); err == nil {
		return shortDuration(d)
	}
	return v
}

// windowCovers reports whether w applies to m, by id or by tag, as the
// monitoring service decides it.
func windowCovers(w *monitor.Window, m monitor.Monitor) bool {
	if slices.Contains(w.MonitorIDs, m.ID) {
		return true
	}
	for _, t := range m.Tags {
		if slices.Contains(w.Tags, t) {
			return true
		}
	}
	return false
}

// monitorNames maps every monitor's id to its name, for the windows' lists
// of what they cover. Installations have hundreds, rarely thousands.
func (s *Server) monitorNames(r *http.Request) (map[int64]string, []monitor.WithStatus, error) {
	ms, _, err := s.opts.Monitors.List(r.Context(), monitor.ListFilter{Limit: 10000})
	if err != nil {
		return nil, nil, err
	}
	names := make(map[int64]string, len(ms))
	for _, m := range ms {
		names[m.ID] = m.Name
	}
	return names, ms, nil
}

// rowOf is a window as the pages show it.
func rowOf(w *monitor.Window, names map[int64]string, now time.Time) windowRow {
	row := windowRow{ID: w.ID, Name: w.Name, Description: w.Description, Schedule: scheduleText(w), Tags: w.Tags,
		Phase: phaseOf(w, now), CreatedBy: w.CreatedBy}
	for _, id := range w.MonitorIDs {
		name, ok := names[id]
		row.Monitors = append(row.Monitors, monitorRef{ID: id, Name: name, Gone: !ok})
	}
	return row
}

// maintenancePage lists the maintenance windows: their schedule in words,
// the monitors and tags they cover and whether they are open now.
func (s *Server) maintenancePage(w http.ResponseWriter, r *http.Request) {
	ws, err := s.opts.Monitors.Windows(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	names, _, err := s.monitorNames(r)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	now := time.Now()
	data := maintenanceList{CanEdit: canOperate(r)}
	for _, win := range ws {
		data.Windows = append(data.Windows, rowOf(win, names, now))
	}
	s.render(w, r, http.StatusOK, "maintenance", s.newView(r, "Maintenance", "maintenance", data))
}
