package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

const incidentCols = `i.id, i.title, i.description, i.severity, i.priority, i.status, i.service_id, COALESCE(s.name, ''), i.group_key,
	i.assignee_id, COALESCE(u.username, ''), i.responders, i.auto_resolve, i.merged_into, i.created_by, i.created_at, i.acknowledged_at,
	i.resolved_at, i.last_alert_at, i.updated_at,
	(SELECT COUNT(*) FROM alerts a WHERE a.incident_id = i.id),
	(SELECT COUNT(*) FROM alerts a WHERE a.incident_id = i.id AND a.resolved_at IS NULL)`

const incidentFrom = ` FROM incidents i LEFT JOIN services s ON s.id = i.service_id LEFT JOIN users u ON u.id = i.assignee_id`

func scanIncident(row interface{ Scan(...any) error }) (Incident, error) {
	var in Incident
	var svc, assignee, merged sql.NullInt64
	var acked, resolved sql.NullTime
	var responders string
	err := row.Scan(&in.ID, &in.Title, &in.Description, &in.Severity, &in.Priority, &in.Status, &svc, &in.ServiceName, &in.GroupKey,
		&assignee, &in.AssigneeName, &responders, &in.AutoResolve, &merged, &in.CreatedBy, &in.CreatedAt, &acked,
		&resolved, &in.LastAlertAt, &in.UpdatedAt, &in.AlertCount, &in.OpenAlerts)
	if err != nil {
		return in, err
	}
	in.ServiceID, in.AssigneeID, in.MergedInto = ptrInt64(svc), ptrInt64(assignee), ptrInt64(merged)
	in.AcknowledgedAt, in.ResolvedAt = ptrTime(acked), ptrTime(resolved)
	in.CreatedAt, in.LastAlertAt, in.UpdatedAt = in.CreatedAt.UTC(), in.LastAlertAt.UTC(), in.UpdatedAt.UTC()
	in.Responders = []int64{}
	for _, r := range splitList(responders) {
		if n, err := strconv.ParseInt(r, 10, 64); err == nil {
			in.Responders = append(in.Responders, n)
		}
	}
	return in, nil
}

