package change

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Freeze is a freeze (blackout) window: no normal or standard change may
// be planned to run in it; an emergency change may, and is flagged. A
// freeze is one-off (StartsAt–EndsAt) or recurring (Cron + Duration in
// Timezone, an IANA zone), like a monitor maintenance window.
type Freeze struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	StartsAt    *time.Time `json:"starts_at,omitempty"`
	EndsAt      *time.Time `json:"ends_at,omitempty"`
	Cron        string     `json:"cron,omitempty"`
	Duration    string     `json:"duration,omitempty"`
	Timezone    string     `json:"timezone,omitempty"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`

	dur      time.Duration
	schedule cron.Schedule
	loc      *time.Location
}

// Span is one occurrence of a window.
type Span struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// validate checks a freeze and prepares its schedule; errors name the field.
func (f *Freeze) validate() error {
	if err := valid.Text("name", f.Name, true, 200, false); err != nil {
		return err
	}
	if err := valid.Text("description", f.Description, false, 2000, true); err != nil {
		return err
	}
	oneOff := f.StartsAt != nil || f.EndsAt != nil
	switch {
	case oneOff && f.Cron != "":
		return valid.Errorf("cron", "give either starts_at/ends_at or cron/duration, not both")
	case oneOff:
		if err := checkSpan("starts_at", "ends_at", f.StartsAt, f.EndsAt); err != nil {
			return err
		}
		if f.Duration != "" || f.Timezone != "" {
			return valid.Errorf("duration", "only applies to a recurring (cron) freeze")
		}
		f.StartsAt, f.EndsAt = utcPtr(f.StartsAt), utcPtr(f.EndsAt)
	case f.Cron != "":
		return f.prepare()
	default:
		return valid.Errorf("starts_at", "give starts_at and ends_at, or cron and duration")
	}
	return nil
}

// prepare parses a recurring freeze's schedule with monitoring's cron
// parser (five fields, IANA time zone).
func (f *Freeze) prepare() error {
	sched, loc, err := monitor.ParseCron(f.Cron, f.Timezone)
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(f.Duration)
	if err != nil || d < time.Minute || d > 31*24*time.Hour {
		return valid.Errorf("duration", "must be a duration from 1m to 31 days, such as \"48h\"")
	}
	f.schedule, f.dur, f.loc = sched, d, loc
	return nil
}

// maxOccurrences bounds how many occurrences one query expands.
const maxOccurrences = 2000

// Occurrences returns the spans of the freeze that overlap [from, to).
func (f *Freeze) Occurrences(from, to time.Time) []Span {
	if f.StartsAt != nil && f.EndsAt != nil {
		if f.StartsAt.Before(to) && f.EndsAt.After(from) {
			return []Span{{*f.StartsAt, *f.EndsAt}}
		}
		return nil
	}
	return recurring(f.schedule, f.loc, f.dur, from, to)
}

// recurring expands a cron schedule in loc with a duration into the spans
// that overlap [from, to).
func recurring(sched cron.Schedule, loc *time.Location, dur time.Duration, from, to time.Time) []Span {
	if sched == nil || loc == nil {
		return nil
	}
	var out []Span
	t := sched.Next(from.Add(-dur).In(loc))
	for !t.IsZero() && t.Before(to) && len(out) < maxOccurrences {
		if end := t.Add(dur); end.After(from) {
			out = append(out, Span{t.UTC(), end.UTC()})
		}
		t = sched.Next(t)
	}
	return out
}

const freezeCols = `id, name, description, starts_at, ends_at, cron, duration_ms, timezone, created_by, created_at`

func scanFreeze(row interface{ Scan(...any) error }) (Freeze, error) {
	var f Freeze
	var starts, ends store.NullTime
	var durMS int64
	if err := row.Scan(&f.ID, &f.Name, &f.Description, &starts, &ends, &f.Cron, &durMS, &f.Timezone, &f.CreatedBy, &f.CreatedAt); err != nil {
		return f, store.MapError(err)
	}
	f.StartsAt, f.EndsAt, f.CreatedAt = timePtr(starts), timePtr(ends), f.CreatedAt.UTC()
	if f.Cron != "" {
		f.Duration = (time.Duration(durMS) * time.Millisecond).String()
		_ = f.prepare()
	}
	return f, nil
}

