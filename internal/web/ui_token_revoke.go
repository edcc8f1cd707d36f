package web

import (
	"errors"
	"net/http"

	"github.com/opsdeck/opsdeck/internal/store"
)

// revokeToken ends a token. Non-admins may revoke only their own; someone
// else's token answers 404, as in the API, so ids reveal nothing. Revoking a
// token twice (a double click, a reload) is not an error.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such token")
		return
	}
	if err := s.mayManageToken(r, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such token")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if err := s.auth.RevokeToken(r.Context(), id); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		// Not found among unrevoked tokens: already revoked, or no such token.
		t, gerr := s.auth.GetToken(r.Context(), id)
		switch {
		case errors.Is(gerr, store.ErrNotFound) || gerr == nil && t.RevokedAt == nil:
			s.renderError(w, r, http.StatusNotFound, "there is no such token")
			return
		case gerr != nil:
			s.serverError(w, r, SurfaceUI, gerr)
			return
		}
	}
	http.Redirect(w, r, "/tokens?notice=token-revoked", http.StatusSeeOther)
}
