package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Heartbeat is a push monitor: a cron job or a backup script pings its URL
// when it runs, and the monitor goes down when a ping is missing, reports a
// failure, or a started run does not finish within the grace time.
type Heartbeat struct {
	// Period is how often pings are expected ("1h"), or Cron with Timezone
	// says when ("0 3 * * *" in "Europe/Berlin"); exactly one of them.
	Period   time.Duration
	Cron     string
	Timezone string
	// Grace is how late a ping may be before the monitor goes down, and how
	// long a started run may take.
	Grace time.Duration

	schedule cron.Schedule
	loc      *time.Location
}

// heartbeatSettings is the JSON form of Heartbeat's settings.
type heartbeatSettings struct {
	Period   string `json:"period"`
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
	Grace    string `json:"grace"`
}

// NewHeartbeat reads and validates heartbeat settings.
func NewHeartbeat(raw json.RawMessage) (*Heartbeat, error) {
	var in heartbeatSettings
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return nil, valid.Errorf(f, "is not a heartbeat setting (period, cron, timezone, grace)")
		}
		return nil, valid.Errorf("period", "heartbeat settings are not valid: %v", err)
	}
	h := &Heartbeat{Cron: strings.TrimSpace(in.Cron), Timezone: in.Timezone, Grace: 5 * time.Minute, loc: time.UTC}
	if in.Grace != "" {
		d, err := time.ParseDuration(in.Grace)
		if err != nil || d < time.Second || d > 7*24*time.Hour {
			return nil, valid.Errorf("grace", "must be a duration from 1s to 7 days, such as \"5m\"")
		}
		h.Grace = d
	}
	switch {
	case in.Period != "" && h.Cron != "":
		return nil, valid.Errorf("cron", "give either period or cron, not both")
	case in.Period != "":
		d, err := time.ParseDuration(in.Period)
		if err != nil || d < time.Minute || d > 366*24*time.Hour {
			return nil, valid.Errorf("period", "must be a duration from 1m to 366 days, such as \"1h\" or \"24h\"")
		}
		h.Period = d
	case h.Cron != "":
		sched, loc, err := ParseCron(h.Cron, in.Timezone)
		if err != nil {
			return nil, err
		}
		h.schedule, h.loc = sched, loc
	default:
		return nil, valid.Errorf("period", "give period (\"1h\") or cron (\"0 3 * * *\")")
	}
	if in.Timezone != "" && h.Cron == "" {
		return nil, valid.Errorf("timezone", "only applies to a cron schedule")
	}
	return h, nil
}

// ParseCron parses a five-field cron expression (or @hourly, @daily, …) in
// an IANA time zone (default UTC). Errors name the field.
func ParseCron(expr, tz string) (cron.Schedule, *time.Location, error) {
	if len(expr) > 200 {
		return nil, nil, valid.Errorf("cron", "is too long")
	}
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || len(tz) > 64 || strings.ContainsAny(tz, " \t\n") {
			return nil, nil, valid.Errorf("timezone", "%q is not an IANA time zone such as \"Europe/Berlin\"", tz)
		}
		loc = l
	}
	if strings.Contains(expr, "TZ=") {
		return nil, nil, valid.Errorf("cron", "set the time zone with the timezone field, not TZ=")
	}
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, nil, valid.Errorf("cron", "%v", err)
	}
	// A schedule that never fires (e.g. 30 February) would never expect a
	// ping; refuse it rather than watch nothing.
	if next := sched.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, loc)); next.IsZero() {
		return nil, nil, valid.Errorf("cron", "never fires")
	}
	return sched, loc, nil
}

// Target describes the schedule for lists.
func (h *Heartbeat) Target() string {
	if h.Cron != "" {
		tz := h.Timezone
		if tz == "" {
			tz = "UTC"
		}
		return fmt.Sprintf("cron %s (%s), grace %s", h.Cron, tz, h.Grace)
	}
	return fmt.Sprintf("every %s, grace %s", h.Period, h.Grace)
}

// Probe cannot judge a heartbeat on its own: pings arrive over HTTP and the
// monitor service evaluates them. "Test now" shows this message.
func (h *Heartbeat) Probe(ctx context.Context) probe.Result {
	return probe.Result{Status: probe.StatusUnknown, Message: "a heartbeat is checked by the pings it receives; send one to its ping URL"}
}

var _ probe.Check = (*Heartbeat)(nil)

// beatState is what a heartbeat monitor has heard.
type beatState struct {
	lastSuccess time.Time
	lastFail    time.Time
	failCode    *int
	// open are runs that started and have not finished, by run id ("" for
	// pings without ?rid=); bounded so a job that never finishes cannot
	// grow it.
	open map[string]time.Time
}

// evaluate judges a heartbeat at now. since is when watching began (the
// monitor's creation), used before the first ping.
func (h *Heartbeat) evaluate(st *beatState, since, now time.Time) probe.Result {
	up := func(msg string) probe.Result { return probe.Result{Status: probe.StatusUp, Message: msg} }
	down := func(format string, a ...any) probe.Result {
		return probe.Result{Status: probe.StatusDown, Message: fmt.Sprintf(format, a...)}
	}
	if st.lastFail.After(st.lastSuccess) {
		if st.failCode != nil {
			return down("the job reported failure (exit code %d) at %s", *st.failCode, fmtTime(st.lastFail))
		}
		return down("the job reported failure at %s", fmtTime(st.lastFail))
	}
	for rid, started := range st.open {
		if now.Sub(started) > h.Grace {
			run := "a run"
			if rid != "" {
				run = "run " + rid
			}
			return down("%s started at %s and did not finish within %s", run, fmtTime(started), h.Grace)
		}
	}
	base := since
	if !st.lastSuccess.IsZero() {
		base = st.lastSuccess
	}
	if h.Period > 0 {
		if due := base.Add(h.Period); now.After(due.Add(h.Grace)) {
			return down("no ping since %s; expected every %s (grace %s)", lastSeen(st), h.Period, h.Grace)
		}
	} else {
		due := h.schedule.Next(base.In(h.loc))
		if !due.IsZero() && now.After(due.Add(h.Grace)) {
			return down("the run due at %s did not ping (grace %s); last ping %s", fmtTime(due), h.Grace, lastSeen(st))
		}
	}
	if st.lastSuccess.IsZero() {
		return up("waiting for the first ping")
	}
	return up("last ping " + fmtTime(st.lastSuccess))
}

func lastSeen(st *beatState) string {
	if st.lastSuccess.IsZero() {
		return "never"
	}
	return fmtTime(st.lastSuccess)
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
