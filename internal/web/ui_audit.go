package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// auditPage is the data of the audit log page.
type auditPage struct {
	Entries                     []auth.AuditEntry
	Actor, Action, Since, Until string
	Errors                      fieldErrors
	// OlderURL pages on; NewestURL returns to the first page of the same
	// filters. Both are empty when there is nowhere to go.
	OlderURL, NewestURL string
	Filtered            bool
	// Actions are the known actions, suggested in the action filter.
	Actions []string
}

var auditLabels = map[string]string{"actor": "Actor", "action": "Action", "since": "Since", "until": "Until"}

// auditActions are suggested in the action filter; any action, or a prefix
// ending in "." such as "user.", may be typed.
var auditActions = []string{"session.login", "session.login_failed", "session.logout", "user.", "user.create", "user.update", "user.password", "token.", "token.create", "token.revoke"}

// auditPage lists the audit log newest first, filtered by the query string
// (actor, action, since, until) and paged with an opaque cursor, so a view
// can be bookmarked and shared.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg := auditPage{Actor: echo(q.Get("actor")), Action: echo(q.Get("action")), Since: echo(q.Get("since")), Until: echo(q.Get("until")),
		Errors: fieldErrors{}, Actions: auditActions}
	pg.Filtered = pg.Actor != "" || pg.Action != "" || pg.Since != "" || pg.Until != ""
	f, err := auditFilterFrom(r)
	if err != nil {
		if !formError(err, pg.Errors, auditLabels) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		s.render(w, r, http.StatusBadRequest, "audit", s.newView(r, "Audit log", "audit", pg))
		return
	}
	// A date picked as "until" means through the end of that day.
	if u := q.Get("until"); len(u) == len("2006-01-02") {
		f.Until = f.Until.Add(24 * time.Hour)
	}
	es, next, err := auth.ListAudit(r.Context(), s.db, f)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.Entries = es
	if next != 0 {
		pg.OlderURL = auditURL(q, encodeCursor(next))
	}
	if q.Get("cursor") != "" {
		pg.NewestURL = auditURL(q, "")
	}
	s.render(w, r, http.StatusOK, "audit", s.newView(r, "Audit log", "audit", pg))
}

// auditURL is the audit page with the same filters at another cursor.
func auditURL(q url.Values, cursor string) string {
	out := url.Values{}
	for _, k := range []string{"actor", "action", "since", "until", "limit"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	if cursor != "" {
		out.Set("cursor", cursor)
	}
	if len(out) == 0 {
		return "/audit"
	}
	return "/audit?" + out.Encode()
}
