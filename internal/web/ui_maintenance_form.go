package web

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// The kinds of window the form offers.
const (
	windowOnce      = "once"
	windowRecurring = "recurring"
)

// maintenanceForm is the state of the create and edit forms of a window.
type maintenanceForm struct {
	// Window is the stored window; nil on the create form.
	Window                     *monitor.Window
	Name, Description, Kind    string
	StartsAt, EndsAt, Timezone string
	Cron, Duration, Tags       string
	Rows                       []windowMonitorRow
	// Q filters the unticked monitors by name or tag; Hidden counts the
	// ones it hides out of Total.
	Q             string
	Hidden, Total int
	Errors        fieldErrors
}

// windowMonitorRow is one monitor of the form's checkbox list.
type windowMonitorRow struct {
	ID      int64
	Name    string
	Tags    []string
	State   stateView
	Checked bool
}

// maintenanceLabels name the form's fields in its error messages; the keys
// are the field names the domain's errors use.
var maintenanceLabels = map[string]string{
	"name": "Name", "description": "Description", "kind": "Kind", "starts_at": "Starts", "ends_at": "Ends",
	"timezone": "Time zone", "cron": "Schedule", "duration": "Duration", "monitor_ids": "Monitors", "tags": "Tags",
}

// dateTimeLayouts are what a datetime-local input sends: minutes, or
// seconds when its step asks for them.
var dateTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

// dateTimeValue writes a time for a datetime-local input.
func dateTimeValue(t time.Time) string {
	if t.Second() != 0 {
		return t.Format(dateTimeLayouts[1])
	}
	return t.Format(dateTimeLayouts[0])
}

// windowForm fills the form from a stored window. One-off times show in
// UTC, which is how they are stored.
func windowForm(w *monitor.Window) maintenanceForm {
	f := maintenanceForm{Window: w, Name: w.Name, Description: w.Description, Kind: windowOnce, Timezone: "UTC", Tags: strings.Join(w.Tags, ", ")}
	if w.Cron != "" {
		f.Kind, f.Cron, f.Duration = windowRecurring, w.Cron, durationText(w.Duration)
		if w.Timezone != "" {
			f.Timezone = w.Timezone
		}
	}
	if w.StartsAt != nil && w.EndsAt != nil {
		f.StartsAt, f.EndsAt = dateTimeValue(w.StartsAt.UTC()), dateTimeValue(w.EndsAt.UTC())
	}
	return f
}

