package web

import "net/http"

// logout ends the session and forgets its cookie. It is a POST with a CSRF
// token, so another site cannot sign a user out behind their back.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if raw := sessionToken(r); raw != "" {
		if err := s.auth.Logout(r.Context(), raw); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
