package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// loginForm is the sign-in form's state.
type loginForm struct {
	// Next is where to go after signing in; always a path on this site.
	Next     string
	Username string
	// Error is about the whole form (wrong credentials, too many attempts):
	// it cannot say which field was wrong without telling which usernames exist.
	Error  string
	Errors fieldErrors
}

// renderLogin shows the sign-in page. It sets the pre-session cookie whose
// value the form carries as its CSRF token.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm) {
	csrf := s.preSessionToken(w, r)
	f.Next = safeNext(f.Next)
	f.Username = echo(f.Username)
	v := s.newView(r, "Sign in", "", f)
	// The sign-in page stands alone: whoever reaches it is not signed in.
	v.Me, v.Nav, v.CSRF = nil, nil, csrf
	s.render(w, r, status, "login", v)
}

// loginPage shows the form, or sends a caller who is already signed in on.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := s.signedIn(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginForm{Next: next})
}

// login checks the credentials and opens a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	f := loginForm{Next: r.PostFormValue("next"), Username: strings.TrimSpace(r.PostFormValue("username")), Errors: fieldErrors{}}
	password := r.PostFormValue("password")
	// Refuse what no username can be before it reaches the database, which
	// (PostgreSQL) would fail on NUL bytes or invalid UTF-8.
	if err := valid.Text("username", f.Username, true, 64, false); err != nil {
		ve, _ := valid.As(err)
		f.Errors["username"] = "Username " + ve.Msg + "."
	}
	if password == "" {
		f.Errors["password"] = "Password is required."
	}
	if len(f.Errors) > 0 {
		s.renderLogin(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	raw, p, err := s.auth.Login(r.Context(), f.Username, password, s.clientAddr(r), r.UserAgent())
	var rl *auth.RateLimitedError
	var need *auth.SecondFactorRequired
	switch {
	case err == nil:
	case errors.As(err, &need):
		s.renderSecondFactor(w, r, http.StatusOK, secondFactorForm{Next: f.Next, Challenge: need.Challenge})
		return
	case errors.Is(err, auth.ErrInvalidCredentials):
		f.Error = "Invalid username or password."
		s.renderLogin(w, r, http.StatusUnauthorized, f)
		return
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
		f.Error = "Too many failed sign-ins. Try again in " + waitText(rl.RetryAfter) + "."
		s.renderLogin(w, r, http.StatusTooManyRequests, f)
		return
	default:
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.signIn(w, r, raw, p, f.Next)
}

// signIn hands the browser its new session and sends it on: to change a
// generated password, to enrol a second factor the policy requires, or
// where it was going.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, raw string, p auth.Principal, next string) {
	s.setSessionCookie(w, r, raw)
	dest := safeNext(next)
	switch {
	case p.MustChangePassword:
		dest = "/account/password"
	case p.MustEnrolTwoFactor:
		dest = "/account/2fa"
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// waitText says a wait in whole seconds or minutes, rounded up so that a
// user who waits that long is let in.
func waitText(d time.Duration) string {
	if d <= time.Minute {
		n := int((d + time.Second - 1) / time.Second)
		if n == 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", n)
	}
	n := int((d + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("%d minutes", n)
}
