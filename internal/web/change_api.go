package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/change"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Change management's API: changes and their steps, approvals, conflicts,
// the calendar, metrics, templates, freezes, approver groups and rules.
// Reading is for viewers; opening and moving changes for operators (and
// their API tokens, as pipelines use); approving for anyone in an approver
// group; freezes, groups and rules for admins.

func (s *Server) changeRoutes() []Route {
	if s.opts.Changes == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	cs := s.opts.Changes
	rs := []Route{
		api("GET", "/api/v1/changes", auth.RoleViewer, s.apiListChanges),
		api("POST", "/api/v1/changes", auth.RoleOperator, s.apiCreateChange),
		api("POST", "/api/v1/changes/standard", auth.RoleOperator, s.apiOpenStandard),
		api("GET", "/api/v1/changes/inbox", auth.RoleViewer, s.apiChangeInbox),
		api("GET", "/api/v1/changes/{id}", auth.RoleViewer, s.apiGetChange),
		api("PUT", "/api/v1/changes/{id}", auth.RoleOperator, s.apiUpdateChange),
		api("POST", "/api/v1/changes/{id}/transitions", auth.RoleOperator, s.apiTransitionChange),
		api("GET", "/api/v1/changes/{id}/approvals", auth.RoleViewer, s.apiChangeApprovals),
		api("POST", "/api/v1/changes/{id}/approvals", auth.RoleViewer, s.apiDecideChange),
		api("GET", "/api/v1/changes/{id}/conflicts", auth.RoleViewer, s.apiChangeConflicts),
		api("GET", "/api/v1/changes/{id}/timeline", auth.RoleViewer, s.apiChangeTimeline),
		api("POST", "/api/v1/changes/{id}/comments", auth.RoleOperator, s.apiCommentChange),
		api("POST", "/api/v1/changes/{id}/links", auth.RoleOperator, s.apiLinkChange),
		api("DELETE", "/api/v1/changes/{id}/links/{kind}/{oid}", auth.RoleOperator, s.apiUnlinkChange),
		api("GET", "/api/v1/change-calendar", auth.RoleViewer, s.apiChangeCalendar),
		api("GET", "/api/v1/change-metrics", auth.RoleViewer, s.apiChangeMetrics),
		api("GET", "/api/v1/change-templates", auth.RoleViewer, listAll(s, cs.Templates)),
		api("POST", "/api/v1/change-templates", auth.RoleOperator, saveOne(s, func(t *change.Template, id int64) { t.ID = id }, cs.SaveTemplate)),
		api("GET", "/api/v1/change-templates/{id}", auth.RoleViewer, s.apiGetChangeTemplate),
		api("PUT", "/api/v1/change-templates/{id}", auth.RoleOperator, saveOne(s, func(t *change.Template, id int64) { t.ID = id }, cs.SaveTemplate)),
		api("DELETE", "/api/v1/change-templates/{id}", auth.RoleOperator, s.deleteOne(cs.DeleteTemplate)),
		api("GET", "/api/v1/change-freezes", auth.RoleViewer, listAll(s, cs.Freezes)),
		api("POST", "/api/v1/change-freezes", auth.RoleAdmin, saveOne(s, func(f *change.Freeze, id int64) { f.ID = id }, cs.SaveFreeze)),
		api("PUT", "/api/v1/change-freezes/{id}", auth.RoleAdmin, saveOne(s, func(f *change.Freeze, id int64) { f.ID = id }, cs.SaveFreeze)),
		api("DELETE", "/api/v1/change-freezes/{id}", auth.RoleAdmin, s.deleteOne(cs.DeleteFreeze)),
		api("GET", "/api/v1/cab-groups", auth.RoleViewer, listAll(s, cs.Groups)),
		api("POST", "/api/v1/cab-groups", auth.RoleAdmin, saveOne(s, func(g *change.Group, id int64) { g.ID = id }, cs.SaveGroup)),
		api("PUT", "/api/v1/cab-groups/{id}", auth.RoleAdmin, saveOne(s, func(g *change.Group, id int64) { g.ID = id }, cs.SaveGroup)),
		api("DELETE", "/api/v1/cab-groups/{id}", auth.RoleAdmin, s.deleteOne(cs.DeleteGroup)),
		api("GET", "/api/v1/approval-rules", auth.RoleViewer, s.apiListApprovalRules),
		api("PUT", "/api/v1/approval-rules/{risk}", auth.RoleAdmin, s.apiSetApprovalRule),
	}
	if s.opts.Incidents != nil {
		rs = append(rs, api("GET", "/api/v1/incidents/{id}/changes", auth.RoleViewer, s.apiIncidentChanges))
	}
	return append(rs, s.changeUIRoutes()...)
}

