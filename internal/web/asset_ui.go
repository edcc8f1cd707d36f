package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// assetRow is one row of the asset list.
type assetRow struct {
	assets.Asset
	Soon bool
}

// assetListPage is the data of the asset list.
type assetListPage struct {
	Rows              []assetRow
	Selects           []selectFilter
	Sorts             []option
	Q, Sort, Expiring string
	WarnDays          int
	Filtered, CanEdit bool
	Errors            fieldErrors
	FirstURL, NextURL string
	// ExportURL downloads the filtered list as CSV.
	ExportURL string
	Total     int64
}

func statusOptions() []option {
	var out []option
	for _, s := range assets.Statuses() {
		out = append(out, option{string(s), s.Label()})
	}
	return out
}

// userOptions lists the users for a select, by username.
func (h *assetHandlers) userOptions(r *http.Request) ([]option, error) {
	us, err := h.s.auth.ListUsers(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]option, 0, len(us))
	for _, u := range us {
		if !u.Disabled {
			out = append(out, option{strconv.FormatInt(u.ID, 10), u.Username})
		}
	}
	return out, nil
}

var assetFilterLabels = map[string]string{"q": "Search", "status": "Status", "category": "Category", "location": "Location",
	"assignee": "Checked out to", "sort": "Sort", "cursor": "The page link", "expiring_within": "Expiring", "warranty_within": "Warranty"}

// listPage lists assets with filters, sort and cursor in the URL.
func (h *assetHandlers) listPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	users, err := h.userOptions(r)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg := assetListPage{CanEdit: canOperate(r), Errors: fieldErrors{}, Q: echo(q.Get("q")), Sort: echo(q.Get("sort")),
		Expiring: echo(q.Get("expiring_within")), WarnDays: h.a.WarnDays(),
		Sorts: []option{{"tag", "Tag A–Z"}, {"-tag", "Tag Z–A"}, {"-updated", "Recently changed"}, {"updated", "Least recently changed"},
			{"warranty", "Warranty ending first"}, {"-warranty", "Warranty ending last"}}}
	pg.Selects = []selectFilter{{"status", "Status", echo(q.Get("status")), statusOptions()},
		{"assignee", "Checked out to", echo(q.Get("assignee")), users}}
	pg.Filtered = pg.Q != "" || pg.Expiring != "" || q.Get("status") != "" || q.Get("assignee") != "" || q.Get("category") != "" ||
		q.Get("location") != "" || q.Get("warranty_within") != ""
	if pg.Total, err = h.a.Count(ctx); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	f, err := assetFilter(r)
	if err == nil {
		f.Limit = 50
		var rows []assets.Asset
		var next int64
		if rows, next, err = h.a.List(ctx, f); err == nil && next != 0 {
			nq := r.URL.Query()
			nq.Set("cursor", encodeCursor(next))
			pg.NextURL = "/assets?" + nq.Encode()
		}
		for _, a := range rows {
			pg.Rows = append(pg.Rows, assetRow{Asset: a, Soon: h.a.ExpiresSoon(a, pg.WarnDays)})
		}
	}
	status := http.StatusOK
	if err != nil {
		if !formError(err, pg.Errors, assetFilterLabels) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		status = http.StatusUnprocessableEntity
	}
	eq := r.URL.Query()
	eq.Del("cursor")
	pg.ExportURL = "/assets/export"
	if len(eq) > 0 {
		pg.ExportURL += "?" + eq.Encode()
	}
	if f.After != 0 {
		fq := r.URL.Query()
		fq.Del("cursor")
		pg.FirstURL = "/assets"
		if len(fq) > 0 {
			pg.FirstURL += "?" + fq.Encode()
		}
	}
	h.s.render(w, r, status, "assets", h.s.newView(r, "Assets", "assets", pg))
}

// assetPage is the data of an asset's page.
type assetPage struct {
	Asset        assets.Asset
	Soon         bool
	Moves        []option
	Users        []option
	History      []assets.Change
	OlderHistory string
	CanEdit      bool
	CanCheckout  bool
	CanCheckin   bool
	Errors       fieldErrors
	// The check-out form as submitted.
	UserID, Location string
	// Licenses are the license seats given to this asset.
	Licenses []assets.HeldSeat
}

func (h *assetHandlers) load(w http.ResponseWriter, r *http.Request) (assets.Asset, bool) {
	id, err := pathID(r)
	if err != nil {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such asset.")
		return assets.Asset{}, false
	}
	a, err := h.a.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such asset.")
		return a, false
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return a, false
	}
	return a, true
}

func (h *assetHandlers) detailPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	h.renderDetail(w, r, a, http.StatusOK, fieldErrors{}, nil)
}

