package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// loadUser reads the user named by the path, answering 404 itself when the
// id is malformed or unknown.
func (s *Server) loadUser(w http.ResponseWriter, r *http.Request) (auth.User, bool) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such user")
		return auth.User{}, false
	}
	u, err := s.auth.GetUser(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "there is no such user")
		return auth.User{}, false
	case err != nil:
		s.serverError(w, r, SurfaceUI, err)
		return auth.User{}, false
	}
	return u, true
}

// editForm fills the edit form from the stored user.
func editForm(u auth.User) userForm {
	return userForm{User: u, Username: u.Username, Name: u.Name, Email: u.Email, Role: string(u.Role), Disabled: u.Disabled,
		Roles: auth.AllRoles(), Errors: fieldErrors{}, PasswordErrors: fieldErrors{}}
}

// editUserPage shows a user's profile, role and status for editing, and the
// form that sets a temporary password.
func (s *Server) editUserPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.loadUser(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "user_edit", s.newView(r, u.Username, "users", editForm(u)))
}

// updateUser saves the edit form. The domain refuses to demote or disable
// the last admin; that refusal appears beside the field that caused it.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.loadUser(w, r)
	if !ok {
		return
	}
	f := editForm(u)
	f.Name, f.Email, f.Role = strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("role")
	f.Disabled = r.PostFormValue("disabled") != ""
	checkText(f.Errors, "name", "Name", f.Name, false, 200)
	checkEmail(f.Errors, "email", "Email", f.Email)
	if _, err := auth.ParseRole("role", f.Role); err != nil {
		f.Errors["role"] = "Choose a role from the list."
	}
	if len(f.Errors) == 0 {
		role := auth.Role(f.Role)
		_, err := s.auth.UpdateUser(r.Context(), u.ID, auth.UserUpdate{Name: &f.Name, Email: &f.Email, Role: &role, Disabled: &f.Disabled})
		switch {
		case err == nil:
			http.Redirect(w, r, "/users/"+strconv.FormatInt(u.ID, 10)+"?notice=user-saved", http.StatusSeeOther)
			return
		case errors.Is(err, auth.ErrLastAdmin):
			field := "role"
			if role == auth.RoleAdmin {
				field = "disabled"
			}
			f.Errors[field] = "This is the last enabled admin; make someone else an admin first, or no one could manage opsdeck."
		case errors.Is(err, store.ErrNotFound):
			s.renderError(w, r, http.StatusNotFound, "there is no such user")
			return
		case !formError(err, f.Errors, userLabels):
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	f.Name, f.Email = echo(f.Name), echo(f.Email)
	s.render(w, r, http.StatusUnprocessableEntity, "user_edit", s.newView(r, u.Username, "users", f))
}
