package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// notifyAPIRoutes are the notification API: channels (admin), each user's
// own contact methods and rules (any signed-in user; admins reach anyone's
// under /users/{id}), and the outbox (viewer reads, operator retries).
func (s *Server) notifyAPIRoutes() []Route {
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	return []Route{
		api("GET", "/api/v1/notification-channel-kinds", auth.RoleRequester, s.apiChannelKinds),
		api("GET", "/api/v1/notification-channels", auth.RoleRequester, s.apiListChannels),
		api("POST", "/api/v1/notification-channels", auth.RoleAdmin, s.apiSaveChannel),
		api("GET", "/api/v1/notification-channels/{id}", auth.RoleAdmin, s.apiGetChannel),
		api("PUT", "/api/v1/notification-channels/{id}", auth.RoleAdmin, s.apiSaveChannel),
		api("DELETE", "/api/v1/notification-channels/{id}", auth.RoleAdmin, s.apiDeleteChannel),
		api("POST", "/api/v1/notification-channels/{id}/test", auth.RoleAdmin, s.apiTestChannel),

		api("GET", "/api/v1/me/contact-methods", auth.RoleRequester, s.apiListMethods(false)),
		api("POST", "/api/v1/me/contact-methods", auth.RoleRequester, s.apiAddMethod(false)),
		api("DELETE", "/api/v1/me/contact-methods/{method}", auth.RoleRequester, s.apiDeleteMethod(false)),
		api("GET", "/api/v1/me/notification-rules", auth.RoleRequester, s.apiListRules(false)),
		api("POST", "/api/v1/me/notification-rules", auth.RoleRequester, s.apiAddRule(false)),
		api("DELETE", "/api/v1/me/notification-rules/{rule}", auth.RoleRequester, s.apiDeleteRule(false)),
		api("GET", "/api/v1/users/{id}/contact-methods", auth.RoleAdmin, s.apiListMethods(true)),
		api("POST", "/api/v1/users/{id}/contact-methods", auth.RoleAdmin, s.apiAddMethod(true)),
		api("DELETE", "/api/v1/users/{id}/contact-methods/{method}", auth.RoleAdmin, s.apiDeleteMethod(true)),
		api("GET", "/api/v1/users/{id}/notification-rules", auth.RoleAdmin, s.apiListRules(true)),
		api("POST", "/api/v1/users/{id}/notification-rules", auth.RoleAdmin, s.apiAddRule(true)),
		api("DELETE", "/api/v1/users/{id}/notification-rules/{rule}", auth.RoleAdmin, s.apiDeleteRule(true)),

		api("GET", "/api/v1/notifications", auth.RoleViewer, s.apiListNotifications),
		api("GET", "/api/v1/notifications/{id}", auth.RoleViewer, s.apiGetNotification),
		api("POST", "/api/v1/notifications/{id}/retry", auth.RoleOperator, s.apiRetryNotification),
	}
}

func (s *Server) apiChannelKinds(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, page[notify.Kind]{Data: notify.Kinds()})
}

// channelSummary is what callers below admin see of a channel: enough to
// choose one for a contact method, none of its settings.
type channelSummary struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Enabled bool   `json:"enabled"`
}

func (s *Server) apiListChannels(w http.ResponseWriter, r *http.Request) {
	cs, err := s.opts.Notify.Channels(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if auth.ActorFrom(r.Context()).Role.Allows(auth.RoleAdmin) {
		writeJSON(w, http.StatusOK, page[notify.ChannelConfig]{Data: nonNil(cs)})
		return
	}
	out := make([]channelSummary, 0, len(cs))
	for _, c := range cs {
		out = append(out, channelSummary{ID: c.ID, Name: c.Name, Kind: c.Kind, Enabled: c.Enabled})
	}
	writeJSON(w, http.StatusOK, page[channelSummary]{Data: out})
}

func (s *Server) apiGetChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	c, err := s.opts.Notify.Channel(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// apiSaveChannel creates (POST) or replaces (PUT) a channel. On PUT a
// secret left out or empty keeps its stored value.
func (s *Server) apiSaveChannel(w http.ResponseWriter, r *http.Request) {
	var id int64
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	var in notify.ChannelInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c, err := s.opts.Notify.SaveChannel(r.Context(), id, in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/notification-channels/"+strconv.FormatInt(c.ID, 10))
	}
	writeJSON(w, status, c)
}

func (s *Server) apiDeleteChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.opts.Notify.DeleteChannel(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// testResult is the answer of a test send: the receiver's verdict, whether
// it accepted the message or not (a refusal is a result, not an API error).
type testSendResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func (s *Server) apiTestChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Address string `json:"address"`
	}
	if r.ContentLength != 0 && !s.decodeJSON(w, r, &in) {
		return
	}
	err = s.opts.Notify.TestChannel(r.Context(), id, in.Address)
	if _, bad := valid.As(err); bad || errors.Is(err, store.ErrNotFound) {
		s.apiFail(w, r, err)
		return
	}
	res := testSendResult{OK: err == nil}
	if err != nil {
		res.Error = err.Error()
	}
	writeJSON(w, http.StatusOK, res)
}

// targetUser is whose contact methods and rules a request is about: the
// caller's own, or with admin the user named in the path.
func (s *Server) targetUser(r *http.Request, other bool) (int64, error) {
	if other {
		return pathID(r)
	}
	a := auth.ActorFrom(r.Context())
	if a.UserID == 0 {
		return 0, valid.Errorf("user", "this token belongs to no user; use a user's token or /api/v1/users/{id}/…")
	}
	return a.UserID, nil
}

func pathInt(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, valid.Errorf(name, "must be a positive number")
	}
	return id, nil
}

