package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// fleetNotices are the fleet pages' confirmations (?notice=CODE).
var fleetNotices = map[string]string{
	"agent-revoked":       "The agent was revoked: its reports are refused until it enrolls again with a new token. Its host, history and metrics stay.",
	"agent-token-revoked": "The enrollment token was revoked; it can no longer enroll a host.",
}

// agentStateView is how the fleet pages show an agent's state: a word
// and a mark, never colour alone.
func agentStateView(state string) stateView {
	switch state {
	case "online":
		return stateView{state, "Online", "ok", "●"}
	case "stale":
		return stateView{state, "Stale", "warn", "▲"}
	case "offline":
		return stateView{state, "Offline", "down", "▼"}
	case "revoked":
		return stateView{state, "Revoked", "off", "‖"}
	}
	return stateView{state, "Never reported", "off", "?"}
}

// agentRow is one row of the fleet list.
type agentRow struct {
	fleet.Agent
	StateView stateView
}

type fleetListPage struct {
	Rows              []agentRow
	Counts            []fact
	States            []option
	Q, State          string
	CanAdmin          bool
	Filtered          bool
	Total, AuthFailed int64
}

// listPage is the fleet: every agent with its state, filterable by host
// name and state in the URL.
func (h *fleetHandlers) listPage(w http.ResponseWriter, r *http.Request) {
	as, err := h.f.List(r.Context())
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	q := r.URL.Query()
	pg := fleetListPage{Q: echo(q.Get("q")), State: echo(q.Get("state")), CanAdmin: isAdmin(r), Total: int64(len(as)),
		AuthFailed: h.f.Stats().AuthFailures.Load()}
	pg.Filtered = pg.Q != "" || pg.State != ""
	counts := map[string]int{}
	needle := strings.ToLower(pg.Q)
	for _, a := range as {
		counts[a.State]++
		if needle != "" && !strings.Contains(strings.ToLower(a.Hostname), needle) || pg.State != "" && a.State != pg.State {
			continue
		}
		pg.Rows = append(pg.Rows, agentRow{Agent: a, StateView: agentStateView(a.State)})
	}
	for _, s := range []string{"online", "stale", "offline", "never", "revoked"} {
		pg.States = append(pg.States, option{s, agentStateView(s).Label})
		if counts[s] > 0 {
			pg.Counts = append(pg.Counts, fact{Label: agentStateView(s).Label, Value: strconv.Itoa(counts[s])})
		}
	}
	h.s.render(w, r, http.StatusOK, "agents", h.s.newView(r, "Agents", "agents", pg))
}

// metricChart is one chart of the agent page.
type metricChart struct {
	Title   string
	Wide    template.HTML
	Legend  []legendEntry
	Summary string
}

type legendEntry struct{ Class, Name string }

// chartGroups are the agent page's charts: a title, a unit and the metric
// names drawn together.
var chartGroups = []struct {
	title, unit string
	names       []string
}{
	{"CPU (%)", "%", []string{"cpu.used_pct", "cpu.iowait_pct"}},
	{"Memory and swap (%)", "%", []string{"mem.used_pct", "swap.used_pct"}},
	{"Load", "", []string{"load.1", "load.5", "load.15"}},
	{"Disk use (%)", "%", []string{"disk.used_pct"}},
	{"Disk I/O (bytes/s)", "B/s", []string{"diskio.read_bps", "diskio.write_bps"}},
	{"Network (bytes/s)", "B/s", []string{"net.rx_bps", "net.tx_bps"}},
	{"Agent (RSS bytes)", "B", []string{"agent.rss_bytes"}},
}

// chartsOf draws the chart groups from an agent's series.
func chartsOf(ms []fleet.Series, from, to time.Time) []metricChart {
	var out []metricChart
	for _, g := range chartGroups {
		var series []ChartSeries
		var legend []legendEntry
		for _, m := range ms {
			if !containsStr(g.names, m.Name) {
				continue
			}
			cls := "series-" + strconv.Itoa(len(series)%6+1)
			cs := ChartSeries{Name: m.Label(), Class: cls}
			for _, p := range m.Points {
				cs.Points = append(cs.Points, ChartPoint{At: p.At, Value: p.Value})
			}
			series = append(series, cs)
			legend = append(legend, legendEntry{cls, m.Label()})
		}
		if len(series) == 0 {
			continue
		}
		var last []string
		for _, s := range series {
			if n := len(s.Points); n > 0 {
				last = append(last, s.Name+" "+formatMeasure(s.Points[n-1].Value, g.unit))
			}
		}
		label := g.title + ", latest: " + strings.Join(last, ", ")
		out = append(out, metricChart{Title: g.title, Legend: legend, Summary: strings.Join(last, " · "),
			Wide: LineChart(series, LineChartOptions{Width: 880, Height: 220, From: from, To: to, Unit: g.unit, Label: label})})
	}
	return out
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

type agentPage struct {
	Agent     fleet.Agent
	StateView stateView
	Facts     []fact
	Charts    []metricChart
	Ranges    []option
	Range     string
	Packages  []wire.Package
	PkgQ      string
	PkgCapped bool
	Updates   []wire.Update
	Files     []fleet.FileChange
	CanAdmin  bool
}

// detailPage is one agent: facts, metric charts, software with search,
// pending updates, configuration drift with diffs, and revoke.
func (h *fleetHandlers) detailPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such agent.")
		return
	}
	ctx := r.Context()
	a, err := h.f.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such agent.")
		return
	} else if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	q := r.URL.Query()
	pg := agentPage{Agent: a, StateView: agentStateView(a.State), CanAdmin: isAdmin(r), Range: "6h", PkgQ: echo(q.Get("q")),
		Ranges: []option{{"1h", "1 hour"}, {"6h", "6 hours"}, {"24h", "24 hours"}, {"7d", "7 days"}, {"30d", "30 days"}}}
	if v := q.Get("range"); v != "" {
		for _, o := range pg.Ranges {
			if o.Value == v {
				pg.Range = v
			}
		}
	}
	d, _ := parseTTL(pg.Range)
	to := time.Now().UTC()
	from := to.Add(-d)
	ms, err := h.f.Metrics(ctx, a.ID, "", from, to)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.Charts = chartsOf(ms, from, to)
	if valid.Text("q", pg.PkgQ, false, 200, false) != nil {
		pg.PkgQ = ""
	}
	if pg.Packages, err = h.f.Packages(ctx, a.ID, pg.PkgQ, 501); err == nil {
		if len(pg.Packages) > 500 {
			pg.Packages, pg.PkgCapped = pg.Packages[:500], true
		}
		if pg.Updates, err = h.f.Updates(ctx, a.ID); err == nil {
			pg.Files, err = h.f.FileChanges(ctx, a.ID, 100, true)
		}
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.Facts = agentFacts(a)
	h.s.render(w, r, http.StatusOK, "agent", h.s.newView(r, a.Hostname, "agents", pg))
}

