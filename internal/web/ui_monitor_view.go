package web

import (
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/fleet"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/monitor/probe"
)

// stateView is how a monitor state looks everywhere in the UI: a word, a
// colour and a mark, so the state never rests on colour alone.
type stateView struct {
	Key, Label, Class, Mark string
}

// monitorStates lists the states in the order overviews show them: what
// needs attention first.
var monitorStates = []monitor.State{monitor.StateDown, monitor.StateDegraded, monitor.StateUnknown, monitor.StateUp, monitor.StateMaintenance, monitor.StatePaused}

func stateOf(s monitor.State) stateView {
	switch s {
	case monitor.StateUp:
		return stateView{string(s), "Up", "ok", "●"}
	case monitor.StateDegraded:
		return stateView{string(s), "Degraded", "warn", "▲"}
	case monitor.StateDown:
		return stateView{string(s), "Down", "down", "▼"}
	case monitor.StatePaused:
		return stateView{string(s), "Paused", "off", "‖"}
	case monitor.StateMaintenance:
		return stateView{string(s), "Maintenance", "info", "◆"}
	}
	return stateView{string(monitor.StateUnknown), "Unknown", "off", "?"}
}

// Badge is the state as inline HTML; every part is a constant of stateOf.
func (v stateView) Badge() template.HTML {
	return template.HTML(`<span class="status status-` + v.Class + `"><span class="status-mark" aria-hidden="true">` + v.Mark + `</span> ` + v.Label + `</span>`) //nolint:gosec // constants only
}

// checkStatusOf is the look of one check result (up, degraded, down,
// unknown), which shares the states' words and marks.
func checkStatusOf(s string) stateView { return stateOf(monitor.State(s)) }

// typeLabels name the check types in the UI.
var typeLabels = map[string]string{
	"http": "HTTP", "tcp": "TCP", "tls": "TLS", "nagios": "Nagios",
	"dns": "DNS", "ping": "Ping", "snmp": "SNMP", "heartbeat": "Heartbeat", fleet.CheckType: "Agent metric",
}

// typeTitles are the longer names the form's type choice uses.
var typeTitles = map[string]string{"tls": "TLS certificate", "nagios": "Nagios plugin"}

func typeTitle(t string) string {
	if l, ok := typeTitles[t]; ok {
		return l
	}
	return typeLabel(t)
}

func typeLabel(t string) string {
	if l, ok := typeLabels[t]; ok {
		return l
	}
	return strings.ToUpper(t)
}

// monitorTypes are the check types a monitor can have: those of the probe
// registry and the heartbeat the monitor package runs itself.
func monitorTypes() []string {
	ts := slices.Clone(probe.Types())
	if !slices.Contains(ts, monitor.TypeHeartbeat) {
		ts = append(ts, monitor.TypeHeartbeat)
	}
	return append(ts, fleet.CheckType)
}

// monitorTarget says what a monitor checks, for lists: read from its stored
// settings rather than by building its check, which for some types reads
// files.
func monitorTarget(m monitor.Monitor) string {
	var s map[string]any
	if json.Unmarshal(m.Settings, &s) != nil {
		return ""
	}
	str := func(k string) string { v, _ := s[k].(string); return v }
	port := func() string {
		if p, ok := s["port"].(float64); ok && p > 0 {
			return strconv.Itoa(int(p))
		}
		return ""
	}
	switch {
	case m.Type == fleet.CheckType:
		return agentMetricTarget(s)
	case str("url") != "":
		return str("url")
	case str("command") != "":
		out := str("command")
		if args, ok := s["args"].([]any); ok {
			for _, a := range args {
				if as, ok := a.(string); ok {
					out += " " + as
				}
			}
		}
		return out
	case str("host") != "":
		h := str("host")
		p := port()
		if p == "" && m.Type == "tls" {
			p = "443"
		}
		if p == "" {
			return h
		}
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		return h + ":" + p
	case str("cron") != "":
		return "cron " + str("cron")
	case str("period") != "":
		return "every " + str("period")
	}
	for _, k := range []string{"query", "name", "target", "address"} {
		if v := str(k); v != "" {
			return v
		}
	}
	return ""
}

// shortDuration writes a duration as people type it: "1m" rather than
// "1m0s", "1h30m" rather than "1h30m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// countText writes a count with thousands separators: 129,600.
func countText(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// percentText shows an uptime that may have no checks.
func percentText(u monitor.Uptime) string {
	if u.Percent == nil {
		return "—"
	}
	return uptimePercent(*u.Percent)
}

// canOperate reports whether the caller may change monitors, to show or
// hide the buttons that do (the routes check the role again).
func canOperate(r *http.Request) bool {
	return auth.ActorFrom(r.Context()).Role.Allows(auth.RoleOperator)
}

// monitorURL is the detail page of a monitor.
func monitorURL(id int64) string { return "/monitors/" + strconv.FormatInt(id, 10) }
