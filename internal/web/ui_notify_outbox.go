package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// outboxData is the data of the outbox page.
type outboxData struct {
	Rows     []outboxRow
	Status   string
	RefKind  string
	RefID    string
	Statuses []notify.Status
	// NextURL is the next page's link, with the filters; empty on the last.
	NextURL  string
	Filtered bool
	CanRetry bool
	IsAdmin  bool
	Error    string
}

// outboxRow is one outbox row as the page shows it.
type outboxRow struct {
	notify.Notification
	Badge template.HTML
	// Retryable is set when an operator may send it again now.
	Retryable bool
}

// outboxBadge shows an outbox status with a word and a mark as well as a
// colour. Every part is a constant.
func outboxBadge(st notify.Status) template.HTML {
	class, mark, label := "off", "■", string(st)
	switch st {
	case notify.StatusPending:
		class, mark, label = "info", "◇", "Pending"
	case notify.StatusSending:
		class, mark, label = "info", "◆", "Sending"
	case notify.StatusDelivered:
		class, mark, label = "ok", "●", "Delivered"
	case notify.StatusFailed:
		class, mark, label = "warn", "▲", "Failed, retrying"
	case notify.StatusGivenUp:
		class, mark, label = "down", "✖", "Given up"
	case notify.StatusCancelled:
		class, mark, label = "off", "■", "Cancelled"
	}
	return template.HTML(`<span class="status status-` + class + `"><span class="status-mark" aria-hidden="true">` + mark + `</span> ` + label + `</span>`) //nolint:gosec // constants only
}

// outboxPage lists notifications newest first with filters in the URL.
func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := outboxData{Status: q.Get("status"), RefKind: q.Get("ref_kind"), RefID: q.Get("ref_id"), Statuses: notify.AllStatuses(),
		CanRetry: canOperate(r), IsAdmin: isAdmin(r)}
	data.Filtered = data.Status != "" || data.RefKind != "" || data.RefID != ""
	f, err := outboxFilter(r)
	if err != nil {
		if ve, ok := valid.As(err); ok {
			data.Error = sentence(ve.Error())
			s.render(w, r, http.StatusUnprocessableEntity, "notify_outbox", s.newView(r, "Notifications", "notifications", data))
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	f.Limit = 50
	ns, next, err := s.opts.Notify.Notifications(r.Context(), f)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, n := range ns {
		data.Rows = append(data.Rows, outboxRow{Notification: n, Badge: outboxBadge(n.Status),
			Retryable: n.Status == notify.StatusFailed || n.Status == notify.StatusGivenUp || n.Status == notify.StatusCancelled || n.Status == notify.StatusPending})
	}
	if next != 0 {
		nq := url.Values{}
		for _, k := range []string{"status", "ref_kind", "ref_id"} {
			if v := q.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		nq.Set("cursor", encodeCursor(next))
		data.NextURL = "/notifications?" + nq.Encode()
	}
	s.render(w, r, http.StatusOK, "notify_outbox", s.newView(r, "Notifications", "notifications", data))
}

// retryNotification makes a row due now and returns to the list.
func (s *Server) retryNotification(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such notification")
		return
	}
	if _, err := s.opts.Notify.RetryNow(r.Context(), id); err != nil {
		if ve, ok := valid.As(err); ok {
			s.renderError(w, r, http.StatusConflict, sentence(ve.Msg))
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "no such notification")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	back := safeNext(r.PostFormValue("back"))
	if back == "/" {
		back = "/notifications"
	}
	http.Redirect(w, r, withNotice(back, "notification-retried"), http.StatusSeeOther)
}

// withNotice adds ?notice=code (or &notice=) to a local path.
func withNotice(path, code string) string {
	u, err := url.Parse(path)
	if err != nil {
		return "/?notice=" + code
	}
	q := u.Query()
	q.Set("notice", code)
	u.RawQuery = q.Encode()
	return u.String()
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// isAdmin reports whether the caller is an admin, to show admin links.
func isAdmin(r *http.Request) bool {
	return auth.ActorFrom(r.Context()).Role.Allows(auth.RoleAdmin)
}

// notifyNotices are the notification pages' confirmations (?notice=CODE),
// fixed texts like the layout's own notices.
var notifyNotices = map[string]string{
	"channel-created":      "The channel was added. Send a test below to check it, then people can add their addresses on it under My notifications.",
	"channel-saved":        "The channel was saved.",
	"channel-deleted":      "The channel was deleted, with the contact methods and rules on it.",
	"method-added":         "The contact method was added. Send a test to check it reaches you.",
	"method-deleted":       "The contact method and its rules were deleted.",
	"rule-added":           "The rule was added.",
	"rule-deleted":         "The rule was deleted.",
	"notification-retried": "The notification is due now; the worker sends it within a second.",
}
