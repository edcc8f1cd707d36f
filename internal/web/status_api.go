package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/statuspage"
)

// statusPageView is a status page as the API shows it, with the address
// people open.
type statusPageView struct {
	statuspage.Page
	URL string `json:"url"`
}

func (h *statusPages) viewPage(r *http.Request, p statuspage.Page) statusPageView {
	return statusPageView{Page: p, URL: h.s.externalURL(r, "/status/"+p.Slug)}
}

// statusPageBody is what POST and PUT take. The fields a GET adds (id,
// url, times, monitor names) are accepted and ignored, so a GET body can be
// edited and sent back as it is.
type statusPageBody struct {
	Slug        string                `json:"slug"`
	Title       string                `json:"title"`
	Description string                `json:"description"`
	Public      bool                  `json:"public"`
	Monitors    []statusPageEntryBody `json:"monitors"`

	ID        json.RawMessage `json:"id,omitempty"`
	URL       json.RawMessage `json:"url,omitempty"`
	CreatedAt json.RawMessage `json:"created_at,omitempty"`
	UpdatedAt json.RawMessage `json:"updated_at,omitempty"`
}

type statusPageEntryBody struct {
	MonitorID   int64  `json:"monitor_id"`
	Position    *int   `json:"position,omitempty"`
	DisplayName string `json:"display_name"`
	Section     string `json:"section"`

	MonitorName json.RawMessage `json:"monitor_name,omitempty"`
}

func (b statusPageBody) input() statuspage.Input {
	in := statuspage.Input{Slug: b.Slug, Title: b.Title, Description: b.Description, Public: b.Public, Monitors: []statuspage.EntryInput{}}
	for _, e := range b.Monitors {
		in.Monitors = append(in.Monitors, statuspage.EntryInput{MonitorID: e.MonitorID, Position: e.Position, DisplayName: e.DisplayName, Section: e.Section})
	}
	return in
}

func (h *statusPages) apiList(w http.ResponseWriter, r *http.Request) {
	ps, err := h.pages.List(r.Context())
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	out := make([]statusPageView, len(ps))
	for i, p := range ps {
		out[i] = h.viewPage(r, p)
	}
	writeJSON(w, http.StatusOK, page[statusPageView]{Data: out})
}

func (h *statusPages) apiCreate(w http.ResponseWriter, r *http.Request) {
	var b statusPageBody
	if !h.s.decodeJSON(w, r, &b) {
		return
	}
	p, err := h.pages.Create(r.Context(), b.input())
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	h.cache.clear()
	w.Header().Set("Location", "/api/v1/status-pages/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusCreated, h.viewPage(r, p))
}

func (h *statusPages) apiGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	p, err := h.pages.Get(r.Context(), id)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.viewPage(r, p))
}

func (h *statusPages) apiReplace(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	var b statusPageBody
	if !h.s.decodeJSON(w, r, &b) {
		return
	}
	p, err := h.pages.Update(r.Context(), id, b.input())
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	h.cache.clear()
	writeJSON(w, http.StatusOK, h.viewPage(r, p))
}

func (h *statusPages) apiDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	if err := h.pages.Delete(r.Context(), id); err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	h.cache.clear()
	w.WriteHeader(http.StatusNoContent)
}
