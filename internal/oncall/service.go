// Package oncall owns who gets woken: schedules (layers of rotations and
// overrides, computed in the schedule's time zone), escalation policies
// (levels of users and schedules with delays, repeated), and the durable
// escalation engine that pages each level of a triggered incident's policy
// until someone acknowledges.
package oncall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// Options configures a Service. Zero values take the defaults noted.
type Options struct {
	// Pager receives every escalation step inside the transaction that
	// advances it. nil logs the step and pages nobody (tests, or a server
	// without notifications wired).
	Pager Pager
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests pass a controllable one.
	Now func() time.Time
	// PollInterval bounds how long Run sleeps without looking for due steps
	// (default 5s). Start wakes it at once; the poll catches steps started by
	// other processes.
	PollInterval time.Duration
	// Concurrency bounds the escalation steps taken at once on PostgreSQL
	// (default 4); SQLite takes them one at a time, having one writer.
	Concurrency int
}

// Service answers who is on call and runs escalations.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger
	now  func() time.Time
	wake chan struct{}
}

// NewService returns a Service; call Run to start escalating.
func NewService(db *store.DB, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	return &Service{db: db, opts: opts, log: opts.Logger, now: opts.Now, wake: make(chan struct{}, 1)}
}

// Now is the service's clock, for callers that show times beside its
// answers.
func (s *Service) Now() time.Time { return s.now() }

// userRef is what oncall needs to know about a user.
type userRef struct {
	ID       int64
	Username string
	Disabled bool
}

// lookupUser reads a user from the identity table; ErrNotFound if gone.
func lookupUser(ctx context.Context, q store.Querier, id int64) (userRef, error) {
	u := userRef{ID: id}
	err := q.QueryRowContext(ctx, `SELECT username, disabled FROM users WHERE id = $1`, id).Scan(&u.Username, &u.Disabled)
	if err != nil {
		return u, fmt.Errorf("oncall: user %d: %w", id, store.MapError(err))
	}
	return u, nil
}

// UserNames maps user ids to usernames, for showing shifts; ids that no
// longer exist are left out.
func (s *Service) UserNames(ctx context.Context) (map[int64]string, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, username FROM users`)
	if err != nil {
		return nil, fmt.Errorf("oncall: users: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("oncall: users: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}

// checkUsers reports the first id that is not a user, naming field.
func checkUsers(ctx context.Context, q store.Querier, field string, ids []int64) error {
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := lookupUser(ctx, q, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fieldErrorf(field, "user %d does not exist", id)
			}
			return err
		}
	}
	return nil
}

func errorsIsConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
