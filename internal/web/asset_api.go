package web

import (
	"errors"
	"net/http"
	"strconv"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// answer writes v, or the API error for err: a lifecycle move the table
// refuses is 409 invalid_transition with the allowed moves in the message.
func (h *assetHandlers) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	var refused *assets.Refusal
	switch {
	case errors.As(err, &refused):
		writeError(w, http.StatusConflict, "invalid_transition", refused.Msg, "status")
	case err != nil:
		h.s.apiFail(w, r, err)
	default:
		writeJSON(w, status, v)
	}
}

func (h *assetHandlers) withID(w http.ResponseWriter, r *http.Request, fn func(id int64)) {
	id, err := pathID(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	fn(id)
}

// assetFilter reads the list filters shared by the API, the list page and
// the CSV export.
func assetFilter(r *http.Request) (assets.ListFilter, error) {
	q := r.URL.Query()
	f := assets.ListFilter{Status: assets.Status(q.Get("status")), Category: q.Get("category"), Location: q.Get("location"),
		Query: q.Get("q"), Sort: q.Get("sort")}
	for _, p := range []struct{ name, v string }{{"status", string(f.Status)}, {"category", f.Category}, {"location", f.Location},
		{"q", f.Query}, {"sort", f.Sort}} {
		if err := valid.Text(p.name, p.v, false, 200, false); err != nil {
			return f, err
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"warranty_within", &f.WarrantyWithin}, {"expiring_within", &f.ExpiringWithin}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > assets.MaxExpiryDays {
				return f, valid.Errorf(p.name, "must be a number of days from 0 to %d", assets.MaxExpiryDays)
			}
			*p.dst = n
		}
	}
	if v := q.Get("assignee"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, valid.Errorf("assignee", "must be a user id")
		}
		f.AssigneeID = id
	}
	var err error
	f.After, err = decodeCursor(q.Get("cursor"))
	return f, err
}

func (h *assetHandlers) apiList(w http.ResponseWriter, r *http.Request) {
	f, err := assetFilter(r)
	if err == nil {
		f.Limit, err = queryLimit(r, 100, 1000)
	}
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	as, next, err := h.a.List(r.Context(), f)
	h.answer(w, r, http.StatusOK, page[assets.Asset]{Data: orEmpty(as), NextCursor: encodeCursor(next)}, err)
}

func (h *assetHandlers) apiCreate(w http.ResponseWriter, r *http.Request) {
	var in assets.Input
	if !h.s.decodeJSON(w, r, &in) {
		return
	}
	a, err := h.a.Create(r.Context(), in)
	if err == nil {
		w.Header().Set("Location", "/api/v1/assets/"+strconv.FormatInt(a.ID, 10))
	}
	h.answer(w, r, http.StatusCreated, a, err)
}

func (h *assetHandlers) apiGet(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		a, err := h.a.Get(r.Context(), id)
		h.answer(w, r, http.StatusOK, a, err)
	})
}

func (h *assetHandlers) apiUpdate(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var in assets.Input
		if !h.s.decodeJSON(w, r, &in) {
			return
		}
		if in.Status != "" {
			h.s.apiFail(w, r, valid.Errorf("status", "changes through /checkout, /checkin or /transition, not an edit"))
			return
		}
		a, err := h.a.Update(r.Context(), id, in)
		h.answer(w, r, http.StatusOK, a, err)
	})
}

type checkoutBody struct {
	UserID   int64  `json:"user_id"`
	Location string `json:"location"`
	Note     string `json:"note"`
}

func (h *assetHandlers) apiCheckout(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b checkoutBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		a, err := h.a.Checkout(r.Context(), id, b.UserID, b.Location, b.Note)
		h.answer(w, r, http.StatusOK, a, err)
	})
}

type noteBody struct {
	Note string `json:"note"`
}

func (h *assetHandlers) apiCheckin(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b noteBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		a, err := h.a.Checkin(r.Context(), id, b.Note)
		h.answer(w, r, http.StatusOK, a, err)
	})
}

type transitionBody struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

func (h *assetHandlers) apiTransition(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b transitionBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		a, err := h.a.Transition(r.Context(), id, assets.Status(b.Status), b.Note)
		h.answer(w, r, http.StatusOK, a, err)
	})
}

func (h *assetHandlers) apiHistory(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		before, err := decodeCursor(r.URL.Query().Get("cursor"))
		limit := 0
		if err == nil {
			limit, err = queryLimit(r, 50, 500)
		}
		if err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		cs, next, err := h.a.History(r.Context(), id, before, limit)
		h.answer(w, r, http.StatusOK, page[assets.Change]{Data: orEmpty(cs), NextCursor: encodeCursor(next)}, err)
	})
}
