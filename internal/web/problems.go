package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
)

// problemRoutes are the problem API and pages: viewers read and search,
// operators record problems and link incidents.
func (s *Server) problemRoutes() []Route {
	if s.opts.Incidents == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	return []Route{
		api("GET", "/api/v1/problems", auth.RoleViewer, s.apiListProblems),
		api("POST", "/api/v1/problems", auth.RoleOperator, s.apiCreateProblem),
		api("GET", "/api/v1/problems/{id}", auth.RoleViewer, s.apiGetProblem),
		api("PUT", "/api/v1/problems/{id}", auth.RoleOperator, s.apiUpdateProblem),
		api("POST", "/api/v1/problems/{id}/incidents", auth.RoleOperator, s.apiLinkProblem),
		ui("GET", "/problems", auth.RoleViewer, s.problemsPage),
		ui("GET", "/problems/new", auth.RoleOperator, s.newProblemPage),
		ui("POST", "/problems/new", auth.RoleOperator, s.saveProblemUI),
		ui("GET", "/problems/{id}", auth.RoleViewer, s.problemPage),
		ui("POST", "/problems/{id}", auth.RoleOperator, s.saveProblemUI),
		ui("POST", "/problems/{id}/incidents", auth.RoleOperator, s.linkProblemUI),
	}
}

func problemFilter(r *http.Request) (incident.ProblemFilter, error) {
	q := r.URL.Query()
	f := incident.ProblemFilter{Query: q.Get("q"), KnownErrors: q.Get("known_error") == "true", Status: q.Get("status")}
	var err error
	if f.Before, err = decodeCursor(q.Get("cursor")); err != nil {
		return f, err
	}
	f.Limit, err = queryLimit(r, 50, 500)
	return f, err
}

func (s *Server) apiListProblems(w http.ResponseWriter, r *http.Request) {
	f, err := problemFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	ps, next, err := s.opts.Incidents.ListProblems(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[incident.Problem]{Data: ps, NextCursor: encodeCursor(next)})
}