// Get returns one incident with its affected services.
func (s *Service) Get(ctx context.Context, id int64) (Incident, error) {
	in, err := scanIncident(s.db.R.QueryRowContext(ctx, `SELECT `+incidentCols+incidentFrom+` WHERE i.id = $1`, id))
	if err != nil {
		return in, fmt.Errorf("incident: get %d: %w", id, store.MapError(err))
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT DISTINCT s.id, s.name FROM services s WHERE s.id = $2
		OR s.id IN (SELECT a.service_id FROM alerts a WHERE a.incident_id = $1) ORDER BY s.name`, id, nullInt64(in.ServiceID))
	if err != nil {
		return in, fmt.Errorf("incident: services of %d: %w", id, store.MapError(err))
	}
	defer rows.Close()
	in.Services = []ServiceRef{}
	for rows.Next() {
		var r ServiceRef
		if err := rows.Scan(&r.ID, &r.Name); err != nil {
			return in, fmt.Errorf("incident: services of %d: %w", id, err)
		}
		in.Services = append(in.Services, r)
	}
	return in, rows.Err()
}

// Filter selects incidents for a list.
type Filter struct {
	// Status is triggered, acknowledged, resolved, or "open" (not resolved).
	Status     string
	Severity   string
	ServiceID  int64
	AssigneeID int64
	// Before is the cursor: incidents with a smaller id (newest first).
	Before int64
	Limit  int
}

func (f *Filter) validate() error {
	if f.Status != "" && !slices.Contains([]string{"open", string(StatusTriggered), string(StatusAcknowledged), string(StatusResolved)}, f.Status) {
		return valid.Errorf("status", "must be open, triggered, acknowledged or resolved")
	}
	if f.Severity != "" && !slices.Contains(IncidentSeverities, f.Severity) {
		return valid.Errorf("severity", "must be one of %s", strings.Join(IncidentSeverities, ", "))
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	return nil
}

// List returns incidents newest first and the cursor of the next page (0:
// none).
func (s *Service) List(ctx context.Context, f Filter) ([]Incident, int64, error) {
	if err := f.validate(); err != nil {
		return nil, 0, err
	}
	where, args := f.where()
	args = append(args, f.Limit+1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+incidentCols+incidentFrom+where+` ORDER BY i.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("incident: list: %w", store.MapError(err))
	}
	defer rows.Close()
	out := []Incident{}
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("incident: list: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("incident: list: %w", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[f.Limit-1].ID
	}
	return out, next, nil
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	switch f.Status {
	case "":
	case "open":
		add("i.status <> ?", string(StatusResolved))
	default:
		add("i.status = ?", f.Status)
	}
	if f.Severity != "" {
		add("i.severity = ?", f.Severity)
	}
	if f.ServiceID != 0 {
		add("i.service_id = ?", f.ServiceID)
	}
	if f.AssigneeID != 0 {
		add("i.assignee_id = ?", f.AssigneeID)
	}
	if f.Before != 0 {
		add("i.id < ?", f.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Counts are how many incidents match the filter's service, severity and
// assignee, by status, for the list's summary.
type Counts struct {
	Triggered, Acknowledged, Resolved int64
}

// Count counts incidents by status under f (its Status is ignored).
func (s *Service) Count(ctx context.Context, f Filter) (Counts, error) {
	f.Status, f.Before = "", 0
	where, args := f.where()
	rows, err := s.db.R.QueryContext(ctx, `SELECT i.status, COUNT(*) FROM incidents i`+where+` GROUP BY i.status`, args...)
	if err != nil {
		return Counts{}, fmt.Errorf("incident: count: %w", store.MapError(err))
	}
	defer rows.Close()
	var c Counts
	for rows.Next() {
		var st Status
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return c, fmt.Errorf("incident: count: %w", err)
		}
		switch st {
		case StatusTriggered:
			c.Triggered = n
		case StatusAcknowledged:
			c.Acknowledged = n
		case StatusResolved:
			c.Resolved = n
		}
	}
	return c, rows.Err()
}

// Timeline returns an incident's timeline, oldest first.
func (s *Service) Timeline(ctx context.Context, id int64) ([]TimelineEntry, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, incident_id, at, kind, actor, text, alert_id FROM incident_timeline WHERE incident_id = $1 ORDER BY id LIMIT 5000`, id)
	if err != nil {
		return nil, fmt.Errorf("incident: timeline of %d: %w", id, store.MapError(err))
	}
	defer rows.Close()
	out := []TimelineEntry{}
	for rows.Next() {
		var e TimelineEntry
		var alert sql.NullInt64
		if err := rows.Scan(&e.ID, &e.IncidentID, &e.At, &e.Kind, &e.Actor, &e.Text, &alert); err != nil {
			return nil, fmt.Errorf("incident: timeline of %d: %w", id, err)
		}
		e.At, e.AlertID = e.At.UTC(), ptrInt64(alert)
		out = append(out, e)
	}
	return out, rows.Err()
}

const alertCols = `id, service_id, integration_id, dedup_key, status, severity, summary, source, labels, details, links, event_count,
	first_seen, last_seen, acknowledged_at, resolved_at, incident_id`

func scanAlert(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var integ, inc sql.NullInt64
	var acked, resolved sql.NullTime
	var labels, details, links string
	if err := row.Scan(&a.ID, &a.ServiceID, &integ, &a.DedupKey, &a.Status, &a.Severity, &a.Summary, &a.Source, &labels, &details, &links,
		&a.Count, &a.FirstSeen, &a.LastSeen, &acked, &resolved, &inc); err != nil {
		return a, err
	}
	a.IntegrationID, a.IncidentID = ptrInt64(integ), ptrInt64(inc)
	a.AcknowledgedAt, a.ResolvedAt = ptrTime(acked), ptrTime(resolved)
	a.FirstSeen, a.LastSeen = a.FirstSeen.UTC(), a.LastSeen.UTC()
	_ = json.Unmarshal([]byte(labels), &a.Labels)
	_ = json.Unmarshal([]byte(links), &a.Links)
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if a.Links == nil {
		a.Links = []Link{}
	}
	a.Details = json.RawMessage(details)
	return a, nil
}

// AlertFilter selects alerts.
type AlertFilter struct {
	IncidentID int64
	ServiceID  int64
	// Status is firing, acknowledged, resolved or "open".
	Status string
	Before int64
	Limit  int
}

// ListAlerts returns alerts newest first and the next page's cursor.
func (s *Service) ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, int64, error) {
	if f.Status != "" && !slices.Contains([]string{"open", string(StatusFiring), string(StatusAcknowledged), string(StatusResolved)}, f.Status) {
		return nil, 0, valid.Errorf("status", "must be open, firing, acknowledged or resolved")
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.IncidentID != 0 {
		add("incident_id = ?", f.IncidentID)
	}
	if f.ServiceID != 0 {
		add("service_id = ?", f.ServiceID)
	}
	switch f.Status {
	case "":
	case "open":
		conds = append(conds, "resolved_at IS NULL")
	default:
		add("status = ?", f.Status)
	}
	if f.Before != 0 {
		add("id < ?", f.Before)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, f.Limit+1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+alertCols+` FROM alerts`+where+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("incident: list alerts: %w", store.MapError(err))
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("incident: list alerts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("incident: list alerts: %w", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[f.Limit-1].ID
	}
	return out, next, nil
}

// GetAlert returns one alert.
func (s *Service) GetAlert(ctx context.Context, id int64) (Alert, error) {
	a, err := scanAlert(s.db.R.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id))
	if err != nil {
		return a, fmt.Errorf("incident: get alert %d: %w", id, store.MapError(err))
	}
	return a, nil
}
