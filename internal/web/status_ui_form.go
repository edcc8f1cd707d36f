package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/statuspage"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// statusPageForm is the state of the create and edit forms.
type statusPageForm struct {
	Page        statuspage.Page // the stored page; ID 0 on the create form
	Title       string
	Slug        string
	Description string
	Public      bool
	Rows        []statusFormRow
	// Q filters the monitors not on the page by name or tag; Hidden counts
	// the ones it hides.
	Q      string
	Hidden int
	Total  int
	Errors fieldErrors
	Done   string
	// Addresses of the stored page, for the edit form.
	PublicURL, JSONURL, BadgeURL string
}

// statusFormRow is one monitor in the form's list: ticked when it is on
// the page, with its position, display name and section.
type statusFormRow struct {
	ID          int64
	Name        string
	Tags        []string
	Look        statusLook
	Checked     bool
	Position    string
	DisplayName string
	Section     string
	// Errors beside the row's inputs.
	PositionError, NameError, SectionError, Error string
}

var statusPageLabels = map[string]string{"title": "Title", "slug": "Address", "description": "Description", "monitors": "Monitors"}

// allMonitors reads every monitor for the choice list. Installations have
// hundreds, rarely thousands; one page of 10,000 covers them.
func (h *statusPages) allMonitors(r *http.Request) ([]monitor.WithStatus, error) {
	ms, _, err := h.s.opts.Monitors.List(r.Context(), monitor.ListFilter{Limit: 10000})
	return ms, err
}

