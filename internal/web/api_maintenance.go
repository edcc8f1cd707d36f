package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
)

// maintenanceRoutes manage maintenance windows: reading needs viewer,
// changing needs operator.
func (s *Server) maintenanceRoutes() []Route {
	if s.opts.Monitors == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	return []Route{
		api("GET", "/api/v1/maintenance-windows", auth.RoleViewer, s.apiListWindows),
		api("POST", "/api/v1/maintenance-windows", auth.RoleOperator, s.apiSaveWindow),
		api("GET", "/api/v1/maintenance-windows/{id}", auth.RoleViewer, s.apiGetWindow),
		api("PUT", "/api/v1/maintenance-windows/{id}", auth.RoleOperator, s.apiSaveWindow),
		api("DELETE", "/api/v1/maintenance-windows/{id}", auth.RoleOperator, s.apiDeleteWindow),
	}
}

// windowView adds whether the window is open now.
type windowView struct {
	*monitor.Window
	Active bool `json:"active"`
}

func (s *Server) apiListWindows(w http.ResponseWriter, r *http.Request) {
	ws, err := s.opts.Monitors.Windows(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := make([]windowView, len(ws))
	for i, win := range ws {
		out[i] = windowView{Window: win, Active: win.ActiveAt(time.Now())}
	}
	writeJSON(w, http.StatusOK, page[windowView]{Data: out})
}

func (s *Server) apiGetWindow(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	win, err := s.opts.Monitors.Window(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, windowView{Window: win, Active: win.ActiveAt(time.Now())})
}

// apiSaveWindow creates (POST) or replaces (PUT) a window.
func (s *Server) apiSaveWindow(w http.ResponseWriter, r *http.Request) {
	var id int64
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	var in monitor.Window
	if !s.decodeJSON(w, r, &in) {
		return
	}
	in.ID = id
	win, err := s.opts.Monitors.SaveWindow(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/maintenance-windows/"+strconv.FormatInt(win.ID, 10))
	}
	writeJSON(w, status, windowView{Window: win, Active: win.ActiveAt(time.Now())})
}

func (s *Server) apiDeleteWindow(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.opts.Monitors.DeleteWindow(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
