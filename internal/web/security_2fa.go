package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// Two-factor sign-in: the second step of the login, the enrolment page
// under the account menu, the admins' sign-in policy, and an admin reset.

func (s *Server) twoFactorRoutes() []Route {
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	enrol := func(rt Route) Route { rt.AllowTwoFactorEnrol = true; return rt }
	rs := []Route{
		ui("POST", "/login/2fa", auth.RoleNone, s.loginSecondFactor),
		enrol(ui("GET", "/account/2fa", auth.RoleRequester, s.twoFactorPage)),
		enrol(ui("POST", "/account/2fa/start", auth.RoleRequester, s.twoFactorStart)),
		enrol(ui("POST", "/account/2fa/confirm", auth.RoleRequester, s.twoFactorConfirm)),
		ui("POST", "/account/2fa/disable", auth.RoleRequester, s.twoFactorDisable),
		{Method: "DELETE", Path: "/api/v1/users/{id}/2fa", Role: auth.RoleAdmin, Surface: SurfaceAPI, Handler: s.apiResetTwoFactor},
		{Method: "GET", Path: "/api/v1/security/policy", Role: auth.RoleAdmin, Surface: SurfaceAPI, Handler: s.apiGetSignInPolicy},
		{Method: "PUT", Path: "/api/v1/security/policy", Role: auth.RoleAdmin, Surface: SurfaceAPI, Handler: s.apiSetSignInPolicy},
	}
	if s.opts.Security != nil {
		rs = append(rs, ui("GET", "/security/settings", auth.RoleAdmin, s.policyPage), ui("POST", "/security/settings", auth.RoleAdmin, s.savePolicy))
	}
	return rs
}

// enrolFirst sends a user whose role must use two-factor sign-in to enrol.
func (s *Server) enrolFirst(w http.ResponseWriter, r *http.Request, sf Surface) {
	if sf == SurfaceUI {
		http.Redirect(w, r, "/account/2fa", http.StatusSeeOther)
		return
	}
	writeError(w, http.StatusForbidden, "two_factor_required", "your role must use two-factor sign-in; set it up at /account/2fa first", "")
}

// rotateSession gives the caller's session a new token after a change of
// privilege and ends their other sessions.
func (s *Server) rotateSession(w http.ResponseWriter, r *http.Request) {
	raw, err := s.auth.RotateSession(r.Context(), sessionToken(r))
	if err != nil {
		s.log.WarnContext(r.Context(), "rotate session", "err", err)
		return
	}
	s.setSessionCookie(w, r, raw)
}

