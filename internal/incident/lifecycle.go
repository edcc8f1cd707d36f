package incident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ErrTransition means the incident's status does not allow the change
// (reopening an open incident, acknowledging a resolved one).
var ErrTransition = errors.New("incident: not allowed in the incident's current status")

type newIncidentRow struct {
	title, description, severity, priority string
	serviceID, assigneeID                  *int64
	groupKey, createdBy                    string
	autoResolve                            bool
	at                                     time.Time
}

func insertIncident(ctx context.Context, q store.Querier, r newIncidentRow) (int64, error) {
	responders := ""
	if r.assigneeID != nil {
		responders = strconv.FormatInt(*r.assigneeID, 10)
	}
	var id int64
	err := q.QueryRowContext(ctx, `INSERT INTO incidents (title, description, severity, priority, status, service_id, group_key, assignee_id, responders,
		auto_resolve, created_by, created_at, last_alert_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12) RETURNING id`,
		r.title, r.description, r.severity, r.priority, StatusTriggered, nullInt64(r.serviceID), r.groupKey, nullInt64(r.assigneeID), responders,
		r.autoResolve, r.createdBy, r.at).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("incident: insert incident: %w", store.MapError(err))
	}
	return id, nil
}

const sqlInsertTimeline = `INSERT INTO incident_timeline (incident_id, at, kind, actor, text, alert_id) VALUES ($1, $2, $3, $4, $5, $6)`

func addTimeline(ctx context.Context, q store.Querier, incidentID int64, at time.Time, kind, actor, text string, alertID *int64) error {
	if _, err := q.ExecContext(ctx, sqlInsertTimeline,
		incidentID, at.UTC(), kind, clip(actor, 200), clip(text, 4000), nullInt64(alertID)); err != nil {
		return fmt.Errorf("incident: timeline of %d: %w", incidentID, store.MapError(err))
	}
	return nil
}

// AddTimeline records e on an incident's timeline inside the caller's
// transaction q (notifications, escalations). Kind and Text are required;
// a zero At is now, an empty Actor is "system".
func (s *Service) AddTimeline(ctx context.Context, q store.Querier, incidentID int64, e TimelineEntry) error {
	if err := valid.Text("kind", e.Kind, true, 50, false); err != nil {
		return err
	}
	if err := valid.Text("text", e.Text, true, 4000, true); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.Actor == "" {
		e.Actor = "system"
	}
	return addTimeline(ctx, q, incidentID, e.At, e.Kind, e.Actor, e.Text, e.AlertID)
}

