package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// option is one choice of a select.
type option struct {
	Value, Label string
}

// ciListPage is the data of the CI list.
type ciListPage struct {
	Rows                                  []cmdb.CI
	TypeNames                             map[string]string
	Types                                 []option
	Environments, Statuses, Criticalities []option
	Sorts                                 []option
	Q, Type, Env, Status, Crit, Tag, Sort string
	Filtered, CanEdit                     bool
	Selects                               []selectFilter
	Errors                                fieldErrors
	FirstURL, NextURL                     string
	Total                                 int64
}

func options[T ~string](vs []T) []option {
	out := make([]option, len(vs))
	for i, v := range vs {
		out[i] = option{string(v), strings.ToUpper(string(v[:1])) + string(v[1:])}
	}
	return out
}

// selectFilter is one select of the list's filters.
type selectFilter struct {
	Name, Label, Value string
	Options            []option
}

// listPage lists CIs with filters, sort and cursor in the URL.
func (h *cmdbHandlers) listPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	types, err := h.c.Types(ctx)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	q := r.URL.Query()
	pg := ciListPage{TypeNames: map[string]string{}, Environments: options(cmdb.Environments()), Statuses: options(cmdb.Statuses()),
		Criticalities: options(cmdb.Criticalities()), CanEdit: canOperate(r), Errors: fieldErrors{},
		Q: echo(q.Get("q")), Type: echo(q.Get("type")), Env: echo(q.Get("environment")), Status: echo(q.Get("status")),
		Crit: echo(q.Get("criticality")), Tag: echo(q.Get("tag")), Sort: echo(q.Get("sort")),
		Sorts: []option{{"name", "Name A–Z"}, {"-name", "Name Z–A"}, {"-updated", "Recently changed"}, {"updated", "Least recently changed"}}}
	for _, t := range types {
		pg.Types = append(pg.Types, option{t.Key, t.Name})
		pg.TypeNames[t.Key] = t.Name
	}
	pg.Selects = []selectFilter{{"type", "Type", pg.Type, pg.Types}, {"environment", "Environment", pg.Env, pg.Environments},
		{"status", "Status", pg.Status, pg.Statuses}, {"criticality", "Criticality", pg.Crit, pg.Criticalities}}
	pg.Filtered = pg.Q != "" || pg.Type != "" || pg.Env != "" || pg.Status != "" || pg.Crit != "" || pg.Tag != ""
	if pg.Total, err = h.c.Count(ctx); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	f, err := ciFilter(r)
	if err == nil {
		f.Limit = 50
		var next int64
		if pg.Rows, next, err = h.c.List(ctx, f); err == nil && next != 0 {
			nq := r.URL.Query()
			nq.Set("cursor", encodeCursor(next))
			pg.NextURL = "/cis?" + nq.Encode()
		}
	}
	status := http.StatusOK
	if err != nil {
		if !formError(err, pg.Errors, map[string]string{"q": "Search", "type": "Type", "environment": "Environment", "status": "Status",
			"criticality": "Criticality", "tag": "Tag", "sort": "Sort", "cursor": "The page link"}) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		status = http.StatusUnprocessableEntity
	}
	if f.After != 0 {
		fq := r.URL.Query()
		fq.Del("cursor")
		pg.FirstURL = "/cis"
		if len(fq) > 0 {
			pg.FirstURL += "?" + fq.Encode()
		}
	}
	h.s.render(w, r, status, "cis", h.s.newView(r, "Configuration items", "cis", pg))
}

// relRow is one relationship seen from the CI whose page shows it.
type relRow struct {
	ID    int64
	Label string
	Peer  cmdb.CIRef
}

// ciMonitorLink is a monitor linked to the CI, with its state.
type ciMonitorLink struct {
	LinkID int64
	ID     int64
	Name   string
	State  stateView
	Gone   bool
}

// ciPage is the data of a CI's page.
type ciPage struct {
	CI       cmdb.CI
	Type     cmdb.CIType
	Attrs    []fact
	Out, In  []relRow
	RelTypes []cmdb.RelationshipType
	Graph    template.HTML
	Depth    int
	Depths   []rangeLink
	// Impact is the list below the graph, in the direction asked.
	Impact         cmdb.ImpactResult
	ImpactUp       bool
	UpURL, DownURL string
	History        []cmdb.Change
	OlderHistory   string
	Monitors       []ciMonitorLink
	Assets         []assets.Asset
	MonitorChoices []option
	CanEdit        bool
	Errors         fieldErrors
	// The add-relationship form as submitted.
	RelType, RelDir, Peer, MonitorID string
}

func (h *cmdbHandlers) loadCI(w http.ResponseWriter, r *http.Request) (cmdb.CI, bool) {
	id, err := pathID(r)
	if err != nil {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such configuration item.")
		return cmdb.CI{}, false
	}
	c, err := h.c.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such configuration item; it may have been deleted.")
		return c, false
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return c, false
	}
	return c, true
}

func (h *cmdbHandlers) detailPage(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadCI(w, r)
	if !ok {
		return
	}
	h.renderDetail(w, r, c, http.StatusOK, fieldErrors{}, nil)
}

