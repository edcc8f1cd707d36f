package web

import (
	"errors"
	"net/http"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// pauseMonitor and resumeMonitor stop and restart a monitor's checks.
// Either is harmless twice (a double click, a reload).
func (s *Server) pauseMonitor(paused bool) http.HandlerFunc {
	notice := "monitor-resumed"
	if paused {
		notice = "monitor-paused"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			s.renderError(w, r, http.StatusNotFound, "there is no such monitor")
			return
		}
		m, err := s.opts.Monitors.SetPaused(r.Context(), id, paused)
		switch {
		case errors.Is(err, monitor.ErrManagedByFile):
			s.refuseFileMonitor(w, r, monitor.SourceFile)
			return
		case errors.Is(err, store.ErrNotFound):
			s.renderError(w, r, http.StatusNotFound, "there is no such monitor; it may have been deleted")
			return
		case err != nil:
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		http.Redirect(w, r, monitorURL(m.ID)+"?notice="+notice, http.StatusSeeOther)
	}
}

// deleteMonitor removes a monitor and its history; the page asked first.
func (s *Server) deleteMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such monitor")
		return
	}
	if err := s.opts.Monitors.Delete(r.Context(), id); err != nil {
		if errors.Is(err, monitor.ErrManagedByFile) {
			s.refuseFileMonitor(w, r, monitor.SourceFile)
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such monitor; it may have been deleted already")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/monitors?notice=monitor-deleted", http.StatusSeeOther)
}
