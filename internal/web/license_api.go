package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// answer writes v, or the API error for err: a refusal (revealing a key
// that is not stored) is 409 refused.
func (h *licenseHandlers) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	var refused *assets.Refusal
	switch {
	case errors.As(err, &refused):
		writeError(w, http.StatusConflict, "refused", strings.TrimPrefix(refused.Msg, "asset: "), "")
	case err != nil:
		h.s.apiFail(w, r, err)
	default:
		writeJSON(w, status, v)
	}
}

func (h *licenseHandlers) withID(w http.ResponseWriter, r *http.Request, fn func(id int64)) {
	id, err := pathID(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	fn(id)
}

// licenseFilter reads the list filters shared by the API, the list page
// and the CSV export.
func licenseFilter(r *http.Request) (assets.LicenseFilter, error) {
	q := r.URL.Query()
	f := assets.LicenseFilter{Publisher: q.Get("publisher"), Query: q.Get("q"), Type: assets.LicenseType(q.Get("license_type")), Sort: q.Get("sort")}
	for _, p := range []struct{ name, v string }{{"publisher", f.Publisher}, {"q", f.Query}, {"license_type", string(f.Type)}, {"sort", f.Sort}} {
		if err := valid.Text(p.name, p.v, false, 200, false); err != nil {
			return f, err
		}
	}
	if v := q.Get("expiring_within"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > assets.MaxExpiryDays {
			return f, valid.Errorf("expiring_within", "must be a number of days from 0 to %d", assets.MaxExpiryDays)
		}
		f.ExpiringWithin = n
	}
	switch v := q.Get("over_used"); v {
	case "", "false", "0":
	case "true", "1":
		f.OverUsed = true
	default:
		return f, valid.Errorf("over_used", "must be true or false")
	}
	return f, nil
}

func (h *licenseHandlers) apiList(w http.ResponseWriter, r *http.Request) {
	f, err := licenseFilter(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	ls, err := h.a.ListLicenses(r.Context(), f)
	h.answer(w, r, http.StatusOK, page[assets.LicenseStatus]{Data: orEmpty(ls)}, err)
}

func (h *licenseHandlers) apiCreate(w http.ResponseWriter, r *http.Request) {
	var in assets.LicenseInput
	if !h.s.decodeJSON(w, r, &in) {
		return
	}
	l, err := h.a.CreateLicense(r.Context(), in)
	if err == nil {
		w.Header().Set("Location", "/api/v1/licenses/"+strconv.FormatInt(l.ID, 10))
	}
	h.answer(w, r, http.StatusCreated, l, err)
}

func (h *licenseHandlers) apiGet(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		st, err := h.a.LicenseStatusOf(r.Context(), id)
		h.answer(w, r, http.StatusOK, st, err)
	})
}

func (h *licenseHandlers) apiUpdate(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var in assets.LicenseInput
		if !h.s.decodeJSON(w, r, &in) {
			return
		}
		l, err := h.a.UpdateLicense(r.Context(), id, in)
		h.answer(w, r, http.StatusOK, l, err)
	})
}

func (h *licenseHandlers) apiDelete(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		if err := h.a.DeleteLicense(r.Context(), id); err != nil {
			h.answer(w, r, 0, nil, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// apiRevealKey answers the stored key; the reveal is recorded in the
// license's history and the audit log before it is sent.
func (h *licenseHandlers) apiRevealKey(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		key, err := h.a.RevealLicenseKey(r.Context(), id)
		w.Header().Set("Cache-Control", "no-store")
		h.answer(w, r, http.StatusOK, map[string]string{"license_key": key}, err)
	})
}

func (h *licenseHandlers) apiSeats(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		ss, err := h.a.Seats(r.Context(), id)
		h.answer(w, r, http.StatusOK, page[assets.Seat]{Data: orEmpty(ss)}, err)
	})
}

type seatBody struct {
	UserID  int64  `json:"user_id"`
	AssetID int64  `json:"asset_id"`
	Note    string `json:"note"`
}

