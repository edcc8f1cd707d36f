// Package change is change management: change requests (standard, normal,
// emergency) moving through a checked state machine, approvals by approver
// groups (CABs) under rules per risk level, templates of pre-approved
// standard changes, freeze windows, conflict detection through the CMDB
// graph, maintenance of the affected CIs' monitors while a change is
// implemented, and the link from a change to the incidents it may have
// caused.
package change

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Type is the kind of change: how much approval it needs.
type Type string

// The change types.
const (
	// Standard changes come from a pre-approved template: no approval step.
	Standard Type = "standard"
	// Normal changes are assessed and approved before they are scheduled.
	Normal Type = "normal"
	// Emergency changes are scheduled at once and approved after the fact;
	// they are flagged until they are.
	Emergency Type = "emergency"
)

// State is where a change is in its life.
type State string

// The states, in order.
const (
	Draft         State = "draft"
	Assessment    State = "assessment"
	Authorization State = "authorization"
	Scheduled     State = "scheduled"
	Implementing  State = "implementing"
	Review        State = "review"
	Closed        State = "closed"
	Cancelled     State = "cancelled"
)

// States lists every state in order.
func States() []State {
	return []State{Draft, Assessment, Authorization, Scheduled, Implementing, Review, Closed, Cancelled}
}

// Open reports whether a change in state s can still move.
func (s State) Open() bool { return s != Closed && s != Cancelled }

// Outcome is how a closed change went.
type Outcome string

// The outcomes.
const (
	Successful Outcome = "successful"
	Failed     Outcome = "failed"
	RolledBack Outcome = "rolled_back"
)

// Risk is a change's risk level; approval rules are set per level.
type Risk string

// The risk levels.
const (
	Low      Risk = "low"
	Medium   Risk = "medium"
	High     Risk = "high"
	Critical Risk = "critical"
)

// Risks lists the levels, lowest first.
func Risks() []Risk { return []Risk{Low, Medium, High, Critical} }

// Change is a change request.
type Change struct {
	ID                 int64      `json:"id"`
	Type               Type       `json:"type"`
	State              State      `json:"state"`
	Outcome            Outcome    `json:"outcome,omitempty"`
	Title              string     `json:"title"`
	Description        string     `json:"description"`
	Reason             string     `json:"reason"`
	Category           string     `json:"category"`
	Risk               Risk       `json:"risk"`
	RiskAnswers        *Answers   `json:"risk_answers,omitempty"`
	Impact             string     `json:"impact"`
	ImplementationPlan string     `json:"implementation_plan"`
	BackoutPlan        string     `json:"backout_plan"`
	TestPlan           string     `json:"test_plan"`
	PlannedStart       *time.Time `json:"planned_start,omitempty"`
	PlannedEnd         *time.Time `json:"planned_end,omitempty"`
	ActualStart        *time.Time `json:"actual_start,omitempty"`
	ActualEnd          *time.Time `json:"actual_end,omitempty"`
	ImplementerID      *int64     `json:"implementer_id,omitempty"`
	Implementer        string     `json:"implementer,omitempty"`
	RequesterID        *int64     `json:"requester_id,omitempty"`
	Requester          string     `json:"requester"`
	TemplateID         *int64     `json:"template_id,omitempty"`
	// SkipMaintenance opts out of putting the affected CIs' monitors in
	// maintenance while the change is implemented.
	SkipMaintenance bool `json:"skip_maintenance"`
	// MaintenanceID is the monitor maintenance window this change opened.
	MaintenanceID *int64 `json:"maintenance_id,omitempty"`
	// Unapproved flags an emergency change not yet approved after the fact.
	Unapproved bool `json:"unapproved"`
	// InFreeze flags an emergency change scheduled inside a freeze.
	InFreeze      bool         `json:"in_freeze"`
	ApprovalRound int          `json:"approval_round"`
	CIs           []cmdb.CIRef `json:"cis"`
	Links         []Link       `json:"links"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
	SubmittedAt   *time.Time   `json:"submitted_at,omitempty"`
	ClosedAt      *time.Time   `json:"closed_at,omitempty"`
}

// CIIDs returns the ids of the change's CIs.
func (c Change) CIIDs() []int64 {
	ids := make([]int64, len(c.CIs))
	for i, r := range c.CIs {
		ids[i] = r.ID
	}
	return ids
}

// LinkKind is what a change links to.
type LinkKind string

// The kinds of linked record.
const (
	LinkTicket   LinkKind = "ticket"
	LinkProblem  LinkKind = "problem"
	LinkIncident LinkKind = "incident"
)

// Link ties a change to a ticket, problem or incident.
type Link struct {
	Kind     LinkKind `json:"kind"`
	ObjectID int64    `json:"object_id"`
	// Caused marks an incident flagged "possibly caused by" this change.
	Caused    bool      `json:"caused"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// Event is one entry of a change's timeline: a transition, a comment, an
// approval, a flag.
type Event struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Kind  string    `json:"kind"`
	From  State     `json:"from,omitempty"`
	To    State     `json:"to,omitempty"`
	Text  string    `json:"text"`
}

// Maintenance is what the change service needs of monitoring: creating
// and deleting a maintenance window. *monitor.Service is one.
type Maintenance interface {
	SaveWindow(ctx context.Context, w monitor.Window) (*monitor.Window, error)
	DeleteWindow(ctx context.Context, id int64) error
}

var _ Maintenance = (*monitor.Service)(nil)

// Options configure a Service.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// CMDB resolves affected CIs, their links to monitors and the
	// dependency graph for conflicts and incident correlation. Required.
	CMDB *cmdb.Service
	// Maintenance, when set, puts the monitors of a change's CIs in
	// maintenance while it is implemented.
	Maintenance Maintenance
	// Windows, when set, puts monitor maintenance windows on the calendar.
	Windows Windows
	// NoteIncident, when set, puts a note on an incident's timeline (the
	// "possibly caused by change N" flag).
	NoteIncident func(ctx context.Context, incidentID int64, text string) error
	// IncidentWindow is how long after a change started (and after it
	// ended) an incident on its CIs is flagged as possibly caused by it;
	// default 2 hours.
	IncidentWindow time.Duration
	// CheckLink confirms that a ticket, problem or incident about to be
	// linked exists (an error wrapping store.ErrNotFound when not); nil
	// accepts any id.
	CheckLink func(ctx context.Context, kind LinkKind, id int64) error
	// ConflictDepth is how many dependency hops apart two changes' CIs may
	// be and still conflict; default 1 (parents and children).
	ConflictDepth int
}

// Service is change management. Build it with New.
type Service struct {
	db   *store.DB
	opts Options
}

// New builds the change service on db.
func New(db *store.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.IncidentWindow <= 0 {
		opts.IncidentWindow = 2 * time.Hour
	}
	if opts.ConflictDepth <= 0 {
		opts.ConflictDepth = 1
	}
	return &Service{db: db, opts: opts}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// IncidentWindow is the configured correlation window.
func (s *Service) IncidentWindow() time.Duration { return s.opts.IncidentWindow }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
