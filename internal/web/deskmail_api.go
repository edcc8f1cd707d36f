package web

import (
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/deskmail"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// deskMailRoutes are the service desk's email status page and API, for
// admins only: they show senders' addresses and the mail setup.
func (s *Server) deskMailRoutes() []Route {
	if s.opts.DeskMail == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Path: "/api/v1/service-desk/email", Role: auth.RoleAdmin, Surface: SurfaceAPI, Handler: s.apiDeskMailStatus},
		{Method: "GET", Path: "/api/v1/service-desk/email/messages", Role: auth.RoleAdmin, Surface: SurfaceAPI, Handler: s.apiDeskMailMessages},
		{Method: "GET", Path: "/service-desk/email", Role: auth.RoleAdmin, Surface: SurfaceUI, Handler: s.deskMailPage},
	}
}

func (s *Server) apiDeskMailStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.opts.DeskMail.Status(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// deskMailFilter reads ?outcome= and ?limit= of the message list.
func deskMailFilter(r *http.Request) (string, int, error) {
	q := r.URL.Query()
	outcome := q.Get("outcome")
	if outcome != "" {
		ok := false
		for _, o := range deskmail.Outcomes() {
			ok = ok || string(o) == outcome
		}
		if !ok || outcome == string(deskmail.OutcomeDuplicate) {
			return "", 0, valid.Errorf("outcome", "must be one of ticket, reply, loop, bulk, too_big, rejected")
		}
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return "", 0, valid.Errorf("limit", "must be a number from 1 to 500")
		}
		limit = n
	}
	return outcome, limit, nil
}

func (s *Server) apiDeskMailMessages(w http.ResponseWriter, r *http.Request) {
	outcome, limit, err := deskMailFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	rs, err := s.opts.DeskMail.Messages(r.Context(), outcome, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[deskmail.Record]{Data: rs})
}
