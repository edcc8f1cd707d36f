package oncall

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// Page is one escalation step: who to page for an incident now. Level
// counts from 1 as the policy editor shows it; Round counts from 0 (0 is
// the first pass through the policy). Targets describes each target in
// words, including the ones that paged nobody ("schedule Primary → nobody
// on call"), for the incident's timeline. UserIDs may be empty.
type Page struct {
	IncidentID, PolicyID int64
	Level, Round         int
	UserIDs              []int64
	Targets              []string
}

// Pager delivers a Page inside the transaction q that advances the
// escalation: if it returns an error, the step is not taken and is retried
// with a back-off.
type Pager interface {
	Page(ctx context.Context, q store.Querier, p Page) error
}

// The states of an escalation row.
const (
	EscalationActive    = "active"    // a step is due at next_at
	EscalationStopped   = "stopped"   // acknowledged, resolved or merged
	EscalationExhausted = "exhausted" // every level of every round was paged
	EscalationFailed    = "failed"    // the policy was deleted
)

// Escalation is an incident's place in its policy.
type Escalation struct {
	IncidentID int64     `json:"incident_id"`
	PolicyID   int64     `json:"policy_id"`
	Level      int       `json:"level"` // next level to page, from 1
	Round      int       `json:"round"` // from 0
	NextAt     time.Time `json:"next_at"`
	State      string    `json:"state"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error,omitempty"`
	StartedAt  time.Time `json:"started_at"`

	step int64
}

// Start begins escalating an incident on a policy, inside the caller's
// transaction: level 1 is due at once. Starting an incident again (it was
// reopened) starts over from level 1. A policy that does not exist is not
// an error here, so a trigger is never lost over it: the engine's first
// step reports it.
func (s *Service) Start(ctx context.Context, q store.Querier, incidentID, policyID int64) error {
	if incidentID <= 0 || policyID <= 0 {
		return fmt.Errorf("oncall: start escalation: incident %d, policy %d: ids must be positive", incidentID, policyID)
	}
	now := s.now().UTC()
	_, err := q.ExecContext(ctx, `INSERT INTO escalations (incident_id, policy_id, level, round, next_at, state, step, attempts, last_error, started_at, updated_at)
		VALUES ($1, $2, 0, 0, $3, $4, 0, 0, '', $3, $3)
		ON CONFLICT (incident_id) DO UPDATE SET policy_id = excluded.policy_id, level = 0, round = 0, next_at = excluded.next_at,
			state = excluded.state, step = escalations.step + 1, attempts = 0, last_error = '', started_at = excluded.started_at, updated_at = excluded.updated_at`,
		incidentID, policyID, now, EscalationActive)
	if err != nil {
		return fmt.Errorf("oncall: start escalation of incident %d: %w", incidentID, store.MapError(err))
	}
	s.Wake()
	return nil
}

// Stop ends an incident's escalation inside the caller's transaction (on
// acknowledge, resolve, merge). Stopping one that is not running is fine.
func (s *Service) Stop(ctx context.Context, q store.Querier, incidentID int64) error {
	_, err := q.ExecContext(ctx, `UPDATE escalations SET state = $1, step = step + 1, updated_at = $2 WHERE incident_id = $3 AND state = $4`,
		EscalationStopped, s.now().UTC(), incidentID, EscalationActive)
	if err != nil {
		return fmt.Errorf("oncall: stop escalation of incident %d: %w", incidentID, store.MapError(err))
	}
	return nil
}

// Wake makes Run look for due steps now rather than at its next poll.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

const escalationCols = `incident_id, policy_id, level, round, next_at, state, step, attempts, last_error, started_at`

func scanEscalation(row interface{ Scan(...any) error }) (Escalation, error) {
	var e Escalation
	var next, started store.NullTime
	if err := row.Scan(&e.IncidentID, &e.PolicyID, &e.Level, &e.Round, &next, &e.State, &e.step, &e.Attempts, &e.LastError, &started); err != nil {
		return e, store.MapError(err)
	}
	e.NextAt, e.StartedAt = next.Time, started.Time
	e.Level++ // stored from 0
	return e, nil
}

// Escalation returns an incident's escalation state.
func (s *Service) Escalation(ctx context.Context, incidentID int64) (Escalation, error) {
	e, err := scanEscalation(s.db.R.QueryRowContext(ctx, `SELECT `+escalationCols+` FROM escalations WHERE incident_id = $1`, incidentID))
	if err != nil {
		return e, fmt.Errorf("oncall: escalation of incident %d: %w", incidentID, err)
	}
	return e, nil
}

