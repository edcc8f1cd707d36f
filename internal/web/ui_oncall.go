package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/oncall"
	"github.com/opsdeck/opsdeck/internal/store"
)

// oncallUIRoutes are the on-call pages: who is on call, schedules with
// their calendar and overrides, and escalation policies. Roles as the API.
func (s *Server) oncallUIRoutes() []Route {
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	return []Route{
		ui("GET", "/oncall", auth.RoleViewer, s.onCallPage),
		ui("GET", "/oncall/schedules/new", auth.RoleOperator, s.newSchedulePage),
		ui("POST", "/oncall/schedules/new", auth.RoleOperator, s.createSchedule),
		ui("GET", "/oncall/schedules/{id}", auth.RoleViewer, s.schedulePage),
		ui("GET", "/oncall/schedules/{id}/edit", auth.RoleOperator, s.editSchedulePage),
		ui("POST", "/oncall/schedules/{id}/edit", auth.RoleOperator, s.updateSchedule),
		ui("POST", "/oncall/schedules/{id}/delete", auth.RoleOperator, s.deleteSchedule),
		ui("POST", "/oncall/schedules/{id}/overrides", auth.RoleOperator, s.addOverride),
		ui("POST", "/oncall/schedules/{id}/overrides/{oid}/delete", auth.RoleOperator, s.deleteOverride),
		ui("GET", "/oncall/policies", auth.RoleViewer, s.policiesPage),
		ui("GET", "/oncall/policies/new", auth.RoleAdmin, s.newPolicyPage),
		ui("POST", "/oncall/policies/new", auth.RoleAdmin, s.createPolicy),
		ui("GET", "/oncall/policies/{id}", auth.RoleViewer, s.editPolicyPage),
		ui("POST", "/oncall/policies/{id}", auth.RoleAdmin, s.updatePolicy),
		ui("POST", "/oncall/policies/{id}/delete", auth.RoleAdmin, s.deletePolicy),
	}
}

// canRole reports whether the caller of r holds at least role.
func (s *Server) canRole(r *http.Request, role auth.Role) bool {
	p, ok := s.signedIn(r)
	return ok && p.Role.Allows(role)
}

// onCallRow is one schedule on the "who is on call" page.
type onCallRow struct {
	ID                  int64
	Name, Zone          string
	User, NextUser      string
	Since, Until, Next  time.Time
	Nobody, HasNext     bool
	UntilLocal, NextLoc string
}

func onCallRowOf(names map[int64]string, oc oncall.OnCall, loc *time.Location) onCallRow {
	row := onCallRow{ID: oc.ScheduleID, Name: oc.ScheduleName, Zone: oc.TimeZone, Nobody: oc.Current == nil}
	if c := oc.Current; c != nil {
		row.User, row.Since, row.Until = userName(names, c.UserID), c.Start, c.End
		row.UntilLocal = c.End.In(loc).Format("Mon 2 Jan 15:04 MST")
		if !c.End.Before(oc.Horizon) {
			row.UntilLocal = "beyond " + c.End.In(loc).Format("Mon 2 Jan") // no hand-off within the look-ahead
		}
	}
	if n := oc.Next; n != nil {
		row.HasNext, row.NextUser, row.Next = true, userName(names, n.UserID), n.Start
		row.NextLoc = n.Start.In(loc).Format("Mon 2 Jan 15:04 MST")
	}
	return row
}

// onCallList is the data of the on-call overview.
type onCallList struct {
	Rows     []onCallRow
	CanEdit  bool
	Policies int
}

