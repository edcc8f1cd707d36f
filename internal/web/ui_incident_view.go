package web

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
)

// incidentUIRoutes are the incident, service and integration pages:
// viewers read, operators work incidents, admins set up services and keys.
func (s *Server) incidentUIRoutes() []Route {
	if s.opts.Incidents == nil {
		return nil
	}
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	return []Route{
		ui("GET", "/incidents", auth.RoleViewer, s.incidentsPage),
		ui("GET", "/incidents/new", auth.RoleOperator, s.newIncidentPage),
		ui("GET", "/incidents/stats", auth.RoleViewer, s.incidentStatsPage),
		ui("POST", "/incidents/new", auth.RoleOperator, s.createIncidentUI),
		ui("GET", "/incidents/{id}", auth.RoleViewer, s.incidentPage),
		ui("POST", "/incidents/{id}/{action}", auth.RoleOperator, s.incidentActionUI),
		ui("GET", "/services", auth.RoleViewer, s.servicesPage),
		ui("GET", "/services/new", auth.RoleAdmin, s.newServicePage),
		ui("POST", "/services/new", auth.RoleAdmin, s.createServiceUI),
		ui("GET", "/services/{id}", auth.RoleViewer, s.servicePage),
		ui("POST", "/services/{id}", auth.RoleAdmin, s.updateServiceUI),
		ui("POST", "/services/{id}/delete", auth.RoleAdmin, s.deleteServiceUI),
		ui("POST", "/services/{id}/integrations", auth.RoleAdmin, s.createIntegrationUI),
		ui("GET", "/integrations/{id}", auth.RoleAdmin, s.integrationPage),
		ui("POST", "/integrations/{id}/rotate", auth.RoleAdmin, s.rotateIntegrationUI),
		ui("POST", "/integrations/{id}/delete", auth.RoleAdmin, s.deleteIntegrationUI),
		// A signed link from a notification: the page only asks; the POST
		// acts. The POST is an API-surface route because the link's HMAC is
		// its credential and a mail client has no session or CSRF cookie.
		ui("GET", "/incident-action/{token}", auth.RoleNone, s.incidentLinkPage),
		{Method: "POST", Path: "/incident-action/{token}", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: s.incidentLinkAct},
	}
}

// statusBadge shows an incident's or alert's status with a mark and a word,
// never colour alone. Every part is a constant.
func statusBadge(st incident.Status) template.HTML {
	class, mark, label := "off", "■", "Unknown"
	switch st {
	case incident.StatusTriggered:
		class, mark, label = "down", "▲", "Triggered"
	case incident.StatusFiring:
		class, mark, label = "down", "▲", "Firing"
	case incident.StatusAcknowledged:
		class, mark, label = "warn", "◆", "Acknowledged"
	case incident.StatusResolved:
		class, mark, label = "ok", "●", "Resolved"
	}
	return template.HTML(`<span class="status status-` + class + `"><span class="status-mark" aria-hidden="true">` + mark + `</span> ` + label + `</span>`) //nolint:gosec // constants only
}

// severityBadge shows SEV1–SEV4 (or an alert severity) as a labelled badge.
func severityBadge(sev string) template.HTML {
	class := "sev-4"
	switch sev {
	case "SEV1", incident.SeverityCritical:
		class = "sev-1"
	case "SEV2", incident.SeverityError:
		class = "sev-2"
	case "SEV3", incident.SeverityWarning:
		class = "sev-3"
	}
	return template.HTML(`<span class="badge badge-sev ` + class + `">` + template.HTMLEscapeString(sev) + `</span>`) //nolint:gosec // escaped
}

// incidentRow is an incident as pages show it.
type incidentRow struct {
	incident.Incident
}

// StatusBadge is the status as HTML.
func (r incidentRow) StatusBadge() template.HTML { return statusBadge(r.Status) }

// SeverityBadge is the severity as HTML.
func (r incidentRow) SeverityBadge() template.HTML { return severityBadge(r.Severity) }

// AssigneeIs reports whether user id is the assignee.
func (r incidentRow) AssigneeIs(id int64) bool { return r.AssigneeID != nil && *r.AssigneeID == id }

// alertRow is an alert as the incident page shows it.
type alertRow struct {
	incident.Alert
}

// StatusBadge is the alert's status as HTML.
func (a alertRow) StatusBadge() template.HTML { return statusBadge(a.Status) }

// SeverityBadge is the alert's severity as HTML.
func (a alertRow) SeverityBadge() template.HTML { return severityBadge(a.Severity) }

// LabelList is the alert's labels in key order.
func (a alertRow) LabelList() []string {
	out := make([]string, 0, len(a.Labels))
	for _, k := range sortedKeys(a.Labels) {
		out = append(out, k+"="+a.Labels[k])
	}
	return out
}

func incidentURL(id int64, notice string) string {
	u := "/incidents/" + strconv.FormatInt(id, 10)
	if notice != "" {
		u += "?notice=" + url.QueryEscape(notice)
	}
	return u
}

// sortedKeys returns a map's keys in order, for stable pages.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
