package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/oncall"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// oncallRoutes serve schedules, overrides, who is on call and escalation
// policies. Viewers read; operators edit schedules and overrides (the
// day-to-day swaps of a rota); escalation policies decide who is woken for
// every service, so only admins change them.
func (s *Server) oncallRoutes() []Route {
	if s.opts.OnCall == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	rs := []Route{
		api("GET", "/api/v1/oncall", auth.RoleViewer, s.apiOnCallNow),
		api("GET", "/api/v1/schedules", auth.RoleViewer, s.apiListSchedules),
		api("POST", "/api/v1/schedules", auth.RoleOperator, s.apiSaveSchedule),
		api("GET", "/api/v1/schedules/{id}", auth.RoleViewer, s.apiGetSchedule),
		api("PUT", "/api/v1/schedules/{id}", auth.RoleOperator, s.apiSaveSchedule),
		api("DELETE", "/api/v1/schedules/{id}", auth.RoleOperator, s.apiDeleteSchedule),
		api("GET", "/api/v1/schedules/{id}/oncall", auth.RoleViewer, s.apiScheduleOnCall),
		api("GET", "/api/v1/schedules/{id}/shifts", auth.RoleViewer, s.apiScheduleShifts),
		api("GET", "/api/v1/schedules/{id}/overrides", auth.RoleViewer, s.apiListOverrides),
		api("POST", "/api/v1/schedules/{id}/overrides", auth.RoleOperator, s.apiAddOverride),
		api("DELETE", "/api/v1/schedules/{id}/overrides/{oid}", auth.RoleOperator, s.apiDeleteOverride),
		api("GET", "/api/v1/escalation-policies", auth.RoleViewer, s.apiListPolicies),
		api("POST", "/api/v1/escalation-policies", auth.RoleAdmin, s.apiSavePolicy),
		api("GET", "/api/v1/escalation-policies/{id}", auth.RoleViewer, s.apiGetPolicy),
		api("PUT", "/api/v1/escalation-policies/{id}", auth.RoleAdmin, s.apiSavePolicy),
		api("DELETE", "/api/v1/escalation-policies/{id}", auth.RoleAdmin, s.apiDeletePolicy),
		api("GET", "/api/v1/escalations/{id}", auth.RoleViewer, s.apiGetEscalation),
	}
	return append(rs, s.oncallUIRoutes()...)
}

// shiftView is a shift with its user's name.
type shiftView struct {
	oncall.Shift
	User string `json:"user"`
}

func (s *Server) viewShifts(r *http.Request, shifts []oncall.Shift) ([]shiftView, error) {
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]shiftView, len(shifts))
	for i, sh := range shifts {
		out[i] = shiftView{Shift: sh, User: userName(names, sh.UserID)}
	}
	return out, nil
}

func userName(names map[int64]string, id int64) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "user #" + strconv.FormatInt(id, 10)
}

// onCallView is a schedule's on-call answer with user names.
type onCallView struct {
	ScheduleID   int64      `json:"schedule_id"`
	ScheduleName string     `json:"schedule_name"`
	TimeZone     string     `json:"time_zone"`
	At           time.Time  `json:"at"`
	UserIDs      []int64    `json:"user_ids"`
	Current      *shiftView `json:"current"`
	Next         *shiftView `json:"next"`
}

func viewOnCall(names map[int64]string, oc oncall.OnCall, at time.Time) onCallView {
	v := onCallView{ScheduleID: oc.ScheduleID, ScheduleName: oc.ScheduleName, TimeZone: oc.TimeZone, At: at.UTC(), UserIDs: []int64{}}
	if oc.Current != nil {
		v.Current = &shiftView{Shift: *oc.Current, User: userName(names, oc.Current.UserID)}
		v.UserIDs = append(v.UserIDs, oc.Current.UserID)
	}
	if oc.Next != nil {
		v.Next = &shiftView{Shift: *oc.Next, User: userName(names, oc.Next.UserID)}
	}
	return v
}

func (s *Server) apiOnCallNow(w http.ResponseWriter, r *http.Request) {
	ocs, err := s.opts.OnCall.OnCallNow(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	now := s.opts.OnCall.Now()
	out := make([]onCallView, len(ocs))
	for i, oc := range ocs {
		out[i] = viewOnCall(names, oc, now)
	}
	writeJSON(w, http.StatusOK, page[onCallView]{Data: out})
}

func (s *Server) apiScheduleOnCall(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	at := s.opts.OnCall.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		if at, err = time.Parse(time.RFC3339, v); err != nil {
			s.apiFail(w, r, valid.Errorf("at", "must be an RFC 3339 time such as 2026-03-29T09:00:00+02:00"))
			return
		}
	}
	oc, err := s.opts.OnCall.OnCall(r.Context(), id, at)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	names, err := s.opts.OnCall.UserNames(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOnCall(names, oc, at))
}

