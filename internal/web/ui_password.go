package web

import (
	"errors"
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// passwordPage is the data of the change-own-password page.
type passwordPage struct {
	// Must is set when the user signed in with a generated or temporary
	// password; the page says why it appears before anything else.
	Must   bool
	Errors fieldErrors
}

var passwordLabels = map[string]string{"current_password": "Current password", "new_password": "New password", "confirm_password": "Confirmation"}

// passwordPage shows the form to change one's own password.
func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	if a.Kind != auth.ActorUser {
		s.renderError(w, r, http.StatusForbidden, "only a signed-in user can change their password")
		return
	}
	s.render(w, r, http.StatusOK, "password", s.newView(r, "Change password", "", passwordPage{Must: a.MustChangePassword}))
}

// changePassword checks the current password and sets the new one. The
// session in use stays open; every other session of the user ends.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	if a.Kind != auth.ActorUser {
		s.renderError(w, r, http.StatusForbidden, "only a signed-in user can change their password")
		return
	}
	current, next, confirm := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	pg := passwordPage{Must: a.MustChangePassword, Errors: fieldErrors{}}
	if current == "" {
		pg.Errors["current_password"] = "Current password is required."
	}
	if err := auth.ValidPassword("new_password", next); err != nil {
		formError(err, pg.Errors, passwordLabels)
	} else if confirm != next {
		pg.Errors["confirm_password"] = "The confirmation does not match the new password."
	}
	if len(pg.Errors) == 0 {
		err := s.auth.ChangeOwnPassword(r.Context(), a.UserID, current, next, sessionToken(r))
		switch {
		case err == nil:
			s.rotateSession(w, r)
			http.Redirect(w, r, "/?notice=password-changed", http.StatusSeeOther)
			return
		case errors.Is(err, auth.ErrWrongPassword):
			pg.Errors["current_password"] = "This is not your current password."
		case !formError(err, pg.Errors, passwordLabels):
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, "password", s.newView(r, "Change password", "", pg))
}
