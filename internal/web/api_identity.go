package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler(s.log).ServeHTTP(w, r)
}

func (s *Server) apiVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.opts.Version})
}

// meResponse describes the caller.
type meResponse struct {
	Kind               auth.ActorKind `json:"kind"`
	Name               string         `json:"name"`
	Role               auth.Role      `json:"role"`
	UserID             int64          `json:"user_id,omitempty"`
	TokenID            int64          `json:"token_id,omitempty"`
	MustChangePassword bool           `json:"must_change_password,omitempty"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	writeJSON(w, http.StatusOK, meResponse{Kind: a.Kind, Name: a.Name, Role: a.Role, UserID: a.UserID, TokenID: a.TokenID, MustChangePassword: a.MustChangePassword})
}

func (s *Server) apiChangeOwnPassword(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	if a.Kind != auth.ActorUser {
		writeError(w, http.StatusForbidden, "forbidden", "only a signed-in user can change their password", "")
		return
	}
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	keep := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		keep = c.Value
	}
	if err := s.auth.ChangeOwnPassword(r.Context(), a.UserID, in.Current, in.New, keep); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, valid.Errorf("id", "must be a positive number")
	}
	return id, nil
}

func (s *Server) apiListUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.auth.ListUsers(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[auth.User]{Data: nonNil(us)})
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request) {
	var in auth.NewUser
	if !s.decodeJSON(w, r, &in) {
		return
	}
	u, err := s.auth.CreateUser(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+strconv.FormatInt(u.ID, 10))
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) apiGetUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	u, err := s.auth.GetUser(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) apiUpdateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in auth.UserUpdate
	if !s.decodeJSON(w, r, &in) {
		return
	}
	u, err := s.auth.UpdateUser(r.Context(), id, in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) apiSetUserPassword(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Password           string `json:"password"`
		MustChangePassword *bool  `json:"must_change_password"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	mustChange := true
	if in.MustChangePassword != nil {
		mustChange = *in.MustChangePassword
	}
	if err := s.auth.SetPassword(r.Context(), id, in.Password, mustChange, ""); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiListTokens lists the caller's own tokens; an admin may pass all=1 to
// see every token.
func (s *Server) apiListTokens(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	owner := a.UserID
	if r.URL.Query().Get("all") == "1" {
		if a.Role != auth.RoleAdmin {
			writeError(w, http.StatusForbidden, "forbidden", "listing every token needs the admin role", "all")
			return
		}
		owner = 0
	} else if owner == 0 {
		// A service token owned by nobody sees only itself.
		t, err := s.auth.GetToken(r.Context(), a.TokenID)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page[auth.Token]{Data: []auth.Token{t}})
		return
	}
	ts, err := s.auth.ListTokens(r.Context(), owner)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[auth.Token]{Data: nonNil(ts)})
}

// createdToken is the one response that carries a token's secret.
type createdToken struct {
	auth.Token
	Secret string `json:"token"`
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name      string     `json:"name"`
		Role      auth.Role  `json:"role"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	a := auth.ActorFrom(r.Context())
	if in.Role == "" {
		in.Role = a.Role
	}
	raw, t, err := s.auth.CreateToken(r.Context(), auth.NewToken{Name: in.Name, Role: in.Role, UserID: a.UserID, ExpiresAt: in.ExpiresAt})
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tokens/"+strconv.FormatInt(t.ID, 10))
	writeJSON(w, http.StatusCreated, createdToken{Token: t, Secret: raw})
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.mayManageToken(r, id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.auth.RevokeToken(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mayManageToken lets admins manage any token and others only their own.
// Someone else's token is reported as not found, not forbidden, so ids do
// not reveal which tokens exist.
func (s *Server) mayManageToken(r *http.Request, id int64) error {
	a := auth.ActorFrom(r.Context())
	if a.Role == auth.RoleAdmin {
		return nil
	}
	t, err := s.auth.GetToken(r.Context(), id)
	if err != nil {
		return err
	}
	if (a.UserID != 0 && t.UserID == a.UserID) || (a.UserID == 0 && t.ID == a.TokenID) {
		return nil
	}
	return store.ErrNotFound
}

func (s *Server) apiListAudit(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilterFrom(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	es, next, err := auth.ListAudit(r.Context(), s.db, f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[auth.AuditEntry]{Data: nonNil(es), NextCursor: encodeCursor(next)})
}

// auditFilterFrom reads the audit filters from the query string, shared by
// the API and the UI page.
func auditFilterFrom(r *http.Request) (auth.AuditFilter, error) {
	q := r.URL.Query()
	f := auth.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), TargetKind: q.Get("target_kind"), TargetID: q.Get("target_id")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := parseTimeParam(v)
			if err != nil {
				return f, valid.Errorf(p.name, "must be a date (2006-01-02) or an RFC 3339 time")
			}
			*p.dst = t
		}
	}
	var err error
	if f.Before, err = decodeCursor(q.Get("cursor")); err != nil {
		return f, err
	}
	if f.Limit, err = queryLimit(r, 50, 500); err != nil {
		return f, err
	}
	for _, v := range []struct{ name, val string }{{"actor", f.Actor}, {"action", f.Action}, {"target_kind", f.TargetKind}, {"target_id", f.TargetID}} {
		if err := valid.Text(v.name, v.val, false, 200, false); err != nil {
			return f, err
		}
	}
	return f, nil
}

func parseTimeParam(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return time.Time{}, errors.New("bad time")
	}
	return t, nil
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
