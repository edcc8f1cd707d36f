package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/servicedesk"
)

// The service desk's configuration API: calendars, SLA policies, groups
// and the priority matrix. Reading needs viewer; changing needs admin.

func (s *Server) apiListCalendars(w http.ResponseWriter, r *http.Request) {
	cs, err := s.opts.ServiceDesk.Calendars(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[servicedesk.Calendar]{Data: cs})
}

func (s *Server) apiGetCalendar(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	c, err := s.opts.ServiceDesk.Calendar(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiSaveCalendar(w http.ResponseWriter, r *http.Request) {
	id, ok := s.optionalPathID(w, r)
	if !ok {
		return
	}
	var in servicedesk.Calendar
	if !s.decodeJSON(w, r, &in) {
		return
	}
	in.ID = id
	c, err := s.opts.ServiceDesk.SaveCalendar(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.saved(w, "/api/v1/calendars/", id, c.ID, c)
}

func (s *Server) apiDeleteCalendar(w http.ResponseWriter, r *http.Request) {
	s.apiDelete(w, r, s.opts.ServiceDesk.DeleteCalendar)
}

func (s *Server) apiListSLAPolicies(w http.ResponseWriter, r *http.Request) {
	ps, err := s.opts.ServiceDesk.Policies(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[servicedesk.SLAPolicy]{Data: ps})
}

func (s *Server) apiGetSLAPolicy(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.opts.ServiceDesk.Policy(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) apiSaveSLAPolicy(w http.ResponseWriter, r *http.Request) {
	id, ok := s.optionalPathID(w, r)
	if !ok {
		return
	}
	var in servicedesk.SLAPolicy
	if !s.decodeJSON(w, r, &in) {
		return
	}
	in.ID = id
	p, err := s.opts.ServiceDesk.SavePolicy(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.saved(w, "/api/v1/sla-policies/", id, p.ID, p)
}

func (s *Server) apiDeleteSLAPolicy(w http.ResponseWriter, r *http.Request) {
	s.apiDelete(w, r, s.opts.ServiceDesk.DeletePolicy)
}

func (s *Server) apiListGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := s.opts.ServiceDesk.Groups(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[servicedesk.Group]{Data: gs})
}

func (s *Server) apiGetGroup(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	g, err := s.opts.ServiceDesk.Group(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) apiSaveGroup(w http.ResponseWriter, r *http.Request) {
	id, ok := s.optionalPathID(w, r)
	if !ok {
		return
	}
	var in servicedesk.Group
	if !s.decodeJSON(w, r, &in) {
		return
	}
	in.ID, in.Members = id, nil
	g, err := s.opts.ServiceDesk.SaveGroup(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.saved(w, "/api/v1/ticket-groups/", id, g.ID, g)
}

func (s *Server) apiDeleteGroup(w http.ResponseWriter, r *http.Request) {
	s.apiDelete(w, r, s.opts.ServiceDesk.DeleteGroup)
}

// matrixBody is the priority matrix in the API: rows are impact high,
// medium, low; columns urgency high, medium, low; cells priority 1-5.
type matrixBody struct {
	Matrix servicedesk.Matrix `json:"matrix"`
}

func (s *Server) apiGetMatrix(w http.ResponseWriter, r *http.Request) {
	m, err := s.opts.ServiceDesk.PriorityMatrix(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, matrixBody{Matrix: m})
}

func (s *Server) apiSetMatrix(w http.ResponseWriter, r *http.Request) {
	var in matrixBody
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.ServiceDesk.SetPriorityMatrix(r.Context(), in.Matrix); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.apiGetMatrix(w, r)
}

// optionalPathID reads {id} when the route has one (PUT) and 0 when not
// (POST); it answers the error itself.
func (s *Server) optionalPathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	if r.PathValue("id") == "" {
		return 0, true
	}
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return 0, false
	}
	return id, true
}

// saved answers a create (201 with Location) or a replace (200).
func (s *Server) saved(w http.ResponseWriter, base string, oldID, newID int64, v any) {
	if oldID == 0 {
		w.Header().Set("Location", base+strconv.FormatInt(newID, 10))
		writeJSON(w, http.StatusCreated, v)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiDelete(w http.ResponseWriter, r *http.Request, del func(ctx context.Context, id int64) error) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := del(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