// windowRows lists every monitor, ticked ones first, then by name.
func windowRows(ms []monitor.WithStatus, ticked func(int64) bool) []windowMonitorRow {
	rows := make([]windowMonitorRow, 0, len(ms))
	for _, m := range ms {
		rows = append(rows, windowMonitorRow{ID: m.ID, Name: m.Name, Tags: m.Tags, State: stateOf(m.Status.State), Checked: ticked(m.ID)})
	}
	slices.SortStableFunc(rows, func(a, b windowMonitorRow) int {
		if a.Checked != b.Checked {
			if a.Checked {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	return rows
}

// filterWindowRows keeps the ticked rows and the others matching q by name
// or tag, and returns how many it hid.
func filterWindowRows(rows []windowMonitorRow, q string) ([]windowMonitorRow, int) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return rows, 0
	}
	out := rows[:0:0]
	for _, r := range rows {
		if r.Checked || strings.Contains(strings.ToLower(r.Name), q) || slices.ContainsFunc(r.Tags, func(t string) bool { return strings.Contains(t, q) }) {
			out = append(out, r)
		}
	}
	return out, len(rows) - len(out)
}

// loadZone reads an IANA time zone the way the monitoring service does.
func loadZone(tz string) (*time.Location, bool) {
	if len(tz) > 64 || strings.ContainsAny(tz, " \t\r\n") {
		return nil, false
	}
	loc, err := time.LoadLocation(tz)
	return loc, err == nil
}

// parseDateTime reads a datetime-local value as a time in loc.
func parseDateTime(v string, loc *time.Location) (time.Time, bool) {
	for _, l := range dateTimeLayouts {
		if t, err := time.ParseInLocation(l, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// readMaintenanceForm reads the submitted form into f and a window,
// checking every field so one answer lists every mistake. Only the chosen
// kind's fields are used. Monitors ticked but deleted meanwhile are left out.
func readMaintenanceForm(r *http.Request, f *maintenanceForm, ms []monitor.WithStatus) monitor.Window {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f.Name, f.Description, f.Kind = get("name"), get("description"), get("kind")
	f.StartsAt, f.EndsAt, f.Timezone = get("starts_at"), get("ends_at"), get("timezone")
	f.Cron, f.Duration, f.Tags = get("cron"), get("duration"), get("tags")
	f.Q = r.PostFormValue("q")
	f.Errors = fieldErrors{}
	ticked := map[int64]bool{}
	for _, v := range r.PostForm["m"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			ticked[id] = true
		}
	}
	f.Rows = windowRows(ms, func(id int64) bool { return ticked[id] })

	w := monitor.Window{Name: f.Name, Description: f.Description, MonitorIDs: []int64{},
		Tags: strings.FieldsFunc(f.Tags, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })}
	if f.Window != nil {
		w.ID = f.Window.ID
	}
	for _, row := range f.Rows {
		if row.Checked {
			w.MonitorIDs = append(w.MonitorIDs, row.ID)
		}
	}
	checkText(f.Errors, "name", "Name", f.Name, true, 200)
	if err := valid.Text("description", f.Description, false, 2000, true); err != nil {
		ve, _ := valid.As(err)
		f.Errors["description"] = "Description " + ve.Msg + "."
	}
	if len(w.MonitorIDs) == 0 && len(w.Tags) == 0 {
		f.Errors["monitor_ids"] = "Tick at least one monitor or give a tag."
	}

	if f.Timezone == "" {
		f.Timezone = "UTC"
	}
	loc, zoneOK := loadZone(f.Timezone)
	if !zoneOK {
		// Still check the other fields' form, in UTC.
		f.Errors["timezone"] = "Time zone is not an IANA time zone such as “Europe/Berlin” or “UTC”."
		loc = time.UTC
	}
	switch f.Kind {
	case windowOnce:
		var start, end time.Time
		okStart, okEnd := false, false
		if f.StartsAt == "" {
			f.Errors["starts_at"] = "Starts is required."
		} else if start, okStart = parseDateTime(f.StartsAt, loc); !okStart {
			f.Errors["starts_at"] = "Starts must be a date and time, such as 2026-12-01 21:00."
		}
		if f.EndsAt == "" {
			f.Errors["ends_at"] = "Ends is required."
		} else if end, okEnd = parseDateTime(f.EndsAt, loc); !okEnd {
			f.Errors["ends_at"] = "Ends must be a date and time, such as 2026-12-01 23:00."
		}
		if okStart && okEnd && !end.After(start) {
			f.Errors["ends_at"] = "Ends must be after the start."
		}
		if okStart && okEnd {
			s, e := start.UTC(), end.UTC()
			w.StartsAt, w.EndsAt = &s, &e
		}
	case windowRecurring:
		w.Cron, w.Duration, w.Timezone = f.Cron, f.Duration, f.Timezone
		if f.Cron == "" {
			f.Errors["cron"] = "Schedule is required, such as “0 3 * * 0” for Sundays at 03:00."
		} else if _, _, err := monitor.ParseCron(f.Cron, loc.String()); err != nil {
			formError(err, f.Errors, maintenanceLabels)
		}
		if d, err := time.ParseDuration(f.Duration); f.Duration == "" || err != nil || d < time.Minute || d > 7*24*time.Hour {
			f.Errors["duration"] = "Duration must be from 1m to 7 days, such as “2h” or “90m”."
		}
	default:
		f.Errors["kind"] = "Kind must be one-off or recurring."
	}
	return w
}

// renderMaintenanceForm shows the form, filtered by its search.
func (s *Server) renderMaintenanceForm(w http.ResponseWriter, r *http.Request, status int, f maintenanceForm) {
	if f.Errors == nil {
		f.Errors = fieldErrors{}
	}
	f.Total = len(f.Rows)
	f.Rows, f.Hidden = filterWindowRows(f.Rows, f.Q)
	// Domain messages may quote what was typed.
	for k, v := range f.Errors {
		f.Errors[k] = echo(v)
	}
	for _, p := range []*string{&f.Name, &f.Description, &f.Kind, &f.StartsAt, &f.EndsAt, &f.Timezone, &f.Cron, &f.Duration, &f.Tags, &f.Q} {
		*p = echo(*p)
	}
	title := "New maintenance window"
	if f.Window != nil {
		title = f.Window.Name
	}
	s.render(w, r, status, "maintenance_form", s.newView(r, title, "maintenance", f))
}

// newMaintenancePage shows the empty form: a one-off window in UTC.
func (s *Server) newMaintenancePage(w http.ResponseWriter, r *http.Request) {
	_, ms, err := s.monitorNames(r)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f := maintenanceForm{Kind: windowOnce, Timezone: "UTC", Q: r.URL.Query().Get("q"), Rows: windowRows(ms, func(int64) bool { return false })}
	s.renderMaintenanceForm(w, r, http.StatusOK, f)
}

// loadWindow reads the window named by the path, answering 404 itself.
func (s *Server) loadWindow(w http.ResponseWriter, r *http.Request) (*monitor.Window, bool) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such maintenance window")
		return nil, false
	}
	win, err := s.opts.Monitors.Window(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "there is no such maintenance window; it may have been deleted")
		return nil, false
	case err != nil:
		s.serverError(w, r, SurfaceUI, err)
		return nil, false
	}
	return win, true
}

