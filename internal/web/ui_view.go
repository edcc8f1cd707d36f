package web

import (
	"net/http"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// view is what every page template gets: the layout's parts (title, caller,
// navigation, CSRF token, notice) and the page's own Data.
type view struct {
	Title   string
	Section string // which navigation entry is current
	Me      *auth.Principal
	CSRF    string
	Version string
	// Nav is the main navigation: one link per group of sections the caller
	// may open; SubNav lists the current group's sections when it has more
	// than one; Admin holds the sections shown in the account menu.
	Nav, SubNav, Admin []navLink
	Notice             string
	Data               any
}

// navLink is one entry of the main navigation.
type navLink struct {
	Href, Label, Section string
}

// navigation lists the sections in order with the least role that may open
// each and the group it belongs to; a caller sees only what they may use,
// so no link ends in a 403. The main bar shows one link per group (to the
// group's first section the caller may open), so it stays short as domains
// are added; the current group's sections show in a second row.
var navigation = []struct {
	link  navLink
	role  auth.Role
	group string
}{
	{navLink{"/", "Home", "home"}, auth.RoleRequester, "home"},
	{navLink{"/incidents", "Incidents", "incidents"}, auth.RoleViewer, "incidents"},
	{navLink{"/problems", "Problems", "problems"}, auth.RoleViewer, "incidents"},
	{navLink{"/services", "Services", "services"}, auth.RoleViewer, "incidents"},
	{navLink{"/oncall", "On call", "oncall"}, auth.RoleViewer, "oncall"},
	{navLink{"/notifications", "Notifications", "notifications"}, auth.RoleViewer, "oncall"},
	{navLink{"/monitors", "Monitors", "monitors"}, auth.RoleViewer, "monitors"},
	{navLink{"/maintenance", "Maintenance", "maintenance"}, auth.RoleViewer, "monitors"},
	{navLink{"/status-pages", "Status pages", "status-pages"}, auth.RoleViewer, "monitors"},
	{navLink{"/cis", "CMDB", "cis"}, auth.RoleViewer, "cis"},
	{navLink{"/assets", "Assets", "assets"}, auth.RoleViewer, "cis"},
	{navLink{"/licenses", "Licenses", "licenses"}, auth.RoleViewer, "cis"},
	{navLink{"/agents", "Agents", "agents"}, auth.RoleViewer, "cis"},
	{navLink{"/tickets", "Tickets", "tickets"}, auth.RoleRequester, "tickets"},
	{navLink{"/catalog", "Catalog", "catalog"}, auth.RoleRequester, "tickets"},
	{navLink{"/kb", "Knowledge base", "kb"}, auth.RoleRequester, "tickets"},
	{navLink{"/service-desk/metrics", "Desk metrics", "desk-metrics"}, auth.RoleViewer, "tickets"},
	{navLink{"/service-desk", "Service desk settings", "service-desk"}, auth.RoleAdmin, "tickets"},
	{navLink{"/service-desk/email", "Email", "service-desk-email"}, auth.RoleAdmin, "tickets"},
	{navLink{"/changes", "Changes", "changes"}, auth.RoleViewer, "changes"},
	{navLink{"/changes/calendar", "Calendar", "change-calendar"}, auth.RoleViewer, "changes"},
	{navLink{"/changes/approvals", "Approvals", "change-approvals"}, auth.RoleViewer, "changes"},
	{navLink{"/changes/templates", "Templates", "change-templates"}, auth.RoleViewer, "changes"},
	{navLink{"/changes/freezes", "Freezes", "change-freezes"}, auth.RoleViewer, "changes"},
	{navLink{"/backups", "Backup jobs", "backups"}, auth.RoleViewer, "backup"},
	{navLink{"/dr-plans", "DR plans", "dr-plans"}, auth.RoleViewer, "backup"},
	{navLink{"/backups/coverage", "Coverage", "backup-coverage"}, auth.RoleViewer, "backup"},
	{navLink{"/tokens", "API tokens", "tokens"}, auth.RoleViewer, "admin"},
	{navLink{"/users", "Users", "users"}, auth.RoleAdmin, "admin"},
	{navLink{"/audit", "Audit log", "audit"}, auth.RoleAdmin, "admin"},
	{navLink{"/account/2fa", "Two-factor sign-in", "account-2fa"}, auth.RoleRequester, "admin"},
	{navLink{"/security", "Posture", "security"}, auth.RoleViewer, "security"},
	{navLink{"/security/findings", "Findings", "security-findings"}, auth.RoleViewer, "security"},
	{navLink{"/security/settings", "Sign-in policy", "security-settings"}, auth.RoleAdmin, "security"},
}

// navGroups names the groups of the main bar, in order; "admin" sections
// go to the account menu instead.
var navGroups = []struct{ key, label string }{
	{"home", "Home"}, {"incidents", "Incidents"}, {"oncall", "On call"}, {"monitors", "Monitoring"},
	{"cis", "Inventory"}, {"tickets", "Service desk"}, {"changes", "Changes"}, {"backup", "Backups"}, {"security", "Security"},
}

// groupOf returns the navigation group of a section ("" if none).
func groupOf(section string) string {
	for _, n := range navigation {
		if n.link.Section == section {
			return n.group
		}
	}
	return ""
}

// notices are the confirmations a redirect may ask a page to show
// (?notice=CODE). Only these fixed texts can appear, so a crafted link cannot
// put words of its own on an opsdeck page.
var notices = map[string]string{
	"password-changed":      "Your password was changed.",
	"user-created":          "The user was created. Give them their username and password; they choose their own password at first sign-in if you ticked that box.",
	"user-saved":            "The user was saved.",
	"token-revoked":         "The token was revoked; requests using it are refused from now on.",
	"monitor-created":       "The monitor was added. Its first check runs within its interval; this page shows the result.",
	"monitor-saved":         "The monitor was saved.",
	"monitor-paused":        "The monitor is paused: no checks run and no alerts go out until you resume it.",
	"monitor-resumed":       "The monitor was resumed; its next check decides its state.",
	"monitor-deleted":       "The monitor and its history were deleted.",
	"maintenance-created":   "The maintenance window was added. While it is open, the monitors it covers show maintenance and page nobody.",
	"maintenance-saved":     "The maintenance window was saved.",
	"maintenance-deleted":   "The maintenance window was deleted; the monitors it covered show their real state from their next check.",
	"schedule-created":      "The schedule was created. Add a layer with participants to put someone on call.",
	"schedule-saved":        "The schedule was saved; the calendar shows the new shifts.",
	"schedule-deleted":      "The schedule was deleted. Escalation policies that named it page nobody for it now; edit them.",
	"override-added":        "The override was added; it beats every layer for its time.",
	"override-deleted":      "The override was deleted; the layers decide who is on call for its time again.",
	"policy-created":        "The escalation policy was created. Point services at it to page its levels.",
	"policy-saved":          "The escalation policy was saved; running escalations use it from their next step.",
	"policy-deleted":        "The escalation policy was deleted; incidents escalating on it stop at their next step with a note.",
	"incident-created":      "The incident was declared. If its service has an escalation policy, paging has started.",
	"incident-acknowledged": "The incident is acknowledged; paging for it has stopped.",
	"incident-resolved":     "The incident is resolved.",
	"incident-reopened":     "The incident is open again and paging restarted.",
	"incident-noted":        "The note is on the timeline.",
	"incident-assigned":     "The assignee was changed.",
	"incident-merged":       "The incident was merged: its alerts moved and it is resolved with a pointer to the other one.",
	"postmortem-saved":      "The postmortem was saved.",
	"problem-saved":         "The problem was saved.",
	"problem-linked":        "The incident is linked to this problem and the link is on its timeline.",
	"service-created":       "The service was added. Add an integration to send it alerts.",
	"service-saved":         "The service was saved.",
	"service-deleted":       "The service was deleted.",
	"integration-deleted":   "The integration was deleted; its key no longer works. Its alerts stay.",
	"asset-created":         "The asset was added.",
	"asset-saved":           "The asset was saved.",
	"assets-imported":       "The file was imported: every row was created or updated.",
	"asset-moved":           "The asset's state was changed; its history below records it.",
	"ci-created":            "The item was added. Relate it to what it needs so impact analysis can follow failures.",
	"ci-saved":              "The item was saved; its history records what changed.",
	"ci-deleted":            "The item was deleted with its relationships and links.",
	"ci-related":            "The relationship was added.",
	"ci-unrelated":          "The relationship was removed.",
	"ci-linked":             "The monitor was linked; its page now shows the services this item's failure hurts.",
	"ci-unlinked":           "The monitor was unlinked.",
	"citype-saved":          "The CI type was saved.",
	"citype-deleted":        "The CI type was deleted.",
	"reltype-created":       "The relationship type was added.",
	"reltype-deleted":       "The relationship type was deleted.",
	"ticket-created":        "The ticket was opened. Replies and status changes show on this page.",
	"ticket-saved":          "The ticket was saved.",
	"ticket-merged":         "The duplicate was closed and merged into this ticket.",
	"reply-added":           "Your message was added to the conversation.",
	"file-attached":         "The file was attached.",
	"tickets-updated":       "The selected tickets were updated.",
	"desk-saved":            "The service desk settings were saved.",
	"desk-deleted":          "It was deleted.",
}

// newView fills the layout's parts for the caller of r.
func (s *Server) newView(r *http.Request, title, section string, data any) view {
	v := view{Title: title, Section: section, Version: s.opts.Version, Data: data}
	// Each domain keeps its own fixed notice texts.
	code := r.URL.Query().Get("notice")
	for _, m := range []map[string]string{notices, notifyNotices, kbNotices, licenseNotices, changeNotices, backupNotices,
		fleetNotices, deskPortalNotices, securityNotices} {
		if text, ok := m[code]; ok {
			v.Notice = text
			break
		}
	}
	if p, ok := s.signedIn(r); ok {
		v.Me, v.CSRF = &p, p.CSRF
		if !p.MustChangePassword && !p.MustEnrolTwoFactor {
			v.Nav, v.SubNav, v.Admin = s.navFor(p.Role, section)
		}
	}
	return v
}

// navFor builds the main bar, the current group's row and the account
// menu's sections for a role on a page of section.
func (s *Server) navFor(role auth.Role, section string) (main, sub, admin []navLink) {
	current := groupOf(section)
	byGroup := map[string][]navLink{}
	for _, n := range navigation {
		if !s.sectionServed(n.link.Section) || !role.Allows(n.role) {
			continue // a server without that domain, or a section above the role
		}
		byGroup[n.group] = append(byGroup[n.group], n.link)
	}
	for _, g := range navGroups {
		links := byGroup[g.key]
		if len(links) == 0 {
			continue
		}
		// The group's link carries the group as its section, so the layout
		// marks it current on every page of the group.
		main = append(main, navLink{Href: links[0].Href, Label: g.label, Section: g.key})
		if g.key == current && len(links) > 1 {
			sub = links
		}
	}
	return main, sub, byGroup["admin"]
}

// sectionServed says whether this server has the domain behind a
// navigation section; tests build servers with only some domains.
func (s *Server) sectionServed(section string) bool {
	switch section {
	case "security", "security-findings", "security-settings":
		return s.opts.Security != nil
	case "monitors", "maintenance", "status-pages":
		return s.opts.Monitors != nil
	case "incidents", "problems", "services":
		return s.opts.Incidents != nil
	case "notifications":
		return s.opts.Notify != nil
	case "oncall":
		return s.opts.OnCall != nil
	case "cis":
		return s.opts.CMDB != nil
	case "assets", "licenses":
		return s.opts.Assets != nil
	case "changes", "change-calendar", "change-approvals", "change-templates", "change-freezes":
		return s.opts.Changes != nil
	case "agents":
		return s.opts.Fleet != nil
	case "tickets", "service-desk", "catalog", "desk-metrics":
		return s.opts.ServiceDesk != nil
	case "kb":
		return s.opts.KB != nil
	case "service-desk-email":
		return s.opts.DeskMail != nil
	case "backups", "dr-plans", "backup-coverage":
		return s.opts.Backups != nil
	}
	return true
}

// signedIn returns the caller of a UI page. Routes behind guard carry the
// actor in the context; pages rendered outside it (the not-found fallback)
// look at the session cookie themselves, so a signed-in user keeps the
// navigation on a 404.
func (s *Server) signedIn(r *http.Request) (auth.Principal, bool) {
	a := auth.ActorFrom(r.Context())
	switch {
	case a.Kind == auth.ActorUser || a.Kind == auth.ActorToken:
		return a.Principal, true
	case a.Kind == auth.ActorSystem && a.Via == auth.ViaSystem:
		// No actor in the context: ActorFrom fell back to the system.
		if p, _, err := s.principal(r); err == nil {
			return p, true
		}
	}
	return auth.Principal{}, false
}

// roleHelp says in a few words what a role may do, beside every role choice,
// so an admin picks the least that is enough.
func roleHelp(r auth.Role) string {
	switch r {
	case auth.RoleAdmin:
		return "everything, including users, tokens and the audit log"
	case auth.RoleOperator:
		return "runs operations: changes monitors, incidents, assets and changes"
	case auth.RoleViewer:
		return "sees everything operational, changes nothing; may make API tokens"
	case auth.RoleRequester:
		return "opens and follows their own requests"
	}
	return ""
}

// initial is the letter in a user's avatar.
func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}
