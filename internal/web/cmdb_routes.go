package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
)

// cmdbHandlers serve the CMDB's API and pages.
type cmdbHandlers struct {
	s *Server
	c *cmdb.Service
}

// cmdbRoutes is the CMDB: viewers read, operators change CIs, their
// relationships and links, admins change CI and relationship types.
func (s *Server) cmdbRoutes() []Route {
	if s.opts.CMDB == nil {
		return nil
	}
	h := &cmdbHandlers{s: s, c: s.opts.CMDB}
	api := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: fn}
	}
	ui := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: fn}
	}
	return []Route{
		api("GET", "/api/v1/ci-types", auth.RoleViewer, h.apiListTypes),
		api("POST", "/api/v1/ci-types", auth.RoleAdmin, h.apiCreateType),
		api("GET", "/api/v1/ci-types/{id}", auth.RoleViewer, h.apiGetType),
		api("PUT", "/api/v1/ci-types/{id}", auth.RoleAdmin, h.apiUpdateType),
		api("DELETE", "/api/v1/ci-types/{id}", auth.RoleAdmin, h.apiDeleteType),
		api("GET", "/api/v1/relationship-types", auth.RoleViewer, h.apiListRelTypes),
		api("POST", "/api/v1/relationship-types", auth.RoleAdmin, h.apiCreateRelType),
		api("GET", "/api/v1/relationship-types/{id}", auth.RoleViewer, h.apiGetRelType),
		api("PUT", "/api/v1/relationship-types/{id}", auth.RoleAdmin, h.apiUpdateRelType),
		api("DELETE", "/api/v1/relationship-types/{id}", auth.RoleAdmin, h.apiDeleteRelType),
		api("GET", "/api/v1/cis", auth.RoleViewer, h.apiListCIs),
		api("POST", "/api/v1/cis", auth.RoleOperator, h.apiCreateCI),
		api("GET", "/api/v1/cis/{id}", auth.RoleViewer, h.apiGetCI),
		api("PUT", "/api/v1/cis/{id}", auth.RoleOperator, h.apiUpdateCI),
		api("DELETE", "/api/v1/cis/{id}", auth.RoleOperator, h.apiDeleteCI),
		api("GET", "/api/v1/cis/{id}/relationships", auth.RoleViewer, h.apiListRelationships),
		api("POST", "/api/v1/cis/{id}/relationships", auth.RoleOperator, h.apiRelate),
		api("DELETE", "/api/v1/ci-relationships/{id}", auth.RoleOperator, h.apiUnrelate),
		api("GET", "/api/v1/cis/{id}/impact", auth.RoleViewer, h.apiImpact),
		api("GET", "/api/v1/cis/{id}/history", auth.RoleViewer, h.apiHistory),
		api("GET", "/api/v1/cis/{id}/links", auth.RoleViewer, h.apiListLinks),
		api("POST", "/api/v1/cis/{id}/links", auth.RoleOperator, h.apiLink),
		api("GET", "/api/v1/ci-links", auth.RoleViewer, h.apiLinksOf),
		api("DELETE", "/api/v1/ci-links/{id}", auth.RoleOperator, h.apiUnlink),

		ui("GET", "/cis", auth.RoleViewer, h.listPage),
		ui("GET", "/cis/new", auth.RoleOperator, h.newPage),
		ui("POST", "/cis/new", auth.RoleOperator, h.create),
		ui("GET", "/cis/{id}", auth.RoleViewer, h.detailPage),
		ui("GET", "/cis/{id}/edit", auth.RoleOperator, h.editPage),
		ui("POST", "/cis/{id}/edit", auth.RoleOperator, h.update),
		ui("POST", "/cis/{id}/delete", auth.RoleOperator, h.remove),
		ui("POST", "/cis/{id}/relationships", auth.RoleOperator, h.relate),
		ui("POST", "/cis/{id}/relationships/remove", auth.RoleOperator, h.unrelate),
		ui("POST", "/cis/{id}/links", auth.RoleOperator, h.link),
		ui("POST", "/cis/{id}/links/remove", auth.RoleOperator, h.unlink),
		ui("GET", "/ci-types", auth.RoleViewer, h.typesPage),
		ui("GET", "/ci-types/new", auth.RoleAdmin, h.newTypePage),
		ui("POST", "/ci-types/new", auth.RoleAdmin, h.createType),
		ui("GET", "/ci-types/{id}", auth.RoleAdmin, h.editTypePage),
		ui("POST", "/ci-types/{id}", auth.RoleAdmin, h.updateType),
		ui("POST", "/ci-types/{id}/delete", auth.RoleAdmin, h.removeType),
		ui("POST", "/relationship-types/new", auth.RoleAdmin, h.createRelType),
		ui("POST", "/relationship-types/{id}/delete", auth.RoleAdmin, h.removeRelType),
	}
}
