package web

import (
	"net/http"
	"slices"

	"github.com/opsdeck/opsdeck/internal/monitor"
)

// newMonitorPage shows the form that adds a monitor; ?type= preselects
// the check type.
func (s *Server) newMonitorPage(w http.ResponseWriter, r *http.Request) {
	f := newMonitorForm()
	if t := r.URL.Query().Get("type"); slices.Contains(monitorTypes(), t) {
		f.Type = t
	}
	s.render(w, r, http.StatusOK, "monitor_form", s.newView(r, "Add a monitor", "monitors", f))
}

// createMonitor saves a new monitor, or with action=test runs its check
// once and shows the result on the form without saving anything.
func (s *Server) createMonitor(w http.ResponseWriter, r *http.Request) {
	f := readMonitorForm(r, nil)
	def, ok := f.definition()
	switch {
	case !ok:
		f.findErrors(def)
	case r.PostFormValue("action") == "test":
		if !s.testMonitorForm(w, r, f, def) {
			return
		}
	default:
		m, err := s.opts.Monitors.Create(r.Context(), def)
		if err == nil {
			http.Redirect(w, r, monitorURL(m.ID)+"?notice=monitor-created", http.StatusSeeOther)
			return
		}
		if !f.explain(err) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		f.moreErrors(def, err)
	}
	s.renderMonitorForm(w, r, f, "Add a monitor")
}

// testMonitorForm runs the form's check once; nothing is stored. It
// reports false when it has answered the request itself (a server error).
func (s *Server) testMonitorForm(w http.ResponseWriter, r *http.Request, f *monitorForm, def monitor.Definition) bool {
	_, res, err := s.opts.Monitors.TestNow(r.Context(), def)
	switch {
	case err == nil:
		f.Result = outcomeOf(res)
	case f.explain(err):
		f.moreErrors(def, err)
	default:
		s.serverError(w, r, SurfaceUI, err)
		return false
	}
	return true
}

// renderMonitorForm shows the form again: 422 when it has errors, 200
// with a test result.
func (s *Server) renderMonitorForm(w http.ResponseWriter, r *http.Request, f *monitorForm, title string) {
	status := http.StatusOK
	if len(f.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	f.echoForm()
	s.render(w, r, status, "monitor_form", s.newView(r, title, "monitors", f))
}