func (s *Server) apiListMethods(other bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uid, err := s.targetUser(r, other)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		cms, err := s.opts.Notify.ContactMethods(r.Context(), uid)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page[notify.ContactMethod]{Data: nonNil(cms)})
	}
}

func (s *Server) apiAddMethod(other bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uid, err := s.targetUser(r, other)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		var in struct {
			ChannelID int64  `json:"channel_id"`
			Label     string `json:"label"`
			Address   string `json:"address"`
		}
		if !s.decodeJSON(w, r, &in) {
			return
		}
		cm, err := s.opts.Notify.AddContactMethod(r.Context(), uid, notify.ContactMethod{ChannelID: in.ChannelID, Label: in.Label, Address: in.Address})
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, cm)
	}
}

func (s *Server) apiDeleteMethod(other bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uid, err := s.targetUser(r, other)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		id, err := pathInt(r, "method")
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		if err := s.opts.Notify.DeleteContactMethod(r.Context(), uid, id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) apiListRules(other bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uid, err := s.targetUser(r, other)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		rs, err := s.opts.Notify.Rules(r.Context(), uid)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page[notify.Rule]{Data: nonNil(rs)})
	}
}

func (s *Server) apiAddRule(other bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uid, err := s.targetUser(r, other)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		var in struct {
			ContactMethodID int64 `json:"contact_method_id"`
			DelayMinutes    int   `json:"delay_minutes"`
		}
		if !s.decodeJSON(w, r, &in) {
			return
		}
		rule, err := s.opts.Notify.AddRule(r.Context(), uid, notify.Rule{ContactMethodID: in.ContactMethodID, DelayMinutes: in.DelayMinutes})
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, rule)
	}
}

func (s *Server) apiDeleteRule(other bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uid, err := s.targetUser(r, other)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		id, err := pathInt(r, "rule")
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		if err := s.opts.Notify.DeleteRule(r.Context(), uid, id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// outboxFilter reads the outbox filters from a query string, shared by the
// API and the page.
func outboxFilter(r *http.Request) (notify.Filter, error) {
	q := r.URL.Query()
	var f notify.Filter
	var err error
	if f.Status, err = notify.ParseStatus("status", q.Get("status")); err != nil {
		return f, err
	}
	if err := valid.Text("ref_kind", q.Get("ref_kind"), false, 50, false); err != nil {
		return f, err
	}
	f.RefKind = q.Get("ref_kind")
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"ref_id", &f.RefID}, {"user_id", &f.UserID}, {"channel_id", &f.ChannelID}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return f, valid.Errorf(p.name, "must be a positive number")
			}
			*p.dst = n
		}
	}
	if f.Before, err = decodeCursor(q.Get("cursor")); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) apiListNotifications(w http.ResponseWriter, r *http.Request) {
	f, err := outboxFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if f.Limit, err = queryLimit(r, 50, 500); err != nil {
		s.apiFail(w, r, err)
		return
	}
	ns, next, err := s.opts.Notify.Notifications(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[notify.Notification]{Data: nonNil(ns), NextCursor: encodeCursor(next)})
}

func (s *Server) apiGetNotification(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	n, err := s.opts.Notify.Notification(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) apiRetryNotification(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	n, err := s.opts.Notify.RetryNow(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}
