package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/change"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// changeNotices are change management's redirect confirmations (?notice=).
var changeNotices = map[string]string{
	"change-created":   "The change was saved as a draft. Submit it when its plans and schedule are complete.",
	"change-saved":     "The change was saved.",
	"change-moved":     "The change moved on; its timeline records the step.",
	"change-decided":   "Your decision is recorded on the change.",
	"change-commented": "The comment is on the timeline.",
	"change-linked":    "The record is linked to the change.",
	"template-saved":   "The template was saved. Changes opened from it skip assessment and approval.",
	"template-deleted": "The template was deleted; changes opened from it keep their copy.",
	"freeze-saved":     "The freeze was saved. Normal and standard changes can no longer be planned in it.",
	"freeze-deleted":   "The freeze was deleted.",
	"cab-saved":        "The approver groups and rules were saved.",
}

// changeLabels name the change form's fields in its messages.
var changeLabels = map[string]string{
	"type": "Type", "title": "Title", "description": "Description", "reason": "Reason", "category": "Category", "risk": "Risk",
	"impact": "Impact", "implementation_plan": "Implementation plan", "backout_plan": "Backout plan", "test_plan": "Test plan",
	"planned_start": "Planned start", "planned_end": "Planned end", "implementer_id": "Implementer", "ci_ids": "Affected CIs",
	"state": "State", "outcome": "Outcome", "comment": "Comment", "action": "Action", "approver": "Approver", "text": "Comment",
	"kind": "Kind", "object_id": "Number", "template_id": "Template", "q": "Search", "ci": "CI", "cursor": "Page", "limit": "Page size",
	"name": "Name", "duration": "Duration", "starts_at": "Starts", "ends_at": "Ends", "cron": "Schedule", "timezone": "Time zone",
	"member_ids": "Members", "min": "Approvals needed", "group_id": "Group", "from": "From", "to": "To",
}

func (s *Server) changeUIRoutes() []Route {
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	return []Route{
		ui("GET", "/changes", auth.RoleViewer, s.changeListPage),
		ui("GET", "/changes/new", auth.RoleOperator, s.changeFormPage),
		ui("POST", "/changes/new", auth.RoleOperator, s.changeSaveUI),
		ui("GET", "/changes/{id}", auth.RoleViewer, s.changePage),
		ui("GET", "/changes/{id}/edit", auth.RoleOperator, s.changeFormPage),
		ui("POST", "/changes/{id}/edit", auth.RoleOperator, s.changeSaveUI),
		ui("POST", "/changes/{id}/transition", auth.RoleOperator, s.changeTransitionUI),
		ui("POST", "/changes/{id}/decide", auth.RoleViewer, s.changeDecideUI),
		ui("POST", "/changes/{id}/comment", auth.RoleOperator, s.changeCommentUI),
		ui("POST", "/changes/{id}/links", auth.RoleOperator, s.changeLinkUI),
		ui("GET", "/changes/calendar", auth.RoleViewer, s.changeCalendarPage),
		ui("GET", "/changes/approvals", auth.RoleViewer, s.changeInboxPage),
		ui("GET", "/changes/metrics", auth.RoleViewer, s.changeMetricsPage),
		ui("GET", "/changes/templates", auth.RoleViewer, s.changeTemplatesPage),
		ui("POST", "/changes/templates", auth.RoleOperator, s.changeTemplateSaveUI),
		ui("POST", "/changes/templates/{id}/delete", auth.RoleOperator, s.changeTemplateDeleteUI),
		ui("POST", "/changes/templates/{id}/open", auth.RoleOperator, s.changeTemplateOpenUI),
		ui("GET", "/changes/freezes", auth.RoleViewer, s.changeFreezesPage),
		ui("POST", "/changes/freezes", auth.RoleAdmin, s.changeFreezeSaveUI),
		ui("POST", "/changes/freezes/{id}/delete", auth.RoleAdmin, s.changeFreezeDeleteUI),
		ui("GET", "/changes/cab", auth.RoleViewer, s.changeCABPage),
		ui("POST", "/changes/cab/groups", auth.RoleAdmin, s.changeCABGroupUI),
		ui("POST", "/changes/cab/rules", auth.RoleAdmin, s.changeCABRuleUI),
	}
}

// changeUIFail answers a missing change with 404 and the rest as a
// server error.
func (s *Server) changeUIFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "There is no such change.")
		return
	}
	s.serverError(w, r, SurfaceUI, err)
}