// shiftRange reads from/to as RFC 3339 times or dates; the default is the
// next 7 days.
func (s *Server) shiftRange(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	from := s.opts.OnCall.Now()
	if v := q.Get("from"); v != "" {
		t, err := parseTimeParam(v)
		if err != nil {
			return from, from, valid.Errorf("from", "must be a date (2006-01-02) or an RFC 3339 time")
		}
		from = t
	}
	to := from.Add(7 * 24 * time.Hour)
	if v := q.Get("to"); v != "" {
		t, err := parseTimeParam(v)
		if err != nil {
			return from, from, valid.Errorf("to", "must be a date (2006-01-02) or an RFC 3339 time")
		}
		to = t
	}
	return from, to, nil
}

func (s *Server) apiScheduleShifts(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	from, to, err := s.shiftRange(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	shifts, err := s.opts.OnCall.Shifts(r.Context(), id, from, to)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out, err := s.viewShifts(r, shifts)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[shiftView]{Data: out})
}

func (s *Server) apiListSchedules(w http.ResponseWriter, r *http.Request) {
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
	scs, next, err := s.opts.OnCall.SchedulesPage(r.Context(), after, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[*oncall.Schedule]{Data: scs, NextCursor: encodeCursor(next)})
}

func (s *Server) apiGetSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	sc, err := s.opts.OnCall.Schedule(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sc)
}

// optionalPathID is the {id} of PUT routes, or 0 for POST.
func optionalPathID(r *http.Request) (int64, error) {
	if r.PathValue("id") == "" {
		return 0, nil
	}
	return pathID(r)
}

// apiSaveSchedule creates (POST) or replaces (PUT) a schedule with its
// layers.
func (s *Server) apiSaveSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := optionalPathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in oncall.Schedule
	if !s.decodeJSON(w, r, &in) {
		return
	}
	in.ID = id
	sc, err := s.opts.OnCall.SaveSchedule(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/schedules/"+strconv.FormatInt(sc.ID, 10))
	}
	writeJSON(w, status, sc)
}

func (s *Server) apiDeleteSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.opts.OnCall.DeleteSchedule(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiListOverrides(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if _, err := s.opts.OnCall.Schedule(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	from, to, err := s.shiftRange(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if !to.After(from) || to.Sub(from) > oncall.MaxShiftWindow {
		s.apiFail(w, r, valid.Errorf("to", "must be after from, by at most 366 days"))
		return
	}
	ovs, err := s.opts.OnCall.Overrides(r.Context(), id, from, to)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[oncall.Override]{Data: ovs})
}

// overrideInput is what a client sends to add an override.
type overrideInput struct {
	UserID int64     `json:"user_id"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Note   string    `json:"note"`
}

func (s *Server) apiAddOverride(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in overrideInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	o, err := s.opts.OnCall.AddOverride(r.Context(), oncall.Override{ScheduleID: id, UserID: in.UserID, Start: in.Start, End: in.End, Note: in.Note})
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (s *Server) apiDeleteOverride(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	oid, err := strconv.ParseInt(r.PathValue("oid"), 10, 64)
	if err != nil || oid <= 0 {
		s.apiFail(w, r, valid.Errorf("oid", "must be a positive number"))
		return
	}
	if err := s.opts.OnCall.DeleteOverride(r.Context(), id, oid); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiListPolicies(w http.ResponseWriter, r *http.Request) {
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
	ps, next, err := s.opts.OnCall.PoliciesPage(r.Context(), after, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[*oncall.Policy]{Data: ps, NextCursor: encodeCursor(next)})
}

func (s *Server) apiGetPolicy(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.opts.OnCall.Policy(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) apiSavePolicy(w http.ResponseWriter, r *http.Request) {
	id, err := optionalPathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in oncall.Policy
	if !s.decodeJSON(w, r, &in) {
		return
	}
	in.ID = id
	p, err := s.opts.OnCall.SavePolicy(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/escalation-policies/"+strconv.FormatInt(p.ID, 10))
	}
	writeJSON(w, status, p)
}

func (s *Server) apiDeletePolicy(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.opts.OnCall.DeletePolicy(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiGetEscalation shows where an incident is in its escalation policy
// ({id} is the incident's id).
func (s *Server) apiGetEscalation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	e, err := s.opts.OnCall.Escalation(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}
