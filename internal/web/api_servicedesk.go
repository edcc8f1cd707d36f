package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// serviceDeskRoutes are the service desk's API and UI. Requesters open,
// read and answer their own tickets (the service checks ownership);
// operators work tickets; admins configure calendars, SLA policies, the
// priority matrix and groups.
func (s *Server) serviceDeskRoutes() []Route {
	if s.opts.ServiceDesk == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	rs := []Route{
		api("GET", "/api/v1/tickets", auth.RoleRequester, s.apiListTickets),
		api("POST", "/api/v1/tickets", auth.RoleRequester, s.apiCreateTicket),
		api("POST", "/api/v1/tickets/bulk", auth.RoleOperator, s.apiBulkTickets),
		api("GET", "/api/v1/tickets/{id}", auth.RoleRequester, s.apiGetTicket),
		api("PATCH", "/api/v1/tickets/{id}", auth.RoleOperator, s.apiPatchTicket),
		api("GET", "/api/v1/tickets/{id}/comments", auth.RoleRequester, s.apiListComments),
		api("POST", "/api/v1/tickets/{id}/comments", auth.RoleRequester, s.apiAddComment),
		api("GET", "/api/v1/tickets/{id}/history", auth.RoleRequester, s.apiTicketHistory),
		api("POST", "/api/v1/tickets/{id}/merge", auth.RoleOperator, s.apiMergeTicket),
		api("GET", "/api/v1/sla-policies", auth.RoleViewer, s.apiListSLAPolicies),
		api("POST", "/api/v1/sla-policies", auth.RoleAdmin, s.apiSaveSLAPolicy),
		api("GET", "/api/v1/sla-policies/{id}", auth.RoleViewer, s.apiGetSLAPolicy),
		api("PUT", "/api/v1/sla-policies/{id}", auth.RoleAdmin, s.apiSaveSLAPolicy),
		api("DELETE", "/api/v1/sla-policies/{id}", auth.RoleAdmin, s.apiDeleteSLAPolicy),
		api("GET", "/api/v1/calendars", auth.RoleViewer, s.apiListCalendars),
		api("POST", "/api/v1/calendars", auth.RoleAdmin, s.apiSaveCalendar),
		api("GET", "/api/v1/calendars/{id}", auth.RoleViewer, s.apiGetCalendar),
		api("PUT", "/api/v1/calendars/{id}", auth.RoleAdmin, s.apiSaveCalendar),
		api("DELETE", "/api/v1/calendars/{id}", auth.RoleAdmin, s.apiDeleteCalendar),
		api("GET", "/api/v1/ticket-groups", auth.RoleViewer, s.apiListGroups),
		api("POST", "/api/v1/ticket-groups", auth.RoleAdmin, s.apiSaveGroup),
		api("GET", "/api/v1/ticket-groups/{id}", auth.RoleViewer, s.apiGetGroup),
		api("PUT", "/api/v1/ticket-groups/{id}", auth.RoleAdmin, s.apiSaveGroup),
		api("DELETE", "/api/v1/ticket-groups/{id}", auth.RoleAdmin, s.apiDeleteGroup),
		api("GET", "/api/v1/priority-matrix", auth.RoleRequester, s.apiGetMatrix),
		api("PUT", "/api/v1/priority-matrix", auth.RoleAdmin, s.apiSetMatrix),
	}
	rs = append(rs, s.attachmentRoutes()...)
	return append(rs, s.serviceDeskUIRoutes()...)
}

// ticketView is a ticket as the API shows it; the detail adds the live SLA.
type ticketView struct {
	*servicedesk.Ticket
	PriorityName string                 `json:"priority_name"`
	SLA          *servicedesk.SLAStatus `json:"sla,omitempty"`
}

