package web

import (
	"net/http"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
)

// assetHandlers serve the asset register's API and pages.
type assetHandlers struct {
	s *Server
	a *assets.Service
}

// assetRoutes is the asset register: viewers read, operators add, edit
// and move assets through their lifecycle.
func (s *Server) assetRoutes() []Route {
	if s.opts.Assets == nil {
		return nil
	}
	h := &assetHandlers{s: s, a: s.opts.Assets}
	api := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: fn}
	}
	ui := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: fn}
	}
	return []Route{
		api("GET", "/api/v1/assets", auth.RoleViewer, h.apiList),
		api("POST", "/api/v1/assets", auth.RoleOperator, h.apiCreate),
		api("GET", "/api/v1/assets/export", auth.RoleViewer, h.export(SurfaceAPI)),
		{Method: "POST", Path: "/api/v1/assets/import", Role: auth.RoleOperator, Surface: SurfaceAPI, Handler: h.apiImport, MaxBodyBytes: assetCSVLimit},
		api("GET", "/api/v1/assets/{id}", auth.RoleViewer, h.apiGet),
		api("PUT", "/api/v1/assets/{id}", auth.RoleOperator, h.apiUpdate),
		api("POST", "/api/v1/assets/{id}/checkout", auth.RoleOperator, h.apiCheckout),
		api("POST", "/api/v1/assets/{id}/checkin", auth.RoleOperator, h.apiCheckin),
		api("POST", "/api/v1/assets/{id}/transition", auth.RoleOperator, h.apiTransition),
		api("GET", "/api/v1/assets/{id}/history", auth.RoleViewer, h.apiHistory),
		api("GET", "/api/v1/asset-stocktakes", auth.RoleViewer, h.apiStocktakes),
		api("POST", "/api/v1/asset-stocktakes", auth.RoleOperator, h.apiStartStocktake),
		api("GET", "/api/v1/asset-stocktakes/{id}", auth.RoleViewer, h.apiStocktake),
		api("POST", "/api/v1/asset-stocktakes/{id}/seen", auth.RoleOperator, h.apiSeen),
		api("GET", "/api/v1/asset-stocktakes/{id}/missing", auth.RoleViewer, h.apiMissing),
		api("POST", "/api/v1/asset-stocktakes/{id}/close", auth.RoleOperator, h.apiCloseStocktake),

		ui("GET", "/assets", auth.RoleViewer, h.listPage),
		ui("GET", "/assets/new", auth.RoleOperator, h.newPage),
		ui("POST", "/assets/new", auth.RoleOperator, h.create),
		ui("GET", "/assets/export", auth.RoleViewer, h.export(SurfaceUI)),
		ui("GET", "/assets/import", auth.RoleOperator, h.importPage),
		{Method: "POST", Path: "/assets/import", Role: auth.RoleOperator, Surface: SurfaceUI, Handler: h.importUpload, MaxBodyBytes: assetCSVLimit},
		{Method: "POST", Path: "/assets/import/confirm", Role: auth.RoleOperator, Surface: SurfaceUI, Handler: h.importConfirm, MaxBodyBytes: 2 * assetCSVLimit},
		ui("GET", "/assets/{id}", auth.RoleViewer, h.detailPage),
		ui("GET", "/assets/{id}/edit", auth.RoleOperator, h.editPage),
		ui("POST", "/assets/{id}/edit", auth.RoleOperator, h.update),
		ui("POST", "/assets/{id}/checkout", auth.RoleOperator, h.checkout),
		ui("POST", "/assets/{id}/checkin", auth.RoleOperator, h.checkin),
		ui("POST", "/assets/{id}/transition", auth.RoleOperator, h.transition),
		ui("GET", "/asset-stocktakes", auth.RoleViewer, h.stocktakesPage),
		ui("POST", "/asset-stocktakes", auth.RoleOperator, h.startStocktake),
		ui("GET", "/asset-stocktakes/{id}", auth.RoleViewer, h.stocktakePage),
		ui("POST", "/asset-stocktakes/{id}/seen", auth.RoleOperator, h.markSeen),
		ui("POST", "/asset-stocktakes/{id}/close", auth.RoleOperator, h.closeStocktake),
	}
}
