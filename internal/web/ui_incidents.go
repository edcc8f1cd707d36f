package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// incidentList is the data of the incident list.
type incidentList struct {
	Incidents []incidentRow
	Counts    incident.Counts
	// The filters as given, for the form and the links.
	Status, Severity, Service, Assignee string
	Services                            []incident.TechService
	Users                               []auth.User
	Severities, Statuses                []string
	StatusLinks                         []statusLink
	Filtered                            bool
	Next                                string
	CanEdit                             bool
	Errors                              fieldErrors
}

// statusLink is one entry of the status summary above the list.
type statusLink struct {
	Label, Href string
	N           int64
	Current     bool
}

func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := incidentList{Status: q.Get("status"), Severity: q.Get("severity"), Service: q.Get("service"), Assignee: q.Get("assignee"),
		Severities: incident.IncidentSeverities, Statuses: []string{"open", "triggered", "acknowledged", "resolved"}, Errors: fieldErrors{}, CanEdit: auth.ActorFrom(r.Context()).Role.Allows(auth.RoleOperator)}
	d.Filtered = d.Status != "" || d.Severity != "" || d.Service != "" || d.Assignee != ""
	ctx := r.Context()
	var err error
	if d.Services, _, err = s.opts.Incidents.ListServices(ctx, 0, 1000); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if d.Users, err = s.auth.ListUsers(ctx); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f, err := incidentFilter(r)
	status := http.StatusOK
	if err == nil {
		var incs []incident.Incident
		var next int64
		incs, next, err = s.opts.Incidents.List(ctx, f)
		if err == nil {
			for _, in := range incs {
				d.Incidents = append(d.Incidents, incidentRow{in})
			}
			if next != 0 {
				nq := r.URL.Query()
				nq.Set("cursor", encodeCursor(next))
				d.Next = "/incidents?" + nq.Encode()
			}
			d.Counts, err = s.opts.Incidents.Count(ctx, f)
		}
	}
	if err != nil {
		if !formError(err, d.Errors, map[string]string{"status": "Status", "severity": "Severity", "service": "Service", "assignee": "Assignee", "cursor": "Page", "limit": "Limit"}) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		for _, msg := range d.Errors {
			d.Errors[""] = msg // the filters show their one message above the form
		}
		status = http.StatusBadRequest
	}
	link := func(label, st string, n int64) statusLink {
		lq := r.URL.Query()
		lq.Del("cursor")
		if st == "" {
			lq.Del("status")
		} else {
			lq.Set("status", st)
		}
		return statusLink{Label: label, Href: "/incidents?" + lq.Encode(), N: n, Current: d.Status == st}
	}
	c := d.Counts
	d.StatusLinks = []statusLink{link("Open", "open", c.Triggered+c.Acknowledged), link("Triggered", "triggered", c.Triggered),
		link("Acknowledged", "acknowledged", c.Acknowledged), link("Resolved", "resolved", c.Resolved), link("All", "", c.Triggered+c.Acknowledged+c.Resolved)}
	s.render(w, r, status, "incidents", s.newView(r, "Incidents", "incidents", d))
}

// incidentDetail is the data of an incident's page.
type incidentDetail struct {
	Incident incidentRow
	Alerts   []alertRow
	Timeline []incident.TimelineEntry
	Users    []auth.User
	CanEdit  bool
	Note     string
	Errors   fieldErrors
	// Escalation is where the incident is in its policy, if it has one.
	Escalation *incidentEscalation
}

// incidentEscalation describes an incident's escalation for its page.
type incidentEscalation struct {
	PolicyID   int64
	PolicyName string
	State      string // active, stopped, exhausted, failed
	Level      int
	Round      int
	NextAt     time.Time
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request) {
	s.renderIncident(w, r, http.StatusOK, "", fieldErrors{})
}

func (s *Server) renderIncident(w http.ResponseWriter, r *http.Request, status int, note string, errs fieldErrors) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such incident")
		return
	}
	ctx := r.Context()
	inc, err := s.opts.Incidents.Get(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no incident #"+strconv.FormatInt(id, 10))
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := incidentDetail{Incident: incidentRow{inc}, Note: note, Errors: errs, CanEdit: auth.ActorFrom(ctx).Role.Allows(auth.RoleOperator)}
	as, _, err := s.opts.Incidents.ListAlerts(ctx, incident.AlertFilter{IncidentID: id, Limit: 200})
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, a := range as {
		d.Alerts = append(d.Alerts, alertRow{a})
	}
	if d.Timeline, err = s.opts.Incidents.Timeline(ctx, id); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if s.opts.OnCall != nil {
		if e, err := s.opts.OnCall.Escalation(ctx, id); err == nil {
			d.Escalation = &incidentEscalation{PolicyID: e.PolicyID, State: e.State, Level: e.Level, Round: e.Round, NextAt: e.NextAt}
			if p, err := s.opts.OnCall.Policy(ctx, e.PolicyID); err == nil {
				d.Escalation.PolicyName = p.Name
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	if d.CanEdit {
		if d.Users, err = s.auth.ListUsers(ctx); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.render(w, r, status, "incident", s.newView(r, "#"+strconv.FormatInt(id, 10)+" "+inc.Title, "incidents", d))
}

// incidentActionUI runs the buttons and forms of an incident's page.
func (s *Server) incidentActionUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such incident")
		return
	}
	ctx := r.Context()
	inc := s.opts.Incidents
	var notice string
	switch r.PathValue("action") {
	case "ack":
		err, notice = inc.Acknowledge(ctx, id), "incident-acknowledged"
	case "resolve":
		err, notice = inc.Resolve(ctx, id), "incident-resolved"
	case "reopen":
		err, notice = inc.Reopen(ctx, id), "incident-reopened"
	case "notes":
		err, notice = inc.AddNote(ctx, id, r.PostFormValue("text")), "incident-noted"
	case "assign":
		uid, perr := strconv.ParseInt(r.PostFormValue("user_id"), 10, 64)
		if perr != nil || uid < 0 {
			err = valid.Errorf("user_id", "choose a user")
		} else {
			err = inc.Assign(ctx, id, uid)
		}
		notice = "incident-assigned"
	case "merge":
		into, perr := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("into")), "#"), 10, 64)
		if perr != nil || into <= 0 {
			err = valid.Errorf("into", "must be an incident number such as 42")
		} else {
			err = inc.Merge(ctx, id, into)
		}
		notice = "incident-merged"
	default:
		s.renderError(w, r, http.StatusNotFound, "there is no such action")
		return
	}
	if err != nil {
		errs := fieldErrors{}
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.renderError(w, r, http.StatusNotFound, "there is no incident #"+strconv.FormatInt(id, 10))
			return
		case errors.Is(err, incident.ErrTransition):
			errs[""] = "The incident's status does not allow this any more; the page shows its current state."
			s.renderIncident(w, r, http.StatusConflict, "", errs)
			return
		case formError(err, errs, map[string]string{"text": "Note", "user_id": "Assignee", "into": "Merge into"}):
			s.renderIncident(w, r, http.StatusUnprocessableEntity, r.PostFormValue("text"), errs)
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, incidentURL(id, notice), http.StatusSeeOther)
}

