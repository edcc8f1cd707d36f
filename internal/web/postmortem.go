package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// postmortemRoutes are an incident's postmortem: a document pre-filled from
// the timeline and action items with owners and due dates.
func (s *Server) postmortemRoutes() []Route {
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
		api("GET", "/api/v1/incidents/{id}/postmortem", auth.RoleViewer, s.apiGetPostmortem),
		api("PUT", "/api/v1/incidents/{id}/postmortem", auth.RoleOperator, s.apiSavePostmortem),
		api("POST", "/api/v1/incidents/{id}/postmortem/actions", auth.RoleOperator, s.apiAddActionItem),
		api("PATCH", "/api/v1/incidents/{id}/postmortem/actions/{action}", auth.RoleOperator, s.apiSetActionDone),
		ui("GET", "/incidents/{id}/postmortem", auth.RoleViewer, s.postmortemPage),
		ui("POST", "/incidents/{id}/postmortem", auth.RoleOperator, s.savePostmortemUI),
		ui("POST", "/incidents/{id}/postmortem/actions", auth.RoleOperator, s.addActionItemUI),
		ui("POST", "/incidents/{id}/postmortem/actions/{action}", auth.RoleOperator, s.toggleActionItemUI),
	}
}

func actionID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("action"), 10, 64)
	if err != nil || id <= 0 {
		return 0, valid.Errorf("action", "must be a positive number")
	}
	return id, nil
}

func (s *Server) apiGetPostmortem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	pm, err := s.opts.Incidents.Postmortem(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pm)
}

func (s *Server) apiSavePostmortem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Body string `json:"body"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Incidents.SavePostmortem(r.Context(), id, in.Body); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.apiGetPostmortem(w, r)
}

func (s *Server) apiAddActionItem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Text    string `json:"text"`
		OwnerID *int64 `json:"owner_id"`
		DueOn   string `json:"due_on"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	a, err := s.opts.Incidents.AddActionItem(r.Context(), id, incident.ActionItem{Text: in.Text, OwnerID: in.OwnerID, DueOn: in.DueOn})
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) apiSetActionDone(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	aid, err := actionID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Done bool `json:"done"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Incidents.SetActionDone(r.Context(), id, aid, in.Done); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.apiGetPostmortem(w, r)
}

// postmortemView is the data of the postmortem page.
type postmortemView struct {
	Incident   incidentRow
	Postmortem incident.Postmortem
	Users      []auth.User
	CanEdit    bool
	Body       string
	NewText    string
	NewDue     string
	Errors     fieldErrors
}

func (s *Server) postmortemPage(w http.ResponseWriter, r *http.Request) {
	s.renderPostmortem(w, r, http.StatusOK, nil, fieldErrors{})
}

func (s *Server) renderPostmortem(w http.ResponseWriter, r *http.Request, status int, body *string, errs fieldErrors) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such incident")
		return
	}
	ctx := r.Context()
	inc, err := s.opts.Incidents.Get(ctx, id)
	if err == nil {
		var pm incident.Postmortem
		if pm, err = s.opts.Incidents.Postmortem(ctx, id); err == nil {
			d := postmortemView{Incident: incidentRow{inc}, Postmortem: pm, Body: pm.Body, Errors: errs,
				CanEdit: auth.ActorFrom(ctx).Role.Allows(auth.RoleOperator), NewText: r.PostFormValue("text"), NewDue: r.PostFormValue("due_on")}
			if body != nil {
				d.Body = *body
			}
			if d.CanEdit {
				if d.Users, err = s.auth.ListUsers(ctx); err != nil {
					s.serverError(w, r, SurfaceUI, err)
					return
				}
			}
			s.render(w, r, status, "postmortem", s.newView(r, "Postmortem of #"+strconv.FormatInt(id, 10), "incidents", d))
			return
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "there is no such incident")
		return
	}
	s.serverError(w, r, SurfaceUI, err)
}

func (s *Server) postmortemDone(w http.ResponseWriter, r *http.Request, err error, body *string) {
	id, _ := pathID(r)
	errs := fieldErrors{}
	switch {
	case err == nil:
		http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10)+"/postmortem?notice=postmortem-saved", http.StatusSeeOther)
	case errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "there is no such incident or action item")
	case formError(err, errs, map[string]string{"body": "Document", "text": "Action", "owner_id": "Owner", "due_on": "Due", "action": "Action item"}):
		s.renderPostmortem(w, r, http.StatusUnprocessableEntity, body, errs)
	default:
		s.serverError(w, r, SurfaceUI, err)
	}
}

func (s *Server) savePostmortemUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such incident")
		return
	}
	body := r.PostFormValue("body")
	s.postmortemDone(w, r, s.opts.Incidents.SavePostmortem(r.Context(), id, body), &body)
}

func (s *Server) addActionItemUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such incident")
		return
	}
	a := incident.ActionItem{Text: r.PostFormValue("text"), DueOn: strings.TrimSpace(r.PostFormValue("due_on"))}
	if v := r.PostFormValue("owner_id"); v != "" && v != "0" {
		owner, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.postmortemDone(w, r, valid.Errorf("owner_id", "choose a user"), nil)
			return
		}
		a.OwnerID = &owner
	}
	_, err = s.opts.Incidents.AddActionItem(r.Context(), id, a)
	s.postmortemDone(w, r, err, nil)
}

func (s *Server) toggleActionItemUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such incident")
		return
	}
	aid, err := actionID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such action item")
		return
	}
	s.postmortemDone(w, r, s.opts.Incidents.SetActionDone(r.Context(), id, aid, r.PostFormValue("done") == "true"), nil)
}
