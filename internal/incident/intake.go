package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// intakeItem is one request's events on their way into a group commit,
// with what the write produced for the caller to act on after commit.
type intakeItem struct {
	scope         string // "i<integration id>" or "monitor"
	serviceID     int64
	integrationID *int64
	kind          string // integration kind or "monitor", for metrics
	actor         auth.Actor
	events        []Event
	// onlyIfAbsent makes a trigger a no-op when an alert is open (the
	// start-up reconcile must not count a monitor's old state again).
	onlyIfAbsent bool
	lifecycle    []LifecycleEvent
	// dropped is set when the service went away while the item waited.
	dropped bool
}

// Ingest writes events that came through integration in and returns after
// they are committed: a caller answering 2xx afterwards never acknowledges
// an event that a crash could lose. Events of many callers share one
// transaction (group commit).
func (s *Service) Ingest(ctx context.Context, in Integration, addr string, events []Event) error {
	id := in.ID
	item := &intakeItem{scope: "i" + strconv.FormatInt(in.ID, 10), serviceID: in.ServiceID, integrationID: &id, kind: in.Kind,
		actor: integrationActor(in, addr), events: events}
	return s.submit(ctx, item)
}

func integrationActor(in Integration, addr string) auth.Actor {
	return auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "integration:" + in.Name}, Via: auth.ViaAPI, Addr: addr}
}

func (s *Service) submit(ctx context.Context, item *intakeItem) error {
	if len(item.events) == 0 {
		return nil
	}
	if err := s.intake.Add(ctx, item); err != nil {
		return fmt.Errorf("incident: ingest: %w", err)
	}
	if item.dropped {
		return ErrUnknownKey
	}
	for _, ev := range item.events {
		s.metrics.events.WithLabelValues(item.kind, string(ev.Action)).Inc()
	}
	s.fire(ctx, item.lifecycle)
	return nil
}

func (s *Service) fire(ctx context.Context, evs []LifecycleEvent) {
	if s.opts.OnEvent == nil {
		return
	}
	for _, e := range evs {
		if e.Kind == "" {
			continue
		}
		s.opts.OnEvent(context.WithoutCancel(ctx), e)
	}
}

// The intake's hot statements, prepared once (see stmtCache).
const (
	sqlFindOpen   = `SELECT id, status, severity, incident_id FROM alerts WHERE scope = $1 AND dedup_key = $2 AND resolved_at IS NULL`
	sqlDedupAlert = `UPDATE alerts SET event_count = event_count + 1, last_seen = $2, summary = $3, severity = $4,
		source = $5, labels = $6, details = $7, links = $8 WHERE id = $1`
	sqlGroupIncident = `SELECT id, severity FROM incidents WHERE service_id = $1 AND group_key = $2 AND resolved_at IS NULL
		AND last_alert_at >= $3 ORDER BY id DESC LIMIT 1`
	sqlTouchIncident = `UPDATE incidents SET last_alert_at = $2, updated_at = $2 WHERE id = $1`
	sqlInsertAlert   = `INSERT INTO alerts (service_id, integration_id, scope, dedup_key, status, severity, summary, source, labels, details, links,
		event_count, first_seen, last_seen, incident_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12, $13) RETURNING id`
)

// hotStatements are the statements prepared at Open.
func hotStatements() []string {
	return []string{sqlFindOpen, sqlDedupAlert, sqlGroupIncident, sqlTouchIncident, sqlInsertAlert, sqlInsertTimeline}
}

// rule is a service's grouping and paging settings, read once per batch.
type rule struct {
	groupBy     []string
	window      time.Duration
	autoResolve bool
	policyID    *int64
}

