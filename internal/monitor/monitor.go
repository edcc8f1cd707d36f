// Package monitor keeps the monitors: their definitions, the scheduler that
// runs their checks, the state machine that turns check results into states
// without flapping, the stored results and their rollups, and uptime.
package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// State is a monitor's current condition.
type State string

// The states of a monitor. Unknown is also the state of a new monitor before
// its first verdict.
const (
	StateUp          State = "up"
	StateDegraded    State = "degraded"
	StateDown        State = "down"
	StateUnknown     State = "unknown"
	StatePaused      State = "paused"
	StateMaintenance State = "maintenance"
)

// Monitor is one thing opsdeck checks.
type Monitor struct {
	ID               int64           `json:"id"`
	Name             string          `json:"name"`
	Type             string          `json:"type"`
	Settings         json.RawMessage `json:"settings"`
	Description      string          `json:"description"`
	Tags             []string        `json:"tags"`
	Interval         time.Duration   `json:"-"`
	Timeout          time.Duration   `json:"-"`
	FailureThreshold int             `json:"failure_threshold"`
	SuccessThreshold int             `json:"success_threshold"`
	Paused           bool            `json:"paused"`
	Source           string          `json:"source"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
}

// Defaults applied to new monitors.
const (
	DefaultInterval         = 60 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
	MinInterval             = time.Second
	MaxInterval             = 24 * time.Hour
)

// commonKeys are the fields every monitor has; every other key of a
// definition belongs to its check type.
var commonKeys = []string{"name", "type", "description", "tags", "interval", "timeout", "failure_threshold", "success_threshold", "paused"}

// CheckFactory builds a check of a type from its settings, validating them.
type CheckFactory func(typ string, settings json.RawMessage) (probe.Check, error)

// Definition is a monitor as written by a user (API body, YAML entry): the
// common fields and the check type's own fields side by side, as in
// {"name":"web","type":"http","url":"https://…","interval":"30s"}.
type Definition map[string]json.RawMessage

// Parse validates a definition and returns the monitor it describes (ID,
// times and source unset) and its check. Errors name the field.
func Parse(def Definition, checks CheckFactory) (Monitor, probe.Check, error) {
	m := Monitor{Interval: DefaultInterval, FailureThreshold: DefaultFailureThreshold, SuccessThreshold: DefaultSuccessThreshold, Tags: []string{}}
	if err := decodeField(def, "name", &m.Name); err != nil {
		return m, nil, err
	}
	if err := valid.Text("name", m.Name, true, 200, false); err != nil {
		return m, nil, err
	}
	m.Name = strings.TrimSpace(m.Name)
	if err := decodeField(def, "type", &m.Type); err != nil {
		return m, nil, err
	}
	if m.Type == "" {
		return m, nil, valid.Errorf("type", "is required")
	}
	if err := decodeField(def, "description", &m.Description); err != nil {
		return m, nil, err
	}
	if err := valid.Text("description", m.Description, false, 2000, true); err != nil {
		return m, nil, err
	}
	if err := decodeField(def, "tags", &m.Tags); err != nil {
		return m, nil, err
	}
	tags, err := normalizeTags(m.Tags)
	if err != nil {
		return m, nil, err
	}
	m.Tags = tags
	if m.Interval, err = durationField(def, "interval", DefaultInterval); err != nil {
		return m, nil, err
	}
	if m.Interval < MinInterval || m.Interval > MaxInterval {
		return m, nil, valid.Errorf("interval", "must be between 1s and 24h")
	}
	if m.Timeout, err = durationField(def, "timeout", min(DefaultTimeout, m.Interval)); err != nil {
		return m, nil, err
	}
	if m.Timeout < 100*time.Millisecond || m.Timeout > m.Interval {
		return m, nil, valid.Errorf("timeout", "must be between 100ms and the interval (%s)", m.Interval)
	}
	if err := decodeField(def, "failure_threshold", &m.FailureThreshold); err != nil {
		return m, nil, err
	}
	if err := decodeField(def, "success_threshold", &m.SuccessThreshold); err != nil {
		return m, nil, err
	}
	for _, th := range []struct {
		name string
		v    int
	}{{"failure_threshold", m.FailureThreshold}, {"success_threshold", m.SuccessThreshold}} {
		if th.v < 1 || th.v > 100 {
			return m, nil, valid.Errorf(th.name, "must be from 1 to 100")
		}
	}
	if err := decodeField(def, "paused", &m.Paused); err != nil {
		return m, nil, err
	}
	settings := map[string]json.RawMessage{}
	for k, v := range def {
		if !slices.Contains(commonKeys, k) {
			settings[k] = v
		}
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return m, nil, fmt.Errorf("monitor: settings: %w", err)
	}
	check, err := buildCheck(checks, m.Type, raw)
	if err != nil {
		return m, nil, err
	}
	if _, given := def["failure_threshold"]; !given && m.Type == TypeHeartbeat {
		// A missed heartbeat is already a failure over a whole period.
		m.FailureThreshold = 1
	}
	m.Settings = raw
	return m, check, nil
}

func decodeField(def Definition, key string, dst any) error {
	raw, ok := def[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return valid.Errorf(key, "has the wrong type (%s)", jsonTypeName(dst))
	}
	return nil
}

func jsonTypeName(dst any) string {
	switch dst.(type) {
	case *string:
		return "want a string"
	case *int:
		return "want a whole number"
	case *bool:
		return "want true or false"
	case *[]string:
		return "want a list of strings"
	}
	return "unexpected value"
}

// durationField reads "30s"-style strings or a number of seconds.
func durationField(def Definition, key string, def0 time.Duration) (time.Duration, error) {
	raw, ok := def[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return def0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, valid.Errorf(key, "is not a duration such as \"30s\" or \"5m\"")
		}
		return d, nil
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil || secs < 0 || secs > 86400*7 {
		return 0, valid.Errorf(key, "is not a duration such as \"30s\" or a number of seconds")
	}
	return time.Duration(secs * float64(time.Second)), nil
}

func normalizeTags(in []string) ([]string, error) {
	out := []string{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if err := valid.Text("tags", t, false, 64, false); err != nil {
			return nil, err
		}
		if strings.ContainsAny(t, ", ") {
			return nil, valid.Errorf("tags", "%q: tags cannot contain commas or spaces", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > 32 {
		return nil, valid.Errorf("tags", "at most 32 tags")
	}
	slices.Sort(out)
	return out, nil
}

// Definition returns the monitor as a definition again (the shape the API
// takes and returns), so a GET body can be edited and PUT back.
func (m Monitor) Definition() Definition {
	def := Definition{}
	var settings map[string]json.RawMessage
	_ = json.Unmarshal(m.Settings, &settings)
	for k, v := range settings {
		def[k] = v
	}
	put := func(k string, v any) { b, _ := json.Marshal(v); def[k] = b }
	put("name", m.Name)
	put("type", m.Type)
	put("description", m.Description)
	put("tags", m.Tags)
	put("interval", m.Interval.String())
	put("timeout", m.Timeout.String())
	put("failure_threshold", m.FailureThreshold)
	put("success_threshold", m.SuccessThreshold)
	put("paused", m.Paused)
	return def
}

// TypeHeartbeat is the push check type, handled by this package itself
// because its verdict comes from pings, not from a probe.
const TypeHeartbeat = "heartbeat"

func buildCheck(checks CheckFactory, typ string, raw json.RawMessage) (probe.Check, error) {
	if typ == TypeHeartbeat {
		return wrapHeartbeat(NewHeartbeat(raw))
	}
	return checks(typ, raw)
}

func wrapHeartbeat(h *Heartbeat, err error) (probe.Check, error) {
	if err != nil {
		return nil, err
	}
	return h, nil
}
