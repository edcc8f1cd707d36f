package web

import (
	"net/http"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/statuspage"
)

// statusPages serves status pages: the public pages, their JSON summary and
// badges, and the API and UI that manage them. It holds its own service and
// the cache of public views, built with the route table.
type statusPages struct {
	s     *Server
	pages *statuspage.Service
	cache *statusCache
}

// statusPageRoutes are the public status pages and their management pages.
// The public ones are open to anonymous callers; each answers 404 for a
// page that is not public unless the caller is signed in as a viewer.
func (s *Server) statusPageRoutes() []Route {
	if s.opts.Monitors == nil {
		return nil
	}
	h := &statusPages{
		s:     s,
		pages: statuspage.NewService(s.db, statuspage.Options{Uptime: s.opts.Monitors}),
		cache: newStatusCache(statusCacheTTL, statusCacheSize, time.Now),
	}
	api := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: fn}
	}
	ui := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: fn}
	}
	return []Route{
		// Public: {slug} also answers {slug}.json, since a path wildcard
		// must be a whole segment.
		ui("GET", "/status/{slug}", auth.RoleNone, h.publicPage),
		ui("GET", "/status/{slug}/badge.svg", auth.RoleNone, h.badge),

		api("GET", "/api/v1/status-pages", auth.RoleViewer, h.apiList),
		api("POST", "/api/v1/status-pages", auth.RoleOperator, h.apiCreate),
		api("GET", "/api/v1/status-pages/{id}", auth.RoleViewer, h.apiGet),
		api("PUT", "/api/v1/status-pages/{id}", auth.RoleOperator, h.apiReplace),
		api("DELETE", "/api/v1/status-pages/{id}", auth.RoleOperator, h.apiDelete),

		ui("GET", "/status-pages", auth.RoleViewer, h.listPage),
		ui("GET", "/status-pages/new", auth.RoleOperator, h.newPage),
		ui("POST", "/status-pages/new", auth.RoleOperator, h.create),
		ui("GET", "/status-pages/{id}", auth.RoleOperator, h.editPage),
		ui("POST", "/status-pages/{id}", auth.RoleOperator, h.update),
		ui("POST", "/status-pages/{id}/delete", auth.RoleOperator, h.remove),
	}
}
