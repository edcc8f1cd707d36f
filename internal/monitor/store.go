package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Status is a monitor's current condition as last computed.
type Status struct {
	State         State      `json:"state"`
	Since         time.Time  `json:"since"`
	LastCheckAt   *time.Time `json:"last_check_at,omitempty"`
	LastResult    string     `json:"last_result,omitempty"`
	LastLatencyMS float64    `json:"last_latency_ms"`
	LastMessage   string     `json:"last_message,omitempty"`
	FailStreak    int        `json:"fail_streak"`
	OKStreak      int        `json:"ok_streak"`
	// Verdict is what the checks say, which differs from State during
	// maintenance.
	Verdict State `json:"verdict,omitempty"`
}

// WithStatus is a monitor and its current status, as lists show them.
type WithStatus struct {
	Monitor
	Status Status `json:"status"`
}

const monitorCols = `m.id, m.name, m.type, m.settings, m.description, m.tags, m.interval_ms, m.timeout_ms,
	m.failure_threshold, m.success_threshold, m.paused, m.source, m.created_at, m.updated_at,
	s.state, s.state_since, s.last_check_at, s.last_status, s.last_latency_us, s.last_message, s.fail_streak, s.ok_streak, s.verdict`

const monitorFrom = ` FROM monitors m JOIN monitor_status s ON s.monitor_id = m.id`

func scanMonitor(row interface{ Scan(...any) error }) (WithStatus, error) {
	var w WithStatus
	var settings, tags, state, verdict string
	var iv, to, lat int64
	var last sql.NullTime
	err := row.Scan(&w.ID, &w.Name, &w.Type, &settings, &w.Description, &tags, &iv, &to,
		&w.FailureThreshold, &w.SuccessThreshold, &w.Paused, &w.Source, &w.CreatedAt, &w.UpdatedAt,
		&state, &w.Status.Since, &last, &w.Status.LastResult, &lat, &w.Status.LastMessage, &w.Status.FailStreak, &w.Status.OKStreak, &verdict)
	if err != nil {
		return w, store.MapError(err)
	}
	w.Settings = json.RawMessage(settings)
	w.Tags = splitTags(tags)
	w.Interval, w.Timeout = time.Duration(iv)*time.Millisecond, time.Duration(to)*time.Millisecond
	w.CreatedAt, w.UpdatedAt, w.Status.Since = w.CreatedAt.UTC(), w.UpdatedAt.UTC(), w.Status.Since.UTC()
	w.Status.State, w.Status.Verdict = State(state), State(verdict)
	w.Status.LastLatencyMS = float64(lat) / 1000
	if last.Valid {
		t := last.Time.UTC()
		w.Status.LastCheckAt = &t
	}
	return w, nil
}

// tags are stored as ",a,b," so that a tag filter is one LIKE '%,tag,%'.
func joinTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "," + strings.Join(tags, ",") + ","
}

func splitTags(s string) []string {
	out := []string{}
	for _, t := range strings.Split(s, ",") {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (s *Service) insert(ctx context.Context, m Monitor) (Monitor, error) {
	now := s.now().UTC()
	m.CreatedAt, m.UpdatedAt = now, now
	if m.Source == "" {
		m.Source = "api"
	}
	state := StateUnknown
	if m.Paused {
		state = StatePaused
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO monitors (name, type, settings, description, tags, interval_ms, timeout_ms,
			failure_threshold, success_threshold, paused, source, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id`,
			m.Name, m.Type, string(m.Settings), m.Description, joinTags(m.Tags), m.Interval.Milliseconds(), m.Timeout.Milliseconds(),
			m.FailureThreshold, m.SuccessThreshold, m.Paused, m.Source, now).Scan(&m.ID)
		if err != nil {
			if errors.Is(store.MapError(err), store.ErrConflict) {
				return valid.Errorf("name", "a monitor named %q exists already", m.Name)
			}
			return fmt.Errorf("monitor: create: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_status (monitor_id, state, state_since) VALUES ($1, $2, $3)`, m.ID, string(state), now); err != nil {
			return fmt.Errorf("monitor: create status: %w", err)
		}
		if err := ensurePingKey(ctx, tx, m); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "monitor.create", "monitor", fmt.Sprint(m.ID), fmt.Sprintf("name=%s type=%s", m.Name, m.Type))
	})
	return m, err
}

