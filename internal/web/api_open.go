package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// openRoutes are reachable without signing in: liveness and readiness only.
func (s *Server) openRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: s.healthz},
		{Method: "GET", Path: "/readyz", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: s.readyz},
	}
}

// healthz answers while the process serves HTTP at all.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when the database answers, its schema is at the
// version this binary expects, and the stored monitors are scheduled.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("readyz: database", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
		return
	}
	cur, latest, err := s.db.MigrationState(ctx)
	if err != nil || cur != latest {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "migrations pending", "schema_version": cur, "latest_version": latest})
		return
	}
	if s.opts.Monitors != nil {
		select {
		case <-s.opts.Monitors.Started():
		default:
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "monitors not scheduled yet"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "schema_version": cur})
}

// notFound answers paths no route matches, in the caller's language.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint", "")
		return
	}
	s.renderError(w, r, http.StatusNotFound, "there is no page at this address")
}
