package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// monitorPage is the data of a monitor's page.
type monitorPage struct {
	M         monitor.WithStatus
	State     stateView
	TypeLabel string
	Target    string
	Interval  string
	// LastResult is the newest check's own verdict.
	LastResult stateView
	// Verdict is what the checks say when it differs from the state shown
	// (during maintenance).
	Verdict *stateView
	// Facts are the common settings, Settings the check type's own.
	Facts, Settings []fact
	Windows         []uptimeWindow
	Bar             template.HTML
	BarFrom         string
	// Chart is drawn twice, for wide and for narrow screens; CSS shows one.
	Chart, ChartNarrow template.HTML
	Range              string
	Ranges             []rangeLink
	LatencySummary     []fact
	Events             []eventRow
	OlderEvents        string
	NewestEvents       string
	Results            []resultView
	CanEdit            bool
	// Maintenance lists the windows covering the monitor, open or to come;
	// InMaintenance is the one keeping it in maintenance now.
	Maintenance   []coveringWindow
	InMaintenance *coveringWindow
	// Heartbeat is set for heartbeat monitors: where and how to ping.
	Heartbeat *heartbeatView
	// CIs are the configuration items the monitor is linked to and the
	// business services they hurt; nil without a CMDB.
	CIs *linkedView
}

// heartbeatView is what a heartbeat monitor's page shows about its pings.
type heartbeatView struct {
	PingURL  string
	Examples []fact
	Pings    []pingRow
}

// pingRow is one received ping.
type pingRow struct {
	At                                 time.Time
	Kind                               stateView
	ExitCode, RunID, Source, FirstLine string
}

// pingsShown is how many of the latest pings a heartbeat's page lists.
const pingsShown = 20

// fact is one labelled value.
type fact struct {
	Label, Value string
	Mono         bool
}

// uptimeWindow is the uptime over one standard window.
type uptimeWindow struct {
	Label, Percent, Class string
	Checks, Down          int64
	// ChecksText and DownText are the counts written out.
	ChecksText, DownText string
}

// rangeLink is one choice of the latency chart's range.
type rangeLink struct {
	Label, Href string
	Current     bool
}

// eventRow is one state change.
type eventRow struct {
	At       time.Time
	From, To stateView
	Message  string
}

// resultView is one check result.
type resultView struct {
	At      time.Time
	Status  stateView
	Latency string
	Message string
}

// chartRanges are the latency chart's ranges: minute points for a day,
// hourly ones beyond.
var chartRanges = []struct {
	key, label string
	d          time.Duration
}{{"24h", "24 hours", 24 * time.Hour}, {"7d", "7 days", 7 * 24 * time.Hour}, {"30d", "30 days", 30 * 24 * time.Hour}}

const eventsPerPage = 20

// loadMonitor reads the monitor named by the path, answering 404 itself
// when the id is malformed or unknown.
func (s *Server) loadMonitor(w http.ResponseWriter, r *http.Request) (monitor.WithStatus, bool) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such monitor")
		return monitor.WithStatus{}, false
	}
	m, err := s.opts.Monitors.Get(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "there is no such monitor; it may have been deleted")
		return monitor.WithStatus{}, false
	case err != nil:
		s.serverError(w, r, SurfaceUI, err)
		return monitor.WithStatus{}, false
	}
	return m, true
}

