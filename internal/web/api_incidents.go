package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// incidentRoutes is the incident API: reading needs viewer, working on
// incidents needs operator, services and integrations (keys) need admin.
func (s *Server) incidentRoutes() []Route {
	if s.opts.Incidents == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	rs := []Route{
		api("GET", "/api/v1/incidents", auth.RoleViewer, s.apiListIncidents),
		api("POST", "/api/v1/incidents", auth.RoleOperator, s.apiCreateIncident),
		api("GET", "/api/v1/incidents/stats", auth.RoleViewer, s.apiIncidentStats),
		api("GET", "/api/v1/incidents/{id}", auth.RoleViewer, s.apiGetIncident),
		api("GET", "/api/v1/incidents/{id}/timeline", auth.RoleViewer, s.apiIncidentTimeline),
		api("GET", "/api/v1/incidents/{id}/alerts", auth.RoleViewer, s.apiIncidentAlerts),
		api("POST", "/api/v1/incidents/{id}/ack", auth.RoleOperator, s.apiIncidentAction(s.opts.Incidents.Acknowledge)),
		api("POST", "/api/v1/incidents/{id}/resolve", auth.RoleOperator, s.apiIncidentAction(s.opts.Incidents.Resolve)),
		api("POST", "/api/v1/incidents/{id}/reopen", auth.RoleOperator, s.apiIncidentAction(s.opts.Incidents.Reopen)),
		api("POST", "/api/v1/incidents/{id}/notes", auth.RoleOperator, s.apiIncidentNote),
		api("POST", "/api/v1/incidents/{id}/assign", auth.RoleOperator, s.apiIncidentAssign),
		api("POST", "/api/v1/incidents/{id}/merge", auth.RoleOperator, s.apiIncidentMerge),
		api("GET", "/api/v1/alerts", auth.RoleViewer, s.apiListAlerts),
		api("GET", "/api/v1/alerts/{id}", auth.RoleViewer, s.apiGetAlert),
	}
	rs = append(rs, s.problemRoutes()...)
	rs = append(rs, s.postmortemRoutes()...)
	return append(append(rs, s.serviceAPIRoutes(api)...), s.incidentIntakeRoutes()...)
}

// queryID reads an optional positive id parameter.
func queryID(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, valid.Errorf(name, "must be a positive id")
	}
	return id, nil
}

// incidentFilter reads the list filters shared by the API and the UI.
func incidentFilter(r *http.Request) (incident.Filter, error) {
	q := r.URL.Query()
	f := incident.Filter{Status: q.Get("status"), Severity: q.Get("severity")}
	var err error
	if f.ServiceID, err = queryID(r, "service"); err != nil {
		return f, err
	}
	if f.AssigneeID, err = queryID(r, "assignee"); err != nil {
		return f, err
	}
	if f.Before, err = decodeCursor(q.Get("cursor")); err != nil {
		return f, err
	}
	if f.Limit, err = queryLimit(r, 50, 500); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) apiListIncidents(w http.ResponseWriter, r *http.Request) {
	f, err := incidentFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	incs, next, err := s.opts.Incidents.List(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[incident.Incident]{Data: incs, NextCursor: encodeCursor(next)})
}

func (s *Server) apiCreateIncident(w http.ResponseWriter, r *http.Request) {
	var in incident.NewIncident
	if !s.decodeJSON(w, r, &in) {
		return
	}
	inc, err := s.opts.Incidents.CreateIncident(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10))
	writeJSON(w, http.StatusCreated, inc)
}

func (s *Server) apiGetIncident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	inc, err := s.opts.Incidents.Get(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

func (s *Server) apiIncidentTimeline(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	tl, err := s.opts.Incidents.Timeline(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[incident.TimelineEntry]{Data: tl})
}

func (s *Server) apiIncidentAlerts(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if _, err := s.opts.Incidents.Get(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.listAlerts(w, r, incident.AlertFilter{IncidentID: id})
}

func (s *Server) apiListAlerts(w http.ResponseWriter, r *http.Request) {
	var f incident.AlertFilter
	var err error
	if f.ServiceID, err = queryID(r, "service"); err != nil {
		s.apiFail(w, r, err)
		return
	}
	if f.IncidentID, err = queryID(r, "incident"); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.listAlerts(w, r, f)
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, f incident.AlertFilter) {
	var err error
	f.Status = r.URL.Query().Get("status")
	if f.Before, err = decodeCursor(r.URL.Query().Get("cursor")); err != nil {
		s.apiFail(w, r, err)
		return
	}
	if f.Limit, err = queryLimit(r, 100, 1000); err != nil {
		s.apiFail(w, r, err)
		return
	}
	as, next, err := s.opts.Incidents.ListAlerts(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[incident.Alert]{Data: as, NextCursor: encodeCursor(next)})
}

func (s *Server) apiGetAlert(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	a, err := s.opts.Incidents.GetAlert(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// apiIncidentAction runs ack, resolve or reopen and answers the incident.
func (s *Server) apiIncidentAction(do func(ctx context.Context, id int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		if err := do(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		s.apiGetIncident(w, r)
	}
}

func (s *Server) apiIncidentNote(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Text string `json:"text"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Incidents.AddNote(r.Context(), id, in.Text); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) apiIncidentAssign(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if in.UserID < 0 {
		s.apiFail(w, r, valid.Errorf("user_id", "must be a user id, or 0 to clear"))
		return
	}
	if err := s.opts.Incidents.Assign(r.Context(), id, in.UserID); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.apiGetIncident(w, r)
}

func (s *Server) apiIncidentMerge(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Into int64 `json:"into"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if in.Into <= 0 {
		s.apiFail(w, r, valid.Errorf("into", "is required: the incident to merge into"))
		return
	}
	if err := s.opts.Incidents.Merge(r.Context(), id, in.Into); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.apiGetIncident(w, r)
}
