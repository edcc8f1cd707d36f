package change

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// maintenanceGrace is how long past the planned end (or past now, if
// later) the maintenance window of a change runs: the window is deleted
// when the change closes, and this bound only keeps a change nobody closes
// from silencing its monitors for ever.
const maintenanceGrace = 12 * time.Hour

// MonitorsOf returns the monitors linked (CMDB links of kind monitor) to
// the CIs.
func (s *Service) MonitorsOf(ctx context.Context, ciIDs []int64) ([]int64, error) {
	var out []int64
	if s.opts.CMDB == nil {
		return out, nil
	}
	for _, ci := range ciIDs {
		links, err := s.opts.CMDB.Links(ctx, ci)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			if l.Kind == cmdb.LinkMonitor {
				out = append(out, l.ObjectID)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// beginMaintenance puts the monitors of a started change's CIs in
// maintenance through a one-off monitor maintenance window, unless the
// change opted out. It runs after the start committed: a failure is put
// on the timeline and logged, and the change stays started.
func (s *Service) beginMaintenance(ctx context.Context, id int64) {
	if s.opts.Maintenance == nil {
		return
	}
	c, err := s.Get(ctx, id)
	if err != nil || c.SkipMaintenance || c.MaintenanceID != nil {
		return
	}
	mons, err := s.MonitorsOf(ctx, c.CIIDs())
	if err != nil {
		s.note(ctx, id, "maintenance", "Monitors not put in maintenance: "+err.Error())
		return
	}
	if len(mons) == 0 {
		return
	}
	now := s.now()
	until := now
	if c.PlannedEnd != nil && c.PlannedEnd.After(until) {
		until = *c.PlannedEnd
	}
	until = until.Add(maintenanceGrace)
	name := fmt.Sprintf("Change #%d: %s", c.ID, c.Title)
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	w, err := s.opts.Maintenance.SaveWindow(ctx, monitor.Window{Name: name, Description: fmt.Sprintf("Opened by change #%d while it is implemented; removed when it closes.", c.ID),
		StartsAt: &now, EndsAt: &until, MonitorIDs: mons})
	if err != nil {
		s.opts.Logger.Error("change: maintenance window not opened", "change", id, "err", err)
		s.note(ctx, id, "maintenance", "Monitors not put in maintenance: "+err.Error())
		return
	}
	if _, err := s.db.W.ExecContext(ctx, `UPDATE changes SET maintenance_id = $1 WHERE id = $2`, w.ID, id); err != nil {
		s.opts.Logger.Error("change: maintenance window not recorded", "change", id, "window", w.ID, "err", err)
	}
	s.note(ctx, id, "maintenance", fmt.Sprintf("%d monitor(s) of the affected CIs are in maintenance (window #%d) until the change closes", len(mons), w.ID))
}

// endMaintenance deletes the maintenance window a change opened.
func (s *Service) endMaintenance(ctx context.Context, id int64) {
	if s.opts.Maintenance == nil {
		return
	}
	c, err := s.Get(ctx, id)
	if err != nil || c.MaintenanceID == nil {
		return
	}
	if err := s.opts.Maintenance.DeleteWindow(ctx, *c.MaintenanceID); err != nil && !errorsIs(err, store.ErrNotFound) {
		s.opts.Logger.Error("change: maintenance window not removed", "change", id, "window", *c.MaintenanceID, "err", err)
		s.note(ctx, id, "maintenance", "The maintenance window could not be removed: "+err.Error())
		return
	}
	if _, err := s.db.W.ExecContext(ctx, `UPDATE changes SET maintenance_id = NULL WHERE id = $1`, id); err != nil {
		s.opts.Logger.Error("change: maintenance window not cleared", "change", id, "err", err)
	}
	s.note(ctx, id, "maintenance", fmt.Sprintf("Maintenance window #%d removed: the monitors alert again", *c.MaintenanceID))
}

// note puts a system entry on a change's timeline outside a transaction.
func (s *Service) note(ctx context.Context, id int64, kind, text string) {
	if err := addEvent(ctx, s.db.W, id, s.now(), "system", kind, "", "", text); err != nil {
		s.opts.Logger.Warn("change: timeline note lost", "change", id, "err", err)
	}
}