// policyOf is the escalation policy of an incident's service, if any.
func policyOf(ctx context.Context, q store.Querier, incidentID int64) (*int64, error) {
	var p sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT s.escalation_policy_id FROM incidents i LEFT JOIN services s ON s.id = i.service_id WHERE i.id = $1`, incidentID).Scan(&p)
	if err != nil {
		return nil, fmt.Errorf("incident: policy of %d: %w", incidentID, store.MapError(err))
	}
	return ptrInt64(p), nil
}

func (s *Service) startPaging(ctx context.Context, q store.Querier, incidentID int64, policyID *int64) error {
	if s.opts.Paging == nil || policyID == nil {
		return nil
	}
	if err := s.opts.Paging.Start(ctx, q, incidentID, *policyID); err != nil {
		return fmt.Errorf("incident: start paging for %d: %w", incidentID, err)
	}
	return nil
}

func (s *Service) stopPaging(ctx context.Context, q store.Querier, incidentID int64) error {
	if s.opts.Paging == nil {
		return nil
	}
	if err := s.opts.Paging.Stop(ctx, q, incidentID); err != nil {
		return fmt.Errorf("incident: stop paging for %d: %w", incidentID, err)
	}
	return nil
}

// transitionError explains a refused transition: not found, or not allowed.
func transitionError(ctx context.Context, q store.Querier, id int64) error {
	var st Status
	if err := q.QueryRowContext(ctx, `SELECT status FROM incidents WHERE id = $1`, id).Scan(&st); err != nil {
		return fmt.Errorf("incident: %d: %w", id, store.MapError(err))
	}
	return fmt.Errorf("incident %d is %s: %w", id, st, ErrTransition)
}

// acknowledgeTx moves a triggered incident to acknowledged and stops paging.
func (s *Service) acknowledgeTx(ctx context.Context, tx store.Querier, id int64, actor string, now time.Time) (LifecycleEvent, error) {
	res, err := tx.ExecContext(ctx, `UPDATE incidents SET status = $2, acknowledged_at = $3, updated_at = $3 WHERE id = $1 AND status = $4`,
		id, StatusAcknowledged, now, StatusTriggered)
	if err != nil {
		return LifecycleEvent{}, fmt.Errorf("incident: acknowledge %d: %w", id, store.MapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return LifecycleEvent{}, transitionError(ctx, tx, id)
	}
	if err := addTimeline(ctx, tx, id, now, "acknowledged", actor, "Acknowledged by "+actor, nil); err != nil {
		return LifecycleEvent{}, err
	}
	if err := auth.Audit(ctx, tx, "incident.acknowledge", "incident", strconv.FormatInt(id, 10), ""); err != nil {
		return LifecycleEvent{}, err
	}
	if err := s.stopPaging(ctx, tx, id); err != nil {
		return LifecycleEvent{}, err
	}
	return LifecycleEvent{Kind: "acknowledged", IncidentID: id, At: now}, nil
}

// resolveTx resolves an open incident and stops paging.
func (s *Service) resolveTx(ctx context.Context, tx store.Querier, id int64, actor, why string, now time.Time) (LifecycleEvent, error) {
	res, err := tx.ExecContext(ctx, `UPDATE incidents SET status = $2, resolved_at = $3, updated_at = $3 WHERE id = $1 AND status <> $2`,
		id, StatusResolved, now)
	if err != nil {
		return LifecycleEvent{}, fmt.Errorf("incident: resolve %d: %w", id, store.MapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return LifecycleEvent{}, transitionError(ctx, tx, id)
	}
	text := "Resolved by " + actor
	if why != "" {
		text += ": " + why
	}
	if err := addTimeline(ctx, tx, id, now, "resolved", actor, text, nil); err != nil {
		return LifecycleEvent{}, err
	}
	if err := auth.Audit(ctx, tx, "incident.resolve", "incident", strconv.FormatInt(id, 10), why); err != nil {
		return LifecycleEvent{}, err
	}
	if err := s.stopPaging(ctx, tx, id); err != nil {
		return LifecycleEvent{}, err
	}
	return LifecycleEvent{Kind: "resolved", IncidentID: id, At: now}, nil
}

// change runs one manual lifecycle change in its own transaction and fires
// its event after commit.
func (s *Service) change(ctx context.Context, fn func(tx *sql.Tx, actor string, now time.Time) (LifecycleEvent, error)) error {
	var ev LifecycleEvent
	actor := auth.ActorFrom(ctx).Name
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		ev, err = fn(tx, actor, s.now().UTC())
		return err
	})
	if err != nil {
		return err
	}
	s.fire(ctx, []LifecycleEvent{ev})
	return nil
}

// Acknowledge acknowledges a triggered incident: paging stops.
func (s *Service) Acknowledge(ctx context.Context, id int64) error {
	return s.change(ctx, func(tx *sql.Tx, actor string, now time.Time) (LifecycleEvent, error) {
		return s.acknowledgeTx(ctx, tx, id, actor, now)
	})
}

// Resolve resolves an open incident; its open alerts stay open (they
// resolve when their sources say so).
func (s *Service) Resolve(ctx context.Context, id int64) error {
	return s.change(ctx, func(tx *sql.Tx, actor string, now time.Time) (LifecycleEvent, error) {
		return s.resolveTx(ctx, tx, id, actor, "", now)
	})
}

// Reopen moves a resolved incident back to triggered and pages again. A
// merged incident cannot be reopened: its alerts live in the other one.
func (s *Service) Reopen(ctx context.Context, id int64) error {
	return s.change(ctx, func(tx *sql.Tx, actor string, now time.Time) (LifecycleEvent, error) {
		res, err := tx.ExecContext(ctx, `UPDATE incidents SET status = $2, acknowledged_at = NULL, resolved_at = NULL, updated_at = $3
			WHERE id = $1 AND status = $4 AND merged_into IS NULL`, id, StatusTriggered, now, StatusResolved)
		if err != nil {
			return LifecycleEvent{}, fmt.Errorf("incident: reopen %d: %w", id, store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return LifecycleEvent{}, transitionError(ctx, tx, id)
		}
		if err := addTimeline(ctx, tx, id, now, "reopened", actor, "Reopened by "+actor, nil); err != nil {
			return LifecycleEvent{}, err
		}
		if err := auth.Audit(ctx, tx, "incident.reopen", "incident", strconv.FormatInt(id, 10), ""); err != nil {
			return LifecycleEvent{}, err
		}
		pol, err := policyOf(ctx, tx, id)
		if err != nil {
			return LifecycleEvent{}, err
		}
		if err := s.startPaging(ctx, tx, id, pol); err != nil {
			return LifecycleEvent{}, err
		}
		return LifecycleEvent{Kind: "reopened", IncidentID: id, At: now}, nil
	})
}

// AddNote puts a note on an incident's timeline.
func (s *Service) AddNote(ctx context.Context, id int64, text string) error {
	text = strings.TrimSpace(text)
	if err := valid.Text("text", text, true, 4000, true); err != nil {
		return err
	}
	return s.change(ctx, func(tx *sql.Tx, actor string, now time.Time) (LifecycleEvent, error) {
		if err := addTimeline(ctx, tx, id, now, "note", actor, text, nil); err != nil {
			if errors.Is(err, store.ErrReference) {
				return LifecycleEvent{}, fmt.Errorf("incident: note on %d: %w", id, store.ErrNotFound)
			}
			return LifecycleEvent{}, err
		}
		return LifecycleEvent{}, auth.Audit(ctx, tx, "incident.note", "incident", strconv.FormatInt(id, 10), clip(text, 200))
	})
}

// Assign makes a user the incident's assignee and a responder; userID 0
// clears the assignee.
func (s *Service) Assign(ctx context.Context, id, userID int64) error {
	return s.change(ctx, func(tx *sql.Tx, actor string, now time.Time) (LifecycleEvent, error) {
		var name, responders string
		if userID != 0 {
			if err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, userID).Scan(&name); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return LifecycleEvent{}, valid.Errorf("user_id", "names no user")
				}
				return LifecycleEvent{}, fmt.Errorf("incident: assign: %w", store.MapError(err))
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT responders FROM incidents WHERE id = $1`, id).Scan(&responders); err != nil {
			return LifecycleEvent{}, fmt.Errorf("incident: assign %d: %w", id, store.MapError(err))
		}
		ids := splitList(responders)
		if userID != 0 && !slices.Contains(ids, strconv.FormatInt(userID, 10)) {
			ids = append(ids, strconv.FormatInt(userID, 10))
		}
		var assignee *int64
		text := "Assignee cleared by " + actor
		if userID != 0 {
			assignee = &userID
			text = "Assigned to " + name + " by " + actor
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET assignee_id = $2, responders = $3, updated_at = $4 WHERE id = $1`,
			id, nullInt64(assignee), strings.Join(ids, ","), now); err != nil {
			return LifecycleEvent{}, fmt.Errorf("incident: assign %d: %w", id, store.MapError(err))
		}
		if err := addTimeline(ctx, tx, id, now, "assigned", actor, text, nil); err != nil {
			return LifecycleEvent{}, err
		}
		if err := auth.Audit(ctx, tx, "incident.assign", "incident", strconv.FormatInt(id, 10), name); err != nil {
			return LifecycleEvent{}, err
		}
		return LifecycleEvent{Kind: "assigned", IncidentID: id, At: now}, nil
	})
}

// Merge moves every alert of incident src into dst and resolves src with a
// pointer to dst; paging for src stops.
func (s *Service) Merge(ctx context.Context, src, dst int64) error {
	if src == dst {
		return valid.Errorf("into", "must be another incident")
	}
	return s.change(ctx, func(tx *sql.Tx, actor string, now time.Time) (LifecycleEvent, error) {
		var dstStatus Status
		var dstMerged sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT status, merged_into FROM incidents WHERE id = $1`, dst).Scan(&dstStatus, &dstMerged); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return LifecycleEvent{}, valid.Errorf("into", "names no incident")
			}
			return LifecycleEvent{}, fmt.Errorf("incident: merge: %w", store.MapError(err))
		}
		if dstMerged.Valid {
			return LifecycleEvent{}, valid.Errorf("into", "was itself merged into #%d; merge into that one", dstMerged.Int64)
		}
		var srcMerged sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT merged_into FROM incidents WHERE id = $1`, src).Scan(&srcMerged); err != nil {
			return LifecycleEvent{}, fmt.Errorf("incident: merge %d: %w", src, store.MapError(err))
		}
		if srcMerged.Valid {
			return LifecycleEvent{}, fmt.Errorf("incident %d was already merged: %w", src, ErrTransition)
		}
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET incident_id = $2 WHERE incident_id = $1`, src, dst)
		if err != nil {
			return LifecycleEvent{}, fmt.Errorf("incident: move alerts: %w", store.MapError(err))
		}
		moved, _ := res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET status = $2, resolved_at = COALESCE(resolved_at, $3), merged_into = $4, updated_at = $3 WHERE id = $1`,
			src, StatusResolved, now, dst); err != nil {
			return LifecycleEvent{}, fmt.Errorf("incident: merge %d: %w", src, store.MapError(err))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET last_alert_at = $2, updated_at = $2 WHERE id = $1`, dst, now); err != nil {
			return LifecycleEvent{}, fmt.Errorf("incident: merge into %d: %w", dst, store.MapError(err))
		}
		if err := addTimeline(ctx, tx, src, now, "merged", actor, fmt.Sprintf("Merged into #%d by %s (%d alerts moved)", dst, actor, moved), nil); err != nil {
			return LifecycleEvent{}, err
		}
		if err := addTimeline(ctx, tx, dst, now, "merged", actor, fmt.Sprintf("#%d merged into this incident by %s (%d alerts joined)", src, actor, moved), nil); err != nil {
			return LifecycleEvent{}, err
		}
		if err := auth.Audit(ctx, tx, "incident.merge", "incident", strconv.FormatInt(src, 10), "into "+strconv.FormatInt(dst, 10)); err != nil {
			return LifecycleEvent{}, err
		}
		if err := s.stopPaging(ctx, tx, src); err != nil {
			return LifecycleEvent{}, err
		}
		return LifecycleEvent{Kind: "merged", IncidentID: src, At: now}, nil
	})
}

