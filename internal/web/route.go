package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// Surface says how a route talks to its caller: JSON for the API, HTML for
// the UI. It decides the shape of 401/403 answers and how CSRF is checked.
type Surface int

// The surfaces.
const (
	SurfaceAPI Surface = iota
	SurfaceUI
)

// Route is one entry of the route table. Every route names the role it
// needs; RoleNone marks the few that are open (health, login, static files,
// and later public status pages and token-protected intake).
type Route struct {
	Method  string
	Path    string
	Role    auth.Role
	Surface Surface
	Handler http.HandlerFunc
	// AllowPasswordChange lets a user who must change their password reach
	// this route; every other route sends them to change it first.
	AllowPasswordChange bool
	// AllowTwoFactorEnrol lets a user whose role must use two-factor
	// sign-in, and who has not enrolled, reach this route (the enrolment
	// pages); so do AllowPasswordChange routes (sign-out).
	AllowTwoFactorEnrol bool
	// MaxBodyBytes, when set, replaces the server's body cap for this route
	// (file uploads).
	MaxBodyBytes int64
}

// routeTable lists every route of the server, API and UI.
func (s *Server) routeTable() []Route {
	var rs []Route
	rs = append(rs, s.openRoutes()...)
	rs = append(rs, s.apiRoutes()...)
	rs = append(rs, s.monitorRoutes()...)
	rs = append(rs, s.maintenanceRoutes()...)
	rs = append(rs, s.pingRoutes()...)
	rs = append(rs, s.statusPageRoutes()...)
	rs = append(rs, s.notifyRoutes()...)
	rs = append(rs, s.oncallRoutes()...)
	rs = append(rs, s.incidentRoutes()...)
	rs = append(rs, s.cmdbRoutes()...)
	rs = append(rs, s.serviceDeskRoutes()...)
	rs = append(rs, s.deskMailRoutes()...)
	rs = append(rs, s.deskPortalRoutes()...)
	rs = append(rs, s.kbRoutes()...)
	rs = append(rs, s.assetRoutes()...)
	rs = append(rs, s.licenseRoutes()...)
	rs = append(rs, s.changeRoutes()...)
	rs = append(rs, s.backupRoutes()...)
	rs = append(rs, s.fleetRoutes()...)
	rs = append(rs, s.securityRoutes()...)
	rs = append(rs, s.uiRoutes()...)
	return rs
}

const sessionCookie = "opsdeck_session"

// guard authenticates the caller, checks the route's role and CSRF, and
// puts the actor in the request context.
func (s *Server) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := requestIDFrom(r.Context())
		actor := auth.Actor{Via: auth.ViaAPI, Addr: s.clientAddr(r), RequestID: reqID}
		if rt.Surface == SurfaceUI {
			actor.Via = auth.ViaUI
		}
		p, viaCookie, err := s.principal(r)
		switch {
		case err == nil:
			actor.Principal = p
		case !errors.Is(err, auth.ErrUnauthenticated):
			s.serverError(w, r, rt.Surface, err)
			return
		}
		ctx := auth.WithActor(r.Context(), actor)
		r = r.WithContext(ctx)
		if unsafeMethod(r.Method) {
			// The CSRF check may parse a form before the handler runs; cap the
			// body here so that parse obeys the same limit as JSON bodies.
			limit := s.opts.MaxBodyBytes
			if rt.MaxBodyBytes > 0 {
				limit = rt.MaxBodyBytes
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if rt.Role == auth.RoleNone {
			// An open form (sign-in) carries the pre-session token even when
			// the browser also holds a session from another tab.
			if unsafeMethod(r.Method) && rt.Surface == SurfaceUI && !s.checkCSRF(r, auth.Principal{}) && !s.checkCSRF(r, actor.Principal) {
				s.forbidden(w, r, rt.Surface, "csrf", "the form expired or came from another site; reload the page and try again")
				return
			}
			rt.Handler(w, r)
			return
		}
		if err != nil {
			s.unauthenticated(w, r, rt.Surface)
			return
		}
		if !p.Role.Allows(rt.Role) {
			s.forbidden(w, r, rt.Surface, "forbidden", "this needs the "+string(rt.Role)+" role")
			return
		}
		if unsafeMethod(r.Method) && viaCookie && !s.checkCSRF(r, p) {
			s.forbidden(w, r, rt.Surface, "csrf", "the form expired or came from another site; reload the page and try again")
			return
		}
		if p.MustChangePassword && viaCookie && !rt.AllowPasswordChange {
			if rt.Surface == SurfaceUI {
				http.Redirect(w, r, "/account/password", http.StatusSeeOther)
				return
			}
			writeError(w, http.StatusForbidden, "password_change_required", "change your password first", "")
			return
		}
		if p.MustEnrolTwoFactor && viaCookie && !rt.AllowPasswordChange && !rt.AllowTwoFactorEnrol {
			s.enrolFirst(w, r, rt.Surface)
			return
		}
		rt.Handler(w, r)
	})
}

// principal finds the caller: a Bearer token first, then the session cookie.
// viaCookie reports the latter, for which unsafe methods need a CSRF token.
func (s *Server) principal(r *http.Request) (p auth.Principal, viaCookie bool, err error) {
	if h := r.Header.Get("Authorization"); h != "" {
		const prefix = "bearer "
		if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
			return auth.Principal{}, false, auth.ErrUnauthenticated
		}
		p, err := s.auth.Authenticate(r.Context(), strings.TrimSpace(h[len(prefix):]))
		return p, false, err
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return auth.Principal{}, false, auth.ErrUnauthenticated
	}
	p, err = s.auth.SessionPrincipal(r.Context(), c.Value)
	return p, true, err
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// checkCSRF accepts a request whose CSRF token (form field csrf_token or
// header X-CSRF-Token) equals the session's, or for anonymous forms (login)
// the pre-session cookie's; and refuses any request whose Origin names
// another site.
func (s *Server) checkCSRF(r *http.Request, p auth.Principal) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	want := p.CSRF
	if want == "" {
		c, err := r.Cookie(preSessionCookie)
		if err != nil {
			return false
		}
		want = c.Value
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf_token")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, sf Surface) {
	if sf == SurfaceUI {
		s.renderLogin(w, r, http.StatusUnauthorized, loginForm{Next: safeNext(r.URL.RequestURI())})
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="opsdeck"`)
	writeError(w, http.StatusUnauthorized, "unauthenticated", "sign in or send an API token as Authorization: Bearer", "")
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, sf Surface, code, msg string) {
	if sf == SurfaceUI {
		s.renderError(w, r, http.StatusForbidden, msg)
		return
	}
	writeError(w, http.StatusForbidden, code, msg, "")
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, sf Surface, err error) {
	s.log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", requestIDFrom(r.Context()))
	if sf == SurfaceUI {
		s.renderError(w, r, http.StatusInternalServerError, "something went wrong; the error was logged with request id "+requestIDFrom(r.Context()))
		return
	}
	writeError(w, http.StatusInternalServerError, "internal", "internal error; see the server log for request id "+requestIDFrom(r.Context()), "")
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