// editMaintenancePage shows a window's form with what is stored.
func (s *Server) editMaintenancePage(w http.ResponseWriter, r *http.Request) {
	win, ok := s.loadWindow(w, r)
	if !ok {
		return
	}
	_, ms, err := s.monitorNames(r)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f := windowForm(win)
	f.Q = r.URL.Query().Get("q")
	f.Rows = windowRows(ms, func(id int64) bool { return slices.Contains(win.MonitorIDs, id) })
	s.renderMaintenanceForm(w, r, http.StatusOK, f)
}

// saveMaintenance handles both forms: "Filter" shows the list again with
// the form as sent (nothing lost, nothing saved); "Save" validates and
// stores, then goes back to the list.
func (s *Server) saveMaintenance(w http.ResponseWriter, r *http.Request, stored *monitor.Window) {
	_, ms, err := s.monitorNames(r)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f := maintenanceForm{Window: stored}
	win := readMaintenanceForm(r, &f, ms)
	if r.PostFormValue("action") == "filter" {
		f.Errors = fieldErrors{}
		s.renderMaintenanceForm(w, r, http.StatusOK, f)
		return
	}
	if len(f.Errors) == 0 {
		_, err := s.opts.Monitors.SaveWindow(r.Context(), win)
		switch {
		case err == nil:
			notice := "maintenance-saved"
			if stored == nil {
				notice = "maintenance-created"
			}
			http.Redirect(w, r, "/maintenance?notice="+notice, http.StatusSeeOther)
			return
		case errors.Is(err, store.ErrNotFound) && stored != nil:
			s.renderError(w, r, http.StatusNotFound, "there is no such maintenance window; it may have been deleted")
			return
		case !formError(err, f.Errors, maintenanceLabels):
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.renderMaintenanceForm(w, r, http.StatusUnprocessableEntity, f)
}

func (s *Server) createMaintenance(w http.ResponseWriter, r *http.Request) {
	s.saveMaintenance(w, r, nil)
}

func (s *Server) updateMaintenance(w http.ResponseWriter, r *http.Request) {
	win, ok := s.loadWindow(w, r)
	if !ok {
		return
	}
	s.saveMaintenance(w, r, win)
}

// deleteMaintenance removes a window; the page asked once before
// (data-confirm). The monitors it covered show their real state from
// their next check.
func (s *Server) deleteMaintenance(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such maintenance window")
		return
	}
	if err := s.opts.Monitors.DeleteWindow(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such maintenance window; it may have been deleted already")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/maintenance?notice=maintenance-deleted", http.StatusSeeOther)
}
