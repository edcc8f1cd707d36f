package incident

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AlertmanagerMessage is Alertmanager's webhook body, version 4.
type AlertmanagerMessage struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
}

// AlertmanagerAlert is one alert of a webhook message.
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// maxAlertsPerMessage bounds one webhook; Alertmanager's max_alerts is
// unbounded by default, but a group of thousands is a misconfiguration.
const maxAlertsPerMessage = 1000

// ParseAlertmanager reads a webhook message into one event per alert:
// firing alerts trigger, resolved ones resolve. The dedup key is the
// alert's fingerprint (or a hash of its labels when absent), so the same
// alert from Alertmanager updates one opsdeck alert.
func ParseAlertmanager(body []byte) ([]Event, error) {
	var m AlertmanagerMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return nil, &InvalidEvent{Message: "Alertmanager message is invalid", Errors: []string{jsonProblem(err)}}
	}
	if dec.More() {
		return nil, &InvalidEvent{Message: "Alertmanager message is invalid", Errors: []string{"the body must hold exactly one JSON object"}}
	}
	var errs []string
	if m.Version != "" && m.Version != "4" {
		errs = append(errs, fmt.Sprintf("version %q is not supported (expected \"4\")", clip(cleanLine(m.Version), 20)))
	}
	if len(m.Alerts) == 0 {
		errs = append(errs, "'alerts' is empty")
	}
	if len(m.Alerts) > maxAlertsPerMessage {
		errs = append(errs, fmt.Sprintf("at most %d alerts per message", maxAlertsPerMessage))
	}
	var out []Event
	for i, a := range m.Alerts {
		if len(errs) > 10 {
			break
		}
		st := a.Status
		if st == "" {
			st = m.Status
		}
		var act Action
		switch st {
		case "firing":
			act = ActionTrigger
		case "resolved":
			act = ActionResolve
		default:
			errs = append(errs, fmt.Sprintf("alerts[%d].status must be firing or resolved", i))
			continue
		}
		labels, err := cleanLabels(a.Labels)
		if err != nil {
			errs = append(errs, fmt.Sprintf("alerts[%d].labels: %v", i, err))
			continue
		}
		ann, err := cleanLabels(a.Annotations)
		if err != nil {
			errs = append(errs, fmt.Sprintf("alerts[%d].annotations: %v", i, err))
			continue
		}
		key := a.Fingerprint
		if key == "" {
			key = labelsHash(labels)
		}
		if len(key) > maxDedupKey || !utf8.ValidString(key) {
			errs = append(errs, fmt.Sprintf("alerts[%d].fingerprint is too long", i))
			continue
		}
		ev := Event{Action: act, DedupKey: key, Labels: labels, Severity: severityOf(labels["severity"])}
		ev.Summary = firstNonEmpty(ann["summary"], ann["description"], ann["message"], labels["alertname"], "Alertmanager alert")
		if labels["alertname"] != "" && ann["summary"] != "" && !strings.Contains(ev.Summary, labels["alertname"]) {
			ev.Summary = labels["alertname"] + ": " + ev.Summary
		}
		ev.Summary = clip(cleanLine(ev.Summary), maxSummary)
		ev.Source = clip(firstNonEmpty(labels["instance"], labels["job"], m.Receiver), maxField)
		if len(ann) > 0 {
			ev.Details, _ = json.Marshal(map[string]any{"annotations": ann, "startsAt": a.StartsAt, "endsAt": a.EndsAt})
		}
		if webURL(a.GeneratorURL) {
			ev.Links = append(ev.Links, Link{Href: a.GeneratorURL, Text: "Source"})
		}
		if act == ActionResolve && !a.EndsAt.IsZero() {
			ev.At = a.EndsAt.UTC()
		} else if !a.StartsAt.IsZero() {
			ev.At = a.StartsAt.UTC()
		}
		out = append(out, ev)
	}
	if len(errs) > 0 {
		return nil, &InvalidEvent{Message: "Alertmanager message is invalid", Errors: errs}
	}
	return out, nil
}

// cleanLabels checks label maps from outside: at most 100 pairs, keys up to
// 200 characters, values up to 1024, all valid text.
func cleanLabels(in map[string]string) (map[string]string, error) {
	if len(in) > 100 {
		return nil, fmt.Errorf("at most 100 entries")
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		if k == "" || len(k) > 200 || !utf8.ValidString(k) {
			return nil, fmt.Errorf("key %q is empty, too long or not text", clip(cleanLine(k), 40))
		}
		if len(v) > 4*maxField || !utf8.ValidString(v) {
			return nil, fmt.Errorf("value of %q is too long or not text", clip(cleanLine(k), 40))
		}
		out[k] = v
	}
	return out, nil
}

// labelsHash is a stable key for a label set, sorted by key.
func labelsHash(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(l[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// severityOf maps the severity words tools use onto the four alert
// severities; anything unknown is a warning.
func severityOf(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "crit", "fatal", "emergency", "emerg", "alert", "page", "p1", "sev1", "high", "disaster":
		return SeverityCritical
	case "error", "err", "major", "p2", "sev2":
		return SeverityError
	case "info", "informational", "notice", "low", "ok", "debug", "p4", "p5", "sev4":
		return SeverityInfo
	}
	return SeverityWarning
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
