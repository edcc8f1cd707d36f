package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// deskSettings is the admin page of the service desk: calendars, SLA
// policies in the order they are tried, groups and the priority matrix.
type deskSettings struct {
	Calendars  []servicedesk.Calendar
	CalNames   map[int64]string
	Policies   []servicedesk.SLAPolicy
	Groups     []servicedesk.Group
	MatrixRows []matrixRow
	Levels     []servicedesk.Level
	Priorities []servicedesk.Priority
	Errors     fieldErrors
}

// matrixRow is one impact's row of the matrix form.
type matrixRow struct {
	Impact servicedesk.Level
	Cells  []matrixCell
}

// matrixCell is one select of the matrix form, named m<impact><urgency>.
type matrixCell struct {
	Name            string
	Impact, Urgency servicedesk.Level
	P               servicedesk.Priority
}

func (s *Server) deskSettingsPage(w http.ResponseWriter, r *http.Request) {
	s.renderDeskSettings(w, r, http.StatusOK, nil, fieldErrors{})
}

func (s *Server) renderDeskSettings(w http.ResponseWriter, r *http.Request, status int, m *servicedesk.Matrix, errs fieldErrors) {
	ctx := r.Context()
	d := deskSettings{Levels: servicedesk.Levels(), Priorities: servicedesk.Priorities(), Errors: errs, CalNames: map[int64]string{}}
	var err error
	if d.Calendars, err = s.opts.ServiceDesk.Calendars(ctx); err == nil {
		if d.Policies, err = s.opts.ServiceDesk.Policies(ctx); err == nil {
			if d.Groups, err = s.opts.ServiceDesk.Groups(ctx); err == nil {
				var mx servicedesk.Matrix
				if mx, err = s.opts.ServiceDesk.PriorityMatrix(ctx); m == nil {
					m = &mx
				}
			}
		}
	}
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for i, imp := range servicedesk.Levels() {
		row := matrixRow{Impact: imp}
		for u, urg := range servicedesk.Levels() {
			row.Cells = append(row.Cells, matrixCell{Name: "m" + strconv.Itoa(i+1) + strconv.Itoa(u+1), Impact: imp, Urgency: urg, P: m[i][u]})
		}
		d.MatrixRows = append(d.MatrixRows, row)
	}
	for _, c := range d.Calendars {
		d.CalNames[c.ID] = c.Name
	}
	s.render(w, r, status, "sd_settings", s.newView(r, "Service desk settings", "service-desk", d))
}

func (s *Server) saveMatrixUI(w http.ResponseWriter, r *http.Request) {
	var m servicedesk.Matrix
	errs := fieldErrors{}
	for i := range 3 {
		for u := range 3 {
			key := "m" + strconv.Itoa(i+1) + strconv.Itoa(u+1)
			n, err := strconv.Atoi(r.PostFormValue(key))
			if err != nil || n < 1 || n > 5 {
				errs["matrix"] = "Every cell needs a priority from 1 to 5."
			}
			m[i][u] = servicedesk.Priority(n)
		}
	}
	if len(errs) == 0 {
		if err := s.opts.ServiceDesk.SetPriorityMatrix(r.Context(), m); err != nil {
			if _, ok := valid.As(err); !ok {
				s.serverError(w, r, SurfaceUI, err)
				return
			}
			errs["matrix"] = "Every cell needs a priority from 1 to 5."
		}
	}
	if len(errs) > 0 {
		s.renderDeskSettings(w, r, http.StatusUnprocessableEntity, &m, errs)
		return
	}
	http.Redirect(w, r, "/service-desk?notice=desk-saved#matrix", http.StatusSeeOther)
}

// formID reads {id} of an admin form: "new" is 0.
func formID(r *http.Request) (int64, bool) {
	if r.PathValue("id") == "new" {
		return 0, true
	}
	id, err := pathID(r)
	return id, err == nil
}

// calendarForm is the calendar editor: one text box per weekday.
type calendarForm struct {
	ID                       int64
	Name, TimeZone, Holidays string
	AllDay                   bool
	Days                     []dayHours
	Errors                   fieldErrors
}

// dayHours is one weekday's row of the calendar form.
type dayHours struct{ Key, Label, Value, Error string }

var dayLabels = []struct{ key, label string }{{"mon", "Monday"}, {"tue", "Tuesday"}, {"wed", "Wednesday"}, {"thu", "Thursday"},
	{"fri", "Friday"}, {"sat", "Saturday"}, {"sun", "Sunday"}}

