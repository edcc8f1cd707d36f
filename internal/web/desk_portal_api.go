package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// deskPortalRoutes are the requester portal's additions to the service
// desk: the service catalog and its admin editor, organisations,
// satisfaction ratings (with the signed link used in mail) and the desk
// metrics. Requesters reach only the catalog, their tickets' forms and
// ratings; the service checks which tickets they may see.
func (s *Server) deskPortalRoutes() []Route {
	if s.opts.ServiceDesk == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	desk := s.opts.ServiceDesk
	rs := []Route{
		api("GET", "/api/v1/catalog", auth.RoleRequester, s.apiListCatalog),
		api("POST", "/api/v1/catalog", auth.RoleAdmin, apiSave(s, desk.SaveCatalogItem, func(c *servicedesk.CatalogItem, id int64) { c.ID = id })),
		api("GET", "/api/v1/catalog/{id}", auth.RoleRequester, apiGet(s, desk.CatalogItem)),
		api("PUT", "/api/v1/catalog/{id}", auth.RoleAdmin, apiSave(s, desk.SaveCatalogItem, func(c *servicedesk.CatalogItem, id int64) { c.ID = id })),
		api("DELETE", "/api/v1/catalog/{id}", auth.RoleAdmin, apiDelete(s, desk.DeleteCatalogItem)),
		api("POST", "/api/v1/catalog/{id}/requests", auth.RoleRequester, s.apiSubmitRequest),
		api("GET", "/api/v1/tickets/{id}/form", auth.RoleRequester, apiGetSome(s, desk.TicketForm, "this ticket was not opened from the catalog")),
		api("GET", "/api/v1/tickets/{id}/rating", auth.RoleRequester, apiGetSome(s, desk.TicketRating, "this ticket has not been rated")),
		api("POST", "/api/v1/tickets/{id}/rating", auth.RoleRequester, s.apiRateTicket),
		api("GET", "/api/v1/organizations", auth.RoleViewer, s.apiListOrganizations),
		api("POST", "/api/v1/organizations", auth.RoleAdmin, apiSave(s, desk.SaveOrganization, func(o *servicedesk.Organization, id int64) { o.ID = id })),
		api("GET", "/api/v1/organizations/{id}", auth.RoleViewer, apiGet(s, desk.Organization)),
		api("PUT", "/api/v1/organizations/{id}", auth.RoleAdmin, apiSave(s, desk.SaveOrganization, func(o *servicedesk.Organization, id int64) { o.ID = id })),
		api("DELETE", "/api/v1/organizations/{id}", auth.RoleAdmin, apiDelete(s, desk.DeleteOrganization)),
		api("GET", "/api/v1/service-desk/metrics", auth.RoleViewer, s.apiDeskMetrics),
	}
	return append(rs, s.deskPortalUIRoutes()...)
}

// apiGet answers GET of one record by the path's id.
func apiGet[T any](s *Server, get func(context.Context, int64) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		v, err := get(r.Context(), id)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// apiGetSome answers GET of something a ticket may have (nil: 404 saying
// missing).
func apiGetSome[T any](s *Server, get func(context.Context, int64) (*T, error), missing string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		v, err := get(r.Context(), id)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		if v == nil {
			writeError(w, http.StatusNotFound, "not_found", missing, "")
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// apiSave answers POST (create: 201) and PUT (replace the path's id: 200)
// of a record given as JSON.
func apiSave[T any](s *Server, save func(context.Context, T) (T, error), setID func(*T, int64)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in T
		if !s.decodeJSON(w, r, &in) {
			return
		}
		status, id := http.StatusCreated, int64(0)
		if r.Method == http.MethodPut {
			var err error
			if id, err = pathID(r); err != nil {
				s.apiFail(w, r, err)
				return
			}
			status = http.StatusOK
		}
		setID(&in, id)
		v, err := save(r.Context(), in)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, status, v)
	}
}

// apiDelete answers DELETE of the path's id with 204.
func apiDelete(s *Server, del func(context.Context, int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err == nil {
			err = del(r.Context(), id)
		}
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) apiListCatalog(w http.ResponseWriter, r *http.Request) {
	items, err := s.opts.ServiceDesk.CatalogItems(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[servicedesk.CatalogItem]{Data: items})
}

// apiAnswers turns the JSON answers of a request (text, a number,
// true/false or a list of texts per field) into form values.
func apiAnswers(raw map[string]json.RawMessage) (map[string][]string, error) {
	out := make(map[string][]string, len(raw))
	if len(raw) > servicedesk.MaxFormFields {
		return nil, valid.Errorf("answers", "at most %d answers", servicedesk.MaxFormFields)
	}
	for k, v := range raw {
		var str string
		var num json.Number
		var b bool
		var list []string
		switch {
		case string(v) == "null":
			out[k] = nil
		case json.Unmarshal(v, &str) == nil:
			out[k] = []string{str}
		case json.Unmarshal(v, &b) == nil:
			out[k] = []string{strconv.FormatBool(b)}
		case json.Unmarshal(v, &num) == nil:
			out[k] = []string{num.String()}
		case json.Unmarshal(v, &list) == nil && len(list) <= 100:
			out[k] = list
		default:
			return nil, valid.Errorf("answers."+k, "must be text, a number, true or false, or a list of texts")
		}
	}
	return out, nil
}

func (s *Server) apiSubmitRequest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Subject     string                     `json:"subject"`
		Description string                     `json:"description"`
		Answers     map[string]json.RawMessage `json:"answers"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	answers, err := apiAnswers(in.Answers)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	t, err := s.opts.ServiceDesk.SubmitRequest(r.Context(), id, servicedesk.CatalogRequest{Subject: in.Subject, Description: in.Description, Answers: answers})
	s.answerNewTicket(w, r, t, err)
}

func (s *Server) apiRateTicket(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Score   int    `json:"score"`
		Comment string `json:"comment"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	rt, err := s.opts.ServiceDesk.Rate(r.Context(), id, in.Score, in.Comment)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rt)
}

func (s *Server) apiListOrganizations(w http.ResponseWriter, r *http.Request) {
	os, err := s.opts.ServiceDesk.Organizations(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[servicedesk.Organization]{Data: os})
}

// metricsFilter reads group, from, to (default the last 30 days) and
// period (day, week or month) for the metrics API and page.
func metricsFilter(r *http.Request) (servicedesk.MetricsFilter, error) {
	from, to, err := rangeParams(r, 30*24*time.Hour)
	if err != nil {
		return servicedesk.MetricsFilter{}, err
	}
	f := servicedesk.MetricsFilter{From: from, To: to, Period: servicedesk.Period(r.URL.Query().Get("period"))}
	if f.GroupID, err = queryID(r, "group"); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) apiDeskMetrics(w http.ResponseWriter, r *http.Request) {
	f, err := metricsFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	m, err := s.opts.ServiceDesk.Metrics(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// errRatingLink is how pages word a bad rating link.
var errRatingLink = errors.New("this link is not valid or has expired; sign in to rate the ticket from its page")
