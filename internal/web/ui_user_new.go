package web

import (
	"net/http"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// userForm is the state of the create and edit user forms.
type userForm struct {
	User       auth.User // the stored user, on the edit page
	Username   string
	Name       string
	Email      string
	Role       string
	Disabled   bool
	MustChange bool
	Roles      []auth.Role
	Errors     fieldErrors
	// TempPassword is a generated password, shown once right after it was set.
	TempPassword string
	// PasswordSet confirms a temporary password the admin typed themselves.
	PasswordSet    bool
	PasswordErrors fieldErrors
}

var userLabels = map[string]string{"username": "Username", "name": "Name", "email": "Email", "role": "Role", "password": "Password", "disabled": "Disabled"}

// newUserPage shows the form that adds a user.
func (s *Server) newUserPage(w http.ResponseWriter, r *http.Request) {
	f := userForm{Role: string(auth.RoleViewer), MustChange: true, Roles: auth.AllRoles(), Errors: fieldErrors{}}
	s.render(w, r, http.StatusOK, "user_new", s.newView(r, "Add a user", "users", f))
}

// createUser adds a user. Left empty, the password is generated and shown
// once, and the user must change it at first sign-in, so the admin never
// needs to invent or know a lasting password for someone else.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	f := userForm{
		Username: strings.TrimSpace(r.PostFormValue("username")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Email: strings.TrimSpace(r.PostFormValue("email")), Role: r.PostFormValue("role"),
		MustChange: r.PostFormValue("must_change_password") != "", Roles: auth.AllRoles(), Errors: fieldErrors{},
	}
	password := r.PostFormValue("password")
	generated := password == ""
	if generated {
		password, f.MustChange = auth.RandomSecret(12), true
	}
	// Check every field first, so one answer lists every mistake.
	if err := auth.ValidUsername("username", f.Username); err != nil {
		formError(err, f.Errors, userLabels)
	}
	checkText(f.Errors, "name", "Name", f.Name, false, 200)
	checkEmail(f.Errors, "email", "Email", f.Email)
	if _, err := auth.ParseRole("role", f.Role); err != nil {
		f.Errors["role"] = "Choose a role from the list."
	}
	if err := auth.ValidPassword("password", password); err != nil {
		formError(err, f.Errors, userLabels)
	}
	if len(f.Errors) == 0 {
		u, err := s.auth.CreateUser(r.Context(), auth.NewUser{Username: f.Username, Name: f.Name, Email: f.Email,
			Role: auth.Role(f.Role), Password: password, MustChangePassword: f.MustChange})
		switch {
		case err == nil && generated:
			f.User, f.TempPassword = u, password
			s.render(w, r, http.StatusCreated, "user_created", s.newView(r, "User added", "users", f))
			return
		case err == nil:
			http.Redirect(w, r, "/users?notice=user-created", http.StatusSeeOther)
			return
		case !formError(err, f.Errors, userLabels):
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	f.Username, f.Name, f.Email = echo(f.Username), echo(f.Name), echo(f.Email)
	s.render(w, r, http.StatusUnprocessableEntity, "user_new", s.newView(r, "Add a user", "users", f))
}