func calendarFormOf(c servicedesk.Calendar, errs fieldErrors) calendarForm {
	f := calendarForm{ID: c.ID, Name: c.Name, TimeZone: c.TimeZone, AllDay: c.AllDay, Holidays: strings.Join(c.Holidays, "\n"), Errors: errs}
	for _, d := range dayLabels {
		f.Days = append(f.Days, dayHours{Key: d.key, Label: d.label, Value: strings.Join(c.Hours[d.key], ", "), Error: errs["hours."+d.key]})
	}
	return f
}

func (s *Server) calendarFormPage(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such calendar.")
		return
	}
	c := servicedesk.Calendar{TimeZone: "UTC", Hours: map[string][]string{"mon": {"08:00-17:00"}, "tue": {"08:00-17:00"},
		"wed": {"08:00-17:00"}, "thu": {"08:00-17:00"}, "fri": {"08:00-17:00"}}}
	if id != 0 {
		var err error
		if c, err = s.opts.ServiceDesk.Calendar(r.Context(), id); err != nil {
			s.deskNotFound(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "sd_calendar_form", s.newView(r, "Calendar", "service-desk", calendarFormOf(c, fieldErrors{})))
}

func (s *Server) saveCalendarUI(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such calendar.")
		return
	}
	c := servicedesk.Calendar{ID: id, Name: r.PostFormValue("name"), TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")),
		AllDay: r.PostFormValue("all_day") == "on", Hours: map[string][]string{}}
	for _, d := range dayLabels {
		for _, sp := range strings.Split(r.PostFormValue("hours_"+d.key), ",") {
			if sp = strings.TrimSpace(sp); sp != "" {
				c.Hours[d.key] = append(c.Hours[d.key], sp)
			}
		}
	}
	c.Holidays = append(c.Holidays, strings.Fields(strings.ReplaceAll(r.PostFormValue("holidays"), ",", " "))...)
	_, err := s.opts.ServiceDesk.SaveCalendar(r.Context(), c)
	if err != nil {
		errs := fieldErrors{}
		if !formError(err, errs, map[string]string{"name": "Name", "time_zone": "Time zone", "holidays": "Holidays", "hours": "Hours",
			"hours.mon": "Monday", "hours.tue": "Tuesday", "hours.wed": "Wednesday", "hours.thu": "Thursday", "hours.fri": "Friday",
			"hours.sat": "Saturday", "hours.sun": "Sunday"}) {
			s.deskNotFound(w, r, err)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, "sd_calendar_form", s.newView(r, "Calendar", "service-desk", calendarFormOf(c, errs)))
		return
	}
	http.Redirect(w, r, "/service-desk?notice=desk-saved#calendars", http.StatusSeeOther)
}

// slaPolicyForm is the SLA policy editor.
type slaPolicyForm struct {
	P          servicedesk.SLAPolicy
	Calendars  []servicedesk.Calendar
	Priorities []servicedesk.Priority
	Errors     fieldErrors
}

func (s *Server) policyFormPage(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such policy.")
		return
	}
	p := servicedesk.SLAPolicy{ResponseMinutes: 60, ResolutionMinutes: 480, WarnPercent: 80, Position: 100}
	if id != 0 {
		var err error
		if p, err = s.opts.ServiceDesk.Policy(r.Context(), id); err != nil {
			s.deskNotFound(w, r, err)
			return
		}
	}
	s.renderSLAPolicyForm(w, r, http.StatusOK, slaPolicyForm{P: p, Errors: fieldErrors{}})
}

