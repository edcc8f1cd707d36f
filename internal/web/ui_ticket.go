package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ticketPageData is the detail page: fields, SLA timers, conversation,
// history and, for agents, the action forms.
type ticketPageData struct {
	T          *servicedesk.Ticket
	StatusText string
	Badge      slaBadge
	Timers     []timerView
	Comments   []servicedesk.Comment
	Files      []servicedesk.Attachment
	MaxFile    string
	History    []servicedesk.HistoryEntry
	Agent      bool
	CanEdit    bool
	Next       []servicedesk.Status
	Groups     []servicedesk.Group
	Agents     []auth.User
	Levels     []servicedesk.Level
	Priorities []servicedesk.Priority
	Types      []servicedesk.Type
	TagsText   string
	DueText    string
	Reply      string
	Internal   bool
	Errors     fieldErrors
	KB         kbTicketLinks
	Portal     ticketPortal
}

// timerView is one SLA timer in words.
type timerView struct {
	Name                       string
	Badge                      slaBadge
	Target, Elapsed, Remaining string
	PausedFor                  string
	Due                        *time.Time
}

func timerOf(name string, t servicedesk.SLATimer, now time.Time) timerView {
	st := t.State
	b := badgeOf(st, t.Paused && !t.Stopped, t.Due, now)
	if t.Stopped && st == servicedesk.SLABreached {
		b = slaBadge{"down", "✕", "Breached", "late by " + spanText(-t.Remaining)}
	}
	v := timerView{Name: name, Badge: b, Target: spanText(t.Target), Elapsed: spanText(t.Elapsed), Due: t.Due}
	if t.Remaining >= 0 {
		v.Remaining = spanText(t.Remaining)
	} else {
		v.Remaining = "−" + spanText(t.Remaining)
	}
	if t.PausedFor > 0 {
		v.PausedFor = spanText(t.PausedFor)
	}
	return v
}

func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request) {
	s.renderTicket(w, r, http.StatusOK, ticketPageData{Errors: fieldErrors{}})
}

// renderTicket loads the ticket of r's path and draws its page over d
// (which carries a refused form's input and errors).
func (s *Server) renderTicket(w http.ResponseWriter, r *http.Request, status int, d ticketPageData) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket.")
		return
	}
	ctx := r.Context()
	me := auth.ActorFrom(ctx)
	t, err := s.opts.ServiceDesk.Ticket(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket, or it is not yours.")
		return
	}
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	sla, err := s.opts.ServiceDesk.SLA(ctx, t)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	now := time.Now()
	d.T, d.StatusText, d.TagsText = t, statusLabel(t), strings.Join(t.Tags, ", ")
	if t.DueAt != nil {
		d.DueText = dateTimeValue(t.DueAt.UTC())
	}
	d.Agent, d.CanEdit = me.Role.Allows(auth.RoleViewer), me.Role.Allows(auth.RoleOperator)
	d.Badge = badgeOf(sla.State, sla.Paused, t.SLADue, now)
	if sla.State != servicedesk.SLANone {
		d.Timers = []timerView{timerOf("First response", sla.Response, now), timerOf("Resolution", sla.Resolution, now)}
	}
	if d.Comments, err = s.opts.ServiceDesk.Comments(ctx, id); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if d.Files, err = s.opts.ServiceDesk.Attachments(ctx, id); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d.MaxFile = byteSize(s.opts.ServiceDesk.MaxAttachment())
	if d.Agent {
		if d.History, err = s.opts.ServiceDesk.History(ctx, id); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	if d.CanEdit {
		d.Next = servicedesk.NextStatuses(t.Status)
		d.Levels, d.Priorities, d.Types = servicedesk.Levels(), servicedesk.Priorities(), servicedesk.Types()
		if d.Groups, err = s.opts.ServiceDesk.Groups(ctx); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		if d.Agents, err = s.agents(r); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	if d.Portal, err = s.ticketPortalData(r, t, d.Portal); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if d.KB, err = s.ticketKB(r, t.ID, t.Subject); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, status, "ticket", s.newView(r, "#"+strconv.FormatInt(t.ID, 10)+" "+t.Subject, "tickets", d))
}

// ticketActionError turns a refusal of the service desk into a sentence
// for the page; false for errors that are server faults.
func ticketActionError(err error) (string, bool) {
	if ve, ok := valid.As(err); ok {
		return sentence(ve.Error()), true
	}
	switch {
	case errors.Is(err, servicedesk.ErrTransition):
		return sentence(strings.TrimPrefix(err.Error(), "servicedesk: ")), true
	case errors.Is(err, servicedesk.ErrForbidden):
		return "Your role may not do this to this ticket.", true
	case errors.Is(err, store.ErrNotFound):
		return "There is no such ticket, or it is not yours.", true
	}
	return "", false
}