// monitorPage shows one monitor: its state and since when, its settings,
// uptime over the standard windows and per day, latency over a chosen
// range (?range=24h|7d|30d), its state changes (paged with ?events=) and
// its latest results.
func (s *Server) monitorPage(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMonitor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	now := time.Now().UTC()
	mons := s.opts.Monitors
	pg := monitorPage{M: m, State: stateOf(m.Status.State), TypeLabel: typeLabel(m.Type), Target: monitorTarget(m.Monitor), CanEdit: canOperate(r),
		Interval: shortDuration(m.Interval), LastResult: checkStatusOf(m.Status.LastResult)}
	if v := m.Status.Verdict; v != "" && v != m.Status.State && m.Status.State == monitor.StateMaintenance {
		sv := stateOf(v)
		pg.Verdict = &sv
	}
	pg.Facts = monitorFacts(m)
	pg.Settings = settingFacts(m)

	for _, wd := range []struct {
		label string
		d     time.Duration
	}{{"24 hours", 24 * time.Hour}, {"7 days", 7 * 24 * time.Hour}, {"30 days", 30 * 24 * time.Hour}, {"90 days", 90 * 24 * time.Hour}} {
		u, err := mons.Uptime(ctx, m.ID, now.Add(-wd.d), now)
		if err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		pg.Windows = append(pg.Windows, uptimeWindow{Label: wd.label, Percent: percentText(u), Class: uptimeClass(u.Percent),
			Checks: u.Total, Down: u.Down, ChecksText: countText(u.Total), DownText: countText(u.Down)})
	}
	days, err := mons.DailyUptime(ctx, m.ID, 90, now)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.Bar = UptimeBar(days)
	if len(days) > 0 {
		pg.BarFrom = days[0].From.Format("Jan 2")
	}

	rng := chartRanges[0]
	for _, c := range chartRanges {
		if q.Get("range") == c.key {
			rng = c
		}
	}
	pg.Range = rng.label
	for _, c := range chartRanges {
		lq := url.Values{}
		if c.key != chartRanges[0].key {
			lq.Set("range", c.key)
		}
		href := monitorURL(m.ID)
		if len(lq) > 0 {
			href += "?" + lq.Encode()
		}
		pg.Ranges = append(pg.Ranges, rangeLink{Label: c.key, Href: href + "#latency", Current: c.key == rng.key})
	}
	from := now.Add(-rng.d)
	pts, err := mons.Latency(ctx, m.ID, from, now)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.Chart, pg.ChartNarrow, pg.LatencySummary = latencyCharts(pts, from, now, rng.label)

	before, err := decodeCursor(q.Get("events"))
	if err != nil {
		before = 0
	}
	evs, next, err := mons.Events(ctx, m.ID, before, eventsPerPage)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, e := range evs {
		pg.Events = append(pg.Events, eventRow{At: e.At, From: stateOf(e.From), To: stateOf(e.To), Message: e.Message})
	}
	if next != 0 {
		pg.OlderEvents = monitorURL(m.ID) + "?events=" + url.QueryEscape(encodeCursor(next)) + "#history"
	}
	if before != 0 {
		pg.NewestEvents = monitorURL(m.ID) + "#history"
	}
	res, err := mons.Results(ctx, m.ID, now.Add(time.Minute), 50)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, x := range res {
		pg.Results = append(pg.Results, resultView{At: x.At, Status: checkStatusOf(x.Status), Latency: formatMeasure(x.LatencyMS, "ms"), Message: x.Message})
	}
	if pg.Maintenance, pg.InMaintenance, err = s.monitorWindows(r, m, now); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if m.Type == monitor.TypeHeartbeat {
		if pg.Heartbeat, err = s.heartbeatOf(r, m.ID); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	if pg.CIs, err = s.monitorCIs(r, m.ID); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, http.StatusOK, "monitor", s.newView(r, m.Name, "monitors", pg))
}

// heartbeatOf reads a heartbeat monitor's ping URL and latest pings, and
// writes the curl lines a job needs, ready to paste.
func (s *Server) heartbeatOf(r *http.Request, id int64) (*heartbeatView, error) {
	key, err := s.opts.Monitors.PingKey(r.Context(), id)
	if err != nil {
		return nil, err
	}
	u := s.externalURL(r, "/ping/"+key)
	hv := &heartbeatView{PingURL: u, Examples: []fact{
		{Label: "The job succeeded", Value: "curl -fsS -m 10 --retry 3 " + u},
		{Label: "The job started", Value: "curl -fsS -m 10 --retry 3 " + u + "/start"},
		{Label: "The job failed", Value: "curl -fsS -m 10 --retry 3 " + u + "/fail"},
		{Label: "Report the exit code (0 is success)", Value: "/usr/local/bin/backup.sh; curl -fsS -m 10 --retry 3 " + u + "/$?"},
		{Label: "Exit code and the log's tail", Value: `out=$(/usr/local/bin/backup.sh 2>&1); curl -fsS -m 10 --retry 3 --data-raw "$out" ` + u + "/$?"},
	}}
	ps, err := s.opts.Monitors.Pings(r.Context(), id, pingsShown)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		row := pingRow{At: p.At, Kind: pingKindOf(p.Kind), RunID: echo(p.RunID), Source: echo(p.SourceAddr), FirstLine: firstLine(p.Body, 200)}
		if p.ExitCode != nil {
			row.ExitCode = strconv.Itoa(*p.ExitCode)
		}
		hv.Pings = append(hv.Pings, row)
	}
	return hv, nil
}