// renderDetail draws an asset's page; form holds a refused check-out form.
func (h *assetHandlers) renderDetail(w http.ResponseWriter, r *http.Request, a assets.Asset, status int, errs fieldErrors, form url.Values) {
	pg := assetPage{Asset: a, Soon: h.a.ExpiresSoon(a, h.a.WarnDays()), CanEdit: canOperate(r), Errors: errs,
		CanCheckout: a.Status == assets.StatusInStock, CanCheckin: a.Status == assets.StatusDeployed || a.Status == assets.StatusInRepair}
	if form != nil {
		pg.UserID, pg.Location = echo(form.Get("user_id")), echo(form.Get("location"))
	}
	for _, n := range assets.Next(a.Status) {
		// Deploying goes through check-out, and back to stock from deployed
		// through check-in (both say to or from whom).
		if n == assets.StatusDeployed && a.Status == assets.StatusInStock || n == assets.StatusInStock && pg.CanCheckin {
			continue
		}
		pg.Moves = append(pg.Moves, option{string(n), n.Label()})
	}
	var err error
	if pg.CanEdit && pg.CanCheckout {
		if pg.Users, err = h.userOptions(r); err != nil {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	if pg.Licenses, err = h.a.SeatsOf(r.Context(), 0, a.ID); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	before, _ := decodeCursor(r.URL.Query().Get("history"))
	var next int64
	if pg.History, next, err = h.a.History(r.Context(), a.ID, before, 20); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	if next != 0 {
		pg.OlderHistory = "/assets/" + strconv.FormatInt(a.ID, 10) + "?history=" + url.QueryEscape(encodeCursor(next)) + "#history"
	}
	h.s.render(w, r, status, "asset", h.s.newView(r, a.Tag, "assets", pg))
}

// moved answers a lifecycle form: back to the page, or the page again with
// the error.
func (h *assetHandlers) moved(w http.ResponseWriter, r *http.Request, a assets.Asset, err error) {
	if err == nil {
		http.Redirect(w, r, "/assets/"+strconv.FormatInt(a.ID, 10)+"?notice=asset-moved", http.StatusSeeOther)
		return
	}
	errs := fieldErrors{}
	var refused *assets.Refusal
	switch {
	case errors.As(err, &refused):
		errs[""] = sentence(strings.TrimPrefix(refused.Msg, "asset: "))
	case !formError(err, errs, map[string]string{"user_id": "User", "location": "Location", "note": "Note", "status": "New state"}):
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	if fresh, gerr := h.a.Get(r.Context(), a.ID); gerr == nil {
		a = fresh
	}
	h.renderDetail(w, r, a, http.StatusUnprocessableEntity, errs, r.PostForm)
}

func (h *assetHandlers) checkout(w http.ResponseWriter, r *http.Request) {
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	var userID int64
	if v := r.PostFormValue("user_id"); v != "" {
		var err error
		if userID, err = strconv.ParseInt(v, 10, 64); err != nil || userID <= 0 {
			h.moved(w, r, a, valid.Errorf("user_id", "must be one of the listed users"))
			return
		}
	}
	a2, err := h.a.Checkout(r.Context(), a.ID, userID, r.PostFormValue("location"), r.PostFormValue("note"))
	if err == nil {
		a = a2
	}
	h.moved(w, r, a, err)
}

func (h *assetHandlers) checkin(w http.ResponseWriter, r *http.Request) {
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	_, err := h.a.Checkin(r.Context(), a.ID, r.PostFormValue("note"))
	h.moved(w, r, a, err)
}

func (h *assetHandlers) transition(w http.ResponseWriter, r *http.Request) {
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	_, err := h.a.Transition(r.Context(), a.ID, assets.Status(r.PostFormValue("status")), r.PostFormValue("note"))
	h.moved(w, r, a, err)
}

// assetsOfCI lists the assets linked to a CI, for the CI's page.
func (s *Server) assetsOfCI(r *http.Request, ciID int64) ([]assets.Asset, error) {
	if s.opts.Assets == nil || s.opts.CMDB == nil {
		return nil, nil
	}
	links, err := s.opts.CMDB.Links(r.Context(), ciID)
	if err != nil {
		return nil, err
	}
	var out []assets.Asset
	for _, l := range links {
		if l.Kind != cmdb.LinkAsset {
			continue
		}
		a, err := s.opts.Assets.Get(r.Context(), l.ObjectID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since; the link is stale
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// assetExpiry is the home page's warning: assets in use whose warranty or
// lease ends within the warning window.
type assetExpiry struct {
	N, Days int
	Href    string
}

// assetExpiry returns the home page's warning, or nil when nothing ends
// soon.
func (s *Server) assetExpiry(r *http.Request) (*assetExpiry, error) {
	days := s.opts.Assets.WarnDays()
	as, err := s.opts.Assets.Expiring(r.Context(), time.Duration(days)*24*time.Hour)
	if err != nil || len(as) == 0 {
		return nil, err
	}
	return &assetExpiry{N: len(as), Days: days, Href: "/assets?expiring_within=" + strconv.Itoa(days) + "&sort=warranty"}, nil
}