var ticketLabels = map[string]string{"body": "Reply", "subject": "Subject", "description": "Description", "category": "Category",
	"tags": "Tags", "organization": "Organisation", "assignee_id": "Assignee", "group_id": "Group", "impact": "Impact",
	"urgency": "Urgency", "priority": "Priority", "status": "Status", "pending_reason": "Waiting on", "type": "Type",
	"requester_id": "Requester", "into": "Merge into", "due_at": "Due date", "file": "File"}

// actionFailed re-draws the ticket with err beside its field, or fails.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, d ticketPageData, err error) {
	if msg, ok := ticketActionError(err); ok {
		if ve, isValid := valid.As(err); isValid && ticketLabels[ve.Field] != "" {
			d.Errors[ve.Field] = ticketLabels[ve.Field] + " " + ve.Msg + "."
		} else {
			d.Errors[""] = msg
		}
		status := http.StatusUnprocessableEntity
		if errors.Is(err, servicedesk.ErrTransition) {
			status = http.StatusConflict
		}
		s.renderTicket(w, r, status, d)
		return
	}
	s.serverError(w, r, SurfaceUI, err)
}

func (s *Server) replyTicketUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket.")
		return
	}
	d := ticketPageData{Reply: r.PostFormValue("body"), Internal: r.PostFormValue("internal") == "on", Errors: fieldErrors{}}
	if _, err := s.opts.ServiceDesk.AddComment(r.Context(), id, !d.Internal, d.Reply); err != nil {
		s.actionFailed(w, r, d, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"?notice=reply-added#conversation", http.StatusSeeOther)
}

// updateTicketUI applies the agent's side panel: only the fields whose
// value differs from what the form showed are sent, so two agents editing
// different fields do not undo each other.
func (s *Server) updateTicketUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket.")
		return
	}
	d := ticketPageData{Errors: fieldErrors{}}
	var p servicedesk.TicketPatch
	changed := func(k string) (string, bool) {
		v := strings.TrimSpace(r.PostFormValue(k))
		_, present := r.PostForm[k]
		return v, present && v != strings.TrimSpace(r.PostFormValue("was_"+k))
	}
	if v, ok := changed("status"); ok {
		st := servicedesk.Status(v)
		p.Status = &st
	}
	if v, ok := changed("pending_reason"); ok || p.Status != nil {
		if v != "" {
			pr := servicedesk.PendingReason(v)
			p.PendingReason = &pr
		}
	}
	for _, f := range []struct {
		key, field string
		dst        **int64
	}{{"assignee", "assignee_id", &p.AssigneeID}, {"group", "group_id", &p.GroupID}} {
		if v, ok := changed(f.key); ok {
			if *f.dst, err = optionalID(v, f.field); err != nil {
				s.actionFailed(w, r, d, err)
				return
			}
		}
	}
	for _, f := range []struct {
		key  string
		dst  **servicedesk.Level
		name string
	}{{"impact", &p.Impact, "impact"}, {"urgency", &p.Urgency, "urgency"}} {
		if v, ok := changed(f.key); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				s.actionFailed(w, r, d, valid.Errorf(f.name, "must be chosen from the list"))
				return
			}
			l := servicedesk.Level(n)
			*f.dst = &l
		}
	}
	if v, ok := changed("priority"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.actionFailed(w, r, d, valid.Errorf("priority", "must be chosen from the list"))
			return
		}
		pr := servicedesk.Priority(n)
		p.Priority = &pr
	}
	if v, ok := changed("type"); ok {
		t := servicedesk.Type(v)
		p.Type = &t
	}
	if v, ok := changed("category"); ok {
		p.Category = &v
	}
	if v, ok := changed("organization"); ok {
		p.Organization = &v
	}
	if v, ok := changed("due_at"); ok {
		if v == "" {
			p.ClearDue = true
		} else if due, ok := parseDateTime(v, time.UTC); ok {
			p.DueAt = &due
		} else {
			s.actionFailed(w, r, d, valid.Errorf("due_at", "must be a date and time such as 2026-12-24T17:00"))
			return
		}
	}
	if v, ok := changed("tags"); ok {
		tags, err := servicedesk.ParseTags(v)
		if err != nil {
			s.actionFailed(w, r, d, err)
			return
		}
		p.Tags = &tags
	}
	if _, err := s.opts.ServiceDesk.UpdateTicket(r.Context(), id, p); err != nil {
		s.actionFailed(w, r, d, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"?notice=ticket-saved", http.StatusSeeOther)
}

func (s *Server) mergeTicketUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket.")
		return
	}
	d := ticketPageData{Errors: fieldErrors{}}
	into, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("into")), "#"), 10, 64)
	if err != nil || into <= 0 {
		s.actionFailed(w, r, d, valid.Errorf("into", "must be a ticket number such as 1234"))
		return
	}
	if _, err := s.opts.ServiceDesk.Merge(r.Context(), id, into); err != nil {
		s.actionFailed(w, r, d, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(into, 10)+"?notice=ticket-merged", http.StatusSeeOther)
}

// byteSize writes a size for people: 512 B, 3.4 KiB, 10 MiB.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
