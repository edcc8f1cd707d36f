package incident

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Mapping says where a generic webhook's JSON keeps each part of an alert,
// as dot paths ("alert.title", "items.0.id"). Summary is required; without
// a dedup path the summary is the dedup key.
type Mapping struct {
	Summary  string `json:"summary"`
	DedupKey string `json:"dedup_key"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	Source   string `json:"source"`
	// Labels is an optional path to an object of string values, used by
	// grouping rules.
	Labels string `json:"labels"`
	// ResolveValues and AcknowledgeValues are status values (compared
	// without case) meaning resolve and acknowledge; any other triggers.
	ResolveValues     []string `json:"resolve_values"`
	AcknowledgeValues []string `json:"acknowledge_values"`
}

// DefaultResolveValues are the status words taken as resolve when a mapping
// names none.
var DefaultResolveValues = []string{"resolved", "resolve", "ok", "closed", "recovered", "up"}

func (m *Mapping) normalize() error {
	if m.Summary == "" {
		m.Summary = "summary"
	}
	for _, p := range []struct{ field, path string }{{"mapping.summary", m.Summary}, {"mapping.dedup_key", m.DedupKey},
		{"mapping.severity", m.Severity}, {"mapping.status", m.Status}, {"mapping.source", m.Source}, {"mapping.labels", m.Labels}} {
		if err := validPath(p.field, p.path); err != nil {
			return err
		}
	}
	if len(m.ResolveValues) == 0 {
		m.ResolveValues = DefaultResolveValues
	}
	for _, vs := range [][]string{m.ResolveValues, m.AcknowledgeValues} {
		if len(vs) > 20 {
			return valid.Errorf("mapping", "at most 20 status values each")
		}
		for _, v := range vs {
			if err := valid.Text("mapping", v, true, 50, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func validPath(field, p string) error {
	if p == "" {
		return nil
	}
	if err := valid.Text(field, p, false, 200, false); err != nil {
		return err
	}
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			return valid.Errorf(field, "is not a dot path such as alert.title (empty part)")
		}
	}
	return nil
}

// ParseGeneric reads one JSON object and picks an event out of it with m.
func ParseGeneric(body []byte, m Mapping) (Event, error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return Event{}, &InvalidEvent{Message: "Event object is invalid", Errors: []string{jsonProblem(err)}}
	}
	if dec.More() {
		return Event{}, &InvalidEvent{Message: "Event object is invalid", Errors: []string{"the body must hold exactly one JSON object"}}
	}
	if _, ok := doc.(map[string]any); !ok {
		return Event{}, &InvalidEvent{Message: "Event object is invalid", Errors: []string{"the body must be a JSON object"}}
	}
	summaryPath := m.Summary
	if summaryPath == "" {
		summaryPath = "summary"
	}
	var errs []string
	ev := Event{Action: ActionTrigger, Severity: SeverityWarning}
	ev.Summary = clip(cleanLine(textAt(doc, summaryPath)), maxSummary)
	if ev.Summary == "" {
		errs = append(errs, fmt.Sprintf("'%s' (the summary) is missing or blank", summaryPath))
	}
	ev.DedupKey = textAt(doc, m.DedupKey)
	if m.DedupKey == "" || ev.DedupKey == "" {
		ev.DedupKey = ev.Summary
	}
	if len(ev.DedupKey) > maxDedupKey {
		ev.DedupKey = labelsHash(map[string]string{"k": ev.DedupKey})
	}
	if v := textAt(doc, m.Severity); v != "" {
		ev.Severity = severityOf(v)
	}
	ev.Source = clip(cleanLine(textAt(doc, m.Source)), maxField)
	if v := strings.ToLower(strings.TrimSpace(textAt(doc, m.Status))); v != "" {
		resolve := m.ResolveValues
		if len(resolve) == 0 {
			resolve = DefaultResolveValues
		}
		switch {
		case slices.ContainsFunc(resolve, func(s string) bool { return strings.EqualFold(s, v) }):
			ev.Action = ActionResolve
		case slices.ContainsFunc(m.AcknowledgeValues, func(s string) bool { return strings.EqualFold(s, v) }):
			ev.Action = ActionAcknowledge
		}
	}
	ev.Labels = map[string]string{}
	if obj, ok := valueAt(doc, m.Labels).(map[string]any); ok && m.Labels != "" {
		for k, v := range obj {
			if len(ev.Labels) >= 100 {
				break
			}
			if s := scalarText(v); s != "" && len(k) <= 200 {
				ev.Labels[k] = clip(s, maxField)
			}
		}
	}
	if len(body) <= maxDetails {
		ev.Details = compactJSON(body)
	}
	if len(errs) > 0 {
		return Event{}, &InvalidEvent{Message: "Event object is invalid", Errors: errs}
	}
	return ev, nil
}

// valueAt walks a dot path through objects and arrays.
func valueAt(doc any, path string) any {
	if path == "" {
		return nil
	}
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// textAt is the scalar at path as text ("" when missing or not a scalar).
func textAt(doc any, path string) string { return scalarText(valueAt(doc, path)) }

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}
