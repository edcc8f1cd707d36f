package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/security"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Security findings and posture: viewers read them, operators accept risks
// and mark one-off findings fixed, admins feed outside sources through the API.

func (s *Server) securityRoutes() []Route {
	if s.opts.Security == nil {
		return s.twoFactorRoutes()
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	rs := []Route{
		api("GET", "/api/v1/security/findings", auth.RoleViewer, s.apiListFindings),
		api("GET", "/api/v1/security/findings/{id}", auth.RoleViewer, s.apiGetFinding),
		api("POST", "/api/v1/security/findings/{id}/accept", auth.RoleOperator, s.apiAcceptFinding),
		api("POST", "/api/v1/security/findings/{id}/fix", auth.RoleOperator, s.apiFindingAction(s.opts.Security.Fix)),
		api("POST", "/api/v1/security/findings/{id}/reopen", auth.RoleOperator, s.apiFindingAction(s.opts.Security.Reopen)),
		api("GET", "/api/v1/security/posture", auth.RoleViewer, s.apiPosture),
		api("POST", "/api/v1/security/signals", auth.RoleAdmin, s.apiSyncSignals),
		ui("GET", "/security", auth.RoleViewer, s.securityPosturePage),
		ui("GET", "/security/findings", auth.RoleViewer, s.securityFindingsPage),
		ui("GET", "/security/findings/{id}", auth.RoleViewer, s.securityFindingPage),
		ui("POST", "/security/findings/{id}/accept", auth.RoleOperator, s.securityAcceptUI),
		ui("POST", "/security/findings/{id}/fix", auth.RoleOperator, s.securityFindingActionUI(s.opts.Security.Fix, "finding-fixed")),
		ui("POST", "/security/findings/{id}/reopen", auth.RoleOperator, s.securityFindingActionUI(s.opts.Security.Reopen, "finding-reopened")),
	}
	return append(rs, s.twoFactorRoutes()...)
}

// findingFilter reads a findings list's filters from the query, the same
// for the API and the UI.
func findingFilter(r *http.Request) (security.Filter, error) {
	q := r.URL.Query()
	var f security.Filter
	switch st := security.Status(q.Get("status")); st {
	case "", security.StatusOpen, security.StatusAccepted, security.StatusFixed:
		f.Status = st
	default:
		return f, valid.Errorf("status", "must be open, accepted or fixed")
	}
	if v := q.Get("severity"); v != "" {
		sev, err := security.ParseSeverity("severity", v)
		if err != nil {
			return f, err
		}
		f.MinSeverity = sev
	}
	if v := q.Get("source"); v != "" {
		if err := valid.Text("source", v, false, 100, false); err != nil {
			return f, err
		}
		f.Source = v
	}
	if v := q.Get("ci"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, valid.Errorf("ci", "must be a CI id")
		}
		f.CIID = id
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			return f, valid.Errorf("offset", "must be a number from 0 to 1000000")
		}
		f.Offset = n
	}
	var err error
	f.Limit, err = queryLimit(r, 50, 500)
	return f, err
}

func (s *Server) apiListFindings(w http.ResponseWriter, r *http.Request) {
	f, err := findingFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	list, total, err := s.opts.Security.List(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": nonNil(list), "total": total})
}

func (s *Server) apiGetFinding(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	f, err := s.opts.Security.Get(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) apiAcceptFinding(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in struct {
		Reason string    `json:"reason"`
		Until  time.Time `json:"until"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	f, err := s.opts.Security.Accept(r.Context(), id, in.Reason, in.Until)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) apiFindingAction(act func(ctx context.Context, id int64) (security.Finding, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		f, err := act(r.Context(), id)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, f)
	}
}

func (s *Server) apiPosture(w http.ResponseWriter, r *http.Request) {
	ci, err := postureCI(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.opts.Security.Posture(r.Context(), ci, 30)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func postureCI(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("ci")
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, valid.Errorf("ci", "must be a CI id")
	}
	return id, nil
}

// signalsIn is the body of POST /api/v1/security/signals: an outside
// source's complete list for one scope.
type signalsIn struct {
	Source  string `json:"source"`
	Scope   string `json:"scope"`
	Signals []struct {
		Key      string         `json:"key"`
		Title    string         `json:"title"`
		Severity string         `json:"severity"`
		CIID     int64          `json:"ci_id"`
		Evidence map[string]any `json:"evidence"`
	} `json:"signals"`
}

// builtInSources are fed by opsdeck itself; the API may not write them, so
// a token cannot close a real certificate or sign-in finding.
var builtInSources = map[string]bool{security.SourceTLS: true, security.SourceBruteForce: true,
	security.SourceNewAddress: true, security.SourceAdminGrant: true, security.SourceAgentUpdates: true, security.SourceAgentSoftware: true}

func (s *Server) apiSyncSignals(w http.ResponseWriter, r *http.Request) {
	var in signalsIn
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if builtInSources[in.Source] {
		s.apiFail(w, r, valid.Errorf("source", "is fed by opsdeck itself; choose another name"))
		return
	}
	sigs := make([]security.Signal, len(in.Signals))
	for i, g := range in.Signals {
		sigs[i] = security.Signal{Key: g.Key, Title: g.Title, Severity: security.Severity(g.Severity), CIID: g.CIID, Evidence: g.Evidence}
	}
	if err := s.opts.Security.Sync(r.Context(), in.Source, in.Scope, sigs); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