func (s *Service) update(ctx context.Context, m Monitor) (Monitor, error) {
	m.UpdatedAt = s.now().UTC()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE monitors SET name = $1, type = $2, settings = $3, description = $4, tags = $5,
			interval_ms = $6, timeout_ms = $7, failure_threshold = $8, success_threshold = $9, paused = $10, updated_at = $11, source = $12 WHERE id = $13`,
			m.Name, m.Type, string(m.Settings), m.Description, joinTags(m.Tags), m.Interval.Milliseconds(), m.Timeout.Milliseconds(),
			m.FailureThreshold, m.SuccessThreshold, m.Paused, m.UpdatedAt, m.Source, m.ID)
		if err != nil {
			if errors.Is(store.MapError(err), store.ErrConflict) {
				return valid.Errorf("name", "a monitor named %q exists already", m.Name)
			}
			return fmt.Errorf("monitor: update: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("monitor %d: %w", m.ID, store.ErrNotFound)
		}
		if err := ensurePingKey(ctx, tx, m); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "monitor.update", "monitor", fmt.Sprint(m.ID), "name="+m.Name)
	})
	return m, err
}

func (s *Service) remove(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, `DELETE FROM monitors WHERE id = $1 RETURNING name`, id).Scan(&name); err != nil {
			return fmt.Errorf("monitor %d: %w", id, store.MapError(err))
		}
		return auth.Audit(ctx, tx, "monitor.delete", "monitor", fmt.Sprint(id), "name="+name)
	})
}

// Get returns one monitor with its status.
func (s *Service) Get(ctx context.Context, id int64) (WithStatus, error) {
	w, err := scanMonitor(s.db.R.QueryRowContext(ctx, `SELECT `+monitorCols+monitorFrom+` WHERE m.id = $1`, id))
	if err != nil {
		return w, fmt.Errorf("monitor %d: %w", id, err)
	}
	return w, nil
}

// ListFilter selects monitors for a list.
type ListFilter struct {
	Tag   string
	State State
	Type  string
	// Query matches name or description, case-insensitively.
	Query string
	// After is the cursor: the id after which to continue.
	After int64
	Limit int
}

// List returns monitors ordered by id, and the cursor of the next page (0
// when none).
func (s *Service) List(ctx context.Context, f ListFilter) ([]WithStatus, int64, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 100
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Tag != "" {
		add(`m.tags LIKE $%d ESCAPE '\'`, "%,"+escapeLike(f.Tag)+",%")
	}
	if f.State != "" {
		add("s.state = $%d", string(f.State))
	}
	if f.Type != "" {
		add("m.type = $%d", f.Type)
	}
	if f.Query != "" {
		q := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		args = append(args, q)
		where = append(where, fmt.Sprintf(`(LOWER(m.name) LIKE $%d ESCAPE '\' OR LOWER(m.description) LIKE $%d ESCAPE '\')`, len(args), len(args)))
	}
	if f.After > 0 {
		add("m.id > $%d", f.After)
	}
	q := `SELECT ` + monitorCols + monitorFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit+1)
	q += fmt.Sprintf(" ORDER BY m.id LIMIT $%d", len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("monitor: list: %w", err)
	}
	defer rows.Close()
	out := []WithStatus{}
	for rows.Next() {
		w, err := scanMonitor(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("monitor: list: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("monitor: list: %w", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// loadAll reads every monitor definition, for the scheduler's start.
func (s *Service) loadAll(ctx context.Context) ([]WithStatus, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+monitorCols+monitorFrom+` ORDER BY m.id`)
	if err != nil {
		return nil, fmt.Errorf("monitor: load: %w", err)
	}
	defer rows.Close()
	var out []WithStatus
	for rows.Next() {
		w, err := scanMonitor(rows)
		if err != nil {
			return nil, fmt.Errorf("monitor: load: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Event is one state change of a monitor.
type Event struct {
	ID        int64     `json:"id"`
	MonitorID int64     `json:"monitor_id"`
	At        time.Time `json:"at"`
	From      State     `json:"from"`
	To        State     `json:"to"`
	Message   string    `json:"message"`
}

// Events returns a monitor's state changes, newest first.
func (s *Service) Events(ctx context.Context, id int64, before int64, limit int) ([]Event, int64, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	q := `SELECT id, monitor_id, at, from_state, to_state, message FROM monitor_events WHERE monitor_id = $1`
	args := []any{id}
	if before > 0 {
		q += ` AND id < $2`
		args = append(args, before)
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("monitor: events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var from, to string
		if err := rows.Scan(&e.ID, &e.MonitorID, &e.At, &from, &to, &e.Message); err != nil {
			return nil, 0, fmt.Errorf("monitor: events: %w", err)
		}
		e.From, e.To, e.At = State(from), State(to), e.At.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
