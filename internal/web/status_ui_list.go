package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/statuspage"
)

// statusPagesList is the data of the status page list.
type statusPagesList struct {
	Pages []statuspage.Page
	// CanEdit is set for operators; viewers see the list to find the pages,
	// including private ones they may open.
	CanEdit bool
	Done    string
}

// statusDone are the confirmations a redirect may ask the status page
// screens to show (?done=CODE): fixed texts only, so a link cannot put
// words of its own on the page.
var statusDone = map[string]string{
	"created": "The status page was created. Use “Open the page” to see it as visitors do, and share its address below.",
	"saved":   "The status page was saved.",
	"deleted": "The status page was deleted; its address now answers “not found”.",
}

// listPage lists the status pages with their addresses and visibility.
func (h *statusPages) listPage(w http.ResponseWriter, r *http.Request) {
	ps, err := h.pages.List(r.Context())
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	data := statusPagesList{Pages: ps, CanEdit: auth.ActorFrom(r.Context()).Role.Allows(auth.RoleOperator), Done: statusDone[r.URL.Query().Get("done")]}
	h.s.render(w, r, http.StatusOK, "status_pages", h.s.newView(r, "Status pages", "status-pages", data))
}
