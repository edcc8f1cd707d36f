package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// serviceDeskUIRoutes are the ticket pages (requesters see "My requests",
// agents the queue) and the admin pages of the service desk.
func (s *Server) serviceDeskUIRoutes() []Route {
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	return []Route{
		ui("GET", "/tickets", auth.RoleRequester, s.ticketsPage),
		ui("GET", "/tickets/new", auth.RoleRequester, s.newTicketPage),
		ui("POST", "/tickets/new", auth.RoleRequester, s.createTicketUI),
		ui("POST", "/tickets/bulk", auth.RoleOperator, s.bulkTicketsUI),
		ui("GET", "/tickets/{id}", auth.RoleRequester, s.ticketPage),
		ui("POST", "/tickets/{id}/reply", auth.RoleRequester, s.replyTicketUI),
		ui("POST", "/tickets/{id}/update", auth.RoleOperator, s.updateTicketUI),
		ui("POST", "/tickets/{id}/merge", auth.RoleOperator, s.mergeTicketUI),
		ui("GET", "/service-desk", auth.RoleAdmin, s.deskSettingsPage),
		ui("POST", "/service-desk/matrix", auth.RoleAdmin, s.saveMatrixUI),
		ui("GET", "/service-desk/calendars/{id}", auth.RoleAdmin, s.calendarFormPage),
		ui("POST", "/service-desk/calendars/{id}", auth.RoleAdmin, s.saveCalendarUI),
		ui("POST", "/service-desk/calendars/{id}/delete", auth.RoleAdmin, s.deleteDeskThing("calendar")),
		ui("GET", "/service-desk/policies/{id}", auth.RoleAdmin, s.policyFormPage),
		ui("POST", "/service-desk/policies/{id}", auth.RoleAdmin, s.savePolicyUI),
		ui("POST", "/service-desk/policies/{id}/delete", auth.RoleAdmin, s.deleteDeskThing("policy")),
		ui("GET", "/service-desk/groups/{id}", auth.RoleAdmin, s.groupFormPage),
		ui("POST", "/service-desk/groups/{id}", auth.RoleAdmin, s.saveGroupUI),
		ui("POST", "/service-desk/groups/{id}/delete", auth.RoleAdmin, s.deleteDeskThing("group")),
	}
}

// slaBadge is a ticket's SLA standing as people read it: a word and a mark
// as well as a colour, and the time left or overdue.
type slaBadge struct {
	Class, Mark, Label, Detail string
}

// Badge is the badge as inline HTML; Class, Mark and Label are constants
// of badgeOf and Detail is escaped.
func (b slaBadge) Badge() template.HTML {
	if b.Label == "" {
		return template.HTML(`<span class="muted">no SLA</span>`)
	}
	out := `<span class="status status-` + b.Class + `"><span class="status-mark" aria-hidden="true">` + b.Mark + `</span> ` + b.Label + `</span>`
	if b.Detail != "" {
		out += ` <span class="sla-detail">` + template.HTMLEscapeString(b.Detail) + `</span>`
	}
	return template.HTML(out) //nolint:gosec // constants and escaped text
}

// badgeOf places a ticket's stored SLA state and due time relative to now.
// A due time already past shows as breached even before the SLA job has
// recorded it.
func badgeOf(state servicedesk.SLAState, paused bool, due *time.Time, now time.Time) slaBadge {
	switch {
	case state == servicedesk.SLANone:
		return slaBadge{}
	case paused:
		return slaBadge{"info", "❚❚", "Paused", "clock stopped while pending"}
	case state == servicedesk.SLAMet:
		return slaBadge{"ok", "✓", "Met", ""}
	case state == servicedesk.SLABreached || (due != nil && !due.After(now)):
		d := ""
		if due != nil {
			d = "overdue " + spanText(now.Sub(*due))
		}
		return slaBadge{"down", "✕", "Breached", d}
	case due != nil && state == servicedesk.SLAWarning:
		return slaBadge{"warn", "▲", "Due soon", "in " + spanText(due.Sub(now))}
	case due != nil:
		return slaBadge{"ok", "●", "On track", "due in " + spanText(due.Sub(now))}
	}
	return slaBadge{"ok", "●", "On track", ""}
}

// spanText writes a span as "3d 4h", "2h 05m" or "12m".
func spanText(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}

// ticketRow is one line of the queue.
type ticketRow struct {
	*servicedesk.Ticket
	SLA        slaBadge
	StatusText string
}

// ticketList is the data of the queue and of "My requests".
type ticketList struct {
	Rows                      []ticketRow
	Agent, CanEdit            bool
	Status, Priority, Group   string
	Assignee, Category, SLA   string
	Q, Sort                   string
	Filtered                  bool
	Statuses                  []servicedesk.Status
	Priorities                []servicedesk.Priority
	Groups                    []servicedesk.Group
	Agents                    []auth.User
	Sorts                     []servicedesk.Sort
	SLAChoices                []choiceText
	FirstURL, NextURL, Return string
	Errors                    fieldErrors
}

// statusLabel names a status with its pending reason.
func statusLabel(t *servicedesk.Ticket) string {
	if t.Status == servicedesk.StatusPending {
		if t.PendingReason == servicedesk.PendingThirdParty {
			return "pending (third party)"
		}
		return "pending (requester)"
	}
	return string(t.Status)
}

