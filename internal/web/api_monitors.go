package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// monitorRoutes is the monitoring API: reading needs viewer, changing needs
// operator.
func (s *Server) monitorRoutes() []Route {
	if s.opts.Monitors == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	return []Route{
		api("GET", "/api/v1/monitors", auth.RoleViewer, s.apiListMonitors),
		api("POST", "/api/v1/monitors", auth.RoleOperator, s.apiCreateMonitor),
		api("POST", "/api/v1/monitors/test", auth.RoleOperator, s.apiTestMonitor),
		api("GET", "/api/v1/monitors/{id}", auth.RoleViewer, s.apiGetMonitor),
		api("PUT", "/api/v1/monitors/{id}", auth.RoleOperator, s.apiReplaceMonitor),
		api("PATCH", "/api/v1/monitors/{id}", auth.RoleOperator, s.apiPatchMonitor),
		api("DELETE", "/api/v1/monitors/{id}", auth.RoleOperator, s.apiDeleteMonitor),
		api("POST", "/api/v1/monitors/{id}/pause", auth.RoleOperator, s.apiPauseMonitor(true)),
		api("POST", "/api/v1/monitors/{id}/resume", auth.RoleOperator, s.apiPauseMonitor(false)),
		api("GET", "/api/v1/monitors/{id}/uptime", auth.RoleViewer, s.apiMonitorUptime),
		api("GET", "/api/v1/monitors/{id}/results", auth.RoleViewer, s.apiMonitorResults),
		api("GET", "/api/v1/monitors/{id}/events", auth.RoleViewer, s.apiMonitorEvents),
		api("GET", "/api/v1/monitors/{id}/latency", auth.RoleViewer, s.apiMonitorLatency),
		api("GET", "/api/v1/monitors/{id}/pings", auth.RoleViewer, s.apiMonitorPings),
		api("GET", "/api/v1/monitors/{id}/metrics", auth.RoleViewer, s.apiMonitorMetrics),
	}
}

