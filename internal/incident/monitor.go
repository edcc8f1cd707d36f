package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// MonitorService is the service monitor alerts belong to unless a monitor
// has a tag "service:NAME" naming another one. It is created on first use.
const MonitorService = "Monitoring"

// monitorScope is the dedup scope of alerts from opsdeck's own monitors.
const monitorScope = "monitor"

func monitorKey(id int64) string { return "monitor:" + strconv.FormatInt(id, 10) }

// monitorEvent turns a monitor state into an event: down and degraded
// trigger, up and paused resolve, others (unknown, maintenance) change
// nothing.
func monitorEvent(m monitor.Monitor, st monitor.State, msg string) (Event, bool) {
	ev := Event{DedupKey: monitorKey(m.ID), Source: m.Name, Labels: map[string]string{"monitor": m.Name, "type": m.Type}}
	for _, t := range m.Tags {
		if k, v, ok := strings.Cut(t, ":"); ok {
			ev.Labels[k] = v
		} else {
			ev.Labels["tag:"+t] = "true"
		}
	}
	switch st {
	case monitor.StateDown:
		ev.Action, ev.Severity = ActionTrigger, SeverityCritical
	case monitor.StateDegraded:
		ev.Action, ev.Severity = ActionTrigger, SeverityWarning
	case monitor.StateUp, monitor.StatePaused:
		ev.Action = ActionResolve
	default:
		return ev, false
	}
	ev.Summary = clip(cleanLine(m.Name+" is "+string(st)), maxSummary)
	if msg != "" {
		ev.Summary = clip(cleanLine(m.Name+" is "+string(st)+": "+msg), maxSummary)
	}
	return ev, true
}

// FromMonitor turns a monitor state change into an alert event (down or
// degraded triggers, up resolves; dedup key "monitor:<id>"). It returns
// after the event is committed.
func (s *Service) FromMonitor(ctx context.Context, c monitor.Change) error {
	ev, ok := monitorEvent(c.Monitor, c.To, c.Message)
	if !ok {
		return nil
	}
	svc, err := s.monitorService(ctx, c.Monitor)
	if err != nil {
		return err
	}
	return s.submit(ctx, &intakeItem{scope: monitorScope, serviceID: svc, kind: "monitor", actor: monitorActor(c.Monitor), events: []Event{ev}})
}

func monitorActor(m monitor.Monitor) auth.Actor {
	return auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "monitor:" + m.Name}, Via: auth.ViaSystem}
}

// ReconcileMonitors brings monitor alerts in line with the monitors' stored
// states, for the start of the server: OnChange runs after the monitor's
// commit, so a crash between the two would otherwise lose an alert (or
// leave one open). A down monitor without an open alert gets one; an up
// monitor's open alert resolves. It returns how many events it wrote.
func (s *Service) ReconcileMonitors(ctx context.Context, ms []monitor.WithStatus) (int, error) {
	open := map[string]bool{}
	rows, err := s.db.R.QueryContext(ctx, `SELECT dedup_key FROM alerts WHERE scope = $1 AND resolved_at IS NULL`, monitorScope)
	if err != nil {
		return 0, fmt.Errorf("incident: reconcile monitors: %w", store.MapError(err))
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return 0, fmt.Errorf("incident: reconcile monitors: %w", err)
		}
		open[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("incident: reconcile monitors: %w", err)
	}
	n := 0
	for _, m := range ms {
		ev, ok := monitorEvent(m.Monitor, m.Status.State, m.Status.LastMessage)
		if !ok || (ev.Action == ActionTrigger) == open[ev.DedupKey] {
			continue
		}
		svc, err := s.monitorService(ctx, m.Monitor)
		if err != nil {
			return n, err
		}
		item := &intakeItem{scope: monitorScope, serviceID: svc, kind: "monitor", actor: monitorActor(m.Monitor), events: []Event{ev}, onlyIfAbsent: true}
		if err := s.submit(ctx, item); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		s.log.Info("monitor alerts reconciled with monitor states", "events", n)
	}
	return n, nil
}

// monitorService finds the service of a monitor's alerts: the one its
// "service:NAME" tag names, else the Monitoring service (created here).
func (s *Service) monitorService(ctx context.Context, m monitor.Monitor) (int64, error) {
	for _, t := range m.Tags {
		if name, ok := strings.CutPrefix(t, "service:"); ok {
			if ts, err := s.ServiceByName(ctx, name); err == nil {
				return ts.ID, nil
			}
		}
	}
	return s.ensureService(ctx, MonitorService, "Alerts from opsdeck's own monitors. Set an escalation policy here to be paged.", "monitor")
}
