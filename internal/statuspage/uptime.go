package statuspage

import (
	"context"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
)

// monitorHistory is one monitor's uptime as a page shows it.
type monitorHistory struct {
	daily   []Count
	windows [4]Count
}

// pageHistory is the uptime of all of a page's monitors.
type pageHistory struct {
	days      []time.Time
	byMonitor map[int64]*monitorHistory
}

// history reads, for every monitor in ids, one Count per UTC day of the last
// Days days and the four uptime windows, through the monitor service's
// batched queries, so a page counts exactly as the monitor pages do.
func (s *Service) history(ctx context.Context, ids []int64, now time.Time) (pageHistory, error) {
	now = now.UTC()
	first := now.Truncate(24*time.Hour).AddDate(0, 0, -(Days - 1))
	h := pageHistory{days: make([]time.Time, Days), byMonitor: make(map[int64]*monitorHistory, len(ids))}
	for i := range h.days {
		h.days[i] = first.AddDate(0, 0, i)
	}
	for _, id := range ids {
		h.byMonitor[id] = &monitorHistory{daily: make([]Count, Days)}
	}
	if len(ids) == 0 || s.uptime == nil {
		return h, nil
	}
	daily, err := s.uptime.DailyUptimeMany(ctx, ids, Days, now)
	if err != nil {
		return h, err
	}
	for id, days := range daily {
		mh := h.byMonitor[id]
		if mh == nil {
			continue
		}
		for i, u := range days {
			if i < Days {
				mh.daily[i] = countOf(u)
			}
		}
	}
	for w, d := range windowLengths {
		ups, err := s.uptime.UptimeMany(ctx, ids, now.Add(-d), now)
		if err != nil {
			return h, err
		}
		for id, u := range ups {
			if mh := h.byMonitor[id]; mh != nil {
				mh.windows[w] = countOf(u)
			}
		}
	}
	return h, nil
}

// countOf counts degraded checks as good, as monitor.Uptime does.
func countOf(u monitor.Uptime) Count {
	return Count{Total: u.Total, Good: u.Up + u.Degraded}
}