// escalateBatch bounds one query for due steps.
const escalateBatch = 100

// EscalateDue takes every step due at the service's now and returns how
// many it paged. Run calls it; tests call it with a controlled clock.
// Several goroutines or processes may call it at once: each step is taken
// by exactly one of them.
func (s *Service) EscalateDue(ctx context.Context) (int, error) {
	paged := 0
	for {
		now := s.now().UTC()
		rows, err := s.db.R.QueryContext(ctx, `SELECT `+escalationCols+` FROM escalations
			WHERE state = $1 AND next_at <= $2 ORDER BY next_at, incident_id LIMIT `+fmt.Sprint(escalateBatch), EscalationActive, now)
		if err != nil {
			return paged, fmt.Errorf("oncall: due escalations: %w", err)
		}
		var due []Escalation
		for rows.Next() {
			e, err := scanEscalation(rows)
			if err != nil {
				rows.Close()
				return paged, fmt.Errorf("oncall: due escalations: %w", err)
			}
			due = append(due, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return paged, fmt.Errorf("oncall: due escalations: %w", err)
		}
		took := s.stepAll(ctx, due, now)
		paged += took
		if ctx.Err() != nil {
			return paged, ctx.Err()
		}
		if len(due) < escalateBatch || took == 0 {
			return paged, nil
		}
	}
}

// stepAll takes due steps, several at once on PostgreSQL (each is
// waiting on round trips and its commit; the conditional UPDATE keeps them
// apart), one at a time on SQLite (one writer). It returns how many paged.
func (s *Service) stepAll(ctx context.Context, due []Escalation, now time.Time) int {
	workers := 1
	if s.db.Dialect == store.Postgres {
		workers = s.opts.Concurrency
	}
	var (
		mu   sync.Mutex
		took int
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, workers)
	for _, e := range due {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, err := s.step(ctx, e, now)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("escalation step failed; retrying later", "incident", e.IncidentID, "level", e.Level, "round", e.Round, "err", err)
					s.backOff(ctx, e, now, err)
				}
				return
			}
			if ok {
				mu.Lock()
				took++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return took
}

// step takes one due step in one transaction: claim it with a conditional
// UPDATE (so a concurrent engine skips it), resolve the level's targets at
// now, and page. It reports false when another engine had taken it.
func (s *Service) step(ctx context.Context, e Escalation, now time.Time) (bool, error) {
	took := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		took = false
		page := Page{IncidentID: e.IncidentID, PolicyID: e.PolicyID, Level: e.Level, Round: e.Round, UserIDs: []int64{}}
		nextLevel, nextRound, state := e.Level, e.Round, EscalationActive // next level from 0
		var nextAt time.Time
		p, err := getPolicy(ctx, tx, e.PolicyID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			page.Targets = []string{fmt.Sprintf("escalation policy #%d no longer exists; nobody paged", e.PolicyID)}
			state, nextAt = EscalationFailed, now
		case err != nil:
			return err
		case e.Level > len(p.Levels):
			// The policy lost levels since the last step: its round is over.
			page.Targets = []string{fmt.Sprintf("policy %s has no level %d any more; escalation ended", p.Name, e.Level)}
			state, nextAt = EscalationExhausted, now
		default:
			lv := p.Levels[e.Level-1]
			page.UserIDs, page.Targets, err = s.resolveTargets(ctx, tx, lv.Targets, now)
			if err != nil {
				return err
			}
			nextAt = now.Add(time.Duration(lv.DelayMinutes) * time.Minute)
			switch {
			case e.Level < len(p.Levels):
				// e.Level (from 1) is the next level's index from 0.
			case e.Round < p.Repeats:
				nextLevel, nextRound = 0, e.Round+1
			default:
				state = EscalationExhausted
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE escalations SET level = $1, round = $2, next_at = $3, state = $4, step = step + 1,
			attempts = 0, last_error = '', updated_at = $5 WHERE incident_id = $6 AND step = $7 AND state = $8`,
			nextLevel, nextRound, nextAt, state, now, e.IncidentID, e.step, EscalationActive)
		if err != nil {
			return fmt.Errorf("oncall: advance escalation of incident %d: %w", e.IncidentID, store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another engine took this step, or it was stopped
		}
		took = true
		if s.opts.Pager == nil {
			s.log.Info("escalation step (no pager wired)", "incident", page.IncidentID, "level", page.Level, "round", page.Round, "users", page.UserIDs, "targets", page.Targets)
			return nil
		}
		if err := s.opts.Pager.Page(ctx, tx, page); err != nil {
			return fmt.Errorf("oncall: page incident %d level %d: %w", e.IncidentID, e.Level, err)
		}
		return nil
	})
	return took && err == nil, err
}

// resolveTargets turns a level's targets into users at instant now, with
// a line of text per target. Users and schedules that no longer exist, and
// disabled users, page nobody and say so.
func (s *Service) resolveTargets(ctx context.Context, q store.Querier, targets []Target, now time.Time) ([]int64, []string, error) {
	users := []int64{}
	var text []string
	add := func(id int64) {
		if !slices.Contains(users, id) {
			users = append(users, id)
		}
	}
	name := func(id int64) (string, bool, error) {
		u, err := lookupUser(ctx, q, id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Sprintf("user #%d (no longer exists)", id), false, nil
		}
		if err != nil {
			return "", false, err
		}
		if u.Disabled {
			return u.Username + " (disabled, not paged)", false, nil
		}
		return u.Username, true, nil
	}
	for _, t := range targets {
		switch t.Type {
		case TargetUser:
			n, ok, err := name(t.ID)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				add(t.ID)
			}
			text = append(text, "user "+n)
		case TargetSchedule:
			sc, err := getSchedule(ctx, q, t.ID)
			if errors.Is(err, store.ErrNotFound) {
				text = append(text, fmt.Sprintf("schedule #%d (deleted) → nobody", t.ID))
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			ids, err := onCallOn(ctx, q, sc, now)
			if err != nil {
				return nil, nil, err
			}
			if len(ids) == 0 {
				text = append(text, "schedule "+sc.Name+" → nobody on call")
				continue
			}
			for _, id := range ids {
				n, ok, err := name(id)
				if err != nil {
					return nil, nil, err
				}
				if ok {
					add(id)
				}
				text = append(text, "schedule "+sc.Name+" → "+n)
			}
		default:
			text = append(text, fmt.Sprintf("unknown target %q #%d", t.Type, t.ID))
		}
	}
	return users, text, nil
}

// backOff postpones a step whose page failed: 10 s, 20 s, … up to 5 min,
// so one broken step neither spins nor holds up the others.
func (s *Service) backOff(ctx context.Context, e Escalation, now time.Time, cause error) {
	delay := min(10*time.Second<<min(e.Attempts, 5), 5*time.Minute)
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	_, err := s.db.W.ExecContext(ctx, `UPDATE escalations SET attempts = attempts + 1, last_error = $1, next_at = $2, updated_at = $3
		WHERE incident_id = $4 AND step = $5 AND state = $6`, msg, now.Add(delay), now, e.IncidentID, e.step, EscalationActive)
	if err != nil {
		s.log.Error("escalation back-off not recorded", "incident", e.IncidentID, "err", err)
	}
}

// nextDue is when the earliest active step is due, or false if none is.
func (s *Service) nextDue(ctx context.Context) (time.Time, bool, error) {
	var t store.NullTime
	if err := s.db.R.QueryRowContext(ctx, `SELECT MIN(next_at) FROM escalations WHERE state = $1`, EscalationActive).Scan(&t); err != nil {
		return time.Time{}, false, fmt.Errorf("oncall: next due escalation: %w", err)
	}
	return t.Time, t.Valid, nil
}

// Run is the escalation engine: it takes due steps, then sleeps until the
// next one is due (at most PollInterval), waking early on Start. Pending
// escalations survive restarts: they are rows, and Run picks them up.
// It returns nil when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
			// Start runs in the caller's transaction, which may not have
			// committed yet: look now and once more shortly after.
			s.pass(ctx)
			timer.Reset(200 * time.Millisecond)
			continue
		}
		wait := s.pass(ctx)
		timer.Reset(wait)
	}
}

// pass takes due steps and returns how long to sleep.
func (s *Service) pass(ctx context.Context) time.Duration {
	if _, err := s.EscalateDue(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("escalation pass failed", "err", err)
	}
	wait := s.opts.PollInterval
	if next, ok, err := s.nextDue(ctx); err == nil && ok {
		wait = min(wait, max(next.Sub(s.now()), 10*time.Millisecond))
	}
	return wait
}