func (s *Server) ticketsPage(w http.ResponseWriter, r *http.Request) {
	s.renderTickets(w, r, "")
}

// renderTickets draws the list for r's query; problem, when set, is an
// action's refusal shown above the list (with status 422).
func (s *Server) renderTickets(w http.ResponseWriter, r *http.Request, problem string) {
	me := auth.ActorFrom(r.Context())
	q := r.URL.Query()
	d := ticketList{Agent: me.Role.Allows(auth.RoleViewer), CanEdit: me.Role.Allows(auth.RoleOperator), Status: q.Get("status"),
		Priority: q.Get("priority"), Group: q.Get("group"), Assignee: q.Get("assignee"), Category: q.Get("category"),
		SLA: q.Get("sla"), Q: q.Get("q"), Sort: q.Get("sort"), Statuses: servicedesk.Statuses(), Priorities: servicedesk.Priorities(),
		Sorts: servicedesk.Sorts(), Errors: fieldErrors{}, Return: r.URL.RequestURI(), SLAChoices: slaChoices}
	d.Filtered = d.Status != "" || d.Priority != "" || d.Group != "" || d.Assignee != "" || d.Category != "" || d.SLA != "" || d.Q != ""
	title := "Tickets"
	if !d.Agent {
		title = "My requests"
	}
	f, err := ticketFilter(r)
	if err == nil {
		var p servicedesk.Page
		p, err = s.opts.ServiceDesk.List(r.Context(), f)
		now := time.Now()
		for _, t := range p.Tickets {
			d.Rows = append(d.Rows, ticketRow{Ticket: t, SLA: badgeOf(t.SLAState, t.SLAPaused, t.SLADue, now), StatusText: statusLabel(t)})
		}
		if p.NextCursor != "" {
			nq := r.URL.Query()
			nq.Set("cursor", p.NextCursor)
			d.NextURL = "/tickets?" + nq.Encode()
		}
		if f.Cursor != "" {
			fq := r.URL.Query()
			fq.Del("cursor")
			d.FirstURL = "/tickets?" + fq.Encode()
		}
	}
	if err != nil {
		if !formError(err, d.Errors, ticketFilterLabels) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	if d.Agent {
		if d.Groups, err = s.opts.ServiceDesk.Groups(r.Context()); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		if d.Agents, err = s.agents(r); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	if problem != "" {
		d.Errors[""] = problem
	}
	status := http.StatusOK
	if len(d.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "tickets", s.newView(r, title, "tickets", d))
}

// choiceText is one option of a select.
type choiceText struct{ Key, Label string }

var slaChoices = []choiceText{{"ok", "On track"}, {"warning", "Due soon"}, {"breached", "Breached"}, {"paused", "Paused"},
	{"met", "Met"}, {"none", "No SLA"}}

var ticketFilterLabels = map[string]string{"status": "Status", "priority": "Priority", "group": "Group", "assignee": "Assignee",
	"category": "Category", "sla": "SLA", "q": "Search", "sort": "Sort", "cursor": "Page", "limit": "Page size", "requester": "Requester"}

// agents lists the enabled users who may work tickets.
func (s *Server) agents(r *http.Request) ([]auth.User, error) {
	us, err := s.auth.ListUsers(r.Context())
	if err != nil {
		return nil, err
	}
	out := us[:0]
	for _, u := range us {
		if !u.Disabled && u.Role.Allows(auth.RoleOperator) {
			out = append(out, u)
		}
	}
	return out, nil
}

// bulkTicketsUI applies one change to the ticked tickets of the queue and
// returns to the same view.
func (s *Server) bulkTicketsUI(w http.ResponseWriter, r *http.Request) {
	back := safeNext(r.PostFormValue("return"))
	if !strings.HasPrefix(back, "/tickets") {
		back = "/tickets"
	}
	var b servicedesk.BulkPatch
	for _, v := range r.PostForm["t"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			b.IDs = append(b.IDs, id)
		}
	}
	var err error
	if v := r.PostFormValue("status"); v != "" {
		st := servicedesk.Status(v)
		b.Status = &st
	}
	if b.AssigneeID, err = optionalID(r.PostFormValue("assignee"), "assignee_id"); err == nil {
		if b.GroupID, err = optionalID(r.PostFormValue("group"), "group_id"); err == nil && r.PostFormValue("priority") != "" {
			p, perr := strconv.Atoi(r.PostFormValue("priority"))
			pr := servicedesk.Priority(p)
			b.Priority, err = &pr, perr
		}
	}
	if err == nil {
		_, err = s.opts.ServiceDesk.BulkUpdate(r.Context(), b)
	}
	if err != nil {
		if msg, ok := ticketActionError(err); ok {
			// Show the refusal on the list the agent came from.
			r2 := r.Clone(r.Context())
			r2.URL, _ = url.Parse(back)
			s.renderTickets(w, r2, msg)
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, withParam(back, "notice", "tickets-updated"), http.StatusSeeOther)
}

// optionalID reads a select's value: "" is no change (nil), "0" clears.
func optionalID(v, field string) (*int64, error) {
	if v == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return nil, valid.Errorf(field, "must be chosen from the list")
	}
	return &id, nil
}

// withParam sets one query parameter of a local URL.
func withParam(target, k, v string) string {
	u, err := url.Parse(target)
	if err != nil {
		return "/tickets"
	}
	q := u.Query()
	q.Del("cursor")
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}