// ticketFilter reads a list's filters from the query string, the same for
// the API and the UI: status (comma-separated), priority, group (id or
// "none"), assignee (id, "me" or "none"), requester, category, sla, q,
// sort, cursor, limit.
func ticketFilter(r *http.Request) (servicedesk.Filter, error) {
	q := r.URL.Query()
	f := servicedesk.Filter{Category: q.Get("category"), SLAState: servicedesk.SLAState(q.Get("sla")), Text: q.Get("q"),
		Sort: servicedesk.Sort(q.Get("sort")), Cursor: q.Get("cursor")}
	for _, st := range strings.Split(q.Get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			f.Statuses = append(f.Statuses, servicedesk.Status(st))
		}
	}
	num := func(name string, special map[string]int64) (int64, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		if n, ok := special[v]; ok {
			return n, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, valid.Errorf(name, "must be a number")
		}
		return n, nil
	}
	var err error
	var p int64
	if p, err = num("priority", nil); err != nil {
		return f, err
	}
	f.Priority = servicedesk.Priority(p)
	if f.GroupID, err = num("group", map[string]int64{"none": -1}); err != nil {
		return f, err
	}
	me := auth.ActorFrom(r.Context()).UserID
	if f.AssigneeID, err = num("assignee", map[string]int64{"none": -1, "me": me}); err != nil {
		return f, err
	}
	if f.RequesterID, err = num("requester", map[string]int64{"me": me}); err != nil {
		return f, err
	}
	if f.Limit, err = queryLimit(r, 50, 200); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) apiListTickets(w http.ResponseWriter, r *http.Request) {
	f, err := ticketFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.opts.ServiceDesk.List(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := make([]ticketView, len(p.Tickets))
	for i, t := range p.Tickets {
		out[i] = ticketView{Ticket: t, PriorityName: t.Priority.String()}
	}
	writeJSON(w, http.StatusOK, page[ticketView]{Data: out, NextCursor: p.NextCursor})
}

func (s *Server) ticketDetail(r *http.Request, id int64) (ticketView, error) {
	t, err := s.opts.ServiceDesk.Ticket(r.Context(), id)
	if err != nil {
		return ticketView{}, err
	}
	st, err := s.opts.ServiceDesk.SLA(r.Context(), t)
	if err != nil {
		return ticketView{}, err
	}
	v := ticketView{Ticket: t, PriorityName: t.Priority.String()}
	if st.State != servicedesk.SLANone {
		v.SLA = &st
	}
	return v, nil
}

func (s *Server) apiGetTicket(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	v, err := s.ticketDetail(r, id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiCreateTicket(w http.ResponseWriter, r *http.Request) {
	var in servicedesk.NewTicket
	if !s.decodeJSON(w, r, &in) {
		return
	}
	t, err := s.opts.ServiceDesk.CreateTicket(r.Context(), in)
	s.answerNewTicket(w, r, t, err)
}

// answerNewTicket answers a ticket just opened (201, its detail and
// Location), or the error that refused it.
func (s *Server) answerNewTicket(w http.ResponseWriter, r *http.Request, t *servicedesk.Ticket, err error) {
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	v, err := s.ticketDetail(r, t.ID)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tickets/"+strconv.FormatInt(t.ID, 10))
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) apiPatchTicket(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var p servicedesk.TicketPatch
	if !s.decodeJSON(w, r, &p) {
		return
	}
	if _, err := s.opts.ServiceDesk.UpdateTicket(r.Context(), id, p); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.apiGetTicket(w, r)
}

func (s *Server) apiBulkTickets(w http.ResponseWriter, r *http.Request) {
	var b servicedesk.BulkPatch
	if !s.decodeJSON(w, r, &b) {
		return
	}
	n, err := s.opts.ServiceDesk.BulkUpdate(r.Context(), b)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"updated": n})
}

func (s *Server) apiMergeTicket(w http.ResponseWriter, r *http.Request) {
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
	t, err := s.opts.ServiceDesk.Merge(r.Context(), id, in.Into)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ticketView{Ticket: t, PriorityName: t.Priority.String()})
}

func (s *Server) apiListComments(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	cs, err := s.opts.ServiceDesk.Comments(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[servicedesk.Comment]{Data: cs})
}

func (s *Server) apiAddComment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Body   string `json:"body"`
		Public *bool  `json:"public"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	public := in.Public == nil || *in.Public
	c, err := s.opts.ServiceDesk.AddComment(r.Context(), id, public, in.Body)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiTicketHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	h, err := s.opts.ServiceDesk.History(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[servicedesk.HistoryEntry]{Data: h})
}
