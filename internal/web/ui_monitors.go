package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// monitorsPerPage bounds the list: the rows' uptime bars and sparklines are
// read for the rows shown only, so a page costs the same with 10 monitors
// or 10,000.
const monitorsPerPage = 100

// monitorsPage is the data of the monitor list.
type monitorsPage struct {
	Rows                []monitorRow
	Q, Tag, State, Type string
	States              []stateView
	Types               []typeChoice
	Errors              fieldErrors
	// Filtered is set when a filter hides monitors, so an empty result
	// says "no match" rather than "no monitors".
	Filtered bool
	// Summary counts every monitor by state, each linking to its filter.
	Summary []stateCount
	Total   int
	// NextURL pages on; FirstURL returns to the first page of the same
	// filters. Both are empty when there is nowhere to go.
	NextURL, FirstURL string
	CanEdit           bool
}

// monitorRow is one line of the list.
type monitorRow struct {
	ID                  int64
	Name, Target        string
	Type                string
	Tags                []string
	State               stateView
	LastCheck           *time.Time
	LastMessage         string
	Latency             string
	Uptime24, UptimeCls string
	Bar, Spark          template.HTML
}

// stateCount is one state's share of all monitors.
type stateCount struct {
	State stateView
	N     int
	Href  string
}

// typeChoice is a check type as forms and filters offer it.
type typeChoice struct {
	Value, Label, Help string
}

// monitorsPage lists monitors, filtered by the query string (q, tag, state,
// type) and paged with a cursor, so a view can be bookmarked and shared.
func (s *Server) monitorsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg := monitorsPage{Q: echo(q.Get("q")), Tag: echo(q.Get("tag")), State: q.Get("state"), Type: q.Get("type"),
		Errors: fieldErrors{}, CanEdit: canOperate(r)}
	for _, st := range monitorStates {
		pg.States = append(pg.States, stateOf(st))
	}
	for _, t := range monitorTypes() {
		pg.Types = append(pg.Types, typeChoice{Value: t, Label: typeLabel(t)})
	}
	f := monitor.ListFilter{Query: q.Get("q"), Tag: strings.ToLower(strings.TrimSpace(q.Get("tag"))), Limit: monitorsPerPage}
	for _, p := range []struct{ field, label, v string }{{"q", "Search", f.Query}, {"tag", "Tag", f.Tag}} {
		if err := valid.Text(p.field, p.v, false, 200, false); err != nil {
			ve, _ := valid.As(err)
			pg.Errors[p.field] = p.label + " " + ve.Msg + "."
		}
	}
	if pg.State != "" {
		if !slices.Contains(monitorStates, monitor.State(pg.State)) {
			pg.Errors["state"] = "Choose a state from the list."
			pg.State = ""
		}
		f.State = monitor.State(pg.State)
	}
	if pg.Type != "" {
		if !slices.Contains(monitorTypes(), pg.Type) {
			pg.Errors["type"] = "Choose a type from the list."
			pg.Type = ""
		}
		f.Type = pg.Type
	}
	var err error
	if f.After, err = decodeCursor(q.Get("cursor")); err != nil {
		pg.Errors[""] = "This page link is not valid any more; start again from the first page."
	}
	pg.Filtered = pg.Q != "" || pg.Tag != "" || pg.State != "" || pg.Type != ""
	counts, err := s.opts.Monitors.StateCounts(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, st := range monitorStates {
		if n := counts[st]; n > 0 {
			pg.Total += n
			pg.Summary = append(pg.Summary, stateCount{State: stateOf(st), N: n, Href: "/monitors?state=" + string(st)})
		}
	}
	if len(pg.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "monitors", s.newView(r, "Monitors", "monitors", pg))
		return
	}
	ms, next, err := s.opts.Monitors.List(r.Context(), f)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if pg.Rows, err = s.monitorRows(r, ms); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if next != 0 {
		pg.NextURL = monitorsURL(q, encodeCursor(next))
	}
	if q.Get("cursor") != "" {
		pg.FirstURL = monitorsURL(q, "")
	}
	s.render(w, r, http.StatusOK, "monitors", s.newView(r, "Monitors", "monitors", pg))
}

// monitorRows reads the uptime bars, 24-hour uptimes and sparklines of the
// monitors on a page, each kind in one batched read, all at once.
func (s *Server) monitorRows(r *http.Request, ms []monitor.WithStatus) ([]monitorRow, error) {
	ctx := r.Context()
	now := time.Now().UTC()
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	// The 90-day bars are most of the page's work (24 hourly rollups per
	// monitor and day), so they are read in two halves beside the other
	// reads; on SQLite each read has a connection of its own.
	var (
		wg          sync.WaitGroup
		daily, more map[int64][]monitor.Uptime
		day         map[int64]monitor.Uptime
		lat         map[int64][]monitor.Point
		errs        [4]error
		mons        = s.opts.Monitors
		dayAgo      = now.Add(-24 * time.Hour)
		half        = (len(ids) + 1) / 2
	)
	if len(ids) > 0 {
		wg.Go(func() { daily, errs[0] = mons.DailyUptimeMany(ctx, ids[:half], 90, now) })
		wg.Go(func() { more, errs[1] = mons.DailyUptimeMany(ctx, ids[half:], 90, now) })
		wg.Go(func() { day, errs[2] = mons.UptimeMany(ctx, ids, dayAgo, now) })
		wg.Go(func() { lat, errs[3] = mons.HourlyLatencyMany(ctx, ids, dayAgo, now) })
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for id, d := range more {
		daily[id] = d
	}
	rows := make([]monitorRow, len(ms))
	for i, m := range ms {
		u := day[m.ID]
		rows[i] = monitorRow{
			ID: m.ID, Name: m.Name, Target: monitorTarget(m.Monitor), Type: typeLabel(m.Type), Tags: m.Tags,
			State: stateOf(m.Status.State), LastCheck: m.Status.LastCheckAt, LastMessage: m.Status.LastMessage,
			Uptime24: percentText(u), UptimeCls: uptimeClass(u.Percent),
			Bar: UptimeBar(daily[m.ID]), Spark: Sparkline(lat[m.ID]),
		}
		if m.Status.LastCheckAt != nil {
			rows[i].Latency = formatMeasure(m.Status.LastLatencyMS, "ms")
		}
	}
	return rows, nil
}

// monitorsURL is the list with the same filters at another cursor.
func monitorsURL(q url.Values, cursor string) string {
	out := url.Values{}
	for _, k := range []string{"q", "tag", "state", "type"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	if cursor != "" {
		out.Set("cursor", cursor)
	}
	if len(out) == 0 {
		return "/monitors"
	}
	return "/monitors?" + out.Encode()
}