func (s *Server) onCallPage(w http.ResponseWriter, r *http.Request) {
	ocs, err := s.opts.OnCall.OnCallNow(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	ps, err := s.opts.OnCall.Policies(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := onCallList{CanEdit: s.canRole(r, auth.RoleOperator), Policies: len(ps)}
	for _, oc := range ocs {
		loc, _ := time.LoadLocation(oc.TimeZone)
		if loc == nil {
			loc = time.UTC
		}
		d.Rows = append(d.Rows, onCallRowOf(names, oc, loc))
	}
	s.render(w, r, http.StatusOK, "oncall", s.newView(r, "On call", "oncall", d))
}

// scheduleURL is a schedule's page.
func scheduleURL(id int64) string { return "/oncall/schedules/" + strconv.FormatInt(id, 10) }

// schedulePageData is the data of a schedule's page: who is on call, the
// calendar of final shifts, the layers in words, overrides and the
// override form.
type schedulePageData struct {
	Schedule   *oncall.Schedule
	Now        onCallRow
	Cal        calendarPeriod
	Calendar   template.HTML
	Shifts     []shiftRow
	Layers     []layerRow
	Overrides  []overrideRow
	Users      []userOption
	Override   overrideForm
	CanEdit    bool
	ZoneOffset string
}

// shiftRow is one final shift in the list under the calendar.
type shiftRow struct {
	User, Source, Start, End string
}

// layerRow describes a layer in words.
type layerRow struct {
	N                              int
	Name, Rotation, Handoff, Start string
	Participants                   []string
	Restrictions                   []string
}

// overrideRow is an override as the schedule page lists it.
type overrideRow struct {
	ID                     int64
	User, Start, End, Note string
	CreatedBy              string
	Active                 bool
}

// userOption is a user in a picker.
type userOption struct {
	ID   int64
	Name string
}

// overrideForm holds the override form's values and errors.
type overrideForm struct {
	UserID, Start, End, Note string
	Errors                   fieldErrors
}

// calendarPeriod is the calendar's period and its navigation links, all
// in the URL so a view can be shared.
type calendarPeriod struct {
	View, Label       string
	Prev, Next, Today string
	WeekURL, MonthURL string
	Days              []time.Time
	From, To          time.Time
}

// periodOf reads ?view=week|month&date=YYYY-MM-DD for a schedule page; the
// default is this week in the schedule's zone.
func periodOf(q url.Values, base string, loc *time.Location, now time.Time) calendarPeriod {
	view := q.Get("view")
	if view != "month" {
		view = "week"
	}
	today := now.In(loc)
	date := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	if d, err := time.Parse(time.DateOnly, q.Get("date")); err == nil && d.Year() >= 2000 && d.Year() <= 2100 {
		date = d
	}
	first, last := date, date
	var prev, next time.Time
	label := ""
	if view == "week" {
		first = date.AddDate(0, 0, -((int(date.Weekday()) + 6) % 7)) // Monday
		last = first.AddDate(0, 0, 6)
		prev, next = first.AddDate(0, 0, -7), first.AddDate(0, 0, 7)
		label = "Week of " + first.Format("Mon 2 Jan 2006")
	} else {
		m1 := time.Date(date.Year(), date.Month(), 1, 0, 0, 0, 0, time.UTC)
		first = m1.AddDate(0, 0, -((int(m1.Weekday()) + 6) % 7))
		mEnd := m1.AddDate(0, 1, -1)
		last = mEnd.AddDate(0, 0, (7-int(mEnd.Weekday()))%7)
		prev, next = m1.AddDate(0, -1, 0), m1.AddDate(0, 1, 0)
		label = m1.Format("January 2006")
	}
	link := func(v string, d time.Time) string {
		return base + "?" + url.Values{"view": {v}, "date": {d.Format(time.DateOnly)}}.Encode()
	}
	p := calendarPeriod{View: view, Label: label, Prev: link(view, prev), Next: link(view, next),
		Today:   link(view, time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)),
		WeekURL: link("week", date), MonthURL: link("month", date)}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		p.Days = append(p.Days, oncall.StartOfDay(d.Year(), d.Month(), d.Day(), loc))
	}
	p.From = p.Days[0]
	end := last.AddDate(0, 0, 1)
	p.To = oncall.StartOfDay(end.Year(), end.Month(), end.Day(), loc)
	return p
}

func (s *Server) loadSchedule(w http.ResponseWriter, r *http.Request) (*oncall.Schedule, bool) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such schedule")
		return nil, false
	}
	sc, err := s.opts.OnCall.Schedule(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "there is no such schedule; it may have been deleted")
		return nil, false
	}
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return nil, false
	}
	return sc, true
}

func (s *Server) schedulePage(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.loadSchedule(w, r)
	if !ok {
		return
	}
	s.renderSchedule(w, r, http.StatusOK, sc, overrideForm{})
}

