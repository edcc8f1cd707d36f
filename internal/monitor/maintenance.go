package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Window is a maintenance window: while it is active, the monitors it
// covers keep being checked but show "maintenance" and raise no alerts.
// A window is one-off (StartsAt–EndsAt) or recurring (Cron + Duration in
// Timezone), and covers monitors by id and by tag.
type Window struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	StartsAt    *time.Time `json:"starts_at,omitempty"`
	EndsAt      *time.Time `json:"ends_at,omitempty"`
	Cron        string     `json:"cron,omitempty"`
	Duration    string     `json:"duration,omitempty"`
	Timezone    string     `json:"timezone,omitempty"`
	MonitorIDs  []int64    `json:"monitor_ids"`
	Tags        []string   `json:"tags"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`

	dur      time.Duration
	schedule cron.Schedule
	loc      *time.Location
}

// validate checks a window and prepares its schedule. Errors name the field.
func (w *Window) validate() error {
	if err := valid.Text("name", w.Name, true, 200, false); err != nil {
		return err
	}
	if err := valid.Text("description", w.Description, false, 2000, true); err != nil {
		return err
	}
	oneOff := w.StartsAt != nil || w.EndsAt != nil
	switch {
	case oneOff && w.Cron != "":
		return valid.Errorf("cron", "give either starts_at/ends_at or cron/duration, not both")
	case oneOff:
		if w.StartsAt == nil {
			return valid.Errorf("starts_at", "is required with ends_at")
		}
		if w.EndsAt == nil {
			return valid.Errorf("ends_at", "is required with starts_at")
		}
		if !w.EndsAt.After(*w.StartsAt) {
			return valid.Errorf("ends_at", "must be after starts_at")
		}
		if w.EndsAt.Sub(*w.StartsAt) > 366*24*time.Hour {
			return valid.Errorf("ends_at", "a window can last at most a year")
		}
		if w.Duration != "" || w.Timezone != "" {
			return valid.Errorf("duration", "only applies to a recurring (cron) window")
		}
		s, e := w.StartsAt.UTC(), w.EndsAt.UTC()
		w.StartsAt, w.EndsAt = &s, &e
	case w.Cron != "":
		sched, loc, err := ParseCron(w.Cron, w.Timezone)
		if err != nil {
			return err
		}
		w.loc = loc
		d, err := time.ParseDuration(w.Duration)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			return valid.Errorf("duration", "must be a duration from 1m to 7 days, such as \"2h\"")
		}
		w.schedule, w.dur = sched, d
	default:
		return valid.Errorf("starts_at", "give starts_at and ends_at, or cron and duration")
	}
	tags, err := normalizeTags(w.Tags)
	if err != nil {
		return err
	}
	w.Tags = tags
	if len(w.MonitorIDs) == 0 && len(w.Tags) == 0 {
		return valid.Errorf("monitor_ids", "name at least one monitor or tag")
	}
	if len(w.MonitorIDs) > 10000 {
		return valid.Errorf("monitor_ids", "at most 10000 monitors")
	}
	slices.Sort(w.MonitorIDs)
	w.MonitorIDs = slices.Compact(w.MonitorIDs)
	if w.MonitorIDs == nil {
		w.MonitorIDs = []int64{}
	}
	return nil
}

// ActiveAt reports whether the window is open at t.
func (w *Window) ActiveAt(t time.Time) bool {
	if w.StartsAt != nil {
		return !t.Before(*w.StartsAt) && t.Before(*w.EndsAt)
	}
	if w.schedule == nil {
		return false
	}
	// The first start after t-duration, if it is not after t, opened a
	// window that is still open.
	start := w.schedule.Next(t.Add(-w.dur).In(w.loc))
	return !start.IsZero() && !start.After(t)
}

// covers reports whether the window applies to m.
func (w *Window) covers(m Monitor) bool {
	if _, ok := slices.BinarySearch(w.MonitorIDs, m.ID); ok {
		return true
	}
	for _, t := range m.Tags {
		if slices.Contains(w.Tags, t) {
			return true
		}
	}
	return false
}

// windowBook holds the windows in memory: every check asks it.
type windowBook struct {
	mu sync.RWMutex
	ws []*Window
}

func (b *windowBook) set(ws []*Window) {
	b.mu.Lock()
	b.ws = ws
	b.mu.Unlock()
}

// active returns the first window covering m at t, or nil.
func (b *windowBook) active(m Monitor, t time.Time) *Window {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, w := range b.ws {
		if w.covers(m) && w.ActiveAt(t) {
			return w
		}
	}
	return nil
}