// renderDetail draws a CI's page; form holds a refused add-relationship or
// link form to show again with its errors.
func (h *cmdbHandlers) renderDetail(w http.ResponseWriter, r *http.Request, c cmdb.CI, status int, errs fieldErrors, form url.Values) {
	ctx := r.Context()
	q := r.URL.Query()
	pg := ciPage{CI: c, CanEdit: canOperate(r), Errors: errs, Depth: 2, RelDir: "out", RelType: "depends_on"}
	if form != nil {
		pg.RelType, pg.RelDir, pg.Peer, pg.MonitorID = echo(form.Get("type")), echo(form.Get("direction")), echo(form.Get("peer")), echo(form.Get("monitor_id"))
	}
	fail := func(err error) { h.s.serverError(w, r, SurfaceUI, err) }
	var err error
	if pg.Type, err = h.c.Type(ctx, c.TypeID); err != nil {
		fail(err)
		return
	}
	for _, a := range pg.Type.Attributes {
		if v, ok := c.Attributes[a.Key]; ok {
			pg.Attrs = append(pg.Attrs, fact{Label: a.Label, Value: a.Text(v)})
		}
	}
	rels, err := h.c.Relationships(ctx, c.ID)
	if err != nil {
		fail(err)
		return
	}
	for _, rel := range rels {
		if rel.Source.ID == c.ID {
			pg.Out = append(pg.Out, relRow{ID: rel.ID, Label: rel.Name, Peer: rel.Target})
		} else {
			pg.In = append(pg.In, relRow{ID: rel.ID, Label: rel.ReverseName, Peer: rel.Source})
		}
	}
	if pg.RelTypes, err = h.c.RelationshipTypes(ctx); err != nil {
		fail(err)
		return
	}
	if d, err := strconv.Atoi(q.Get("depth")); err == nil && d >= 1 && d <= graphMaxRows {
		pg.Depth = d
	}
	for d := 1; d <= graphMaxRows; d++ {
		pg.Depths = append(pg.Depths, rangeLink{Label: strconv.Itoa(d), Href: "/cis/" + strconv.FormatInt(c.ID, 10) + "?depth=" + strconv.Itoa(d) + "#graph", Current: d == pg.Depth})
	}
	up, err := h.c.Impact(ctx, c.ID, cmdb.Upstream, pg.Depth)
	if err != nil {
		fail(err)
		return
	}
	down, err := h.c.Impact(ctx, c.ID, cmdb.Downstream, pg.Depth)
	if err != nil {
		fail(err)
		return
	}
	root := cmdb.CIRef{ID: c.ID, Name: c.Name, Type: c.Type, Service: pg.Type.Service}
	pg.Graph = dependencyGraph(root, up, down)
	dir := cmdb.Upstream
	if q.Get("direction") == string(cmdb.Downstream) {
		dir = cmdb.Downstream
	}
	pg.ImpactUp = dir == cmdb.Upstream
	if pg.Impact, err = h.c.Impact(ctx, c.ID, dir, 0); err != nil {
		fail(err)
		return
	}
	base := "/cis/" + strconv.FormatInt(c.ID, 10)
	pg.UpURL, pg.DownURL = base+"?direction=upstream#impact", base+"?direction=downstream#impact"

	before, _ := decodeCursor(q.Get("history"))
	var next int64
	if pg.History, next, err = h.c.History(ctx, c.ID, before, 20); err != nil {
		fail(err)
		return
	}
	if next != 0 {
		pg.OlderHistory = base + "?history=" + url.QueryEscape(encodeCursor(next)) + "#history"
	}
	if err := h.monitorsOf(r, &pg); err != nil {
		fail(err)
		return
	}
	if pg.Assets, err = h.s.assetsOfCI(r, c.ID); err != nil {
		fail(err)
		return
	}
	h.s.render(w, r, status, "ci", h.s.newView(r, c.Name, "cis", pg))
}

// monitorsOf fills the CI page's linked monitors with their current state,
// and the monitors an operator may link.
func (h *cmdbHandlers) monitorsOf(r *http.Request, pg *ciPage) error {
	ctx := r.Context()
	links, err := h.c.Links(ctx, pg.CI.ID)
	if err != nil {
		return err
	}
	mons := h.s.opts.Monitors
	linked := map[int64]bool{}
	for _, l := range links {
		if l.Kind != cmdb.LinkMonitor {
			continue
		}
		linked[l.ObjectID] = true
		ml := ciMonitorLink{LinkID: l.ID, ID: l.ObjectID, Name: "monitor #" + strconv.FormatInt(l.ObjectID, 10), Gone: true}
		if mons != nil {
			m, err := mons.Get(ctx, l.ObjectID)
			switch {
			case err == nil:
				ml.Name, ml.State, ml.Gone = m.Name, stateOf(m.Status.State), false
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		pg.Monitors = append(pg.Monitors, ml)
	}
	if mons != nil && pg.CanEdit {
		ms, _, err := mons.List(ctx, monitor.ListFilter{Limit: 1000})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if !linked[m.ID] {
				pg.MonitorChoices = append(pg.MonitorChoices, option{strconv.FormatInt(m.ID, 10), m.Name})
			}
		}
	}
	return nil
}
