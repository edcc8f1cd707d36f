package web

import (
	"errors"
	"net/http"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// editMonitorPage shows a monitor's settings for editing.
func (s *Server) editMonitorPage(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMonitor(w, r)
	if !ok || s.refuseFileMonitor(w, r, m.Source) {
		return
	}
	s.render(w, r, http.StatusOK, "monitor_form", s.newView(r, "Edit "+m.Name, "monitors", editMonitorForm(m)))
}

// updateMonitor saves the edit form, or with action=test runs the edited
// check once without saving. The monitor keeps its history, its state and
// whether it is paused; settings the form has no input for are kept.
func (s *Server) updateMonitor(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMonitor(w, r)
	if !ok || s.refuseFileMonitor(w, r, m.Source) {
		return
	}
	f := readMonitorForm(r, &m)
	f.Kept = keptSettings(specFor(m.Type), f.stored)
	if f.Type != m.Type {
		f.Kept = nil
	}
	def, ok := f.definition()
	switch {
	case !ok:
		f.findErrors(def)
	case r.PostFormValue("action") == "test":
		if !s.testMonitorForm(w, r, f, def) {
			return
		}
	default:
		_, err := s.opts.Monitors.Update(r.Context(), m.ID, def)
		switch {
		case err == nil:
			http.Redirect(w, r, monitorURL(m.ID)+"?notice=monitor-saved", http.StatusSeeOther)
			return
		case errors.Is(err, store.ErrNotFound):
			s.renderError(w, r, http.StatusNotFound, "there is no such monitor; it may have been deleted")
			return
		case !f.explain(err):
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		f.moreErrors(def, err)
	}
	s.renderMonitorForm(w, r, f, "Edit "+m.Name)
}

// refuseFileMonitor answers 409 for a monitor declared in a monitors file:
// an edit here would be undone by the next reload, so it is made there.
func (s *Server) refuseFileMonitor(w http.ResponseWriter, r *http.Request, source string) bool {
	if source != monitor.SourceFile {
		return false
	}
	s.renderError(w, r, http.StatusConflict, "this monitor is declared in the monitors file (monitors_path); change it there and reload opsdeck (SIGHUP)")
	return true
}
