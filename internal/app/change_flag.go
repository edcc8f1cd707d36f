package app

import (
	"context"
	"slices"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/incident"
)

// flagChanges looks for changes that may have caused a newly triggered
// incident. The incident's CIs are those linked to the monitors its alerts
// come from and those linked to the incident itself (CMDB links); the
// change service flags the changes on those CIs, or on CIs they depend on,
// that were being implemented or ended within its window. Best effort: a
// failure is logged, the incident goes on.
func (p *pipeline) flagChanges(ctx context.Context, e incident.LifecycleEvent) {
	if p.changes == nil || p.cis == nil {
		return
	}
	var ids []int64
	add := func(cs []cmdb.CI) {
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
	}
	alerts, _, err := p.incs.ListAlerts(ctx, incident.AlertFilter{IncidentID: e.IncidentID, Limit: 50})
	if err != nil {
		p.log.Warn("change flags: alerts of incident", "incident", e.IncidentID, "err", err)
	}
	for _, a := range alerts {
		if m, ok := monitorOf(a); ok {
			if cs, err := p.cis.LinkedCIs(ctx, string(cmdb.LinkMonitor), m); err == nil {
				add(cs)
			}
		}
	}
	if cs, err := p.cis.LinkedCIs(ctx, string(cmdb.LinkIncident), e.IncidentID); err == nil {
		add(cs)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return
	}
	if _, err := p.changes.FlagIncident(ctx, e.IncidentID, e.At, ids); err != nil {
		p.log.Warn("change flags: incident not checked against changes", "incident", e.IncidentID, "err", err)
	}
}
