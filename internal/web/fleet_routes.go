package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/fleet"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// fleetHandlers serve the agent endpoints, the fleet API and its pages.
type fleetHandlers struct {
	s *Server
	f *fleet.Service
}

// fleetRoutes: agents enroll and report on open routes guarded by their
// enrollment token and credential; viewers read the fleet, admins manage
// enrollment tokens and revoke agents.
func (s *Server) fleetRoutes() []Route {
	if s.opts.Fleet == nil {
		return nil
	}
	h := &fleetHandlers{s: s, f: s.opts.Fleet}
	api := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: fn}
	}
	ui := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: fn}
	}
	return []Route{
		api("POST", "/api/v1/agent/enroll", auth.RoleNone, h.enroll),
		{Method: "POST", Path: "/api/v1/agent/report", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: h.report, MaxBodyBytes: wire.MaxCompressedBytes},

		api("GET", "/api/v1/agent-tokens", auth.RoleAdmin, h.apiTokens),
		api("POST", "/api/v1/agent-tokens", auth.RoleAdmin, h.apiCreateToken),
		api("DELETE", "/api/v1/agent-tokens/{id}", auth.RoleAdmin, h.apiRevokeToken),
		api("GET", "/api/v1/agents", auth.RoleViewer, h.apiList),
		api("GET", "/api/v1/agents/{id}", auth.RoleViewer, h.apiGet),
		api("GET", "/api/v1/agents/{id}/metrics", auth.RoleViewer, h.apiMetrics),
		api("GET", "/api/v1/agents/{id}/software", auth.RoleViewer, h.apiSoftware),
		api("GET", "/api/v1/agents/{id}/updates", auth.RoleViewer, h.apiUpdates),
		api("GET", "/api/v1/agents/{id}/files", auth.RoleViewer, h.apiFiles),
		api("POST", "/api/v1/agents/{id}/revoke", auth.RoleAdmin, h.apiRevoke),

		ui("GET", "/agents", auth.RoleViewer, h.listPage),
		ui("GET", "/agents/{id}", auth.RoleViewer, h.detailPage),
		ui("POST", "/agents/{id}/revoke", auth.RoleAdmin, h.revoke),
		ui("GET", "/agent-tokens", auth.RoleAdmin, h.tokensPage),
		ui("POST", "/agent-tokens", auth.RoleAdmin, h.createToken),
		ui("POST", "/agent-tokens/{id}/revoke", auth.RoleAdmin, h.revokeToken),
	}
}
