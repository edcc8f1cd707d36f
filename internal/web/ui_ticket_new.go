package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// newTicketForm is the new-ticket form: requesters give a subject and a
// description; agents may also set who asks, the queue and the triage.
type newTicketForm struct {
	Agent                            bool
	Type, Subject, Description       string
	Category, Tags, Organization     string
	Impact, Urgency, Group, Assignee string
	Requester                        string
	Types                            []servicedesk.Type
	Levels                           []servicedesk.Level
	Groups                           []servicedesk.Group
	Agents, Users                    []auth.User
	Matrix                           servicedesk.Matrix
	Errors                           fieldErrors
	KB                               kbSuggestions
}

func (s *Server) newTicketPage(w http.ResponseWriter, r *http.Request) {
	s.renderNewTicket(w, r, http.StatusOK, newTicketForm{Type: "incident", Impact: "2", Urgency: "2", Errors: fieldErrors{}})
}

func (s *Server) renderNewTicket(w http.ResponseWriter, r *http.Request, status int, f newTicketForm) {
	ctx := r.Context()
	f.Agent = auth.ActorFrom(ctx).Role.Allows(auth.RoleOperator)
	f.Types, f.Levels = servicedesk.Types(), servicedesk.Levels()
	if f.Agent {
		var err error
		if f.Groups, err = s.opts.ServiceDesk.Groups(ctx); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		if f.Agents, err = s.agents(r); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		if f.Users, err = s.auth.ListUsers(ctx); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		if f.Matrix, err = s.opts.ServiceDesk.PriorityMatrix(ctx); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	f.KB.On = s.opts.KB != nil
	title := "New ticket"
	if !f.Agent {
		title = "New request"
	}
	s.render(w, r, status, "ticket_new", s.newView(r, title, "tickets", f))
}

func (s *Server) createTicketUI(w http.ResponseWriter, r *http.Request) {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := newTicketForm{Type: get("type"), Subject: get("subject"), Description: r.PostFormValue("description"), Category: get("category"),
		Tags: get("tags"), Organization: get("organization"), Impact: get("impact"), Urgency: get("urgency"), Group: get("group"),
		Assignee: get("assignee"), Requester: get("requester"), Errors: fieldErrors{}}
	in := servicedesk.NewTicket{Type: servicedesk.Type(f.Type), Subject: f.Subject, Description: f.Description, Category: f.Category,
		Organization: f.Organization}
	num := func(v, field string) int64 {
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			f.Errors[field] = ticketLabels[field] + " must be chosen from the list."
		}
		return n
	}
	in.Impact, in.Urgency = servicedesk.Level(num(f.Impact, "impact")), servicedesk.Level(num(f.Urgency, "urgency"))
	in.GroupID, in.AssigneeID, in.RequesterID = num(f.Group, "group_id"), num(f.Assignee, "assignee_id"), num(f.Requester, "requester_id")
	tags, err := servicedesk.ParseTags(f.Tags)
	if err != nil {
		formError(err, f.Errors, ticketLabels)
	}
	in.Tags = tags
	if r.PostFormValue("action") == "suggest" {
		s.suggestArticles(w, r, &f)
		return
	}
	if len(f.Errors) == 0 {
		t, err := s.opts.ServiceDesk.CreateTicket(r.Context(), in)
		if err == nil {
			http.Redirect(w, r, "/tickets/"+strconv.FormatInt(t.ID, 10)+"?notice=ticket-created", http.StatusSeeOther)
			return
		}
		if ve, ok := valid.As(err); !ok || !formError(ve, f.Errors, ticketLabels) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.renderNewTicket(w, r, http.StatusUnprocessableEntity, f)
}