func idsText(ids []int64) string {
	if len(ids) == 0 {
		return ""
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "," + strings.Join(parts, ",") + ","
}

func parseIDs(s string) []int64 {
	out := []int64{}
	for _, p := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

const windowCols = `id, name, description, starts_at, ends_at, cron, duration_ms, timezone, monitor_ids, tags, created_by, created_at, updated_at`

func scanWindow(row interface{ Scan(...any) error }) (*Window, error) {
	w := &Window{}
	var starts, ends store.NullTime
	var durMS int64
	var ids, tags string
	if err := row.Scan(&w.ID, &w.Name, &w.Description, &starts, &ends, &w.Cron, &durMS, &w.Timezone, &ids, &tags, &w.CreatedBy, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, store.MapError(err)
	}
	if starts.Valid {
		w.StartsAt = &starts.Time
	}
	if ends.Valid {
		w.EndsAt = &ends.Time
	}
	if durMS > 0 {
		w.Duration = (time.Duration(durMS) * time.Millisecond).String()
	}
	w.MonitorIDs, w.Tags = parseIDs(ids), splitTags(tags)
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	if w.Cron != "" {
		if sched, loc, err := ParseCron(w.Cron, w.Timezone); err == nil {
			w.schedule, w.loc, w.dur = sched, loc, time.Duration(durMS)*time.Millisecond
		}
	}
	return w, nil
}

// Windows returns every maintenance window, newest first.
func (s *Service) Windows(ctx context.Context) ([]*Window, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+windowCols+` FROM maintenance_windows ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("monitor: windows: %w", err)
	}
	defer rows.Close()
	out := []*Window{}
	for rows.Next() {
		w, err := scanWindow(rows)
		if err != nil {
			return nil, fmt.Errorf("monitor: windows: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Window returns one maintenance window.
func (s *Service) Window(ctx context.Context, id int64) (*Window, error) {
	w, err := scanWindow(s.db.R.QueryRowContext(ctx, `SELECT `+windowCols+` FROM maintenance_windows WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("monitor: window %d: %w", id, err)
	}
	return w, nil
}

// SaveWindow creates (ID 0) or replaces a maintenance window.
func (s *Service) SaveWindow(ctx context.Context, w Window) (*Window, error) {
	if err := w.validate(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	durMS := w.dur.Milliseconds()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if w.ID == 0 {
			w.CreatedBy, w.CreatedAt = auth.ActorFrom(ctx).Name, now
			if err := tx.QueryRowContext(ctx, `INSERT INTO maintenance_windows (name, description, starts_at, ends_at, cron, duration_ms, timezone,
				monitor_ids, tags, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
				w.Name, w.Description, w.StartsAt, w.EndsAt, w.Cron, durMS, w.Timezone, idsText(w.MonitorIDs), joinTags(w.Tags), w.CreatedBy, now).Scan(&w.ID); err != nil {
				return fmt.Errorf("monitor: create window: %w", err)
			}
			return auth.Audit(ctx, tx, "maintenance.create", "maintenance", fmt.Sprint(w.ID), "name="+w.Name)
		}
		res, err := tx.ExecContext(ctx, `UPDATE maintenance_windows SET name = $1, description = $2, starts_at = $3, ends_at = $4, cron = $5,
			duration_ms = $6, timezone = $7, monitor_ids = $8, tags = $9, updated_at = $10 WHERE id = $11`,
			w.Name, w.Description, w.StartsAt, w.EndsAt, w.Cron, durMS, w.Timezone, idsText(w.MonitorIDs), joinTags(w.Tags), now, w.ID)
		if err != nil {
			return fmt.Errorf("monitor: update window: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("monitor: window %d: %w", w.ID, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "maintenance.update", "maintenance", fmt.Sprint(w.ID), "name="+w.Name)
	})
	if err != nil {
		return nil, err
	}
	if err := s.reloadWindows(ctx); err != nil {
		return nil, err
	}
	return s.Window(ctx, w.ID)
}

// DeleteWindow removes a maintenance window.
func (s *Service) DeleteWindow(ctx context.Context, id int64) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM maintenance_windows WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("monitor: delete window: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("monitor: window %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "maintenance.delete", "maintenance", fmt.Sprint(id), "")
	})
	if err != nil {
		return err
	}
	return s.reloadWindows(ctx)
}

func (s *Service) reloadWindows(ctx context.Context) error {
	ws, err := s.Windows(ctx)
	if err != nil {
		return err
	}
	s.windows.set(ws)
	return nil
}

// InMaintenance reports the window covering monitor m now, if any.
func (s *Service) InMaintenance(m Monitor) *Window { return s.windows.active(m, s.now()) }

// DecodeWindow reads a window from JSON, refusing unknown fields.
func DecodeWindow(raw []byte) (Window, error) {
	var w Window
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return w, valid.Errorf("body", "not a maintenance window: %v", err)
	}
	return w, nil
}
