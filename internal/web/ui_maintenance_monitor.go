package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
)

// coveringWindow is a maintenance window as a monitor's page lists it,
// with a link viewers may follow too.
type coveringWindow struct {
	windowRow
	Href string
}

// monitorWindows lists the windows covering m that are open now or still
// to come, the open ones first; current is the one keeping m in
// maintenance now, if any.
func (s *Server) monitorWindows(r *http.Request, m monitor.WithStatus, now time.Time) (list []coveringWindow, current *coveringWindow, err error) {
	ws, err := s.opts.Monitors.Windows(r.Context())
	if err != nil {
		return nil, nil, err
	}
	editable := canOperate(r)
	var active, upcoming []coveringWindow
	for _, w := range ws {
		if !windowCovers(w, m.Monitor) {
			continue
		}
		cw := coveringWindow{windowRow: rowOf(w, nil, now), Href: "/maintenance#window-" + strconv.FormatInt(w.ID, 10)}
		cw.Monitors = nil // the page is about one monitor
		if editable {
			cw.Href = maintenanceURL(w.ID)
		}
		switch cw.Phase.Key {
		case "active":
			active = append(active, cw)
		case "upcoming":
			upcoming = append(upcoming, cw)
		}
	}
	list = append(active, upcoming...)
	if m.Status.State != monitor.StateMaintenance {
		return list, nil, nil
	}
	// The service's own choice first; any open window when it has none
	// (the window changed since the last check).
	var id int64
	if w := s.opts.Monitors.InMaintenance(m.Monitor); w != nil {
		id = w.ID
	}
	for i := range active {
		if active[i].ID == id || current == nil {
			current = &list[i]
		}
	}
	return list, current, nil
}
