package incident

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// PagerDutyEvent is an Events API v2 event as PagerDuty documents it.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload"`
	Client      string            `json:"client"`
	ClientURL   string            `json:"client_url"`
	Links       []PagerDutyLink   `json:"links"`
	Images      []PagerDutyImage  `json:"images"`
}

// PagerDutyPayload is the event's payload object.
type PagerDutyPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// PagerDutyLink is a link of an event.
type PagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// PagerDutyImage is an image of an event; opsdeck keeps it as a link.
type PagerDutyImage struct {
	Src  string `json:"src"`
	Href string `json:"href"`
	Alt  string `json:"alt"`
}

// InvalidEvent lists what is wrong with an event, in PagerDuty's words, for
// its 400 answer {status:"invalid event", message, errors}.
type InvalidEvent struct {
	Message string
	Errors  []string
}

func (e *InvalidEvent) Error() string {
	return "incident: invalid event: " + e.Message + ": " + strings.Join(e.Errors, "; ")
}

// Limits of fields read from outside; longer values are refused (PagerDuty
// refuses summaries over 1024 characters too).
const (
	maxSummary  = 1024
	maxDedupKey = 255
	maxField    = 1024
	maxDetails  = 64 << 10
	maxLinks    = 50
)

// ParsePagerDuty reads one Events API v2 event. It returns the routing key
// and the event, or an *InvalidEvent naming every problem.
func ParsePagerDuty(body []byte) (string, Event, error) {
	var pe PagerDutyEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&pe); err != nil {
		return "", Event{}, &InvalidEvent{Message: "Event object is invalid", Errors: []string{"Body is not a JSON object: " + jsonProblem(err)}}
	}
	if dec.More() {
		return "", Event{}, &InvalidEvent{Message: "Event object is invalid", Errors: []string{"Body must hold exactly one JSON object"}}
	}
	var errs []string
	if pe.RoutingKey == "" {
		errs = append(errs, "'routing_key' is missing or blank")
	}
	ev := Event{Action: Action(pe.EventAction), DedupKey: pe.DedupKey}
	if !slices.Contains([]Action{ActionTrigger, ActionAcknowledge, ActionResolve}, ev.Action) {
		errs = append(errs, "'event_action' must be one of trigger, acknowledge, resolve")
	}
	if len(pe.DedupKey) > maxDedupKey || !utf8.ValidString(pe.DedupKey) {
		errs = append(errs, fmt.Sprintf("'dedup_key' must be valid text of at most %d characters", maxDedupKey))
	}
	if ev.Action != ActionTrigger && pe.DedupKey == "" && ev.Action != "" {
		errs = append(errs, "'dedup_key' is required for "+string(ev.Action)+" events")
	}
	if ev.Action == ActionTrigger {
		p := pe.Payload
		if p == nil {
			errs = append(errs, "'payload' is missing")
			p = &PagerDutyPayload{}
		} else {
			if strings.TrimSpace(p.Summary) == "" {
				errs = append(errs, "'payload.summary' is missing or blank")
			}
			if strings.TrimSpace(p.Source) == "" {
				errs = append(errs, "'payload.source' is missing or blank")
			}
			if !slices.Contains(Severities, p.Severity) {
				errs = append(errs, "'payload.severity' must be one of critical, error, warning, info")
			}
		}
		for name, v := range map[string]string{"summary": p.Summary, "source": p.Source, "component": p.Component, "group": p.Group, "class": p.Class} {
			if utf8.RuneCountInString(v) > maxSummary || !utf8.ValidString(v) {
				errs = append(errs, fmt.Sprintf("'payload.%s' must be valid text of at most %d characters", name, maxSummary))
			}
		}
		ev.Summary, ev.Source, ev.Severity = cleanLine(p.Summary), cleanLine(p.Source), p.Severity
		if p.Timestamp != "" {
			t, err := time.Parse(time.RFC3339Nano, p.Timestamp)
			if err != nil {
				errs = append(errs, "'payload.timestamp' must be an ISO 8601 time such as 2026-01-02T15:04:05Z")
			}
			ev.At = t.UTC()
		}
		ev.Labels = map[string]string{}
		for k, v := range map[string]string{"source": p.Source, "component": p.Component, "group": p.Group, "class": p.Class, "severity": p.Severity} {
			if v != "" {
				ev.Labels[k] = cleanLine(v)
			}
		}
		if len(p.CustomDetails) > 0 && string(p.CustomDetails) != "null" {
			if len(p.CustomDetails) > maxDetails {
				errs = append(errs, fmt.Sprintf("'payload.custom_details' is larger than %d bytes", maxDetails))
			} else {
				ev.Details = compactJSON(p.CustomDetails)
			}
		}
	}
	if len(pe.Links)+len(pe.Images) > maxLinks {
		errs = append(errs, fmt.Sprintf("at most %d links and images together", maxLinks))
	}
	for i, l := range pe.Links {
		if !webURL(l.Href) {
			errs = append(errs, fmt.Sprintf("'links[%d].href' must be an http or https URL", i))
			continue
		}
		ev.Links = append(ev.Links, Link{Href: l.Href, Text: clip(cleanLine(l.Text), 200)})
	}
	for i, im := range pe.Images {
		if !webURL(im.Src) {
			errs = append(errs, fmt.Sprintf("'images[%d].src' must be an http or https URL", i))
			continue
		}
		ev.Links = append(ev.Links, Link{Href: im.Src, Text: clip(cleanLine("image: "+im.Alt), 200)})
	}
	if pe.ClientURL != "" && webURL(pe.ClientURL) {
		ev.Links = append(ev.Links, Link{Href: pe.ClientURL, Text: clip(cleanLine(pe.Client), 200)})
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return pe.RoutingKey, Event{}, &InvalidEvent{Message: "Event object is invalid", Errors: errs}
	}
	if ev.Action == ActionTrigger && ev.DedupKey == "" {
		ev.DedupKey = newDedupKey()
	}
	return pe.RoutingKey, ev, nil
}

// newDedupKey makes a dedup key for a trigger that came without one, as
// PagerDuty does; the caller gets it back to resolve the alert later.
func newDedupKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("'%s' has the wrong type (%s)", typ.Field, typ.Value)
	}
	return "malformed JSON"
}

// webURL accepts absolute http(s) URLs only, so a link in an alert can never
// be javascript: or a local file.
func webURL(s string) bool {
	if len(s) > 2000 || !utf8.ValidString(s) {
		return false
	}
	l := strings.ToLower(s)
	return (strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")) && !strings.ContainsAny(s, " \r\n\t")
}

// cleanLine makes outside text one printable line.
func cleanLine(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "�")
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s))
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// compactJSON returns v compacted, or nil when it is not valid JSON.
func compactJSON(v []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return nil
	}
	return b.Bytes()
}
