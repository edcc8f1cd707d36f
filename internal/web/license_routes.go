package web

import (
	"net/http"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
)

// licenseHandlers serve the software licenses of the asset register.
type licenseHandlers struct {
	s *Server
	a *assets.Service
}

// licenseRoutes are the licenses: viewers read them and their compliance
// (keys masked); operators add, edit, assign seats and reveal a key, which
// is audited.
func (s *Server) licenseRoutes() []Route {
	if s.opts.Assets == nil {
		return nil
	}
	h := &licenseHandlers{s: s, a: s.opts.Assets}
	api := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: fn}
	}
	ui := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: fn}
	}
	return []Route{
		api("GET", "/api/v1/licenses", auth.RoleViewer, h.apiList),
		api("POST", "/api/v1/licenses", auth.RoleOperator, h.apiCreate),
		api("GET", "/api/v1/licenses/export", auth.RoleViewer, h.export(SurfaceAPI)),
		api("GET", "/api/v1/licenses/compliance", auth.RoleViewer, h.apiCompliance),
		api("GET", "/api/v1/licenses/{id}", auth.RoleViewer, h.apiGet),
		api("PUT", "/api/v1/licenses/{id}", auth.RoleOperator, h.apiUpdate),
		api("DELETE", "/api/v1/licenses/{id}", auth.RoleOperator, h.apiDelete),
		api("POST", "/api/v1/licenses/{id}/reveal-key", auth.RoleOperator, h.apiRevealKey),
		api("GET", "/api/v1/licenses/{id}/seats", auth.RoleViewer, h.apiSeats),
		api("POST", "/api/v1/licenses/{id}/seats", auth.RoleOperator, h.apiAssign),
		api("DELETE", "/api/v1/licenses/{id}/seats/{seat}", auth.RoleOperator, h.apiUnassign),
		api("GET", "/api/v1/licenses/{id}/history", auth.RoleViewer, h.apiHistory),

		ui("GET", "/licenses", auth.RoleViewer, h.listPage),
		ui("GET", "/licenses/compliance", auth.RoleViewer, h.compliancePage),
		ui("GET", "/licenses/export", auth.RoleViewer, h.export(SurfaceUI)),
		ui("GET", "/licenses/new", auth.RoleOperator, h.newPage),
		ui("POST", "/licenses/new", auth.RoleOperator, h.create),
		ui("GET", "/licenses/{id}", auth.RoleViewer, h.detailPage),
		ui("GET", "/licenses/{id}/edit", auth.RoleOperator, h.editPage),
		ui("POST", "/licenses/{id}/edit", auth.RoleOperator, h.update),
		ui("POST", "/licenses/{id}/delete", auth.RoleOperator, h.remove),
		ui("POST", "/licenses/{id}/reveal-key", auth.RoleOperator, h.revealKey),
		ui("POST", "/licenses/{id}/seats", auth.RoleOperator, h.assign),
		ui("POST", "/licenses/{id}/seats/{seat}/delete", auth.RoleOperator, h.unassign),
	}
}
