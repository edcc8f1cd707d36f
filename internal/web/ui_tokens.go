package web

import (
	"net/http"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// tokensPage is the data of the API token list and its create form.
type tokensPage struct {
	Tokens []tokenRow
	// ShowOwner is set for admins, who see every user's tokens.
	ShowOwner bool
	// Roles are the roles the caller may grant: their own and below.
	Roles  []auth.Role
	Form   tokenForm
	Errors fieldErrors
	// Today is the earliest expiry date the form accepts.
	Today string
}

// tokenForm is the create form's state.
type tokenForm struct {
	Name, Role, ExpiresAt string
}

// tokenRow is a token with its state in words.
type tokenRow struct {
	auth.Token
	Status string // active, expired or revoked
}

// grantableRoles are the roles a caller may put on a token: a token never
// holds more rights than the person who made it.
func grantableRoles(have auth.Role) []auth.Role {
	var out []auth.Role
	for _, r := range auth.AllRoles() {
		if have.Allows(r) {
			out = append(out, r)
		}
	}
	return out
}

// tokensPage lists the caller's own tokens (an admin's list has everyone's)
// with the form that creates one.
func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	// Least privilege by default: viewer reads everything, and most
	// scripts need no more; the caller may pick higher up to their own role.
	role := auth.RoleViewer
	if a := auth.ActorFrom(r.Context()); !a.Role.Allows(role) {
		role = a.Role
	}
	s.showTokens(w, r, http.StatusOK, tokenForm{Role: string(role)}, fieldErrors{})
}

// showTokens renders the token page with the create form in state f.
func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, status int, f tokenForm, errs fieldErrors) {
	a := auth.ActorFrom(r.Context())
	pg := tokensPage{ShowOwner: a.Role == auth.RoleAdmin, Roles: grantableRoles(a.Role), Form: f, Errors: errs,
		Today: time.Now().UTC().Format("2006-01-02")}
	var ts []auth.Token
	var err error
	switch {
	case pg.ShowOwner:
		ts, err = s.auth.ListTokens(r.Context(), 0)
	case a.UserID != 0:
		ts, err = s.auth.ListTokens(r.Context(), a.UserID)
	default:
		// A service token owned by nobody sees only itself.
		var t auth.Token
		if t, err = s.auth.GetToken(r.Context(), a.TokenID); err == nil {
			ts = []auth.Token{t}
		}
	}
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	now := time.Now()
	for _, t := range ts {
		row := tokenRow{Token: t, Status: "active"}
		switch {
		case t.RevokedAt != nil:
			row.Status = "revoked"
		case !t.Active(now):
			row.Status = "expired"
		}
		pg.Tokens = append(pg.Tokens, row)
	}
	s.render(w, r, status, "tokens", s.newView(r, "API tokens", "tokens", pg))
}