// strictTransport sends HSTS when the request came over TLS here or the
// base URL says a proxy in front serves HTTPS: a browser that once saw
// opsdeck over HTTPS never falls back to plain HTTP for it.
func (s *Server) strictTransport(next http.Handler) http.Handler {
	https := strings.HasPrefix(strings.ToLower(s.opts.BaseURL), "https://")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil || https {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// secondFactorForm is the second sign-in step's state.
type secondFactorForm struct {
	Next, Challenge string
	Error           string
	Errors          fieldErrors
}

func (s *Server) renderSecondFactor(w http.ResponseWriter, r *http.Request, status int, f secondFactorForm) {
	csrf := s.preSessionToken(w, r)
	f.Next = safeNext(f.Next)
	if f.Errors == nil {
		f.Errors = fieldErrors{}
	}
	v := s.newView(r, "Two-factor sign-in", "", f)
	v.Me, v.Nav, v.CSRF = nil, nil, csrf
	s.render(w, r, status, "login_2fa", v)
}

// loginSecondFactor completes a sign-in with a code.
func (s *Server) loginSecondFactor(w http.ResponseWriter, r *http.Request) {
	f := secondFactorForm{Next: r.PostFormValue("next"), Challenge: r.PostFormValue("challenge"), Errors: fieldErrors{}}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if len(f.Challenge) > 128 {
		f.Challenge = ""
	}
	if code == "" {
		f.Errors["code"] = "Code is required."
		s.renderSecondFactor(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	raw, p, err := s.auth.LoginSecondFactor(r.Context(), f.Challenge, code, s.clientAddr(r), r.UserAgent())
	var rl *auth.RateLimitedError
	switch {
	case err == nil:
		s.signIn(w, r, raw, p, f.Next)
	case errors.Is(err, auth.ErrInvalidCode):
		f.Error = "That code is not valid. Type the current code from your app, or a recovery code."
		s.renderSecondFactor(w, r, http.StatusUnauthorized, f)
	case errors.Is(err, auth.ErrInvalidCredentials):
		s.renderLogin(w, r, http.StatusUnauthorized, loginForm{Next: f.Next, Error: "The sign-in expired or had too many wrong codes. Sign in again."})
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
		f.Error = "Too many failed sign-ins. Try again in " + waitText(rl.RetryAfter) + "."
		s.renderSecondFactor(w, r, http.StatusTooManyRequests, f)
	default:
		s.serverError(w, r, SurfaceUI, err)
	}
}

// twoFactorView is the enrolment page's data.
type twoFactorView struct {
	State    auth.TwoFactorState
	Secret   string // spaced in fours for typing
	URL      string
	Recovery []string
	Errors   fieldErrors
}

func (s *Server) showTwoFactor(w http.ResponseWriter, r *http.Request, status int, d twoFactorView) {
	a := auth.ActorFrom(r.Context())
	if a.Kind != auth.ActorUser {
		s.renderError(w, r, http.StatusForbidden, "only a signed-in user has a second factor")
		return
	}
	st, err := s.auth.TwoFactor(r.Context(), a.UserID)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d.State = st
	if st.Pending != "" {
		d.URL = auth.TOTPURL("opsdeck", a.Name, st.Pending)
		var b strings.Builder
		for i, c := range st.Pending {
			if i > 0 && i%4 == 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(c)
		}
		d.Secret = b.String()
	}
	if d.Errors == nil {
		d.Errors = fieldErrors{}
	}
	s.render(w, r, status, "account_2fa", s.newView(r, "Two-factor sign-in", "account-2fa", d))
}

func (s *Server) twoFactorPage(w http.ResponseWriter, r *http.Request) {
	s.showTwoFactor(w, r, http.StatusOK, twoFactorView{})
}

func (s *Server) twoFactorStart(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	if _, err := s.auth.StartTwoFactor(r.Context(), a.UserID); err != nil {
		errs := fieldErrors{}
		if !formError(err, errs, map[string]string{"code": "Code"}) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		s.showTwoFactor(w, r, http.StatusConflict, twoFactorView{Errors: errs})
		return
	}
	http.Redirect(w, r, "/account/2fa", http.StatusSeeOther)
}

func (s *Server) twoFactorConfirm(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	code := strings.TrimSpace(r.PostFormValue("code"))
	errs := fieldErrors{}
	if len(code) > 64 {
		code = ""
	}
	codes, err := s.auth.ConfirmTwoFactor(r.Context(), a.UserID, code)
	var rl *auth.RateLimitedError
	switch {
	case err == nil:
		// A privilege change: the session gets a new token and the
		// user's other sessions end.
		s.rotateSession(w, r)
		s.showTwoFactor(w, r, http.StatusOK, twoFactorView{Recovery: codes})
		return
	case errors.As(err, &rl):
		errs["code"] = "Too many wrong codes. Try again in " + waitText(rl.RetryAfter) + "."
	case !formError(err, errs, map[string]string{"code": "Code"}):
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.showTwoFactor(w, r, http.StatusUnprocessableEntity, twoFactorView{Errors: errs})
}

func (s *Server) twoFactorDisable(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	err := s.auth.DisableTwoFactor(r.Context(), a.UserID, r.PostFormValue("password"))
	errs := fieldErrors{}
	var rl *auth.RateLimitedError
	switch {
	case err == nil:
		s.rotateSession(w, r)
		http.Redirect(w, r, "/account/2fa?notice=totp-disabled", http.StatusSeeOther)
		return
	case errors.As(err, &rl):
		errs["password"] = "Too many wrong attempts. Try again in " + waitText(rl.RetryAfter) + "."
	case !formError(err, errs, map[string]string{"password": "Password"}):
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.showTwoFactor(w, r, http.StatusUnprocessableEntity, twoFactorView{Errors: errs})
}

func (s *Server) apiResetTwoFactor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		_, err = s.auth.GetUser(r.Context(), id)
	}
	if err == nil {
		err = s.auth.ResetTwoFactor(r.Context(), id)
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiGetSignInPolicy(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.auth.Policy())
}

func (s *Server) apiSetSignInPolicy(w http.ResponseWriter, r *http.Request) {
	var p auth.Policy
	if !s.decodeJSON(w, r, &p) {
		return
	}
	out, err := s.auth.SetPolicy(r.Context(), p)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// policyView is the sign-in policy page's data.
type policyView struct {
	Roles  []roleCheck
	MinLen string
	Common bool
	Errors fieldErrors
}

type roleCheck struct {
	Role    auth.Role
	Checked bool
}

func (s *Server) policyForm(p auth.Policy, minLen string, errs fieldErrors) policyView {
	v := policyView{MinLen: minLen, Common: p.RefuseCommon, Errors: errs}
	for _, role := range auth.AllRoles() {
		checked := false
		for _, r := range p.TwoFactorRoles {
			checked = checked || r == role
		}
		v.Roles = append(v.Roles, roleCheck{Role: role, Checked: checked})
	}
	return v
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request) {
	p := s.auth.Policy()
	s.render(w, r, http.StatusOK, "security_settings", s.newView(r, "Sign-in policy", "security-settings", s.policyForm(p, strconv.Itoa(p.MinPasswordLen), fieldErrors{})))
}

func (s *Server) savePolicy(w http.ResponseWriter, r *http.Request) {
	var p auth.Policy
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "the form could not be read")
		return
	}
	for _, v := range r.PostForm["two_factor_roles"] {
		p.TwoFactorRoles = append(p.TwoFactorRoles, auth.Role(v))
	}
	p.RefuseCommon = r.PostFormValue("refuse_common") == "on"
	minLen := strings.TrimSpace(r.PostFormValue("min_password_len"))
	errs := fieldErrors{}
	n, err := strconv.Atoi(minLen)
	if err != nil {
		errs["min_password_len"] = "Minimum length must be a whole number."
	} else {
		p.MinPasswordLen = n
		if _, err := s.auth.SetPolicy(r.Context(), p); err != nil {
			if !formError(err, errs, map[string]string{"min_password_len": "Minimum length"}) {
				s.serverError(w, r, SurfaceUI, err)
				return
			}
		} else {
			http.Redirect(w, r, "/security/settings?notice=signin-policy-saved", http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, "security_settings", s.newView(r, "Sign-in policy", "security-settings", s.policyForm(p, echo(minLen), errs)))
}