// NewIncident is a manually declared incident.
type NewIncident struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Severity    string `json:"severity"`
	Priority    string `json:"priority"`
	ServiceID   *int64 `json:"service_id"`
	AssigneeID  *int64 `json:"assignee_id"`
}

// CreateIncident declares an incident by hand; with a service that has an
// escalation policy, paging starts.
func (s *Service) CreateIncident(ctx context.Context, in NewIncident) (Incident, error) {
	in.Title = strings.TrimSpace(in.Title)
	if err := valid.Text("title", in.Title, true, 300, false); err != nil {
		return Incident{}, err
	}
	if err := valid.Text("description", in.Description, false, 10000, true); err != nil {
		return Incident{}, err
	}
	if in.Severity == "" {
		in.Severity = "SEV3"
	}
	if !slices.Contains(IncidentSeverities, in.Severity) {
		return Incident{}, valid.Errorf("severity", "must be one of %s", strings.Join(IncidentSeverities, ", "))
	}
	if in.Priority == "" {
		in.Priority = priorityFor(in.Severity)
	}
	if !slices.Contains(Priorities, in.Priority) {
		return Incident{}, valid.Errorf("priority", "must be one of %s", strings.Join(Priorities, ", "))
	}
	var id int64
	err := s.change(ctx, func(tx *sql.Tx, actor string, now time.Time) (LifecycleEvent, error) {
		if in.ServiceID != nil {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM services WHERE id = $1`, *in.ServiceID).Scan(&one); err != nil {
				return LifecycleEvent{}, valid.Errorf("service_id", "names no service")
			}
		}
		if in.AssigneeID != nil {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, *in.AssigneeID).Scan(&one); err != nil {
				return LifecycleEvent{}, valid.Errorf("assignee_id", "names no user")
			}
		}
		var err error
		id, err = insertIncident(ctx, tx, newIncidentRow{title: in.Title, description: in.Description, severity: in.Severity, priority: in.Priority,
			serviceID: in.ServiceID, assigneeID: in.AssigneeID, groupKey: "manual", autoResolve: false, createdBy: actor, at: now})
		if err != nil {
			return LifecycleEvent{}, err
		}
		if err := addTimeline(ctx, tx, id, now, "triggered", actor, "Incident declared by "+actor, nil); err != nil {
			return LifecycleEvent{}, err
		}
		if err := auth.Audit(ctx, tx, "incident.create", "incident", strconv.FormatInt(id, 10), in.Title); err != nil {
			return LifecycleEvent{}, err
		}
		pol, err := policyOf(ctx, tx, id)
		if err != nil {
			return LifecycleEvent{}, err
		}
		if err := s.startPaging(ctx, tx, id, pol); err != nil {
			return LifecycleEvent{}, err
		}
		return LifecycleEvent{Kind: "triggered", IncidentID: id, At: now}, nil
	})
	if err != nil {
		return Incident{}, err
	}
	return s.Get(ctx, id)
}
