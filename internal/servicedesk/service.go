package servicedesk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// ErrForbidden means the caller may not do this to this ticket (a
// requester acting on a ticket field only agents may change).
var ErrForbidden = errors.New("servicedesk: not allowed")

// ErrTransition means a status change the lifecycle does not allow.
var ErrTransition = errors.New("servicedesk: status change not allowed")

// SLAEvent is a ticket's timer crossing its warning threshold or running
// out, handed to Options.OnSLAEvent after it is committed.
type SLAEvent struct {
	TicketID   int64     `json:"ticket_id"`
	Subject    string    `json:"subject"`
	Priority   Priority  `json:"priority"`
	GroupID    int64     `json:"group_id,omitempty"`
	AssigneeID int64     `json:"assignee_id,omitempty"`
	Timer      string    `json:"timer"` // "first_response" or "resolution"
	State      SLAState  `json:"state"` // warning or breached
	At         time.Time `json:"at"`
}

// Options configures the Service. Zero values take the defaults noted.
type Options struct {
	// ReopenWindow is how long after resolution a ticket may be reopened
	// (default 14 days); after it, a new ticket is needed.
	ReopenWindow time.Duration
	// SLACheckInterval is how often the SLA job looks for timers that
	// crossed a threshold (default 30 s).
	SLACheckInterval time.Duration
	// MaxAttachmentBytes caps one attachment (default 10 MiB).
	MaxAttachmentBytes int64
	// OnSLAEvent is called after a warning or breach is committed.
	OnSLAEvent func(ctx context.Context, e SLAEvent)
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service runs the service desk.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger
	now  func() time.Time
	// linkKey signs rating links; loaded on first use (csat.go).
	keyMu   sync.Mutex
	linkKey []byte
}

// New returns a Service; call Run to start the SLA job.
func New(db *store.DB, opts Options) *Service {
	if opts.ReopenWindow <= 0 {
		opts.ReopenWindow = 14 * 24 * time.Hour
	}
	if opts.SLACheckInterval <= 0 {
		opts.SLACheckInterval = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{db: db, opts: opts, log: opts.Logger, now: func() time.Time { return opts.Now().UTC().Truncate(time.Second) }}
}

// ReopenWindow is how long a resolved ticket may be reopened.
func (s *Service) ReopenWindow() time.Duration { return s.opts.ReopenWindow }

// forUpdate locks the rows a PostgreSQL SELECT reads until the transaction
// ends; SQLite has one writer, whose IMMEDIATE transactions already
// serialise read-modify-write.
func (s *Service) forUpdate() string {
	if s.db.Dialect == store.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// isAgent reports whether the caller works tickets (operator or above).
func isAgent(a auth.Actor) bool { return a.Role.Allows(auth.RoleOperator) }

// isRequesterOnly reports whether the caller sees only their own tickets.
func isRequesterOnly(a auth.Actor) bool { return !a.Role.Allows(auth.RoleViewer) }

// wrap prefixes err with the package and operation; nil stays nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("servicedesk: %s: %w", op, store.MapError(err))
}
