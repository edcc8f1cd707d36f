package web

import "net/http"

// errorPage is the data of the error page.
type errorPage struct {
	Status     int
	StatusText string
	Message    string
}

// renderError shows a plain page with the status and a message that says
// what happened, keeping the navigation for a signed-in user so they can
// carry on from there.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	text := http.StatusText(status)
	v := s.newView(r, text, "", errorPage{Status: status, StatusText: text, Message: sentence(msg)})
	s.render(w, r, status, "error", v)
}
