package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// apiRoutes is the JSON API. Each route names the least role that may call it.
func (s *Server) apiRoutes() []Route {
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	// Routes a user who must change their password may still use.
	pw := func(rt Route) Route { rt.AllowPasswordChange = true; return rt }
	return []Route{
		api("GET", "/metrics", auth.RoleViewer, s.metricsHandler),
		api("GET", "/api/v1/version", auth.RoleRequester, s.apiVersion),
		pw(api("GET", "/api/v1/me", auth.RoleRequester, s.apiMe)),
		pw(api("POST", "/api/v1/me/password", auth.RoleRequester, s.apiChangeOwnPassword)),
		api("GET", "/api/v1/users", auth.RoleAdmin, s.apiListUsers),
		api("POST", "/api/v1/users", auth.RoleAdmin, s.apiCreateUser),
		api("GET", "/api/v1/users/{id}", auth.RoleAdmin, s.apiGetUser),
		api("PATCH", "/api/v1/users/{id}", auth.RoleAdmin, s.apiUpdateUser),
		api("POST", "/api/v1/users/{id}/password", auth.RoleAdmin, s.apiSetUserPassword),
		api("GET", "/api/v1/tokens", auth.RoleViewer, s.apiListTokens),
		api("POST", "/api/v1/tokens", auth.RoleViewer, s.apiCreateToken),
		api("DELETE", "/api/v1/tokens/{id}", auth.RoleViewer, s.apiRevokeToken),
		api("GET", "/api/v1/audit", auth.RoleAdmin, s.apiListAudit),
	}
}