// changeFilter reads the list's filters, the same for the API and the UI.
func changeFilter(r *http.Request) (change.ListFilter, error) {
	q := r.URL.Query()
	var f change.ListFilter
	var err error
	if v := q.Get("state"); v != "" {
		if f.State, err = change.ParseState("state", v); err != nil {
			return f, err
		}
	}
	if v := q.Get("type"); v != "" {
		if f.Type, err = change.ParseType("type", v); err != nil {
			return f, err
		}
	}
	if v := q.Get("risk"); v != "" {
		if f.Risk, err = change.ParseRisk("risk", v); err != nil {
			return f, err
		}
	}
	if v := q.Get("ci"); v != "" {
		if f.CIID, err = strconv.ParseInt(v, 10, 64); err != nil || f.CIID <= 0 {
			return f, valid.Errorf("ci", "must be a CI id")
		}
	}
	f.Text = strings.TrimSpace(q.Get("q"))
	if err := valid.Text("q", f.Text, false, 200, false); err != nil {
		return f, err
	}
	f.Flagged = q.Get("flagged") == "1" || q.Get("flagged") == "true"
	if f.After, err = decodeCursor(q.Get("cursor")); err != nil {
		return f, err
	}
	f.Limit, err = queryLimit(r, 50, 200)
	return f, err
}

func (s *Server) apiListChanges(w http.ResponseWriter, r *http.Request) {
	f, err := changeFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	cs, next, err := s.opts.Changes.List(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[change.Change]{Data: cs, NextCursor: encodeCursor(next)})
}

