package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// tokenCreatedPage shows a new token's secret, the only time it is shown.
type tokenCreatedPage struct {
	Token  auth.Token
	Secret string
	// APIBase is this server's address, for the example command.
	APIBase string
}

var tokenLabels = map[string]string{"name": "Name", "role": "Role", "expires_at": "Expiry date"}

// createToken makes an API token owned by the caller and shows its secret
// once. opsdeck keeps only a hash, so a lost secret means a new token.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	f := tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"), ExpiresAt: strings.TrimSpace(r.PostFormValue("expires_at"))}
	errs := fieldErrors{}
	checkText(errs, "name", "Name", f.Name, true, 100)
	role, err := auth.ParseRole("role", f.Role)
	switch {
	case err != nil:
		errs["role"] = "Choose a role from the list."
	case !a.Role.Allows(role):
		errs["role"] = "A token cannot have more rights than you: choose " + string(a.Role) + " or lower."
	}
	var expires *time.Time
	if f.ExpiresAt != "" {
		d, err := time.Parse("2006-01-02", f.ExpiresAt)
		switch {
		case err != nil:
			errs["expires_at"] = "Expiry date must be a date such as 2030-12-31."
		default:
			// The token works through the whole of the chosen day (UTC).
			end := d.Add(24 * time.Hour)
			if !end.After(time.Now()) {
				errs["expires_at"] = "Expiry date must be today or later."
			}
			expires = &end
		}
	}
	if len(errs) == 0 {
		raw, t, err := s.auth.CreateToken(r.Context(), auth.NewToken{Name: f.Name, Role: role, UserID: a.UserID, ExpiresAt: expires})
		switch {
		case err == nil:
			t.Owner = a.Name
			s.render(w, r, http.StatusCreated, "token_created", s.newView(r, "Token created", "tokens", tokenCreatedPage{Token: t, Secret: raw, APIBase: s.baseURL(r)}))
			return
		case !formError(err, errs, tokenLabels):
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	f.Name, f.ExpiresAt = echo(f.Name), echo(f.ExpiresAt)
	s.showTokens(w, r, http.StatusUnprocessableEntity, f, errs)
}

// baseURL is the server's external address: the configured one, or the one
// the browser used.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return strings.TrimRight(s.opts.BaseURL, "/")
	}
	scheme := "http"
	if s.secureCookies(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
