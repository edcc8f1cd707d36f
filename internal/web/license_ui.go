package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// licenseNotices are the confirmations of the license pages.
var licenseNotices = map[string]string{
	"license-created":    "The license was added. Assign its seats to users or devices below.",
	"license-saved":      "The license was saved; its history records what changed.",
	"license-deleted":    "The license was deleted with its seats and history; the audit log keeps the deletion.",
	"license-assigned":   "The seat was assigned.",
	"license-unassigned": "The seat was taken back; the history keeps who had it.",
}

// licensePageSize is how many licenses a list page shows.
const licensePageSize = 50

// licenseListPage is the data of the license list.
type licenseListPage struct {
	Rows              []assets.LicenseStatus
	Selects           []selectFilter
	Sorts             []option
	Q, Expiring, Over string
	Sort              string
	WarnDays          int
	AgentData         bool
	Filtered, CanEdit bool
	Errors            fieldErrors
	PrevURL, NextURL  string
	ExportURL         string
	Shown, Total      int
}

func licenseTypeOptions() []option {
	var out []option
	for _, t := range assets.LicenseTypes() {
		out = append(out, option{string(t), t.Label()})
	}
	return out
}

var licenseFilterLabels = map[string]string{"q": "Search", "publisher": "Publisher", "license_type": "Type", "sort": "Sort",
	"expiring_within": "Expiring", "over_used": "Over-used", "page": "The page link"}

// listPage lists licenses with their compliance; filters, sort and page
// are in the URL.
func (h *licenseHandlers) listPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	pg := licenseListPage{CanEdit: canOperate(r), Errors: fieldErrors{}, Q: echo(q.Get("q")), Expiring: echo(q.Get("expiring_within")),
		Over: echo(q.Get("over_used")), WarnDays: h.a.WarnDays(), AgentData: h.a.HasAgentData(), Sort: echo(q.Get("sort")),
		Sorts: []option{{"product", "Product A–Z"}, {"-product", "Product Z–A"}, {"publisher", "Publisher"},
			{"expires", "Expiring first"}, {"-expires", "Expiring last"}, {"excess", "Most over-used first"}}}
	pubs, err := h.a.Publishers(ctx)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	pubOpts := make([]option, 0, len(pubs))
	for _, p := range pubs {
		pubOpts = append(pubOpts, option{p, p})
	}
	pg.Selects = []selectFilter{{"publisher", "Publisher", echo(q.Get("publisher")), pubOpts},
		{"license_type", "Type", echo(q.Get("license_type")), licenseTypeOptions()}}
	pg.Filtered = pg.Q != "" || pg.Expiring != "" || pg.Over != "" || q.Get("publisher") != "" || q.Get("license_type") != ""
	f, err := licenseFilter(r)
	var rows []assets.LicenseStatus
	if err == nil {
		rows, err = h.a.ListLicenses(ctx, f)
	}
	pageNo := 1
	if err == nil {
		if v := q.Get("page"); v != "" {
			if pageNo, err = strconv.Atoi(v); err != nil || pageNo < 1 {
				err = valid.Errorf("page", "must be a page number")
			}
		}
	}
	status := http.StatusOK
	if err != nil {
		if !formError(err, pg.Errors, licenseFilterLabels) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		status = http.StatusUnprocessableEntity
	} else {
		pg.Total = len(rows)
		start := min((pageNo-1)*licensePageSize, len(rows))
		pg.Rows = rows[start:min(start+licensePageSize, len(rows))]
		pg.Shown = len(pg.Rows)
		link := func(n int) string {
			lq := r.URL.Query()
			lq.Set("page", strconv.Itoa(n))
			if n == 1 {
				lq.Del("page")
			}
			if len(lq) == 0 {
				return "/licenses"
			}
			return "/licenses?" + lq.Encode()
		}
		if pageNo > 1 {
			pg.PrevURL = link(pageNo - 1)
		}
		if start+licensePageSize < len(rows) {
			pg.NextURL = link(pageNo + 1)
		}
	}
	eq := r.URL.Query()
	eq.Del("page")
	pg.ExportURL = "/licenses/export"
	if len(eq) > 0 {
		pg.ExportURL += "?" + eq.Encode()
	}
	h.s.render(w, r, status, "licenses", h.s.newView(r, "Licenses", "licenses", pg))
}

// compliancePage sums up every license: seats bought, assigned and
// installed, and the licenses over-used or expiring.
func (h *licenseHandlers) compliancePage(w http.ResponseWriter, r *http.Request) {
	sm, err := h.summary(r)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.s.render(w, r, http.StatusOK, "license_compliance", h.s.newView(r, "License compliance", "licenses", sm))
}

// licensePage is the data of a license's page.
type licensePage struct {
	License      assets.LicenseStatus
	Seats        []assets.Seat
	NotAssigned  []assets.InstalledHost
	Users        []option
	History      []assets.LicenseChange
	OlderHistory string
	CanEdit      bool
	Errors       fieldErrors
	// RevealedKey is the key, on the page answering a reveal only.
	RevealedKey string
	// The assign form as submitted.
	UserID, AssetTag, Note string
}

func (h *licenseHandlers) load(w http.ResponseWriter, r *http.Request) (assets.LicenseStatus, bool) {
	id, err := pathID(r)
	if err != nil {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such license.")
		return assets.LicenseStatus{}, false
	}
	l, err := h.a.LicenseStatusOf(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such license.")
		return l, false
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return l, false
	}
	return l, true
}

func (h *licenseHandlers) detailPage(w http.ResponseWriter, r *http.Request) {
	l, ok := h.load(w, r)
	if !ok {
		return
	}
	h.renderDetail(w, r, licensePage{License: l, Errors: fieldErrors{}}, http.StatusOK)
}

