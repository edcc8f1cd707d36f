package web

import (
	"net/http"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
)

// homePage is the data of the home page.
type homePage struct {
	Name  string
	Role  auth.Role
	Steps []homeStep
	// Status is shown to admins only: it is about the installation.
	Status *serverStatus
	// Monitoring sums up the monitors for viewers and above.
	Monitoring *monitoringCard
	// Expiring counts assets whose warranty or lease ends soon.
	Expiring *assetExpiry
	// Licenses counts licenses over-used or expiring.
	Licenses *licenseWarning
}

// monitoringCard counts the monitors by state, each count linking to the
// list filtered by it, and names the ones down now.
type monitoringCard struct {
	Total    int
	Counts   []stateCount
	Down     []monitorLink
	MoreDown int
	CanAdd   bool
}

// monitorLink names a monitor with a link to it.
type monitorLink struct {
	ID      int64
	Name    string
	Since   time.Time
	Message string
}

// homeStep is one thing to do next, with the one link that does it.
type homeStep struct {
	Href, Title, Text, Action string
}

// serverStatus describes the running installation.
type serverStatus struct {
	Version      string
	Database     string
	Started      time.Time
	Users        int
	ActiveTokens int
}

// firstSteps are the home page's suggestions, each with the least role that
// can follow it. Only pages that exist are offered: a link to something not
// built yet would waste the first minutes of a new user.
var firstSteps = []struct {
	step homeStep
	role auth.Role
}{
	{homeStep{"/users/new", "Invite a colleague", "Create an account for someone on your team and choose what they may do: admin, operator, viewer or requester.", "Add a user"}, auth.RoleAdmin},
	{homeStep{"/tokens", "Create an API token", "Scripts, CI jobs and other tools talk to opsdeck's REST API with a token that carries a role no higher than yours.", "Create a token"}, auth.RoleViewer},
	{homeStep{"/audit", "Read the audit log", "Every sign-in and every change is recorded with who made it, from where and when.", "Open the audit log"}, auth.RoleAdmin},
}

// monitorStep comes first while nothing is monitored: it is what a new
// installation is for.
var monitorStep = homeStep{"/monitors/new", "Add your first monitor", "Watch a website, an API, a port or a certificate: opsdeck checks it every minute and shows its uptime and latency.", "Add a monitor"}

// passwordStep is offered to users with nothing else to do here yet
// (requesters), so their home page is not empty either.
var passwordStep = homeStep{"/account/password", "Change your password", "Choose a password only you know: at least 10 characters, and longer is better.", "Change password"}

// home greets the user and says what to do first.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	a := auth.ActorFrom(r.Context())
	pg := homePage{Name: a.Name, Role: a.Role}
	for _, st := range firstSteps {
		if a.Role.Allows(st.role) {
			pg.Steps = append(pg.Steps, st.step)
		}
	}
	if s.opts.Monitors != nil && a.Role.Allows(auth.RoleViewer) {
		mc, err := s.monitoringCard(r)
		if err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		pg.Monitoring = &mc
		if mc.Total == 0 && mc.CanAdd {
			pg.Steps = append([]homeStep{monitorStep}, pg.Steps...)
		}
	}
	if s.opts.Assets != nil && a.Role.Allows(auth.RoleViewer) {
		ex, err := s.assetExpiry(r)
		if err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		pg.Expiring = ex
		if pg.Licenses, err = s.licenseWarning(r); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	if len(pg.Steps) == 0 && a.Kind == auth.ActorUser {
		pg.Steps = append(pg.Steps, passwordStep)
	}
	if a.Role == auth.RoleAdmin {
		st, err := s.serverStatus(r)
		if err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		pg.Status = &st
	}
	s.render(w, r, http.StatusOK, "home", s.newView(r, "Home", "home", pg))
}

// monitoringCard reads the monitors' counts by state and the first few
// that are down.
func (s *Server) monitoringCard(r *http.Request) (monitoringCard, error) {
	mc := monitoringCard{CanAdd: canOperate(r)}
	counts, err := s.opts.Monitors.StateCounts(r.Context())
	if err != nil {
		return mc, err
	}
	for _, st := range monitorStates {
		mc.Total += counts[st]
		// Down, degraded and up always show, zero included: "0 down" is
		// news. The other states only when some monitor is in them.
		if counts[st] > 0 || st == monitor.StateDown || st == monitor.StateDegraded || st == monitor.StateUp {
			mc.Counts = append(mc.Counts, stateCount{State: stateOf(st), N: counts[st], Href: "/monitors?state=" + string(st)})
		}
	}
	if n := counts[monitor.StateDown]; n > 0 {
		const shown = 5
		down, _, err := s.opts.Monitors.List(r.Context(), monitor.ListFilter{State: monitor.StateDown, Limit: shown})
		if err != nil {
			return mc, err
		}
		for _, m := range down {
			mc.Down = append(mc.Down, monitorLink{ID: m.ID, Name: m.Name, Since: m.Status.Since, Message: m.Status.LastMessage})
		}
		mc.MoreDown = n - len(down)
	}
	return mc, nil
}

func (s *Server) serverStatus(r *http.Request) (serverStatus, error) {
	st := serverStatus{Version: s.opts.Version, Started: s.started, Database: string(s.db.Dialect)}
	switch s.db.Dialect {
	case store.SQLite:
		st.Database = "SQLite"
	case store.Postgres:
		st.Database = "PostgreSQL"
	}
	n, err := s.auth.CountUsers(r.Context())
	if err != nil {
		return st, err
	}
	st.Users = n
	ts, err := s.auth.ListTokens(r.Context(), 0)
	if err != nil {
		return st, err
	}
	now := time.Now()
	for _, t := range ts {
		if t.Active(now) {
			st.ActiveTokens++
		}
	}
	return st, nil
}