// changeList is the data of the list page.
type changeList struct {
	Changes           []change.Change
	State, Type, Risk string
	Q, CI             string
	Flagged           bool
	States            []change.State
	Types             []string
	Risks             []change.Risk
	CanCreate         bool
	FirstURL, NextURL string
	Errors            fieldErrors
}

func (s *Server) changeListPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _ := s.signedIn(r)
	d := changeList{State: q.Get("state"), Type: q.Get("type"), Risk: q.Get("risk"), Q: q.Get("q"), CI: q.Get("ci"), Flagged: q.Get("flagged") == "1",
		States: change.States(), Types: []string{"standard", "normal", "emergency"}, Risks: change.Risks(), CanCreate: p.Role.Allows(auth.RoleOperator), Errors: fieldErrors{}}
	status := http.StatusOK
	f, err := changeFilter(r)
	if err != nil {
		if !formError(err, d.Errors, changeLabels) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		status, f = http.StatusUnprocessableEntity, change.ListFilter{}
	}
	var next int64
	if d.Changes, next, err = s.opts.Changes.List(r.Context(), f); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if next != 0 {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("cursor", encodeCursor(next))
		d.NextURL = "/changes?" + nq.Encode()
	}
	if q.Get("cursor") != "" {
		q.Del("cursor")
		d.FirstURL = "/changes?" + q.Encode()
	}
	s.render(w, r, status, "change_list", s.newView(r, "Changes", "changes", d))
}

// changeView is the data of a change's page.
type changeView struct {
	C         change.Change
	Approvals change.Approvals
	Conflicts []change.Conflict
	Timeline  []change.Event
	Actions   []change.Action
	Outcomes  []change.Outcome
	CanEdit   bool
	CanDecide bool
	Operator  bool
	Errors    fieldErrors
}

func (s *Server) changePage(w http.ResponseWriter, r *http.Request) {
	s.renderChange(w, r, http.StatusOK, fieldErrors{})
}

func (s *Server) renderChange(w http.ResponseWriter, r *http.Request, status int, errs fieldErrors) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such change.")
		return
	}
	ctx := r.Context()
	d := changeView{Outcomes: []change.Outcome{change.Successful, change.Failed, change.RolledBack}, Errors: errs}
	if d.C, err = s.opts.Changes.Get(ctx, id); err != nil {
		s.changeUIFail(w, r, err)
		return
	}
	if d.Approvals, err = s.opts.Changes.ApprovalsOf(ctx, id); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if d.Conflicts, err = s.opts.Changes.Conflicts(ctx, id); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if d.Timeline, err = s.opts.Changes.Timeline(ctx, id); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	p, _ := s.signedIn(r)
	d.Operator = p.Role.Allows(auth.RoleOperator)
	if d.Operator {
		d.Actions = change.Allowed(d.C.Type, d.C.State)
		d.CanEdit = d.C.State == change.Draft || d.C.State == change.Assessment
	}
	awaiting := (d.C.Type == change.Normal && d.C.State == change.Authorization) || (d.C.Unapproved && d.C.State != change.Cancelled)
	d.CanDecide = awaiting && (d.C.RequesterID == nil || *d.C.RequesterID != p.UserID)
	s.render(w, r, status, "change", s.newView(r, "Change #"+strconv.FormatInt(id, 10)+" "+d.C.Title, "changes", d))
}

func (s *Server) changeTransitionUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such change.")
		return
	}
	st := change.Step{Action: change.Action(r.PostFormValue("action")), Outcome: change.Outcome(r.PostFormValue("outcome")),
		Comment: strings.TrimSpace(r.PostFormValue("note"))}
	if _, err := s.opts.Changes.Transition(r.Context(), id, st); err != nil {
		s.changeActionFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/changes/"+strconv.FormatInt(id, 10)+"?notice=change-moved", http.StatusSeeOther)
}

// changeActionFail shows a refused action on the change's page, beside
// the field it names.
func (s *Server) changeActionFail(w http.ResponseWriter, r *http.Request, err error) {
	errs := fieldErrors{}
	if formError(err, errs, changeLabels) {
		atTop(errs, "comment", "note", "outcome", "text", "object_id", "kind")
		s.renderChange(w, r, http.StatusUnprocessableEntity, errs)
		return
	}
	s.changeUIFail(w, r, err)
}

func (s *Server) changeDecideUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such change.")
		return
	}
	approve := r.PostFormValue("decision") == "approve"
	if _, err := s.opts.Changes.Decide(r.Context(), id, approve, strings.TrimSpace(r.PostFormValue("comment"))); err != nil {
		s.changeActionFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/changes/"+strconv.FormatInt(id, 10)+"?notice=change-decided", http.StatusSeeOther)
}

