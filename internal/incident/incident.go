// Package incident is opsdeck's incident pipeline: integrations with secret
// keys take alerts from Alertmanager, PagerDuty-speaking tools, generic JSON
// webhooks and opsdeck's own monitors; alerts are deduplicated, grouped into
// incidents by rules per service, and incidents move through triggered →
// acknowledged → resolved with every step on a timeline. Paging is handed to
// the on-call engine through the Paging interface, inside the same
// transaction that opens or closes the incident.
package incident

import (
	"encoding/json"
	"time"
)

// Status is an incident's or alert's place in its lifecycle.
type Status string

// The statuses. Alerts use firing/acknowledged/resolved; incidents use
// triggered/acknowledged/resolved.
const (
	StatusTriggered    Status = "triggered"
	StatusFiring       Status = "firing"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Action is what an incoming event asks for.
type Action string

// The event actions (PagerDuty's words).
const (
	ActionTrigger     Action = "trigger"
	ActionAcknowledge Action = "acknowledge"
	ActionResolve     Action = "resolve"
)

// Alert severities, PagerDuty's four, worst first.
const (
	SeverityCritical = "critical"
	SeverityError    = "error"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Severities lists alert severities, worst first.
var Severities = []string{SeverityCritical, SeverityError, SeverityWarning, SeverityInfo}

// IncidentSeverities lists incident severities, worst first.
var IncidentSeverities = []string{"SEV1", "SEV2", "SEV3", "SEV4"}

// Priorities lists incident priorities, most urgent first.
var Priorities = []string{"P1", "P2", "P3", "P4", "P5"}

// severityRank orders alert severities: lower is worse.
func severityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return len(Severities)
}

// incidentSeverity maps an alert severity to the incident scale.
func incidentSeverity(alertSeverity string) string {
	r := severityRank(alertSeverity)
	if r >= len(IncidentSeverities) {
		r = len(IncidentSeverities) - 1
	}
	return IncidentSeverities[r]
}

// priorityFor is the default priority of an incident of severity sev.
func priorityFor(sev string) string {
	for i, v := range IncidentSeverities {
		if v == sev {
			return Priorities[i]
		}
	}
	return "P3"
}

// Link is a hyperlink carried by an alert (PagerDuty's links, Alertmanager's
// generatorURL).
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Event is one alert event after parsing, whatever the integration kind.
type Event struct {
	Action   Action
	DedupKey string
	Summary  string
	Source   string
	Severity string
	Labels   map[string]string
	Details  json.RawMessage
	Links    []Link
	At       time.Time
}

// TechService is a technical service (PagerDuty's term): what integrations,
// alerts and incidents belong to, with its grouping rule and escalation
// policy. It is called TechService because Service is this package's
// service object.
type TechService struct {
	ID                 int64     `json:"id"`
	Name               string    `json:"name"`
	Description        string    `json:"description"`
	EscalationPolicyID *int64    `json:"escalation_policy_id"`
	GroupBy            []string  `json:"group_by"`
	GroupWindow        Duration  `json:"group_window"`
	AutoResolve        bool      `json:"auto_resolve"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Integration is a way in for alerts, with its own secret key.
type Integration struct {
	ID        int64     `json:"id"`
	ServiceID int64     `json:"service_id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	KeyHint   string    `json:"key_hint"`
	Mapping   *Mapping  `json:"mapping,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// The integration kinds.
const (
	KindAlertmanager = "alertmanager"
	KindPagerDuty    = "pagerduty"
	KindGeneric      = "generic"
)

// Kinds lists the integration kinds.
var Kinds = []string{KindAlertmanager, KindPagerDuty, KindGeneric}

// Alert is one deduplicated alert: every event with its dedup key while it
// is open updates it.
type Alert struct {
	ID             int64             `json:"id"`
	ServiceID      int64             `json:"service_id"`
	IntegrationID  *int64            `json:"integration_id"`
	DedupKey       string            `json:"dedup_key"`
	Status         Status            `json:"status"`
	Severity       string            `json:"severity"`
	Summary        string            `json:"summary"`
	Source         string            `json:"source"`
	Labels         map[string]string `json:"labels"`
	Details        json.RawMessage   `json:"details"`
	Links          []Link            `json:"links"`
	Count          int64             `json:"count"`
	FirstSeen      time.Time         `json:"first_seen"`
	LastSeen       time.Time         `json:"last_seen"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at"`
	ResolvedAt     *time.Time        `json:"resolved_at"`
	IncidentID     *int64            `json:"incident_id"`
}

// Incident is something going wrong that people work on.
type Incident struct {
	// ID is also the incident's number (#42).
	ID             int64      `json:"id"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	Severity       string     `json:"severity"`
	Priority       string     `json:"priority"`
	Status         Status     `json:"status"`
	ServiceID      *int64     `json:"service_id"`
	ServiceName    string     `json:"service_name,omitempty"`
	GroupKey       string     `json:"group_key,omitempty"`
	AssigneeID     *int64     `json:"assignee_id"`
	AssigneeName   string     `json:"assignee_name,omitempty"`
	Responders     []int64    `json:"responders"`
	AutoResolve    bool       `json:"auto_resolve"`
	MergedInto     *int64     `json:"merged_into"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	LastAlertAt    time.Time  `json:"last_alert_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// AlertCount and OpenAlerts count linked alerts (all, and not resolved).
	AlertCount int64 `json:"alert_count"`
	OpenAlerts int64 `json:"open_alerts"`
	// Services are the affected services: the incident's own and those of
	// its alerts.
	Services []ServiceRef `json:"affected_services"`
}

// ServiceRef names a service.
type ServiceRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// TimelineEntry is one event on an incident's timeline.
type TimelineEntry struct {
	ID         int64     `json:"id"`
	IncidentID int64     `json:"incident_id"`
	At         time.Time `json:"at"`
	// Kind is a short machine word: triggered, alert_joined, alert_resolved,
	// acknowledged, resolved, reopened, note, assigned, merged, severity,
	// and what other packages add (notified, delivered, failed, escalated…).
	Kind  string `json:"kind"`
	Actor string `json:"actor"`
	Text  string `json:"text"`
	// AlertID points at the alert the entry is about, if any.
	AlertID *int64 `json:"alert_id,omitempty"`
}

// LifecycleEvent is handed to Options.OnEvent after commit.
type LifecycleEvent struct {
	Kind       string // triggered, acknowledged, resolved, reopened, merged, assigned
	IncidentID int64
	At         time.Time
}

// Duration is a time.Duration that reads and writes JSON as "5m".
type Duration time.Duration

// MarshalJSON writes the duration as Go's text form.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "5m" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*d = Duration(time.Duration(n * float64(time.Second)))
	return nil
}
