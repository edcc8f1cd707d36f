package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// setUserPassword gives a user a temporary password that they must change
// at their next sign-in, ending their other sessions. Left empty, the
// password is generated and shown once on the page that answers.
func (s *Server) setUserPassword(w http.ResponseWriter, r *http.Request) {
	u, ok := s.loadUser(w, r)
	if !ok {
		return
	}
	f := editForm(u)
	password := r.PostFormValue("password")
	generated := password == ""
	if generated {
		password = auth.RandomSecret(12)
	}
	status := http.StatusOK
	err := auth.ValidPassword("password", password)
	if err == nil {
		// An admin resetting their own password keeps the session in use.
		keep := ""
		if u.ID == auth.ActorFrom(r.Context()).UserID {
			keep = sessionToken(r)
		}
		err = s.auth.SetPassword(r.Context(), u.ID, password, true, keep)
	}
	switch {
	case err == nil && generated:
		f.TempPassword = password
	case err == nil:
		f.PasswordSet = true
	case formError(err, f.PasswordErrors, userLabels):
		status = http.StatusUnprocessableEntity
	default:
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if err == nil {
		// Reload for the new "password change pending" status.
		if f.User, err = s.auth.GetUser(r.Context(), u.ID); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.render(w, r, status, "user_edit", s.newView(r, u.Username, "users", f))
}
