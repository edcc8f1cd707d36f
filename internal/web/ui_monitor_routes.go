package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// monitorUIRoutes are the monitoring pages, maintenance windows included:
// viewers read, operators change.
// Without a monitoring service (tests of other areas) there are none.
func (s *Server) monitorUIRoutes() []Route {
	if s.opts.Monitors == nil {
		return nil
	}
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	return []Route{
		ui("GET", "/monitors", auth.RoleViewer, s.monitorsPage),
		ui("GET", "/monitors/new", auth.RoleOperator, s.newMonitorPage),
		ui("POST", "/monitors/new", auth.RoleOperator, s.createMonitor),
		ui("GET", "/monitors/{id}", auth.RoleViewer, s.monitorPage),
		ui("GET", "/monitors/{id}/edit", auth.RoleOperator, s.editMonitorPage),
		ui("POST", "/monitors/{id}/edit", auth.RoleOperator, s.updateMonitor),
		ui("POST", "/monitors/{id}/pause", auth.RoleOperator, s.pauseMonitor(true)),
		ui("POST", "/monitors/{id}/resume", auth.RoleOperator, s.pauseMonitor(false)),
		ui("POST", "/monitors/{id}/delete", auth.RoleOperator, s.deleteMonitor),
		ui("GET", "/maintenance", auth.RoleViewer, s.maintenancePage),
		ui("GET", "/maintenance/new", auth.RoleOperator, s.newMaintenancePage),
		ui("POST", "/maintenance/new", auth.RoleOperator, s.createMaintenance),
		ui("GET", "/maintenance/{id}", auth.RoleOperator, s.editMaintenancePage),
		ui("POST", "/maintenance/{id}", auth.RoleOperator, s.updateMaintenance),
		ui("POST", "/maintenance/{id}/delete", auth.RoleOperator, s.deleteMaintenance),
	}
}