// buildRows lists the page's monitors first, in page order, then every
// other monitor by name; posted, when the form was sent, holds what it said.
func buildRows(ms []monitor.WithStatus, p statuspage.Page, posted map[int64]statusFormRow) []statusFormRow {
	onPage := map[int64]statuspage.Entry{}
	for _, e := range p.Monitors {
		onPage[e.MonitorID] = e
	}
	rows := make([]statusFormRow, 0, len(ms))
	for _, m := range ms {
		row := statusFormRow{ID: m.ID, Name: m.Name, Tags: m.Tags, Look: lookOfState(m.Status.State)}
		if e, ok := onPage[m.ID]; ok {
			row.Checked, row.Position, row.DisplayName, row.Section = true, strconv.Itoa(e.Position), e.DisplayName, e.Section
		}
		if posted != nil {
			pr := posted[m.ID]
			row.Checked, row.Position, row.DisplayName, row.Section = pr.Checked, pr.Position, pr.DisplayName, pr.Section
		}
		rows = append(rows, row)
	}
	pos := func(r statusFormRow) int {
		if e, ok := onPage[r.ID]; ok {
			return e.Position
		}
		return statuspage.MaxPosition + 1
	}
	slices.SortStableFunc(rows, func(a, b statusFormRow) int {
		return cmp.Or(cmp.Compare(pos(a), pos(b)), cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	return rows
}

// filterRows keeps the ticked rows and the others matching q by name or
// tag, and returns how many it hid.
func filterRows(rows []statusFormRow, q string) ([]statusFormRow, int) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return rows, 0
	}
	out := rows[:0:0]
	for _, r := range rows {
		if r.Checked || strings.Contains(strings.ToLower(r.Name), q) || slices.ContainsFunc(r.Tags, func(t string) bool { return strings.Contains(t, q) }) {
			out = append(out, r)
		}
	}
	return out, len(rows) - len(out)
}

func (h *statusPages) renderForm(w http.ResponseWriter, r *http.Request, status int, f statusPageForm) {
	if f.Errors == nil {
		f.Errors = fieldErrors{}
	}
	f.Total = len(f.Rows)
	f.Rows, f.Hidden = filterRows(f.Rows, f.Q)
	title := "New status page"
	if f.Page.ID != 0 {
		title = f.Page.Title
		f.PublicURL = h.s.externalURL(r, "/status/"+f.Page.Slug)
		f.JSONURL, f.BadgeURL = f.PublicURL+".json", f.PublicURL+"/badge.svg"
	}
	f.Title, f.Slug, f.Description, f.Q = echo(f.Title), echo(f.Slug), echo(f.Description), echo(f.Q)
	h.s.render(w, r, status, "status_page_form", h.s.newView(r, title, "status-pages", f))
}

// newPage shows the empty form. A new page is public: showing services to
// people without an opsdeck account is what status pages are for.
func (h *statusPages) newPage(w http.ResponseWriter, r *http.Request) {
	ms, err := h.allMonitors(r)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.renderForm(w, r, http.StatusOK, statusPageForm{Public: true, Rows: buildRows(ms, statuspage.Page{}, nil), Q: r.URL.Query().Get("q")})
}

// loadStatusPage reads the page named by the path, answering 404 itself.
func (h *statusPages) loadStatusPage(w http.ResponseWriter, r *http.Request) (statuspage.Page, bool) {
	id, err := pathID(r)
	if err != nil {
		h.s.renderError(w, r, http.StatusNotFound, "there is no such status page")
		return statuspage.Page{}, false
	}
	p, err := h.pages.Get(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.s.renderError(w, r, http.StatusNotFound, "there is no such status page")
		return p, false
	case err != nil:
		h.s.serverError(w, r, SurfaceUI, err)
		return p, false
	}
	return p, true
}

func (h *statusPages) editPage(w http.ResponseWriter, r *http.Request) {
	p, ok := h.loadStatusPage(w, r)
	if !ok {
		return
	}
	ms, err := h.allMonitors(r)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.renderForm(w, r, http.StatusOK, statusPageForm{Page: p, Title: p.Title, Slug: p.Slug, Description: p.Description, Public: p.Public,
		Rows: buildRows(ms, p, nil), Q: r.URL.Query().Get("q"), Done: statusDone[r.URL.Query().Get("done")]})
}

// readForm reads the submitted form into f and the page input, checking
// every field so one answer lists every mistake. Monitors named in the
// form but deleted meanwhile are left out.
func (h *statusPages) readForm(r *http.Request, f *statusPageForm, ms []monitor.WithStatus) (statuspage.Input, []int64) {
	f.Title = strings.TrimSpace(r.PostFormValue("title"))
	f.Slug = strings.TrimSpace(r.PostFormValue("slug"))
	f.Description = strings.TrimSpace(r.PostFormValue("description"))
	f.Public = r.PostFormValue("public") != ""
	f.Q = r.PostFormValue("q")
	f.Errors = fieldErrors{}
	checked := map[string]bool{}
	for _, v := range r.PostForm["m"] {
		checked[v] = true
	}
	posted := map[int64]statusFormRow{}
	for _, m := range ms {
		id := strconv.FormatInt(m.ID, 10)
		posted[m.ID] = statusFormRow{Checked: checked[id], Position: strings.TrimSpace(r.PostFormValue("pos_" + id)),
			DisplayName: strings.TrimSpace(r.PostFormValue("name_" + id)), Section: strings.TrimSpace(r.PostFormValue("section_" + id))}
	}
	f.Rows = buildRows(ms, f.Page, posted)

	if f.Slug == "" {
		f.Slug = statuspage.Slugify(f.Title)
	}
	checkText(f.Errors, "title", "Title", f.Title, true, statuspage.MaxTitle)
	if err := statuspage.ValidSlug("slug", f.Slug); err != nil {
		formError(err, f.Errors, statusPageLabels)
	}
	checkText(f.Errors, "description", "Description", f.Description, false, statuspage.MaxDescription)

	in := statuspage.Input{Title: f.Title, Slug: f.Slug, Description: f.Description, Public: f.Public, Monitors: []statuspage.EntryInput{}}
	var order []int64
	last := 0
	var unplaced []int
	for i := range f.Rows {
		row := &f.Rows[i]
		if !row.Checked {
			continue
		}
		e := statuspage.EntryInput{MonitorID: row.ID, DisplayName: row.DisplayName, Section: row.Section}
		if row.Position != "" {
			n, err := strconv.Atoi(row.Position)
			if err != nil || n < 0 || n > statuspage.MaxPosition {
				row.PositionError = fmt.Sprintf("Position must be a whole number from 0 to %d.", statuspage.MaxPosition)
			} else {
				e.Position = &n
				last = max(last, n)
			}
		}
		if err := valid.Text("display_name", row.DisplayName, false, statuspage.MaxDisplayName, false); err != nil {
			ve, _ := valid.As(err)
			row.NameError = "Display name " + ve.Msg + "."
		}
		if err := valid.Text("section", row.Section, false, statuspage.MaxSection, false); err != nil {
			ve, _ := valid.As(err)
			row.SectionError = "Section " + ve.Msg + "."
		}
		if row.PositionError+row.NameError+row.SectionError != "" {
			f.Errors["monitors"] = "Some monitors need your attention; see the messages in the list."
		}
		if e.Position == nil {
			unplaced = append(unplaced, len(in.Monitors))
		}
		in.Monitors = append(in.Monitors, e)
		order = append(order, row.ID)
	}
	// Monitors ticked without a position go to the end, in list order.
	for _, i := range unplaced {
		last++
		p := last
		in.Monitors[i].Position = &p
	}
	return in, order
}

// explain puts a domain error beside the field or monitor row it names.
func explain(err error, f *statusPageForm, order []int64) bool {
	ve, ok := valid.As(err)
	if !ok {
		return formError(err, f.Errors, statusPageLabels)
	}
	var i int
	var field string
	if n, _ := fmt.Sscanf(ve.Field, "monitors[%d].%s", &i, &field); n == 2 && i >= 0 && i < len(order) {
		for k := range f.Rows {
			if f.Rows[k].ID != order[i] {
				continue
			}
			msg := sentence(ve.Msg)
			switch field {
			case "display_name":
				f.Rows[k].NameError = "Display name " + ve.Msg + "."
			case "section":
				f.Rows[k].SectionError = "Section " + ve.Msg + "."
			case "position":
				f.Rows[k].PositionError = "Position " + ve.Msg + "."
			default:
				f.Rows[k].Error = msg
			}
		}
		f.Errors["monitors"] = "Some monitors need your attention; see the messages in the list."
		return true
	}
	return formError(err, f.Errors, statusPageLabels)
}

// save handles both forms: "Filter" shows the list again with the form as
// sent (nothing is lost, nothing saved); "Save" validates and stores.
func (h *statusPages) save(w http.ResponseWriter, r *http.Request, p statuspage.Page) {
	ms, err := h.allMonitors(r)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	f := statusPageForm{Page: p}
	in, order := h.readForm(r, &f, ms)
	if r.PostFormValue("action") == "filter" {
		f.Errors = fieldErrors{}
		for i := range f.Rows {
			f.Rows[i].PositionError, f.Rows[i].NameError, f.Rows[i].SectionError = "", "", ""
		}
		h.renderForm(w, r, http.StatusOK, f)
		return
	}
	if len(f.Errors) == 0 {
		var saved statuspage.Page
		if p.ID == 0 {
			saved, err = h.pages.Create(r.Context(), in)
		} else {
			saved, err = h.pages.Update(r.Context(), p.ID, in)
		}
		switch {
		case err == nil:
			h.cache.clear()
			done := "saved"
			if p.ID == 0 {
				done = "created"
			}
			http.Redirect(w, r, "/status-pages/"+strconv.FormatInt(saved.ID, 10)+"?done="+done, http.StatusSeeOther)
			return
		case errors.Is(err, store.ErrNotFound) && p.ID != 0:
			h.s.renderError(w, r, http.StatusNotFound, "there is no such status page")
			return
		case !explain(err, &f, order):
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	for i := range f.Rows {
		row := &f.Rows[i]
		row.Position, row.DisplayName, row.Section = echo(row.Position), echo(row.DisplayName), echo(row.Section)
	}
	h.renderForm(w, r, http.StatusUnprocessableEntity, f)
}

func (h *statusPages) create(w http.ResponseWriter, r *http.Request) {
	h.save(w, r, statuspage.Page{})
}

func (h *statusPages) update(w http.ResponseWriter, r *http.Request) {
	p, ok := h.loadStatusPage(w, r)
	if !ok {
		return
	}
	h.save(w, r, p)
}

// remove deletes a page; the form asks once before (data-confirm).
func (h *statusPages) remove(w http.ResponseWriter, r *http.Request) {
	p, ok := h.loadStatusPage(w, r)
	if !ok {
		return
	}
	if err := h.pages.Delete(r.Context(), p.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.cache.clear()
	http.Redirect(w, r, "/status-pages?done=deleted", http.StatusSeeOther)
}