// renderSchedule draws a schedule's page, with the override form as given
// (values and errors after a refused submit).
func (s *Server) renderSchedule(w http.ResponseWriter, r *http.Request, status int, sc *oncall.Schedule, of overrideForm) {
	ctx := r.Context()
	loc := sc.Location()
	now := s.opts.OnCall.Now()
	names, err := s.opts.OnCall.UserNames(ctx)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	oc, err := s.opts.OnCall.OnCall(ctx, sc.ID, now)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	cal := periodOf(r.URL.Query(), scheduleURL(sc.ID), loc, now)
	shifts, err := s.opts.OnCall.Shifts(ctx, sc.ID, cal.From, cal.To)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	ovs, err := s.opts.OnCall.Overrides(ctx, sc.ID, now, now.AddDate(100, 0, 0)) // every current and future one
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if of.Errors == nil {
		of.Errors = fieldErrors{}
	}
	if of.Start == "" && of.End == "" {
		h := now.In(loc).Truncate(time.Hour).Add(time.Hour)
		of.Start, of.End = h.Format("2006-01-02T15:04"), h.Add(8*time.Hour).Format("2006-01-02T15:04")
	}
	d := schedulePageData{Schedule: sc, Now: onCallRowOf(names, oc, loc), Cal: cal, Override: of,
		CanEdit: s.canRole(r, auth.RoleOperator), ZoneOffset: now.In(loc).Format("MST, UTC-07:00")}
	d.Calendar = calendarSVG(cal, shifts, names, now, loc)
	const shiftFmt = "Mon 2 Jan 15:04"
	for _, sh := range shifts {
		src := "layer " + strconv.Itoa(sh.Layer)
		if sh.OverrideID != 0 {
			src = "override"
		}
		d.Shifts = append(d.Shifts, shiftRow{User: userName(names, sh.UserID), Source: src,
			Start: sh.Start.In(loc).Format(shiftFmt), End: sh.End.In(loc).Format(shiftFmt)})
	}
	for i, l := range sc.Layers {
		d.Layers = append(d.Layers, describeLayer(i+1, l, names))
	}
	for _, o := range ovs {
		d.Overrides = append(d.Overrides, overrideRow{ID: o.ID, User: userName(names, o.UserID), Note: o.Note, CreatedBy: o.CreatedBy,
			Start: o.Start.In(loc).Format(shiftFmt), End: o.End.In(loc).Format(shiftFmt), Active: !now.Before(o.Start)})
	}
	d.Users = userOptions(names)
	s.render(w, r, status, "oncall_schedule", s.newView(r, sc.Name, "oncall", d))
}

// userOptions lists users by name for pickers.
func userOptions(names map[int64]string) []userOption {
	out := make([]userOption, 0, len(names))
	for id, n := range names {
		out = append(out, userOption{ID: id, Name: n})
	}
	slices.SortFunc(out, func(a, b userOption) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// describeLayer puts a layer in words.
func describeLayer(n int, l oncall.Layer, names map[int64]string) layerRow {
	row := layerRow{N: n, Name: l.Name, Handoff: l.Handoff, Start: l.StartDate}
	switch l.Rotation {
	case oncall.RotationDaily:
		row.Rotation = "daily"
	case oncall.RotationWeekly:
		row.Rotation = "weekly"
	default:
		row.Rotation = "every " + strconv.Itoa(l.ShiftLength) + " " + l.ShiftUnit
	}
	for _, id := range l.Participants {
		row.Participants = append(row.Participants, userName(names, id))
	}
	for _, rs := range l.Restrictions {
		days := ""
		for i, d := range rs.Days {
			if i > 0 {
				days += ", "
			}
			days += d
		}
		row.Restrictions = append(row.Restrictions, days+" "+rs.Start+"–"+rs.End)
	}
	return row
}

func (s *Server) addOverride(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.loadSchedule(w, r)
	if !ok {
		return
	}
	loc := sc.Location()
	of := overrideForm{UserID: echo(r.PostFormValue("user_id")), Start: echo(r.PostFormValue("start")), End: echo(r.PostFormValue("end")),
		Note: echo(r.PostFormValue("note")), Errors: fieldErrors{}}
	o := oncall.Override{ScheduleID: sc.ID, Note: r.PostFormValue("note")}
	uid, err := strconv.ParseInt(of.UserID, 10, 64)
	if err != nil || uid <= 0 {
		of.Errors["user_id"] = "Choose who covers."
	}
	o.UserID = uid
	for _, f := range []struct {
		name, label, v string
		dst            *time.Time
	}{{"start", "Start", of.Start, &o.Start}, {"end", "End", of.End, &o.End}} {
		t, ok := parseDateTime(f.v, time.UTC)
		if !ok {
			of.Errors[f.name] = f.label + " must be a date and time."
			continue
		}
		*f.dst = oncall.InZone(t, loc)
	}
	if len(of.Errors) == 0 {
		_, err := s.opts.OnCall.AddOverride(r.Context(), o)
		switch {
		case err == nil:
			http.Redirect(w, r, scheduleURL(sc.ID)+"?notice=override-added", http.StatusSeeOther)
			return
		case !formError(err, of.Errors, map[string]string{"user_id": "Who", "start": "Start", "end": "End", "note": "Note"}):
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.renderSchedule(w, r, http.StatusUnprocessableEntity, sc, of)
}

func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	oid, err2 := strconv.ParseInt(r.PathValue("oid"), 10, 64)
	if err != nil || err2 != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such override")
		return
	}
	if err := s.opts.OnCall.DeleteOverride(r.Context(), id, oid); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such override; it may have been deleted already")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, scheduleURL(id)+"?notice=override-deleted", http.StatusSeeOther)
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such schedule")
		return
	}
	if err := s.opts.OnCall.DeleteSchedule(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such schedule; it may have been deleted already")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/oncall?notice=schedule-deleted", http.StatusSeeOther)
}
