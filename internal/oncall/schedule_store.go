package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func fieldErrorf(field, format string, args ...any) error {
	return valid.Errorf(field, format, args...)
}

const scheduleCols = `id, name, description, time_zone, layers, created_at, updated_at`

func scanSchedule(row interface{ Scan(...any) error }) (*Schedule, error) {
	s := &Schedule{}
	var layers string
	if err := row.Scan(&s.ID, &s.Name, &s.Description, &s.TimeZone, &layers, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return nil, store.MapError(err)
	}
	if err := json.Unmarshal([]byte(layers), &s.Layers); err != nil {
		return nil, fmt.Errorf("schedule %d layers: %w", s.ID, err)
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	// Stored schedules were valid when saved; should the zone database
	// lose a name, the schedule still computes (in UTC) rather than vanish.
	_ = s.Prepare()
	return s, nil
}

// Schedules returns every schedule by name.
func (s *Service) Schedules(ctx context.Context) ([]*Schedule, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+scheduleCols+` FROM oncall_schedules ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("oncall: schedules: %w", err)
	}
	defer rows.Close()
	out := []*Schedule{}
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("oncall: schedules: %w", err)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// Schedule returns one schedule.
func (s *Service) Schedule(ctx context.Context, id int64) (*Schedule, error) {
	return getSchedule(ctx, s.db.R, id)
}

func getSchedule(ctx context.Context, q store.Querier, id int64) (*Schedule, error) {
	sc, err := scanSchedule(q.QueryRowContext(ctx, `SELECT `+scheduleCols+` FROM oncall_schedules WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("oncall: schedule %d: %w", id, err)
	}
	return sc, nil
}

