package servicedesk

import (
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Status is where a ticket is in its life.
type Status string

// The statuses, in lifecycle order.
const (
	StatusNew      Status = "new"
	StatusOpen     Status = "open"
	StatusPending  Status = "pending"
	StatusResolved Status = "resolved"
	StatusClosed   Status = "closed"
)

// Statuses lists every status in lifecycle order.
func Statuses() []Status {
	return []Status{StatusNew, StatusOpen, StatusPending, StatusResolved, StatusClosed}
}

// transitions are the moves a ticket may make. Reopening (resolved → open)
// is also bounded in time by Options.ReopenWindow; closed is final.
var transitions = map[Status][]Status{
	StatusNew:      {StatusOpen, StatusPending, StatusResolved},
	StatusOpen:     {StatusPending, StatusResolved},
	StatusPending:  {StatusOpen, StatusResolved},
	StatusResolved: {StatusOpen, StatusClosed},
	StatusClosed:   nil,
}

// CanMove reports whether a ticket may go from one status to another.
func CanMove(from, to Status) bool { return slices.Contains(transitions[from], to) }

// NextStatuses lists where a ticket in status s may go.
func NextStatuses(s Status) []Status { return slices.Clone(transitions[s]) }

// PendingReason says on whom a pending ticket waits.
type PendingReason string

// The pending reasons.
const (
	PendingRequester  PendingReason = "requester"
	PendingThirdParty PendingReason = "third_party"
)

// Type is what kind of ticket it is.
type Type string

// The ticket types.
const (
	TypeIncident       Type = "incident"
	TypeServiceRequest Type = "service_request"
	TypeQuestion       Type = "question"
)

// Types lists the ticket types.
func Types() []Type { return []Type{TypeIncident, TypeServiceRequest, TypeQuestion} }

// Level is an impact or urgency: 1 high, 2 medium, 3 low.
type Level int

// Levels lists impact and urgency levels, highest first.
func Levels() []Level { return []Level{1, 2, 3} }

// String names a level.
func (l Level) String() string {
	switch l {
	case 1:
		return "high"
	case 2:
		return "medium"
	case 3:
		return "low"
	}
	return "unknown"
}

// Priority is 1 (critical) to 5 (planning).
type Priority int

// Priorities lists priorities, most urgent first.
func Priorities() []Priority { return []Priority{1, 2, 3, 4, 5} }

// String names a priority: "P1 critical" … "P5 planning".
func (p Priority) String() string {
	names := [...]string{"", "P1 critical", "P2 high", "P3 medium", "P4 low", "P5 planning"}
	if p < 1 || p > 5 {
		return "unknown"
	}
	return names[p]
}

// Ticket is one request for help.
type Ticket struct {
	ID            int64         `json:"id"`
	Type          Type          `json:"type"`
	Status        Status        `json:"status"`
	PendingReason PendingReason `json:"pending_reason,omitempty"`
	Subject       string        `json:"subject"`
	Description   string        `json:"description"`
	RequesterID   int64         `json:"requester_id"`
	Requester     string        `json:"requester"`
	Organization  string        `json:"organization"`
	AssigneeID    int64         `json:"assignee_id,omitempty"`
	Assignee      string        `json:"assignee,omitempty"`
	GroupID       int64         `json:"group_id,omitempty"`
	Group         string        `json:"group,omitempty"`
	Category      string        `json:"category"`
	Impact        Level         `json:"impact"`
	Urgency       Level         `json:"urgency"`
	Priority      Priority      `json:"priority"`
	Tags          []string      `json:"tags"`
	DueAt         *time.Time    `json:"due_at,omitempty"`
	MergedInto    int64         `json:"merged_into,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	ResolvedAt    *time.Time    `json:"resolved_at,omitempty"`
	FirstResponse *time.Time    `json:"first_response_at,omitempty"`
	// SLA is the stored state as of the last recomputation; detail views
	// recompute it live.
	SLAState  SLAState   `json:"sla_state"`
	SLADue    *time.Time `json:"sla_due_at,omitempty"`
	SLAPaused bool       `json:"sla_paused"`
	// targets snapshot the policy chosen for the ticket.
	PolicyID       int64 `json:"sla_policy_id,omitempty"`
	calendarID     int64
	responseTarget time.Duration
	resolveTarget  time.Duration
	warnPct        int
}

// Limits of ticket text.
const (
	MaxSubject     = 200
	MaxDescription = 20000
	MaxComment     = 20000
	MaxCategory    = 100
	MaxTags        = 20
	MaxTag         = 40
)

// NewTicket is what opens a ticket.
type NewTicket struct {
	Type         Type       `json:"type"`
	Subject      string     `json:"subject"`
	Description  string     `json:"description"`
	RequesterID  int64      `json:"requester_id"`
	Organization string     `json:"organization"`
	AssigneeID   int64      `json:"assignee_id"`
	GroupID      int64      `json:"group_id"`
	Category     string     `json:"category"`
	Impact       Level      `json:"impact"`
	Urgency      Level      `json:"urgency"`
	Tags         []string   `json:"tags"`
	DueAt        *time.Time `json:"due_at"`
}

func (n *NewTicket) check() error {
	if n.Type == "" {
		n.Type = TypeIncident
	}
	if !slices.Contains(Types(), n.Type) {
		return valid.Errorf("type", "must be incident, service_request or question")
	}
	n.Subject = strings.TrimSpace(n.Subject)
	if err := valid.Text("subject", n.Subject, true, MaxSubject, false); err != nil {
		return err
	}
	if err := valid.Text("description", n.Description, false, MaxDescription, true); err != nil {
		return err
	}
	if err := checkCategory(&n.Category); err != nil {
		return err
	}
	n.Organization = strings.TrimSpace(n.Organization)
	if err := valid.Text("organization", n.Organization, false, MaxCategory, false); err != nil {
		return err
	}
	if n.Impact == 0 {
		n.Impact = 2
	}
	if n.Urgency == 0 {
		n.Urgency = 2
	}
	if err := checkLevel("impact", n.Impact); err != nil {
		return err
	}
	if err := checkLevel("urgency", n.Urgency); err != nil {
		return err
	}
	tags, err := CleanTags(n.Tags)
	if err != nil {
		return err
	}
	n.Tags = tags
	return nil
}

func checkCategory(c *string) error {
	*c = strings.ToLower(strings.TrimSpace(*c))
	return valid.Text("category", *c, false, MaxCategory, false)
}

func checkLevel(field string, l Level) error {
	if l < 1 || l > 3 {
		return valid.Errorf(field, "must be 1 (high), 2 (medium) or 3 (low)")
	}
	return nil
}

// CleanTags lower-cases, trims and de-duplicates tags and checks them.
func CleanTags(in []string) ([]string, error) {
	out := []string{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || slices.Contains(out, t) {
			continue
		}
		if err := valid.Text("tags", t, false, MaxTag, false); err != nil {
			return nil, err
		}
		if strings.ContainsAny(t, ", ") {
			return nil, valid.Errorf("tags", "%q: a tag has no commas or spaces", t)
		}
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, valid.Errorf("tags", "at most %d tags", MaxTags)
	}
	return out, nil
}

// ParseTags splits a comma- or space-separated tag list from a form.
func ParseTags(s string) ([]string, error) {
	return CleanTags(strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }))
}
