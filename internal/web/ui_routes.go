package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// uiRoutes is the server-rendered UI. Each page names the least role that
// may open it; the navigation shows a caller only the pages their role allows.
func (s *Server) uiRoutes() []Route {
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	// Pages a user who must change their password may still reach.
	pw := func(rt Route) Route { rt.AllowPasswordChange = true; return rt }
	rs := []Route{
		ui("GET", "/static/{hash}/{file}", auth.RoleNone, s.staticFile),
		ui("GET", "/login", auth.RoleNone, s.loginPage),
		ui("POST", "/login", auth.RoleNone, s.login),
		pw(ui("POST", "/logout", auth.RoleRequester, s.logout)),
		pw(ui("GET", "/account/password", auth.RoleRequester, s.passwordPage)),
		pw(ui("POST", "/account/password", auth.RoleRequester, s.changePassword)),
		ui("GET", "/{$}", auth.RoleRequester, s.home),
		ui("GET", "/users", auth.RoleAdmin, s.usersPage),
		ui("GET", "/users/new", auth.RoleAdmin, s.newUserPage),
		ui("POST", "/users/new", auth.RoleAdmin, s.createUser),
		ui("GET", "/users/{id}", auth.RoleAdmin, s.editUserPage),
		ui("POST", "/users/{id}", auth.RoleAdmin, s.updateUser),
		ui("POST", "/users/{id}/password", auth.RoleAdmin, s.setUserPassword),
		ui("GET", "/tokens", auth.RoleViewer, s.tokensPage),
		ui("POST", "/tokens", auth.RoleViewer, s.createToken),
		ui("POST", "/tokens/{id}/revoke", auth.RoleViewer, s.revokeToken),
		ui("GET", "/audit", auth.RoleAdmin, s.auditPage),
	}
	rs = append(rs, s.incidentUIRoutes()...)
	return append(rs, s.monitorUIRoutes()...)
}