// SaveSchedule creates (ID 0) or replaces a schedule with its layers.
// Every participant must be a user.
func (s *Service) SaveSchedule(ctx context.Context, in Schedule) (*Schedule, error) {
	if err := in.Prepare(); err != nil {
		return nil, err
	}
	layers, err := json.Marshal(in.Layers)
	if err != nil {
		return nil, fmt.Errorf("oncall: encode layers: %w", err)
	}
	now := s.now().UTC()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, l := range in.Layers {
			if err := checkUsers(ctx, tx, fmt.Sprintf("layers[%d].participants", i), l.Participants); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("name=%s zone=%s layers=%d", in.Name, in.TimeZone, len(in.Layers))
		if in.ID == 0 {
			if err := tx.QueryRowContext(ctx, `INSERT INTO oncall_schedules (name, description, time_zone, layers, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, in.Name, in.Description, in.TimeZone, string(layers), now).Scan(&in.ID); err != nil {
				return nameConflict(fmt.Errorf("oncall: create schedule: %w", store.MapError(err)))
			}
			return auth.Audit(ctx, tx, "schedule.create", "schedule", strconv.FormatInt(in.ID, 10), detail)
		}
		res, err := tx.ExecContext(ctx, `UPDATE oncall_schedules SET name = $1, description = $2, time_zone = $3, layers = $4, updated_at = $5 WHERE id = $6`,
			in.Name, in.Description, in.TimeZone, string(layers), now, in.ID)
		if err != nil {
			return nameConflict(fmt.Errorf("oncall: update schedule: %w", store.MapError(err)))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("oncall: schedule %d: %w", in.ID, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "schedule.update", "schedule", strconv.FormatInt(in.ID, 10), detail)
	})
	if err != nil {
		return nil, err
	}
	return s.Schedule(ctx, in.ID)
}

// nameConflict turns a unique-name refusal into an error on the name field.
func nameConflict(err error) error {
	if errorsIsConflict(err) {
		return fieldErrorf("name", "is already used by another one")
	}
	return err
}

// DeleteSchedule removes a schedule and its overrides. Policies naming it
// keep the reference; the engine reports the schedule as deleted when it
// comes to that level.
func (s *Service) DeleteSchedule(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oncall_schedules WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("oncall: delete schedule: %w", store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("oncall: schedule %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "schedule.delete", "schedule", strconv.FormatInt(id, 10), "")
	})
}

const overrideCols = `id, schedule_id, user_id, starts_at, ends_at, note, created_by, created_at`

func scanOverride(row interface{ Scan(...any) error }) (Override, error) {
	var o Override
	if err := row.Scan(&o.ID, &o.ScheduleID, &o.UserID, &o.Start, &o.End, &o.Note, &o.CreatedBy, &o.CreatedAt); err != nil {
		return o, store.MapError(err)
	}
	o.Start, o.End, o.CreatedAt = o.Start.UTC(), o.End.UTC(), o.CreatedAt.UTC()
	return o, nil
}

// Overrides returns a schedule's overrides that overlap [from, to), by start.
func (s *Service) Overrides(ctx context.Context, scheduleID int64, from, to time.Time) ([]Override, error) {
	return listOverrides(ctx, s.db.R, scheduleID, from, to)
}

func listOverrides(ctx context.Context, q store.Querier, scheduleID int64, from, to time.Time) ([]Override, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+overrideCols+` FROM oncall_overrides
		WHERE schedule_id = $1 AND ends_at > $2 AND starts_at < $3 ORDER BY starts_at, id`, scheduleID, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("oncall: overrides: %w", err)
	}
	defer rows.Close()
	out := []Override{}
	for rows.Next() {
		o, err := scanOverride(rows)
		if err != nil {
			return nil, fmt.Errorf("oncall: overrides: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// AddOverride puts a user on call over a schedule for [Start, End).
func (s *Service) AddOverride(ctx context.Context, in Override) (Override, error) {
	if in.UserID <= 0 {
		return in, fieldErrorf("user_id", "is required")
	}
	if in.Start.IsZero() {
		return in, fieldErrorf("start", "is required")
	}
	if !in.End.After(in.Start) {
		return in, fieldErrorf("end", "must be after start")
	}
	if in.End.Sub(in.Start) > MaxOverrideLength {
		return in, fieldErrorf("end", "an override lasts at most 366 days; add several for longer")
	}
	if err := valid.Text("note", in.Note, false, 500, false); err != nil {
		return in, err
	}
	in.Start, in.End = in.Start.UTC().Truncate(time.Second), in.End.UTC().Truncate(time.Second)
	in.CreatedAt, in.CreatedBy = s.now().UTC(), auth.ActorFrom(ctx).Name
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		sc, err := getSchedule(ctx, tx, in.ScheduleID)
		if err != nil {
			return err
		}
		if err := checkUsers(ctx, tx, "user_id", []int64{in.UserID}); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO oncall_overrides (schedule_id, user_id, starts_at, ends_at, note, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, in.ScheduleID, in.UserID, in.Start, in.End, in.Note, in.CreatedBy, in.CreatedAt).Scan(&in.ID); err != nil {
			return fmt.Errorf("oncall: add override: %w", store.MapError(err))
		}
		return auth.Audit(ctx, tx, "override.create", "schedule", strconv.FormatInt(in.ScheduleID, 10),
			fmt.Sprintf("override=%d schedule=%s user=%d %s→%s", in.ID, sc.Name, in.UserID, in.Start.Format(time.RFC3339), in.End.Format(time.RFC3339)))
	})
	return in, err
}

// DeleteOverride removes one override of a schedule.
func (s *Service) DeleteOverride(ctx context.Context, scheduleID, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oncall_overrides WHERE id = $1 AND schedule_id = $2`, id, scheduleID)
		if err != nil {
			return fmt.Errorf("oncall: delete override: %w", store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("oncall: override %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "override.delete", "schedule", strconv.FormatInt(scheduleID, 10), fmt.Sprintf("override=%d", id))
	})
}

// MaxShiftWindow bounds one Shifts request.
const MaxShiftWindow = 366 * 24 * time.Hour

// Shifts computes a schedule's final shifts for [from, to).
func (s *Service) Shifts(ctx context.Context, scheduleID int64, from, to time.Time) ([]Shift, error) {
	if !to.After(from) {
		return nil, fieldErrorf("to", "must be after from")
	}
	if to.Sub(from) > MaxShiftWindow {
		return nil, fieldErrorf("to", "at most 366 days after from")
	}
	sc, err := s.Schedule(ctx, scheduleID)
	if err != nil {
		return nil, err
	}
	ovs, err := s.Overrides(ctx, scheduleID, from, to)
	if err != nil {
		return nil, err
	}
	out := sc.Shifts(ovs, from, to)
	if out == nil {
		out = []Shift{}
	}
	return out, nil
}

// OnCallAt returns who is on call on a schedule at t: one user, or none.
func (s *Service) OnCallAt(ctx context.Context, scheduleID int64, t time.Time) ([]int64, error) {
	return onCallAt(ctx, s.db.R, scheduleID, t)
}

func onCallAt(ctx context.Context, q store.Querier, scheduleID int64, t time.Time) ([]int64, error) {
	sc, err := getSchedule(ctx, q, scheduleID)
	if err != nil {
		return nil, err
	}
	return onCallOn(ctx, q, sc, t)
}

// onCallOn is onCallAt for a schedule already loaded.
func onCallOn(ctx context.Context, q store.Querier, sc *Schedule, t time.Time) ([]int64, error) {
	ovs, err := listOverrides(ctx, q, sc.ID, t, t.Add(time.Second))
	if err != nil {
		return nil, err
	}
	if sh, ok := sc.OnCallAt(ovs, t); ok {
		return []int64{sh.UserID}, nil
	}
	return []int64{}, nil
}

// OnCall is a schedule's on-call answer at one moment: the shift in
// progress (nil when nobody is on call) and the next one to start within
// the look-ahead.
type OnCall struct {
	ScheduleID   int64  `json:"schedule_id"`
	ScheduleName string `json:"schedule_name"`
	TimeZone     string `json:"time_zone"`
	Current      *Shift `json:"current"`
	Next         *Shift `json:"next"`
	// Horizon is how far the answer looked: a Current ending at Horizon
	// goes on at least that long.
	Horizon time.Time `json:"horizon"`
}

// onCallLookAhead is how far ahead OnCallNow looks for the end of the
// current shift and the next one.
const onCallLookAhead = 35 * 24 * time.Hour

// OnCall answers who is on call on one schedule at t, with the shift's
// end and who comes next.
func (s *Service) OnCall(ctx context.Context, scheduleID int64, t time.Time) (OnCall, error) {
	sc, err := s.Schedule(ctx, scheduleID)
	if err != nil {
		return OnCall{}, err
	}
	return s.onCallOf(ctx, sc, t)
}

func (s *Service) onCallOf(ctx context.Context, sc *Schedule, t time.Time) (OnCall, error) {
	oc := OnCall{ScheduleID: sc.ID, ScheduleName: sc.Name, TimeZone: sc.TimeZone, Horizon: t.Add(onCallLookAhead).In(sc.Location())}
	ovs, err := s.Overrides(ctx, sc.ID, t, t.Add(onCallLookAhead))
	if err != nil {
		return oc, err
	}
	shifts := sc.Shifts(ovs, t, t.Add(onCallLookAhead))
	// Pieces of the same user from different sources are one stretch here.
	for i := 0; i < len(shifts); i++ {
		sh := shifts[i]
		for i+1 < len(shifts) && shifts[i+1].UserID == sh.UserID && shifts[i+1].Start.Equal(sh.End) {
			sh.End = shifts[i+1].End
			i++
		}
		switch {
		case oc.Current == nil && oc.Next == nil && !sh.Start.After(t):
			oc.Current = &sh
		case oc.Next == nil:
			oc.Next = &sh
		}
		if oc.Next != nil {
			break
		}
	}
	return oc, nil
}

// OnCallNow answers OnCall for every schedule at the service's now.
func (s *Service) OnCallNow(ctx context.Context) ([]OnCall, error) {
	scs, err := s.Schedules(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]OnCall, 0, len(scs))
	for _, sc := range scs {
		oc, err := s.onCallOf(ctx, sc, now)
		if err != nil {
			return nil, err
		}
		out = append(out, oc)
	}
	return out, nil
}