func (s *Server) renderSLAPolicyForm(w http.ResponseWriter, r *http.Request, status int, f slaPolicyForm) {
	var err error
	if f.Calendars, err = s.opts.ServiceDesk.Calendars(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f.Priorities = servicedesk.Priorities()
	s.render(w, r, status, "sd_policy_form", s.newView(r, "SLA policy", "service-desk", f))
}

func (s *Server) savePolicyUI(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such policy.")
		return
	}
	errs := fieldErrors{}
	num := func(k, label string) int {
		v := strings.TrimSpace(r.PostFormValue(k))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs[k] = label + " must be a whole number."
		}
		return n
	}
	p := servicedesk.SLAPolicy{ID: id, Name: r.PostFormValue("name"), Position: num("position", "Order"),
		MatchPriority: servicedesk.Priority(num("match_priority", "Priority")), MatchCategory: r.PostFormValue("match_category"),
		MatchOrganization: r.PostFormValue("match_organization"), CalendarID: int64(num("calendar_id", "Calendar")),
		ResponseMinutes: num("response_minutes", "First response"), ResolutionMinutes: num("resolution_minutes", "Resolution"),
		WarnPercent: num("warn_percent", "Warning")}
	if len(errs) == 0 {
		_, err := s.opts.ServiceDesk.SavePolicy(r.Context(), p)
		if err == nil {
			http.Redirect(w, r, "/service-desk?notice=desk-saved#policies", http.StatusSeeOther)
			return
		}
		if !formError(err, errs, map[string]string{"name": "Name", "position": "Order", "match_priority": "Priority",
			"match_category": "Category", "match_organization": "Organisation", "calendar_id": "Calendar",
			"response_minutes": "First response", "resolution_minutes": "Resolution", "warn_percent": "Warning"}) {
			s.deskNotFound(w, r, err)
			return
		}
	}
	s.renderSLAPolicyForm(w, r, http.StatusUnprocessableEntity, slaPolicyForm{P: p, Errors: errs})
}

// groupForm is the group editor.
type groupForm struct {
	G          servicedesk.Group
	Categories string
	Agents     []auth.User
	Errors     fieldErrors
}

// Member reports whether a user is ticked.
func (f groupForm) Member(id int64) bool { return slices.Contains(f.G.MemberIDs, id) }

func (s *Server) groupFormPage(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such group.")
		return
	}
	g := servicedesk.Group{AssignMode: servicedesk.AssignNone}
	if id != 0 {
		var err error
		if g, err = s.opts.ServiceDesk.Group(r.Context(), id); err != nil {
			s.deskNotFound(w, r, err)
			return
		}
	}
	s.renderGroupForm(w, r, http.StatusOK, groupForm{G: g, Categories: strings.Join(g.Categories, ", "), Errors: fieldErrors{}})
}

func (s *Server) renderGroupForm(w http.ResponseWriter, r *http.Request, status int, f groupForm) {
	var err error
	if f.Agents, err = s.agents(r); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, status, "sd_group_form", s.newView(r, "Group", "service-desk", f))
}

func (s *Server) saveGroupUI(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such group.")
		return
	}
	g := servicedesk.Group{ID: id, Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		AssignMode: servicedesk.AssignMode(r.PostFormValue("assign_mode")), Categories: strings.Split(r.PostFormValue("categories"), ",")}
	for _, v := range r.PostForm["member"] {
		if uid, err := strconv.ParseInt(v, 10, 64); err == nil {
			g.MemberIDs = append(g.MemberIDs, uid)
		}
	}
	if _, err := s.opts.ServiceDesk.SaveGroup(r.Context(), g); err != nil {
		errs := fieldErrors{}
		if !formError(err, errs, map[string]string{"name": "Name", "description": "Description", "assign_mode": "Assignment",
			"categories": "Categories", "member_ids": "Members"}) {
			s.deskNotFound(w, r, err)
			return
		}
		s.renderGroupForm(w, r, http.StatusUnprocessableEntity, groupForm{G: g, Categories: r.PostFormValue("categories"), Errors: errs})
		return
	}
	http.Redirect(w, r, "/service-desk?notice=desk-saved#groups", http.StatusSeeOther)
}

// deleteDeskThing deletes a calendar, policy or group; one still in use
// is refused with a page that says so.
func (s *Server) deleteDeskThing(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			s.renderError(w, r, http.StatusNotFound, "There is no such "+kind+".")
			return
		}
		var del func(context.Context, int64) error
		switch kind {
		case "calendar":
			del = s.opts.ServiceDesk.DeleteCalendar
		case "policy":
			del = s.opts.ServiceDesk.DeletePolicy
		default:
			del = s.opts.ServiceDesk.DeleteGroup
		}
		if err := del(r.Context(), id); err != nil {
			if errors.Is(err, store.ErrReference) {
				s.renderError(w, r, http.StatusConflict, "This "+kind+" is still in use (by an SLA policy or by tickets); change those first.")
				return
			}
			s.deskNotFound(w, r, err)
			return
		}
		http.Redirect(w, r, "/service-desk?notice=desk-deleted", http.StatusSeeOther)
	}
}

// deskNotFound answers a missing record with 404 and anything else as a
// server error.
func (s *Server) deskNotFound(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "There is no such record; it may have been deleted.")
		return
	}
	s.serverError(w, r, SurfaceUI, err)
}
