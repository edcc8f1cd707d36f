package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/store"
)

type stocktakeBody struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

type seenBody struct {
	Tag string `json:"tag"`
}

func (h *assetHandlers) apiStocktakes(w http.ResponseWriter, r *http.Request) {
	sts, err := h.a.Stocktakes(r.Context())
	h.answer(w, r, http.StatusOK, page[assets.Stocktake]{Data: orEmpty(sts)}, err)
}

func (h *assetHandlers) apiStartStocktake(w http.ResponseWriter, r *http.Request) {
	var b stocktakeBody
	if !h.s.decodeJSON(w, r, &b) {
		return
	}
	st, err := h.a.StartStocktake(r.Context(), b.Name, b.Location)
	if err == nil {
		w.Header().Set("Location", "/api/v1/asset-stocktakes/"+strconv.FormatInt(st.ID, 10))
	}
	h.answer(w, r, http.StatusCreated, st, err)
}

func (h *assetHandlers) apiStocktake(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		st, err := h.a.Stocktake(r.Context(), id)
		h.answer(w, r, http.StatusOK, st, err)
	})
}

func (h *assetHandlers) apiSeen(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b seenBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		a, err := h.a.MarkSeen(r.Context(), id, b.Tag)
		h.answer(w, r, http.StatusOK, a, err)
	})
}

func (h *assetHandlers) apiMissing(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		as, err := h.a.Missing(r.Context(), id)
		h.answer(w, r, http.StatusOK, page[assets.Asset]{Data: orEmpty(as)}, err)
	})
}

func (h *assetHandlers) apiCloseStocktake(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		st, err := h.a.CloseStocktake(r.Context(), id)
		h.answer(w, r, http.StatusOK, st, err)
	})
}

// stocktakesPage lists the runs with the form that starts one.
type stocktakesPage struct {
	Runs           []assets.Stocktake
	CanEdit        bool
	Errors         fieldErrors
	Name, Location string
}

func (h *assetHandlers) stocktakesPage(w http.ResponseWriter, r *http.Request) {
	h.renderStocktakes(w, r, http.StatusOK, stocktakesPage{Errors: fieldErrors{}})
}

func (h *assetHandlers) renderStocktakes(w http.ResponseWriter, r *http.Request, status int, pg stocktakesPage) {
	var err error
	if pg.Runs, err = h.a.Stocktakes(r.Context()); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.CanEdit = canOperate(r)
	h.s.render(w, r, status, "asset_stocktakes", h.s.newView(r, "Stocktakes", "assets", pg))
}

func (h *assetHandlers) startStocktake(w http.ResponseWriter, r *http.Request) {
	st, err := h.a.StartStocktake(r.Context(), r.PostFormValue("name"), r.PostFormValue("location"))
	if err != nil {
		pg := stocktakesPage{Errors: fieldErrors{}, Name: echo(r.PostFormValue("name")), Location: echo(r.PostFormValue("location"))}
		if !formError(err, pg.Errors, map[string]string{"name": "Name", "location": "Location"}) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		h.renderStocktakes(w, r, http.StatusUnprocessableEntity, pg)
		return
	}
	http.Redirect(w, r, "/asset-stocktakes/"+strconv.FormatInt(st.ID, 10), http.StatusSeeOther)
}

// stocktakePage is one run: its counts, the scan form and the missing.
type stocktakePage struct {
	Run     assets.Stocktake
	Missing []assets.Asset
	CanEdit bool
	Errors  fieldErrors
	// Last is the tag just marked seen.
	Last string
}

func (h *assetHandlers) stocktakePage(w http.ResponseWriter, r *http.Request) {
	h.renderStocktake(w, r, http.StatusOK, fieldErrors{}, echo(r.URL.Query().Get("seen")))
}

func (h *assetHandlers) renderStocktake(w http.ResponseWriter, r *http.Request, status int, errs fieldErrors, last string) {
	id, err := pathID(r)
	if err != nil {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such stocktake.")
		return
	}
	pg := stocktakePage{CanEdit: canOperate(r), Errors: errs, Last: last}
	pg.Run, err = h.a.Stocktake(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such stocktake.")
		return
	}
	if err == nil {
		pg.Missing, err = h.a.Missing(r.Context(), id)
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.s.render(w, r, status, "asset_stocktake", h.s.newView(r, pg.Run.Name, "assets", pg))
}

func (h *assetHandlers) markSeen(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such stocktake.")
		return
	}
	a, err := h.a.MarkSeen(r.Context(), id, r.PostFormValue("tag"))
	if err != nil {
		errs := fieldErrors{}
		var refused *assets.Refusal
		switch {
		case errors.As(err, &refused):
			errs[""] = sentence(strings.TrimPrefix(refused.Msg, "asset: "))
		case errors.Is(err, store.ErrNotFound):
			h.s.renderError(w, r, http.StatusNotFound, "There is no such stocktake.")
			return
		case !formError(err, errs, map[string]string{"tag": "Asset tag"}):
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		h.renderStocktake(w, r, http.StatusUnprocessableEntity, errs, "")
		return
	}
	http.Redirect(w, r, "/asset-stocktakes/"+strconv.FormatInt(id, 10)+"?seen="+url.QueryEscape(a.Tag), http.StatusSeeOther)
}

func (h *assetHandlers) closeStocktake(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such stocktake.")
		return
	}
	if _, err := h.a.CloseStocktake(r.Context(), id); err != nil {
		var refused *assets.Refusal
		if errors.As(err, &refused) {
			h.renderStocktake(w, r, http.StatusConflict, fieldErrors{"": sentence(strings.TrimPrefix(refused.Msg, "asset: "))}, "")
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			h.s.renderError(w, r, http.StatusNotFound, "There is no such stocktake.")
			return
		}
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/asset-stocktakes/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}