func (s *Server) changeCommentUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such change.")
		return
	}
	if err := s.opts.Changes.Comment(r.Context(), id, strings.TrimSpace(r.PostFormValue("text"))); err != nil {
		s.changeActionFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/changes/"+strconv.FormatInt(id, 10)+"?notice=change-commented#timeline", http.StatusSeeOther)
}

func (s *Server) changeLinkUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such change.")
		return
	}
	oid, perr := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("object_id")), "#"), 10, 64)
	if perr != nil || oid <= 0 {
		s.changeActionFail(w, r, valid.Errorf("object_id", "must be a number"))
		return
	}
	if err := s.opts.Changes.AddLink(r.Context(), id, change.LinkKind(r.PostFormValue("kind")), oid); err != nil {
		s.changeActionFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/changes/"+strconv.FormatInt(id, 10)+"?notice=change-linked", http.StatusSeeOther)
}

// changeForm is the create and edit form.
type changeForm struct {
	ID                                                     int64
	Type, Title, Description, Reason, Category, Risk       string
	Impact, ImplementationPlan, BackoutPlan, TestPlan      string
	PlannedStart, PlannedEnd, ImplementerID, CIIDs         string
	SkipMaintenance                                        bool
	Production, Outage, NoBackout, Untested, BusinessHours bool
	Texts                                                  []string
	Users                                                  []auth.User
	Risks                                                  []change.Risk
	Errors                                                 fieldErrors
}

func (s *Server) changeFormPage(w http.ResponseWriter, r *http.Request) {
	f := changeForm{Type: "normal", Risk: "", Errors: fieldErrors{}}
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			s.renderError(w, r, http.StatusNotFound, "There is no such change.")
			return
		}
		c, err := s.opts.Changes.Get(r.Context(), id)
		if err != nil {
			s.changeUIFail(w, r, err)
			return
		}
		f = formOfChange(c)
	} else if t := r.URL.Query().Get("type"); t == "emergency" {
		f.Type = t
	}
	s.renderChangeForm(w, r, http.StatusOK, f)
}

func formOfChange(c change.Change) changeForm {
	f := changeForm{ID: c.ID, Type: string(c.Type), Title: c.Title, Description: c.Description, Reason: c.Reason, Category: c.Category,
		Risk: string(c.Risk), Impact: c.Impact, ImplementationPlan: c.ImplementationPlan, BackoutPlan: c.BackoutPlan, TestPlan: c.TestPlan,
		SkipMaintenance: c.SkipMaintenance, Errors: fieldErrors{}}
	if c.PlannedStart != nil {
		f.PlannedStart = dateTimeValue(*c.PlannedStart)
	}
	if c.PlannedEnd != nil {
		f.PlannedEnd = dateTimeValue(*c.PlannedEnd)
	}
	if c.ImplementerID != nil {
		f.ImplementerID = strconv.FormatInt(*c.ImplementerID, 10)
	}
	ids := make([]string, len(c.CIs))
	for i, ci := range c.CIs {
		ids[i] = strconv.FormatInt(ci.ID, 10)
	}
	f.CIIDs = strings.Join(ids, ", ")
	if a := c.RiskAnswers; a != nil {
		f.Risk = ""
		f.Production, f.Outage, f.NoBackout, f.Untested, f.BusinessHours = a.Production, a.Outage, a.NoBackout, a.Untested, a.BusinessHours
	}
	return f
}