func (s *Server) apiCreateChange(w http.ResponseWriter, r *http.Request) {
	var in change.Input
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c, err := s.opts.Changes.Create(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiOpenStandard(w http.ResponseWriter, r *http.Request) {
	var in change.StandardInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c, err := s.opts.Changes.OpenStandard(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiChangeInbox(w http.ResponseWriter, r *http.Request) {
	cs, err := s.opts.Changes.Inbox(r.Context(), auth.ActorFrom(r.Context()).UserID)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[change.Change]{Data: cs})
}

// changeID reads the path's id and answers a bad one.
func (s *Server) changeID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return 0, false
	}
	return id, true
}

func (s *Server) apiGetChange(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	c, err := s.opts.Changes.Get(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiUpdateChange(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	var in change.Input
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c, err := s.opts.Changes.Update(r.Context(), id, in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiTransitionChange(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	var st change.Step
	if !s.decodeJSON(w, r, &st) {
		return
	}
	c, err := s.opts.Changes.Transition(r.Context(), id, st)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiChangeApprovals(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	a, err := s.opts.Changes.ApprovalsOf(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// decisionInput is an approval or rejection.
type decisionInput struct {
	Decision string `json:"decision"`
	Comment  string `json:"comment"`
}

func (s *Server) apiDecideChange(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	var in decisionInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if in.Decision != "approve" && in.Decision != "reject" {
		s.apiFail(w, r, valid.Errorf("decision", "must be approve or reject"))
		return
	}
	c, err := s.opts.Changes.Decide(r.Context(), id, in.Decision == "approve", in.Comment)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiChangeConflicts(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	cs, err := s.opts.Changes.Conflicts(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[change.Conflict]{Data: cs})
}

func (s *Server) apiChangeTimeline(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	if _, err := s.opts.Changes.Get(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	es, err := s.opts.Changes.Timeline(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[change.Event]{Data: es})
}

func (s *Server) apiCommentChange(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	var in struct {
		Text string `json:"text"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Changes.Comment(r.Context(), id, in.Text); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// linkInput ties a change to a ticket, problem or incident.
type linkInput struct {
	Kind     string `json:"kind"`
	ObjectID int64  `json:"object_id"`
}

func (s *Server) apiLinkChange(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	var in linkInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Changes.AddLink(r.Context(), id, change.LinkKind(in.Kind), in.ObjectID); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiUnlinkChange(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	kind, err := change.ParseLinkKind("kind", r.PathValue("kind"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	oid, err := strconv.ParseInt(r.PathValue("oid"), 10, 64)
	if err != nil || oid <= 0 {
		s.apiFail(w, r, valid.Errorf("object_id", "must be a positive number"))
		return
	}
	if err := s.opts.Changes.RemoveLink(r.Context(), id, kind, oid); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// changePeriod reads from and to (RFC 3339 or YYYY-MM-DD), defaulting to
// the def days from today.
func changePeriod(r *http.Request, now time.Time, back, ahead time.Duration) (time.Time, time.Time, error) {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from, to := day.Add(-back), day.Add(ahead)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := r.URL.Query().Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, v); err != nil {
				return from, to, valid.Errorf(p.name, "must be a date (2026-06-01) or an RFC 3339 time")
			}
		}
		*p.dst = t.UTC()
	}
	if !to.After(from) {
		return from, to, valid.Errorf("to", "must be after from")
	}
	return from, to, nil
}

func (s *Server) apiChangeCalendar(w http.ResponseWriter, r *http.Request) {
	from, to, err := changePeriod(r, time.Now().UTC(), 0, 31*24*time.Hour)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	es, err := s.opts.Changes.Calendar(r.Context(), from, to)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[change.Entry]{Data: es})
}

func (s *Server) apiChangeMetrics(w http.ResponseWriter, r *http.Request) {
	from, to, err := changePeriod(r, time.Now().UTC(), 90*24*time.Hour, 24*time.Hour)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	m, err := s.opts.Changes.Metrics(r.Context(), from, to)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) apiGetChangeTemplate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	t, err := s.opts.Changes.Template(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) apiListApprovalRules(w http.ResponseWriter, r *http.Request) {
	rules, err := s.opts.Changes.Rules(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := map[string][]change.Term{}
	for _, risk := range change.Risks() {
		out[string(risk)] = nonNil(rules[risk])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiSetApprovalRule(w http.ResponseWriter, r *http.Request) {
	risk, err := change.ParseRisk("risk", r.PathValue("risk"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Terms []change.Term `json:"terms"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.Changes.SetRule(r.Context(), risk, in.Terms); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiIncidentChanges(w http.ResponseWriter, r *http.Request) {
	id, ok := s.changeID(w, r)
	if !ok {
		return
	}
	cs, err := s.opts.Changes.CausedBy(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[change.Change]{Data: cs})
}

// listAll answers a whole list (templates, freezes, groups) in the list
// envelope.
func listAll[T any](s *Server, list func(context.Context) ([]T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out, err := list(r.Context())
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page[T]{Data: out})
	}
}

// saveOne creates (POST, 201) or replaces (PUT with {id}, 200) one record
// from a JSON body: setID puts the path's id into the decoded value.
func saveOne[T any](s *Server, setID func(*T, int64), save func(context.Context, T) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.optionalPathID(w, r)
		if !ok {
			return
		}
		var v T
		if !s.decodeJSON(w, r, &v) {
			return
		}
		setID(&v, id)
		out, err := save(r.Context(), v)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		status := http.StatusOK
		if id == 0 {
			status = http.StatusCreated
		}
		writeJSON(w, status, out)
	}
}

// deleteOne deletes the record of the path's {id}: 204.
func (s *Server) deleteOne(del func(context.Context, int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.changeID(w, r)
		if !ok {
			return
		}
		if err := del(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