// Freezes returns every freeze, newest first.
func (s *Service) Freezes(ctx context.Context) ([]Freeze, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+freezeCols+` FROM change_freezes ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("change: freezes: %w", err)
	}
	defer rows.Close()
	out := []Freeze{}
	for rows.Next() {
		f, err := scanFreeze(rows)
		if err != nil {
			return nil, fmt.Errorf("change: freezes: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// GetFreeze returns one freeze.
func (s *Service) GetFreeze(ctx context.Context, id int64) (Freeze, error) {
	f, err := scanFreeze(s.db.R.QueryRowContext(ctx, `SELECT `+freezeCols+` FROM change_freezes WHERE id = $1`, id))
	if err != nil {
		return f, fmt.Errorf("change: freeze %d: %w", id, err)
	}
	return f, nil
}

// SaveFreeze creates (ID 0) or replaces a freeze.
func (s *Service) SaveFreeze(ctx context.Context, f Freeze) (Freeze, error) {
	if err := f.validate(); err != nil {
		return Freeze{}, err
	}
	now := s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		durMS := f.dur.Milliseconds()
		if f.ID == 0 {
			if err := tx.QueryRowContext(ctx, `INSERT INTO change_freezes (name, description, starts_at, ends_at, cron, duration_ms, timezone, created_by, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, f.Name, f.Description, f.StartsAt, f.EndsAt, f.Cron, durMS, f.Timezone,
				actorName(auth.ActorFrom(ctx)), now).Scan(&f.ID); err != nil {
				return fmt.Errorf("change: create freeze: %w", store.MapError(err))
			}
			return auth.Audit(ctx, tx, "change.freeze.create", "change_freeze", fmt.Sprint(f.ID), "name="+f.Name)
		}
		res, err := tx.ExecContext(ctx, `UPDATE change_freezes SET name = $1, description = $2, starts_at = $3, ends_at = $4, cron = $5, duration_ms = $6,
			timezone = $7 WHERE id = $8`, f.Name, f.Description, f.StartsAt, f.EndsAt, f.Cron, durMS, f.Timezone, f.ID)
		if err != nil {
			return fmt.Errorf("change: update freeze: %w", store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("change: freeze %d: %w", f.ID, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "change.freeze.update", "change_freeze", fmt.Sprint(f.ID), "name="+f.Name)
	})
	if err != nil {
		return Freeze{}, err
	}
	return s.GetFreeze(ctx, f.ID)
}

// DeleteFreeze removes a freeze.
func (s *Service) DeleteFreeze(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "change_freezes", "change_freeze", "change.freeze.delete", id)
}

// FreezeHit is the refusal of a plan that falls in a freeze; it is a
// validation error on planned_start.
type FreezeHit struct {
	Freeze Freeze
	Span   Span
}

func (e *FreezeHit) Error() string {
	return fmt.Sprintf("planned_start: the planned time falls in the freeze %q (%s to %s UTC); only emergency changes may run in a freeze",
		e.Freeze.Name, e.Span.Start.Format("2006-01-02 15:04"), e.Span.End.Format("2006-01-02 15:04"))
}

// Field names the field for valid.As.
func (e *FreezeHit) Unwrap() error {
	return valid.Errorf("planned_start", "%s", e.Error()[len("planned_start: "):])
}

func asFreezeHit(err error) (Freeze, bool) {
	var h *FreezeHit
	if errors.As(err, &h) {
		return h.Freeze, true
	}
	return Freeze{}, false
}

// FreezeAt returns the first freeze overlapping [start, end), if any.
func (s *Service) FreezeAt(ctx context.Context, start, end time.Time) (*FreezeHit, error) {
	fs, err := s.Freezes(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if sp := f.Occurrences(start, end); len(sp) > 0 {
			return &FreezeHit{Freeze: f, Span: sp[0]}, nil
		}
	}
	return nil, nil
}

// checkFreeze refuses a plan inside a freeze with a *FreezeHit (every
// type: the caller lets an emergency change through, flagged).
func (s *Service) checkFreeze(ctx context.Context, t Type, start, end *time.Time) error {
	if start == nil || end == nil {
		return nil
	}
	hit, err := s.FreezeAt(ctx, *start, *end)
	if err != nil {
		return err
	}
	if hit != nil {
		return hit
	}
	return nil
}
