package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// preSessionCookie holds a random value that the login form echoes as its
// CSRF token. Before sign-in there is no session to tie the token to, and
// without it another site could sign a browser in to an account of the
// attacker's choosing (login CSRF).
const preSessionCookie = "opsdeck_pre"

// secureCookies reports whether cookies must be marked Secure: when serving
// TLS here, or when the operator said a proxy in front does.
func (s *Server) secureCookies(r *http.Request) bool {
	return s.opts.SecureCookies || r.TLS != nil
}

// preSessionToken returns the caller's pre-session value, setting a new
// cookie when there is none.
func (s *Server) preSessionToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preSessionCookie); err == nil && len(c.Value) >= 16 && len(c.Value) <= 128 {
		return c.Value
	}
	v := auth.RandomSecret(24)
	http.SetCookie(w, &http.Cookie{
		Name: preSessionCookie, Value: v, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r),
	})
	return v
}

// setSessionCookie hands the browser its session. HttpOnly keeps it from
// scripts; SameSite=Lax keeps other sites' forms from carrying it.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, raw string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: raw, Path: "/",
		MaxAge:   int(s.auth.SessionTTL().Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r),
	})
}

// clearSessionCookie tells the browser to forget its session.
func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r),
	})
}

// sessionToken is the raw session token of the request, or "".
func sessionToken(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}