func (s *Server) renderChangeForm(w http.ResponseWriter, r *http.Request, status int, f changeForm) {
	var err error
	if f.Users, err = s.auth.ListUsers(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f.Risks = change.Risks()
	f.Texts = []string{"description", "reason", "implementation_plan", "backout_plan", "test_plan"}
	title := "New change"
	if f.ID != 0 {
		title = "Edit change #" + strconv.FormatInt(f.ID, 10)
	}
	s.render(w, r, status, "change_form", s.newView(r, title, "changes", f))
}

// readChangeForm reads the posted form into f and an input; parse errors
// of times and ids go into f.Errors.
func readChangeForm(r *http.Request, f *changeForm) change.Input {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	on := func(k string) bool { return r.PostFormValue(k) != "" }
	f.Type, f.Title, f.Description, f.Reason, f.Category = get("type"), get("title"), r.PostFormValue("description"), r.PostFormValue("reason"), get("category")
	f.Risk, f.Impact = get("risk"), get("impact")
	f.ImplementationPlan, f.BackoutPlan, f.TestPlan = r.PostFormValue("implementation_plan"), r.PostFormValue("backout_plan"), r.PostFormValue("test_plan")
	f.PlannedStart, f.PlannedEnd, f.ImplementerID, f.CIIDs = get("planned_start"), get("planned_end"), get("implementer_id"), get("ci_ids")
	f.SkipMaintenance = on("skip_maintenance")
	f.Production, f.Outage, f.NoBackout, f.Untested, f.BusinessHours = on("q_production"), on("q_outage"), on("q_no_backout"), on("q_untested"), on("q_business_hours")
	f.Errors = fieldErrors{}
	in := change.Input{Type: change.Type(f.Type), Title: f.Title, Description: f.Description, Reason: f.Reason, Category: f.Category,
		Risk: change.Risk(f.Risk), Impact: f.Impact, ImplementationPlan: f.ImplementationPlan, BackoutPlan: f.BackoutPlan, TestPlan: f.TestPlan,
		SkipMaintenance: f.SkipMaintenance, CIIDs: []int64{}}
	if f.Risk == "" {
		in.RiskAnswers = &change.Answers{Production: f.Production, Outage: f.Outage, NoBackout: f.NoBackout, Untested: f.Untested, BusinessHours: f.BusinessHours}
	}
	for _, t := range []struct {
		field, v string
		dst      **time.Time
	}{{"planned_start", f.PlannedStart, &in.PlannedStart}, {"planned_end", f.PlannedEnd, &in.PlannedEnd}} {
		if t.v == "" {
			continue
		}
		v, ok := parseDateTime(t.v, time.UTC)
		if !ok {
			f.Errors[t.field] = changeLabels[t.field] + " must be a date and time."
			continue
		}
		*t.dst = &v
	}
	if f.ImplementerID != "" {
		id, err := strconv.ParseInt(f.ImplementerID, 10, 64)
		if err != nil || id <= 0 {
			f.Errors["implementer_id"] = "Implementer must be a user."
		} else {
			in.ImplementerID = &id
		}
	}
	for _, p := range strings.FieldsFunc(f.CIIDs, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		id, err := strconv.ParseInt(strings.TrimPrefix(p, "#"), 10, 64)
		if err != nil || id <= 0 {
			f.Errors["ci_ids"] = "Affected CIs must be CI numbers separated by commas."
			break
		}
		in.CIIDs = append(in.CIIDs, id)
	}
	return in
}

func (s *Server) changeSaveUI(w http.ResponseWriter, r *http.Request) {
	var id int64
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			s.renderError(w, r, http.StatusNotFound, "There is no such change.")
			return
		}
	}
	f := changeForm{ID: id}
	in := readChangeForm(r, &f)
	if len(f.Errors) > 0 {
		s.renderChangeForm(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	var c change.Change
	var err error
	notice := "change-saved"
	if id == 0 {
		c, err = s.opts.Changes.Create(r.Context(), in)
		notice = "change-created"
	} else {
		c, err = s.opts.Changes.Update(r.Context(), id, in)
	}
	if err != nil {
		if formError(err, f.Errors, changeLabels) {
			atTop(f.Errors, changeFormFields...)
			s.renderChangeForm(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		s.changeUIFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/changes/"+strconv.FormatInt(c.ID, 10)+"?notice="+notice, http.StatusSeeOther)
}

// changeInbox is the approver's inbox.
type changeInbox struct {
	Changes []change.Change
}

func (s *Server) changeInboxPage(w http.ResponseWriter, r *http.Request) {
	p, _ := s.signedIn(r)
	cs, err := s.opts.Changes.Inbox(r.Context(), p.UserID)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, http.StatusOK, "change_inbox", s.newView(r, "Approvals", "change-approvals", changeInbox{Changes: cs}))
}

// changeFormFields are the fields the change form shows errors beside.
var changeFormFields = []string{"type", "title", "description", "reason", "category", "risk", "impact", "implementation_plan",
	"backout_plan", "test_plan", "planned_start", "planned_end", "implementer_id", "ci_ids"}

// atTop moves the message of a field the page does not show (such as
// state or approver) to the top of the page, where errsummary shows it.
func atTop(errs fieldErrors, shown ...string) {
	for k, v := range errs {
		if k != "" && !slices.Contains(shown, k) {
			errs[""] = v
		}
	}
}