// incidentForm is the state of the declare-an-incident form.
type incidentForm struct {
	Title, Description, Severity, Priority, Service string
	Services                                        []incident.TechService
	Severities, Priorities                          []string
	Errors                                          fieldErrors
}

func (s *Server) newIncidentPage(w http.ResponseWriter, r *http.Request) {
	s.renderIncidentForm(w, r, http.StatusOK, incidentForm{Severity: "SEV3", Service: r.URL.Query().Get("service"), Errors: fieldErrors{}})
}

func (s *Server) renderIncidentForm(w http.ResponseWriter, r *http.Request, status int, f incidentForm) {
	var err error
	if f.Services, _, err = s.opts.Incidents.ListServices(r.Context(), 0, 1000); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f.Severities, f.Priorities = incident.IncidentSeverities, incident.Priorities
	s.render(w, r, status, "incident_new", s.newView(r, "Declare an incident", "incidents", f))
}

func (s *Server) createIncidentUI(w http.ResponseWriter, r *http.Request) {
	f := incidentForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Severity: r.PostFormValue("severity"),
		Priority: r.PostFormValue("priority"), Service: r.PostFormValue("service_id"), Errors: fieldErrors{}}
	in := incident.NewIncident{Title: f.Title, Description: f.Description, Severity: f.Severity, Priority: f.Priority}
	if f.Service != "" {
		id, err := strconv.ParseInt(f.Service, 10, 64)
		if err != nil {
			f.Errors["service_id"] = "Service is not one of the choices."
			s.renderIncidentForm(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		in.ServiceID = &id
	}
	inc, err := s.opts.Incidents.CreateIncident(r.Context(), in)
	if err != nil {
		if formError(err, f.Errors, map[string]string{"title": "Title", "description": "Description", "severity": "Severity", "priority": "Priority", "service_id": "Service", "assignee_id": "Assignee"}) {
			s.renderIncidentForm(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, incidentURL(inc.ID, "incident-created"), http.StatusSeeOther)
}

// linkPage is the data of an action link's confirmation page.
type linkPage struct {
	Token    string
	Action   string
	Incident *incidentRow
	Done     bool
	Problem  string
}

func (s *Server) incidentLinkPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	d := linkPage{Token: token}
	l, err := s.opts.Incidents.VerifyLink(token)
	if err != nil {
		d.Problem = "This link is not valid or has expired. Sign in to opsdeck to act on the incident."
		s.render(w, r, http.StatusNotFound, "incident_action", s.newView(r, "Incident link", "", d))
		return
	}
	d.Action = l.Action
	inc, err := s.opts.Incidents.Get(r.Context(), l.IncidentID)
	if err != nil {
		d.Problem = "The incident of this link no longer exists."
		s.render(w, r, http.StatusNotFound, "incident_action", s.newView(r, "Incident link", "", d))
		return
	}
	d.Incident = &incidentRow{inc}
	s.render(w, r, http.StatusOK, "incident_action", s.newView(r, "Incident #"+strconv.FormatInt(inc.ID, 10), "", d))
}

func (s *Server) incidentLinkAct(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	d := linkPage{Token: token}
	l, err := s.opts.Incidents.FollowLink(r.Context(), token, s.clientAddr(r))
	d.Action = l.Action
	status := http.StatusOK
	switch {
	case err == nil:
		d.Done = true
	case errors.Is(err, incident.ErrBadLink):
		d.Problem, status = "This link is not valid or has expired. Sign in to opsdeck to act on the incident.", http.StatusNotFound
	case errors.Is(err, incident.ErrTransition):
		d.Problem, status = "Nothing was changed: the incident's status no longer allows this (someone may have been quicker).", http.StatusConflict
	case errors.Is(err, store.ErrNotFound):
		d.Problem, status = "The incident of this link no longer exists.", http.StatusNotFound
	default:
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if inc, err := s.opts.Incidents.Get(r.Context(), l.IncidentID); err == nil {
		d.Incident = &incidentRow{inc}
	}
	s.render(w, r, status, "incident_action", s.newView(r, "Incident link", "", d))
}
