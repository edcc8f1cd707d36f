package web

import (
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
)

func (s *Server) serviceAPIRoutes(api func(method, path string, role auth.Role, h http.HandlerFunc) Route) []Route {
	return []Route{
		api("GET", "/api/v1/services", auth.RoleViewer, s.apiListServices),
		api("POST", "/api/v1/services", auth.RoleAdmin, s.apiCreateService),
		api("GET", "/api/v1/services/{id}", auth.RoleViewer, s.apiGetService),
		api("PUT", "/api/v1/services/{id}", auth.RoleAdmin, s.apiUpdateService),
		api("DELETE", "/api/v1/services/{id}", auth.RoleAdmin, s.apiDeleteService),
		api("GET", "/api/v1/integrations", auth.RoleAdmin, s.apiListIntegrations),
		api("POST", "/api/v1/integrations", auth.RoleAdmin, s.apiCreateIntegration),
		api("GET", "/api/v1/integrations/{id}", auth.RoleAdmin, s.apiGetIntegration),
		api("PATCH", "/api/v1/integrations/{id}", auth.RoleAdmin, s.apiUpdateIntegration),
		api("POST", "/api/v1/integrations/{id}/rotate", auth.RoleAdmin, s.apiRotateIntegration),
		api("DELETE", "/api/v1/integrations/{id}", auth.RoleAdmin, s.apiDeleteIntegration),
	}
}

func (s *Server) apiListServices(w http.ResponseWriter, r *http.Request) {
	after, err := decodeCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	limit, err := queryLimit(r, 100, 1000)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	ss, next, err := s.opts.Incidents.ListServices(r.Context(), after, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[incident.TechService]{Data: ss, NextCursor: encodeCursor(next)})
}

func (s *Server) apiCreateService(w http.ResponseWriter, r *http.Request) {
	var in incident.ServiceInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	ts, err := s.opts.Incidents.CreateService(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/services/"+strconv.FormatInt(ts.ID, 10))
	writeJSON(w, http.StatusCreated, ts)
}

func (s *Server) apiGetService(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	ts, err := s.opts.Incidents.GetService(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) apiUpdateService(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in incident.ServiceInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	ts, err := s.opts.Incidents.UpdateService(r.Context(), id, in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) apiDeleteService(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.opts.Incidents.DeleteService(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// integrationView is an integration as the API shows it. Key and URL are
// only set in the answer that created the key (create, rotate): the key is
// stored hashed and cannot be shown again.
type integrationView struct {
	incident.Integration
	Key string `json:"key,omitempty"`
	URL string `json:"url,omitempty"`
	// URLTemplate is the intake address with the key left out.
	URLTemplate string `json:"url_template"`
}

// intakePath is where an integration's events go; PagerDuty's endpoint
// takes the key in the body instead.
func intakePath(kind, key string) string {
	switch kind {
	case incident.KindAlertmanager:
		return "/hooks/alertmanager/" + key
	case incident.KindGeneric:
		return "/hooks/generic/" + key
	}
	return "/v2/enqueue"
}

func (s *Server) viewIntegration(r *http.Request, in incident.Integration, key string) integrationView {
	v := integrationView{Integration: in, URLTemplate: s.externalURL(r, intakePath(in.Kind, "{key}"))}
	if key != "" {
		v.Key, v.URL = key, s.externalURL(r, intakePath(in.Kind, key))
	}
	return v
}

func (s *Server) apiListIntegrations(w http.ResponseWriter, r *http.Request) {
	svc, err := queryID(r, "service")
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	ins, err := s.opts.Incidents.ListIntegrations(r.Context(), svc)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := make([]integrationView, len(ins))
	for i, in := range ins {
		out[i] = s.viewIntegration(r, in, "")
	}
	writeJSON(w, http.StatusOK, page[integrationView]{Data: out})
}

func (s *Server) apiCreateIntegration(w http.ResponseWriter, r *http.Request) {
	var in incident.IntegrationInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	out, key, err := s.opts.Incidents.CreateIntegration(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/integrations/"+strconv.FormatInt(out.ID, 10))
	writeJSON(w, http.StatusCreated, s.viewIntegration(r, out, key))
}

func (s *Server) apiGetIntegration(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	in, err := s.opts.Incidents.GetIntegration(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.viewIntegration(r, in, ""))
}

func (s *Server) apiUpdateIntegration(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Name    string            `json:"name"`
		Mapping *incident.Mapping `json:"mapping"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	out, err := s.opts.Incidents.UpdateIntegration(r.Context(), id, in.Name, in.Mapping)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.viewIntegration(r, out, ""))
}

func (s *Server) apiRotateIntegration(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out, key, err := s.opts.Incidents.RotateKey(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.viewIntegration(r, out, key))
}

func (s *Server) apiDeleteIntegration(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.opts.Incidents.DeleteIntegration(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