// monitorView is a monitor as the API shows it: its definition (the shape
// POST and PUT take) plus id, status and times.
type monitorView struct {
	ID         int64              `json:"id"`
	Definition monitor.Definition `json:"definition"`
	Source     string             `json:"source"`
	// PingURL is a heartbeat monitor's ping address.
	PingURL   string         `json:"ping_url,omitempty"`
	Status    monitor.Status `json:"status"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

func viewMonitor(w monitor.WithStatus) monitorView {
	return monitorView{ID: w.ID, Definition: w.Definition(), Source: w.Source, Status: w.Status, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// viewMonitorFor is viewMonitor with credentials hidden from callers below
// operator.
func viewMonitorFor(r *http.Request, w monitor.WithStatus) monitorView {
	v := viewMonitor(w)
	v.Definition = redactDefinition(auth.ActorFrom(r.Context()).Role, v.Definition)
	return v
}

// withPingURL adds a heartbeat monitor's ping URL, absolute with the base
// URL when one is configured, else from the request's host.
func (s *Server) withPingURL(r *http.Request, v monitorView) monitorView {
	if v.Definition == nil || string(v.Definition["type"]) != `"`+monitor.TypeHeartbeat+`"` {
		return v
	}
	key, err := s.opts.Monitors.PingKey(r.Context(), v.ID)
	if err != nil {
		return v
	}
	v.PingURL = s.externalURL(r, "/ping/"+key)
	return v
}

// externalURL makes an absolute URL for path on this server.
func (s *Server) externalURL(r *http.Request, path string) string {
	if s.opts.BaseURL != "" {
		return strings.TrimSuffix(s.opts.BaseURL, "/") + path
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

func (s *Server) apiListMonitors(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := monitor.ListFilter{Tag: q.Get("tag"), State: monitor.State(q.Get("state")), Type: q.Get("type"), Query: q.Get("q")}
	var err error
	if f.After, err = decodeCursor(q.Get("cursor")); err != nil {
		s.apiFail(w, r, err)
		return
	}
	if f.Limit, err = queryLimit(r, 100, 1000); err != nil {
		s.apiFail(w, r, err)
		return
	}
	for _, p := range []struct{ name, v string }{{"tag", f.Tag}, {"state", string(f.State)}, {"type", f.Type}, {"q", f.Query}} {
		if err := valid.Text(p.name, p.v, false, 200, false); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	ms, next, err := s.opts.Monitors.List(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := make([]monitorView, len(ms))
	for i, m := range ms {
		out[i] = viewMonitorFor(r, m)
	}
	writeJSON(w, http.StatusOK, page[monitorView]{Data: out, NextCursor: encodeCursor(next)})
}

// decodeDefinition reads a monitor definition: one JSON object whose keys
// the monitor and its check type validate (unknown ones are refused there).
func (s *Server) decodeDefinition(w http.ResponseWriter, r *http.Request) (monitor.Definition, bool) {
	var def monitor.Definition
	if !s.decodeJSON(w, r, &def) {
		return nil, false
	}
	if def == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "the body must be a JSON object", "")
		return nil, false
	}
	return def, true
}

func (s *Server) apiCreateMonitor(w http.ResponseWriter, r *http.Request) {
	def, ok := s.decodeDefinition(w, r)
	if !ok {
		return
	}
	m, err := s.opts.Monitors.Create(r.Context(), def)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/monitors/"+strconv.FormatInt(m.ID, 10))
	writeJSON(w, http.StatusCreated, s.withPingURL(r, viewMonitor(m)))
}

func (s *Server) apiGetMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	m, err := s.opts.Monitors.Get(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withPingURL(r, viewMonitorFor(r, m)))
}

func (s *Server) apiReplaceMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	def, ok := s.decodeDefinition(w, r)
	if !ok {
		return
	}
	m, err := s.opts.Monitors.Update(r.Context(), id, def)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewMonitor(m))
}

// apiPatchMonitor merges the given keys into the stored definition (a key
// set to null removes it, falling back to the default).
func (s *Server) apiPatchMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	patch, ok := s.decodeDefinition(w, r)
	if !ok {
		return
	}
	cur, err := s.opts.Monitors.Get(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	def := cur.Definition()
	for k, v := range patch {
		if string(v) == "null" {
			delete(def, k)
			continue
		}
		def[k] = v
	}
	m, err := s.opts.Monitors.Update(r.Context(), id, def)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewMonitor(m))
}

func (s *Server) apiDeleteMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.opts.Monitors.Delete(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiPauseMonitor(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		m, err := s.opts.Monitors.SetPaused(r.Context(), id, paused)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, viewMonitor(m))
	}
}

// testResult is the outcome of a "test now" run.
type testResult struct {
	Status    probe.Status   `json:"status"`
	LatencyMS float64        `json:"latency_ms"`
	Message   string         `json:"message"`
	Phases    map[string]any `json:"phases,omitempty"`
	Metrics   []probe.Metric `json:"metrics,omitempty"`
	Output    string         `json:"output,omitempty"`
}

func viewResult(res probe.Result) testResult {
	out := testResult{Status: res.Status, LatencyMS: ms(res.Latency), Message: res.Message, Metrics: res.Metrics, Output: res.Output}
	ph := map[string]any{}
	for k, d := range map[string]time.Duration{"dns_ms": res.Phases.DNS, "connect_ms": res.Phases.Connect, "tls_ms": res.Phases.TLS, "first_byte_ms": res.Phases.FirstByte} {
		if d > 0 {
			ph[k] = ms(d)
		}
	}
	if len(ph) > 0 {
		out.Phases = ph
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// apiTestMonitor runs an unsaved definition once; nothing is stored.
func (s *Server) apiTestMonitor(w http.ResponseWriter, r *http.Request) {
	def, ok := s.decodeDefinition(w, r)
	if !ok {
		return
	}
	_, res, err := s.opts.Monitors.TestNow(r.Context(), def)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewResult(res))
}

// rangeParams reads from/to (RFC 3339 or date); to defaults to now and from
// to `def` before it.
func rangeParams(r *http.Request, def time.Duration) (time.Time, time.Time, error) {
	q := r.URL.Query()
	to := time.Now().UTC()
	if v := q.Get("to"); v != "" {
		t, err := parseTimeParam(v)
		if err != nil {
			return time.Time{}, time.Time{}, valid.Errorf("to", "must be a date (2006-01-02) or an RFC 3339 time")
		}
		to = t
	}
	from := to.Add(-def)
	if v := q.Get("from"); v != "" {
		t, err := parseTimeParam(v)
		if err != nil {
			return time.Time{}, time.Time{}, valid.Errorf("from", "must be a date (2006-01-02) or an RFC 3339 time")
		}
		from = t
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, valid.Errorf("from", "must be before to")
	}
	if to.Sub(from) > 400*24*time.Hour {
		return time.Time{}, time.Time{}, valid.Errorf("from", "the range can be at most 400 days")
	}
	return from, to, nil
}

// apiMonitorUptime answers the standard windows (24h, 7d, 30d, 90d) and,
// with from/to, a custom range; with days=N, also one entry per day.
func (s *Server) apiMonitorUptime(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if _, err := s.opts.Monitors.Get(r.Context(), id); err != nil {
		s.apiFail(w, r, err)
		return
	}
	now := time.Now().UTC()
	out := map[string]any{}
	windows := map[string]monitor.Uptime{}
	for name, d := range map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour} {
		u, err := s.opts.Monitors.Uptime(r.Context(), id, now.Add(-d), now)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		windows[name] = u
	}
	out["windows"] = windows
	q := r.URL.Query()
	if q.Get("from") != "" || q.Get("to") != "" {
		from, to, err := rangeParams(r, 24*time.Hour)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		u, err := s.opts.Monitors.Uptime(r.Context(), id, from, to)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		out["range"] = u
	}
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 400 {
			s.apiFail(w, r, valid.Errorf("days", "must be a number from 1 to 400"))
			return
		}
		days, err := s.opts.Monitors.DailyUptime(r.Context(), id, n, now)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		out["days"] = days
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiMonitorResults(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	before := time.Now().UTC().Add(time.Minute)
	if v := r.URL.Query().Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.apiFail(w, r, valid.Errorf("before", "must be an RFC 3339 time"))
			return
		}
		before = t
	}
	limit, err := queryLimit(r, 100, 1000)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	res, err := s.opts.Monitors.Results(r.Context(), id, before, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var next string
	if len(res) == limit {
		next = res[len(res)-1].At.Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": res, "next_before": next})
}

func (s *Server) apiMonitorEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	before, err := decodeCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	limit, err := queryLimit(r, 50, 500)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	ev, next, err := s.opts.Monitors.Events(r.Context(), id, before, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[monitor.Event]{Data: ev, NextCursor: encodeCursor(next)})
}

func (s *Server) apiMonitorLatency(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	from, to, err := rangeParams(r, 24*time.Hour)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	pts, err := s.opts.Monitors.Latency(r.Context(), id, from, to)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "data": pts})
}

func (s *Server) apiMonitorPings(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	limit, err := queryLimit(r, 50, 500)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	ps, err := s.opts.Monitors.Pings(r.Context(), id, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ps})
}

// apiMonitorMetrics returns the numeric values checks reported (perfdata,
// HTTP status, certificate days…), one series per name.
func (s *Server) apiMonitorMetrics(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	from, to, err := rangeParams(r, 24*time.Hour)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	name := r.URL.Query().Get("name")
	if err := valid.Text("name", name, false, 200, false); err != nil {
		s.apiFail(w, r, err)
		return
	}
	series, err := s.opts.Monitors.Metrics(r.Context(), id, name, from, to)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "data": series})
}