func (h *licenseHandlers) apiAssign(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b seatBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		st, err := h.a.AssignSeat(r.Context(), id, b.UserID, b.AssetID, b.Note)
		h.answer(w, r, http.StatusCreated, st, err)
	})
}

func seatID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("seat"), 10, 64)
	if err != nil || id <= 0 {
		return 0, valid.Errorf("seat", "must be a positive number")
	}
	return id, nil
}

func (h *licenseHandlers) apiUnassign(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		sid, err := seatID(r)
		if err == nil {
			err = h.a.UnassignSeat(r.Context(), id, sid, r.URL.Query().Get("note"))
		}
		if err != nil {
			h.answer(w, r, 0, nil, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (h *licenseHandlers) apiHistory(w http.ResponseWriter, r *http.Request) {
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
		cs, next, err := h.a.LicenseHistory(r.Context(), id, before, limit)
		h.answer(w, r, http.StatusOK, page[assets.LicenseChange]{Data: orEmpty(cs), NextCursor: encodeCursor(next)}, err)
	})
}

// licenseSummary is the compliance summary: totals over every license and
// the ones needing attention.
type licenseSummary struct {
	Licenses      int   `json:"licenses"`
	SeatsBought   int64 `json:"seats_bought"`
	SeatsAssigned int64 `json:"seats_assigned"`
	Installed     int64 `json:"installed"`
	NotAssigned   int64 `json:"installed_not_assigned"`
	// AgentData false: installations are unknown and not counted.
	AgentData  bool   `json:"agent_data"`
	AgentError string `json:"agent_error,omitempty"`
	WarnDays   int    `json:"warn_days"`
	// OverUsed and Expiring list the licenses needing attention.
	OverUsed []assets.LicenseStatus `json:"over_used"`
	Expiring []assets.LicenseStatus `json:"expiring"`
	All      []assets.LicenseStatus `json:"-"`
}

func (h *licenseHandlers) summary(r *http.Request) (licenseSummary, error) {
	ls, err := h.a.ListLicenses(r.Context(), assets.LicenseFilter{Sort: "excess"})
	if err != nil {
		return licenseSummary{}, err
	}
	sm := licenseSummary{Licenses: len(ls), AgentData: h.a.HasAgentData(), WarnDays: h.a.WarnDays(), All: ls,
		OverUsed: []assets.LicenseStatus{}, Expiring: []assets.LicenseStatus{}}
	for _, l := range ls {
		c := l.Compliance
		if !l.Unlimited() {
			sm.SeatsBought += l.Seats
		}
		sm.SeatsAssigned += c.Assigned
		sm.Installed += c.Installed
		sm.NotAssigned += c.Unassigned
		if c.AgentError != "" {
			sm.AgentData, sm.AgentError = false, c.AgentError
		}
		if c.OverUsed {
			sm.OverUsed = append(sm.OverUsed, l)
		}
		if l.ExpiresSoon || l.Expired {
			sm.Expiring = append(sm.Expiring, l)
		}
	}
	return sm, nil
}

func (h *licenseHandlers) apiCompliance(w http.ResponseWriter, r *http.Request) {
	sm, err := h.summary(r)
	h.answer(w, r, http.StatusOK, sm, err)
}

// export downloads the licenses matching the list's filters as CSV.
func (h *licenseHandlers) export(surface Surface) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := licenseFilter(r)
		var ls []assets.LicenseStatus
		if err == nil {
			ls, err = h.a.ListLicenses(r.Context(), f)
		}
		if err != nil {
			if surface == SurfaceAPI {
				h.s.apiFail(w, r, err)
			} else if ve, ok := valid.As(err); ok {
				h.s.renderError(w, r, http.StatusUnprocessableEntity, "The export link has a bad filter: "+ve.Error())
			} else {
				h.s.serverError(w, r, SurfaceUI, err)
			}
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="licenses.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		if err := assets.ExportLicenses(w, ls); err != nil {
			h.s.log.ErrorContext(r.Context(), "license export failed", "err", err)
		}
	}
}