// renderDetail draws a license's page around pg's license, errors and
// form values.
func (h *licenseHandlers) renderDetail(w http.ResponseWriter, r *http.Request, pg licensePage, status int) {
	ctx := r.Context()
	pg.CanEdit = canOperate(r)
	pg.NotAssigned = pg.License.Compliance.NotAssigned()
	id := pg.License.ID
	var err error
	if pg.Seats, err = h.a.Seats(ctx, id); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	if pg.CanEdit {
		ah := &assetHandlers{s: h.s, a: h.a}
		if pg.Users, err = ah.userOptions(r); err != nil {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	before, _ := decodeCursor(r.URL.Query().Get("history"))
	var next int64
	if pg.History, next, err = h.a.LicenseHistory(ctx, id, before, 20); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	if next != 0 {
		pg.OlderHistory = licenseURL(id) + "?history=" + url.QueryEscape(encodeCursor(next)) + "#history"
	}
	if pg.RevealedKey != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	h.s.render(w, r, status, "license", h.s.newView(r, pg.License.Product, "licenses", pg))
}

func licenseURL(id int64) string { return "/licenses/" + strconv.FormatInt(id, 10) }

// revealKey shows the page with the key in clear, once, recorded in the
// history and the audit log.
func (h *licenseHandlers) revealKey(w http.ResponseWriter, r *http.Request) {
	l, ok := h.load(w, r)
	if !ok {
		return
	}
	pg := licensePage{License: l, Errors: fieldErrors{}}
	key, err := h.a.RevealLicenseKey(r.Context(), l.ID)
	var refused *assets.Refusal
	switch {
	case errors.As(err, &refused):
		pg.Errors[""] = sentence(strings.TrimPrefix(refused.Msg, "asset: "))
		h.renderDetail(w, r, pg, http.StatusConflict)
		return
	case err != nil:
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.RevealedKey = key
	h.renderDetail(w, r, pg, http.StatusOK)
}

// assign gives a seat to the chosen user or to the asset with the typed
// tag.
func (h *licenseHandlers) assign(w http.ResponseWriter, r *http.Request) {
	l, ok := h.load(w, r)
	if !ok {
		return
	}
	pg := licensePage{License: l, Errors: fieldErrors{}, UserID: echo(r.PostFormValue("user_id")),
		AssetTag: echo(r.PostFormValue("asset_tag")), Note: echo(r.PostFormValue("note"))}
	err := h.assignForm(r, l.ID)
	if err == nil {
		http.Redirect(w, r, licenseURL(l.ID)+"?notice=license-assigned#seats", http.StatusSeeOther)
		return
	}
	if !formError(err, pg.Errors, map[string]string{"user_id": "User", "asset_tag": "Asset tag", "note": "Note"}) {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.renderDetail(w, r, pg, http.StatusUnprocessableEntity)
}

func (h *licenseHandlers) assignForm(r *http.Request, licenseID int64) error {
	var userID, assetID int64
	if v := r.PostFormValue("user_id"); v != "" {
		var err error
		if userID, err = strconv.ParseInt(v, 10, 64); err != nil || userID <= 0 {
			return valid.Errorf("user_id", "must be one of the listed users")
		}
	}
	if tag := strings.TrimSpace(r.PostFormValue("asset_tag")); tag != "" {
		if err := valid.Text("asset_tag", tag, true, 64, false); err != nil {
			return err
		}
		if userID != 0 {
			return valid.Errorf("asset_tag", "assign a seat to a user or to an asset, not both")
		}
		a, err := h.a.GetByTag(r.Context(), tag)
		if errors.Is(err, store.ErrNotFound) {
			return valid.Errorf("asset_tag", "%q is not the tag of any asset", tag)
		} else if err != nil {
			return err
		}
		assetID = a.ID
	}
	_, err := h.a.AssignSeat(r.Context(), licenseID, userID, assetID, r.PostFormValue("note"))
	if ve, ok := valid.As(err); ok && ve.Field == "asset_id" {
		return valid.Errorf("asset_tag", "%s", ve.Msg)
	}
	return err
}

func (h *licenseHandlers) unassign(w http.ResponseWriter, r *http.Request) {
	l, ok := h.load(w, r)
	if !ok {
		return
	}
	sid, err := seatID(r)
	if err == nil {
		err = h.a.UnassignSeat(r.Context(), l.ID, sid, r.PostFormValue("note"))
	}
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "That seat is not assigned any more.")
		return
	}
	if err != nil {
		pg := licensePage{License: l, Errors: fieldErrors{}}
		if !formError(err, pg.Errors, map[string]string{"note": "Note"}) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		h.renderDetail(w, r, pg, http.StatusUnprocessableEntity)
		return
	}
	http.Redirect(w, r, licenseURL(l.ID)+"?notice=license-unassigned#seats", http.StatusSeeOther)
}

func (h *licenseHandlers) remove(w http.ResponseWriter, r *http.Request) {
	l, ok := h.load(w, r)
	if !ok {
		return
	}
	if err := h.a.DeleteLicense(r.Context(), l.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/licenses?notice=license-deleted", http.StatusSeeOther)
}

// licenseWarning is the home page's license notice: how many licenses are
// over-used and how many expired or expire within the warning window.
type licenseWarning struct {
	Over, Expiring, Days int
}

// licenseWarning returns the home page's notice, or nil when no license
// needs attention.
func (s *Server) licenseWarning(r *http.Request) (*licenseWarning, error) {
	w, err := s.opts.Assets.Warnings(r.Context())
	if err != nil || w.Empty() {
		return nil, err
	}
	return &licenseWarning{Over: len(w.OverUsed), Expiring: len(w.Expiring), Days: w.WarnDays}, nil
}