// agentFacts are the facts an agent reported, as label and value.
func agentFacts(a fleet.Agent) []fact {
	fs := []fact{{Label: "Agent version", Value: a.AgentVersion}, {Label: "Machine id", Value: a.MachineID},
		{Label: "Last address", Value: a.LastAddr}, {Label: "Last seq", Value: strconv.FormatInt(a.LastSeq, 10)}}
	f := a.Facts
	if f == nil {
		return fs
	}
	gib := func(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB" }
	fs = append(fs, fact{Label: "FQDN", Value: f.FQDN}, fact{Label: "Operating system", Value: a.OS}, fact{Label: "Kernel", Value: f.Kernel},
		fact{Label: "Architecture", Value: f.Arch}, fact{Label: "CPU", Value: f.CPU.Model + " (" + strconv.Itoa(f.CPU.Cores) + " cores, " + strconv.Itoa(f.CPU.Threads) + " threads)"},
		fact{Label: "Memory", Value: gib(f.MemoryBytes)}, fact{Label: "Swap", Value: gib(f.SwapBytes)},
		fact{Label: "Up since", Value: f.BootTime.UTC().Format("2006-01-02 15:04 UTC")},
		fact{Label: "Vendor / model", Value: strings.TrimSpace(f.Vendor + " " + f.Model)}, fact{Label: "Serial", Value: f.Serial})
	for _, d := range f.Disks {
		fs = append(fs, fact{Label: "Disk " + d.Device, Value: strings.TrimSpace(d.Model + " " + gib(d.SizeBytes))})
	}
	for _, m := range f.Filesystems {
		fs = append(fs, fact{Label: "File system " + m.Mount, Value: m.Device + " " + m.FSType + " " + gib(m.SizeBytes)})
	}
	for _, n := range f.Interfaces {
		fs = append(fs, fact{Label: "Interface " + n.Name, Value: strings.TrimSpace(n.MAC + " " + strings.Join(n.Addrs, ", "))})
	}
	return fs
}

func (h *fleetHandlers) revoke(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = h.f.Revoke(r.Context(), id)
	}
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such active agent.")
		return
	} else if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/agents/"+strconv.FormatInt(id, 10)+"?notice=agent-revoked", http.StatusSeeOther)
}

type agentTokensPage struct {
	Tokens   []fleet.EnrollToken
	Errors   fieldErrors
	TTL      string
	Note     string
	Created  string // the raw token, shown once
	Command  string
	Record   *fleet.EnrollToken
	TTLHints []option
}

func (h *fleetHandlers) renderTokens(w http.ResponseWriter, r *http.Request, status int, pg agentTokensPage) {
	ts, err := h.f.Tokens(r.Context())
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.Tokens = ts
	if pg.Errors == nil {
		pg.Errors = fieldErrors{}
	}
	if pg.TTL == "" {
		pg.TTL = "24h"
	}
	w.Header().Set("Cache-Control", "no-store")
	h.s.render(w, r, status, "agent_tokens", h.s.newView(r, "Agent enrollment tokens", "agents", pg))
}

// tokensPage lists enrollment tokens with a form for a new one.
func (h *fleetHandlers) tokensPage(w http.ResponseWriter, r *http.Request) {
	h.renderTokens(w, r, http.StatusOK, agentTokensPage{})
}

// createToken makes a token and shows it once with the enroll command.
func (h *fleetHandlers) createToken(w http.ResponseWriter, r *http.Request) {
	pg := agentTokensPage{TTL: echo(r.PostFormValue("ttl")), Note: echo(r.PostFormValue("note")), Errors: fieldErrors{}}
	ttl, err := parseTTL(pg.TTL)
	if err == nil {
		var raw string
		var rec fleet.EnrollToken
		raw, rec, err = h.f.CreateToken(r.Context(), ttl, strings.TrimSpace(pg.Note))
		if err == nil {
			pg.Created, pg.Command, pg.Record, pg.Note = raw, h.enrollCommand(r, raw), &rec, ""
			h.renderTokens(w, r, http.StatusCreated, pg)
			return
		}
	}
	if formError(err, pg.Errors, map[string]string{"ttl": "Valid for", "note": "Note"}) {
		h.renderTokens(w, r, http.StatusUnprocessableEntity, pg)
		return
	}
	h.s.serverError(w, r, SurfaceUI, err)
}

func (h *fleetHandlers) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = h.f.RevokeToken(r.Context(), id)
	}
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such unused token.")
		return
	} else if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/agent-tokens?notice=agent-token-revoked", http.StatusSeeOther)
}