func (s *Server) apiCreateProblem(w http.ResponseWriter, r *http.Request) {
	var in incident.ProblemInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	p, err := s.opts.Incidents.CreateProblem(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/problems/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) apiGetProblem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.opts.Incidents.GetProblem(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) apiUpdateProblem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in incident.ProblemInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	p, err := s.opts.Incidents.UpdateProblem(r.Context(), id, in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) apiLinkProblem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		IncidentID int64 `json:"incident_id"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Incidents.LinkIncident(r.Context(), id, in.IncidentID); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.apiGetProblem(w, r)
}

// problemList is the data of the problem list (the known-error search).
type problemList struct {
	Problems   []incident.Problem
	Q          string
	KnownError bool
	Next       string
	CanEdit    bool
	Errors     fieldErrors
}

func (s *Server) problemsPage(w http.ResponseWriter, r *http.Request) {
	d := problemList{Q: r.URL.Query().Get("q"), KnownError: r.URL.Query().Get("known_error") == "true", Errors: fieldErrors{},
		CanEdit: auth.ActorFrom(r.Context()).Role.Allows(auth.RoleOperator)}
	status := http.StatusOK
	f, err := problemFilter(r)
	if err == nil {
		var next int64
		d.Problems, next, err = s.opts.Incidents.ListProblems(r.Context(), f)
		if next != 0 {
			q := r.URL.Query()
			q.Set("cursor", encodeCursor(next))
			d.Next = "/problems?" + q.Encode()
		}
	}
	if err != nil {
		if !formError(err, d.Errors, map[string]string{"q": "Search", "status": "Status", "cursor": "Page", "limit": "Limit"}) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		status = http.StatusBadRequest
	}
	s.render(w, r, status, "problems", s.newView(r, "Problems", "problems", d))
}

// problemDetail is the data of a problem's page and of the new-problem form.
type problemDetail struct {
	Problem   *incident.Problem
	Form      incident.ProblemInput
	Incidents []incidentRow
	CanEdit   bool
	Errors    fieldErrors
}

var problemLabels = map[string]string{"title": "Title", "status": "Status", "root_cause": "Root cause", "workaround": "Workaround", "incident_id": "Incident"}

func (s *Server) newProblemPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "problem", s.newView(r, "New problem", "problems", problemDetail{CanEdit: true, Errors: fieldErrors{}}))
}

func (s *Server) problemPage(w http.ResponseWriter, r *http.Request) {
	s.renderProblem(w, r, http.StatusOK, nil, fieldErrors{})
}

func (s *Server) renderProblem(w http.ResponseWriter, r *http.Request, status int, form *incident.ProblemInput, errs fieldErrors) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such problem")
		return
	}
	p, err := s.opts.Incidents.GetProblem(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such problem")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := problemDetail{Problem: &p, Form: incident.ProblemInput{Title: p.Title, Status: p.Status, RootCause: p.RootCause, Workaround: p.Workaround, KnownError: p.KnownError},
		CanEdit: auth.ActorFrom(r.Context()).Role.Allows(auth.RoleOperator), Errors: errs}
	if form != nil {
		d.Form = *form
	}
	for _, iid := range p.IncidentIDs {
		if inc, err := s.opts.Incidents.Get(r.Context(), iid); err == nil {
			d.Incidents = append(d.Incidents, incidentRow{inc})
		}
	}
	s.render(w, r, status, "problem", s.newView(r, "Problem #"+strconv.FormatInt(p.ID, 10), "problems", d))
}

// saveProblemUI creates (/problems/new) or updates (/problems/{id}) a problem.
func (s *Server) saveProblemUI(w http.ResponseWriter, r *http.Request) {
	in := incident.ProblemInput{Title: r.PostFormValue("title"), Status: r.PostFormValue("status"), RootCause: r.PostFormValue("root_cause"),
		Workaround: r.PostFormValue("workaround"), KnownError: r.PostFormValue("known_error") == "on"}
	var p incident.Problem
	var err error
	isNew := r.PathValue("id") == ""
	if isNew {
		p, err = s.opts.Incidents.CreateProblem(r.Context(), in)
	} else {
		id, perr := pathID(r)
		if perr != nil {
			s.renderError(w, r, http.StatusNotFound, "there is no such problem")
			return
		}
		p, err = s.opts.Incidents.UpdateProblem(r.Context(), id, in)
	}
	if err != nil {
		errs := fieldErrors{}
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.renderError(w, r, http.StatusNotFound, "there is no such problem")
		case !formError(err, errs, problemLabels):
			s.serverError(w, r, SurfaceUI, err)
		case isNew:
			s.render(w, r, http.StatusUnprocessableEntity, "problem", s.newView(r, "New problem", "problems", problemDetail{Form: in, CanEdit: true, Errors: errs}))
		default:
			s.renderProblem(w, r, http.StatusUnprocessableEntity, &in, errs)
		}
		return
	}
	http.Redirect(w, r, "/problems/"+strconv.FormatInt(p.ID, 10)+"?notice=problem-saved", http.StatusSeeOther)
}

func (s *Server) linkProblemUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such problem")
		return
	}
	errs := fieldErrors{}
	inc, perr := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("incident_id")), "#"), 10, 64)
	if perr != nil || inc <= 0 {
		errs["incident_id"] = "Incident must be an incident number such as 42."
		s.renderProblem(w, r, http.StatusUnprocessableEntity, nil, errs)
		return
	}
	if err := s.opts.Incidents.LinkIncident(r.Context(), id, inc); err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.renderError(w, r, http.StatusNotFound, "there is no such problem")
		case formError(err, errs, problemLabels):
			s.renderProblem(w, r, http.StatusUnprocessableEntity, nil, errs)
		default:
			s.serverError(w, r, SurfaceUI, err)
		}
		return
	}
	http.Redirect(w, r, "/problems/"+strconv.FormatInt(id, 10)+"?notice=problem-linked", http.StatusSeeOther)
}