// writeBatch applies a batch of intake items in one transaction.
func (s *Service) writeBatch(ctx context.Context, sqlTx *sql.Tx, items []*intakeItem) error {
	tx := newPreparedTx(sqlTx, s.stmts)
	defer tx.close()
	rules := map[int64]rule{}
	for _, it := range items {
		it.lifecycle, it.dropped = it.lifecycle[:0], false
		r, ok := rules[it.serviceID]
		if !ok {
			ts, err := scanService(tx.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE id = $1`, it.serviceID))
			if err != nil {
				if errors.Is(store.MapError(err), store.ErrNotFound) {
					it.dropped = true // the service went away while the request waited
					continue
				}
				return fmt.Errorf("incident: load service %d: %w", it.serviceID, store.MapError(err))
			}
			r = rule{groupBy: ts.GroupBy, window: time.Duration(ts.GroupWindow), autoResolve: ts.AutoResolve, policyID: ts.EscalationPolicyID}
			rules[it.serviceID] = r
		}
		actx := auth.WithActor(ctx, it.actor)
		for _, ev := range it.events {
			if err := s.apply(actx, tx, it, r, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// openAlert is the part of an open alert the intake needs.
type openAlert struct {
	id         int64
	status     Status
	severity   string
	incidentID sql.NullInt64
}

func (s *Service) findOpen(ctx context.Context, q store.Querier, scope, key string) (openAlert, bool, error) {
	var a openAlert
	err := q.QueryRowContext(ctx, sqlFindOpen,
		scope, key).Scan(&a.id, &a.status, &a.severity, &a.incidentID)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, false, nil
		}
		return a, false, fmt.Errorf("incident: find alert: %w", store.MapError(err))
	}
	return a, true, nil
}

// apply folds one event into the alerts and incidents.
func (s *Service) apply(ctx context.Context, tx store.Querier, it *intakeItem, r rule, ev Event) error {
	now := s.now().UTC()
	a, open, err := s.findOpen(ctx, tx, it.scope, ev.DedupKey)
	if err != nil {
		return err
	}
	actor := it.actor.Name
	switch ev.Action {
	case ActionTrigger:
		if open {
			if it.onlyIfAbsent {
				return nil
			}
			_, err := tx.ExecContext(ctx, sqlDedupAlert,
				a.id, now, ev.Summary, ev.Severity, ev.Source, labelsJSON(ev.Labels), detailsJSON(ev.Details), linksJSON(ev.Links))
			if err != nil {
				return fmt.Errorf("incident: update alert %d: %w", a.id, store.MapError(err))
			}
			if a.incidentID.Valid && severityRank(ev.Severity) < severityRank(a.severity) {
				return s.raiseSeverity(ctx, tx, a.incidentID.Int64, incidentSeverity(ev.Severity), actor, now)
			}
			return nil
		}
		return s.newAlert(ctx, tx, it, r, ev, now)
	case ActionAcknowledge:
		if !open || a.status != StatusFiring {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = $2, acknowledged_at = $3, last_seen = $3, event_count = event_count + 1 WHERE id = $1`,
			a.id, StatusAcknowledged, now); err != nil {
			return fmt.Errorf("incident: acknowledge alert %d: %w", a.id, store.MapError(err))
		}
		if a.incidentID.Valid {
			ev, err := s.acknowledgeTx(ctx, tx, a.incidentID.Int64, actor, now)
			if err != nil && !errors.Is(err, ErrTransition) {
				return err
			}
			it.lifecycle = appendEvent(it.lifecycle, ev)
		}
		return nil
	case ActionResolve:
		if !open {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = $2, resolved_at = $3, last_seen = $3, event_count = event_count + 1 WHERE id = $1`,
			a.id, StatusResolved, now); err != nil {
			return fmt.Errorf("incident: resolve alert %d: %w", a.id, store.MapError(err))
		}
		if !a.incidentID.Valid {
			return nil
		}
		inc := a.incidentID.Int64
		if err := addTimeline(ctx, tx, inc, now, "alert_resolved", actor, "Alert resolved: "+clip(ev.DedupKey, 100), &a.id); err != nil {
			return err
		}
		var status Status
		var auto bool
		var openCount int64
		if err := tx.QueryRowContext(ctx, `SELECT status, auto_resolve, (SELECT COUNT(*) FROM alerts WHERE incident_id = $1 AND resolved_at IS NULL)
			FROM incidents WHERE id = $1`, inc).Scan(&status, &auto, &openCount); err != nil {
			return fmt.Errorf("incident: load incident %d: %w", inc, store.MapError(err))
		}
		if auto && status != StatusResolved && openCount == 0 {
			ev, err := s.resolveTx(ctx, tx, inc, actor, "all alerts resolved", now)
			if err != nil && !errors.Is(err, ErrTransition) {
				return err
			}
			it.lifecycle = appendEvent(it.lifecycle, ev)
		}
		return nil
	}
	return fmt.Errorf("incident: unknown action %q", ev.Action)
}

func appendEvent(evs []LifecycleEvent, e LifecycleEvent) []LifecycleEvent {
	if e.Kind == "" {
		return evs
	}
	return append(evs, e)
}

// newAlert opens an alert and puts it into an incident: the newest open
// incident of its service and group whose last alert joined within the
// window, or a new one, which starts paging.
func (s *Service) newAlert(ctx context.Context, tx store.Querier, it *intakeItem, r rule, ev Event, now time.Time) error {
	gk := groupKey(r.groupBy, ev.Labels)
	var incID int64
	var incSev string
	err := tx.QueryRowContext(ctx, sqlGroupIncident, it.serviceID, gk, now.Add(-r.window)).Scan(&incID, &incSev)
	created := false
	switch {
	case errors.Is(err, sql.ErrNoRows):
		sev := incidentSeverity(ev.Severity)
		incID, err = insertIncident(ctx, tx, newIncidentRow{title: clip(ev.Summary, 300), severity: sev, priority: priorityFor(sev),
			serviceID: &it.serviceID, groupKey: gk, autoResolve: r.autoResolve, createdBy: it.actor.Name, at: now})
		if err != nil {
			return err
		}
		created = true
	case err != nil:
		return fmt.Errorf("incident: find incident for group: %w", store.MapError(err))
	default:
		if _, err := tx.ExecContext(ctx, sqlTouchIncident, incID, now); err != nil {
			return fmt.Errorf("incident: update incident %d: %w", incID, store.MapError(err))
		}
	}
	var alertID int64
	if err := tx.QueryRowContext(ctx, sqlInsertAlert,
		it.serviceID, nullInt64(it.integrationID), it.scope, ev.DedupKey, StatusFiring, ev.Severity, ev.Summary, ev.Source,
		labelsJSON(ev.Labels), detailsJSON(ev.Details), linksJSON(ev.Links), now, incID).Scan(&alertID); err != nil {
		return fmt.Errorf("incident: insert alert: %w", store.MapError(err))
	}
	if created {
		if err := addTimeline(ctx, tx, incID, now, "triggered", it.actor.Name, "Incident opened by "+it.actor.Name, nil); err != nil {
			return err
		}
		if err := auth.Audit(ctx, tx, "incident.trigger", "incident", strconv.FormatInt(incID, 10), clip(ev.Summary, 200)); err != nil {
			return err
		}
		if err := s.startPaging(ctx, tx, incID, r.policyID); err != nil {
			return err
		}
		it.lifecycle = append(it.lifecycle, LifecycleEvent{Kind: "triggered", IncidentID: incID, At: now})
	}
	if err := addTimeline(ctx, tx, incID, now, "alert_joined", it.actor.Name, "Alert joined ("+ev.Severity+"): "+clip(ev.Summary, 300), &alertID); err != nil {
		return err
	}
	if !created && incidentSeverity(ev.Severity) < incSev {
		return s.raiseSeverity(ctx, tx, incID, incidentSeverity(ev.Severity), it.actor.Name, now)
	}
	return nil
}

// raiseSeverity makes an incident as severe as its worst alert.
func (s *Service) raiseSeverity(ctx context.Context, tx store.Querier, incID int64, sev, actor string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE incidents SET severity = $2, updated_at = $3 WHERE id = $1 AND severity > $2 AND resolved_at IS NULL`, incID, sev, now)
	if err != nil {
		return fmt.Errorf("incident: raise severity of %d: %w", incID, store.MapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return addTimeline(ctx, tx, incID, now, "severity", actor, "Severity raised to "+sev+" by a more severe alert", nil)
}

// groupKey is the incident group of an alert: the values of the rule's
// label keys, or "" (every alert of the service) when the rule names none.
func groupKey(keys []string, labels map[string]string) string {
	if len(keys) == 0 {
		return ""
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return clip(strings.Join(parts, ", "), 1000)
}

func labelsJSON(l map[string]string) string {
	if len(l) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func detailsJSON(d json.RawMessage) string {
	if len(d) == 0 {
		return "{}"
	}
	return string(d)
}

func linksJSON(l []Link) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}