// pingKindOf is the look of a ping's kind: a word and a mark with the colour.
func pingKindOf(k monitor.PingKind) stateView {
	switch k {
	case monitor.PingSuccess:
		return stateView{string(k), "Success", "ok", "●"}
	case monitor.PingStart:
		return stateView{string(k), "Start", "info", "▶"}
	case monitor.PingFail:
		return stateView{string(k), "Fail", "down", "▼"}
	}
	return stateView{"unknown", "Unknown", "off", "?"}
}

// firstLine is the first line of a ping's body, cut to limit characters,
// with what a job may send that a page should not carry replaced.
func firstLine(body string, limit int) string {
	line, _, _ := strings.Cut(body, "\n")
	line = echo(strings.TrimRight(line, "\r"))
	if utf8.RuneCountInString(line) > limit {
		line = string([]rune(line)[:limit]) + "…"
	}
	return line
}

// latencyCharts draws the average and p95 latency of a range, wide and
// narrow, and sums the range up in words.
func latencyCharts(pts []monitor.Point, from, to time.Time, rangeLabel string) (wide, narrow template.HTML, summary []fact) {
	avg := ChartSeries{Name: "average", Class: "series-avg"}
	p95 := ChartSeries{Name: "p95", Class: "series-p95"}
	var n int64
	var sum, hi float64
	for _, p := range pts {
		avg.Points = append(avg.Points, ChartPoint{At: p.At, Value: p.AvgMS})
		p95.Points = append(p95.Points, ChartPoint{At: p.At, Value: p.P95MS})
		n += p.Count
		sum += p.AvgMS * float64(p.Count)
		hi = max(hi, p.MaxMS)
	}
	label := "Latency over the last " + rangeLabel + ": no checks yet"
	if n > 0 {
		label = "Latency over the last " + rangeLabel + ": average " + formatMeasure(sum/float64(n), "ms") + ", highest " + formatMeasure(hi, "ms")
		summary = []fact{{Label: "Average", Value: formatMeasure(sum/float64(n), "ms")}, {Label: "Highest", Value: formatMeasure(hi, "ms")}}
	}
	// p95 first, so the average is drawn over it.
	series := []ChartSeries{p95, avg}
	wide = LineChart(series, LineChartOptions{Width: 880, Height: 240, From: from, To: to, Unit: "ms", Label: label})
	narrow = LineChart(series, LineChartOptions{Width: 360, Height: 220, From: from, To: to, Unit: "ms", Label: label})
	return wide, narrow, summary
}

// monitorFacts are the settings every monitor has.
func monitorFacts(m monitor.WithStatus) []fact {
	fs := []fact{
		{Label: "Type", Value: typeTitle(m.Type)},
		{Label: "Checked every", Value: shortDuration(m.Interval)},
		{Label: "Timeout", Value: shortDuration(m.Timeout)},
		{Label: "Down after", Value: plural(m.FailureThreshold, "failed check", "failed checks") + " in a row"},
		{Label: "Up after", Value: plural(m.SuccessThreshold, "good check", "good checks") + " in a row"},
	}
	if m.Source != "" && m.Source != "api" {
		fs = append(fs, fact{Label: "Managed by", Value: m.Source})
	}
	fs = append(fs, fact{Label: "Added", Value: m.CreatedAt.UTC().Format("2006-01-02 15:04Z")})
	return fs
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
