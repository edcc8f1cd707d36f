package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/change"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/oncall"
	"github.com/opsdeck/opsdeck/internal/store"
)

// pipeline joins the incident domain, the escalation engine and the
// notification outbox. Each seam runs inside the transaction of the step
// that causes it, so a crash never leaves an incident without its
// escalation, an escalation step without its outbox rows, or an
// acknowledged incident with its pending pages still queued.
type pipeline struct {
	db    *store.DB
	incs  *incident.Service
	mons  *monitor.Service
	calls *oncall.Service
	notes *notify.Service
	cis   *cmdb.Service
	// changes flags changes that may have caused a new incident.
	changes *change.Service
	log     *slog.Logger
	// baseURL is where links in messages point; set once the server
	// listens, before any background work starts.
	baseURL string
}

var (
	_ incident.Paging = (*pipeline)(nil)
	_ oncall.Pager    = (*pipeline)(nil)
)

func incidentRef(id int64) notify.Ref { return notify.Ref{Kind: "incident", ID: id} }

// Start begins escalating a triggered incident on its policy.
func (p *pipeline) Start(ctx context.Context, q store.Querier, incidentID, policyID int64) error {
	return p.calls.Start(ctx, q, incidentID, policyID)
}

// Stop ends the escalation of an incident that was acknowledged, resolved
// or merged, and cancels its pages not yet sent (a delayed "webhook after
// 5 minutes" rule must not fire after someone took the incident).
func (p *pipeline) Stop(ctx context.Context, q store.Querier, incidentID int64) error {
	if err := p.calls.Stop(ctx, q, incidentID); err != nil {
		return err
	}
	n, err := p.notes.CancelPending(ctx, q, incidentRef(incidentID))
	if err != nil {
		return err
	}
	if n > 0 {
		return p.incs.AddTimeline(ctx, q, incidentID, incident.TimelineEntry{Kind: "cancelled",
			Text: fmt.Sprintf("%d queued notification(s) cancelled: the incident no longer needs paging", n)})
	}
	return nil
}

// afterCommit wakes the escalation engine once an incident that started
// escalating has committed: Start's own wake-up comes before the commit,
// and the engine would otherwise look again only after its retry delay.
func (p *pipeline) afterCommit(ctx context.Context, e incident.LifecycleEvent) {
	if e.Kind == "triggered" || e.Kind == "reopened" {
		p.calls.Wake()
	}
	if e.Kind == "triggered" {
		p.flagChanges(ctx, e)
	}
}

// Page queues the escalation step's notifications for every user it names
// and records the step on the incident's timeline, in the escalation's
// transaction.
func (p *pipeline) Page(ctx context.Context, q store.Querier, pg oncall.Page) error {
	n, err := p.incs.Notification(ctx, pg.IncidentID, p.baseURL)
	if err != nil {
		return err
	}
	// One read of the incident's alerts serves both the quiet rule and the
	// message's impact line.
	// Both are best effort: without the alerts the page goes out unheld
	// and without the impact line rather than not at all.
	alerts, _, err := p.incs.ListAlerts(ctx, incident.AlertFilter{IncidentID: pg.IncidentID, Limit: 50})
	if err != nil {
		p.log.Warn("page: alerts of incident", "incident", pg.IncidentID, "err", err)
	}
	if why, held := p.heldBy(ctx, alerts); held {
		// The escalation goes on: if the cause recovers while this stays
		// down, the next level pages.
		return p.incs.AddTimeline(ctx, q, pg.IncidentID, incident.TimelineEntry{Kind: "page_held",
			Text: fmt.Sprintf("Escalation level %d not paged: %s", pg.Level, why)})
	}
	msg := p.message(ctx, alerts, n)
	step := fmt.Sprintf("level %d", pg.Level)
	if pg.Round > 0 {
		step += fmt.Sprintf(", repeat %d", pg.Round)
	}
	targets := strings.Join(pg.Targets, "; ")
	if targets == "" {
		targets = "no targets"
	}
	if err := p.incs.AddTimeline(ctx, q, pg.IncidentID, incident.TimelineEntry{Kind: "escalated",
		Text: fmt.Sprintf("Escalation %s: %s", step, targets)}); err != nil {
		return err
	}
	for _, uid := range pg.UserIDs {
		key := fmt.Sprintf("inc%d/esc%d/l%d/r%d/u%d", pg.IncidentID, pg.PolicyID, pg.Level, pg.Round, uid)
		n, err := p.notes.NotifyUser(ctx, q, uid, incidentRef(pg.IncidentID), key, msg)
		if err != nil {
			return err
		}
		text := fmt.Sprintf("%d notification(s) queued for user %d", n, uid)
		if n == 0 {
			text = fmt.Sprintf("User %d has no contact methods: nobody was notified through them", uid)
		}
		if err := p.incs.AddTimeline(ctx, q, pg.IncidentID, incident.TimelineEntry{Kind: "notified", Text: text}); err != nil {
			return err
		}
	}
	return nil
}

// message is what a page says: the incident's own summary and signed
// links, plus the business services it hurts according to the CMDB.
func (p *pipeline) message(ctx context.Context, alerts []incident.Alert, n incident.Notification) notify.Message {
	m := notify.Message{Title: n.Title, Text: n.Text, Severity: n.Severity, URL: n.URL,
		Actions: []notify.Link{{Label: "Acknowledge", URL: n.AckURL}, {Label: "Resolve", URL: n.ResolveURL}}}
	for _, f := range n.Fields {
		m.Fields = append(m.Fields, notify.Field{Name: f[0], Value: f[1]})
	}
	if hurt := p.hurtServices(ctx, alerts); len(hurt) > 0 {
		v := strings.Join(hurt, ", ")
		m.Fields = append(m.Fields, notify.Field{Name: "Business services affected", Value: v})
		m.Text += "\nBusiness services affected: " + v + "\n"
	}
	return m
}

// hurtServices names the business services above the CIs linked to the
// monitors whose alerts are in the incident. It is best effort: a message
// goes out without it rather than not at all.
func (p *pipeline) hurtServices(ctx context.Context, alerts []incident.Alert) []string {
	if p.cis == nil {
		return nil
	}
	seen := map[int64]bool{}
	var names []string
	for _, a := range alerts {
		monitorID, ok := monitorOf(a)
		if !ok {
			continue
		}
		cis, err := p.cis.LinkedCIs(ctx, "monitor", monitorID)
		if err != nil {
			p.log.Warn("page: CIs of monitor", "monitor", monitorID, "err", err)
			continue
		}
		for _, ci := range cis {
			svcs, err := p.cis.ImpactedServices(ctx, ci.ID)
			if err != nil {
				p.log.Warn("page: impact of CI", "ci", ci.ID, "err", err)
				continue
			}
			for _, s := range svcs {
				if !seen[s.ID] {
					seen[s.ID] = true
					names = append(names, s.Name)
				}
			}
		}
	}
	return names
}

// outcome puts a delivery outcome on the incident's timeline. A given-up
// delivery also raises an alert of its own on the built-in opsdeck
// service, so a broken channel pages someone instead of failing quietly.
func (p *pipeline) outcome(ctx context.Context, o notify.Outcome) {
	if o.Ref.Kind != "incident" || o.Ref.ID == 0 {
		return
	}
	var kind, text string
	switch o.Status {
	case "delivered":
		kind, text = "delivered", fmt.Sprintf("Delivered via %s (attempt %d)", o.Channel, o.Attempt)
	case "failed":
		kind, text = "delivery_failed", fmt.Sprintf("Delivery via %s failed (attempt %d), will retry: %s", o.Channel, o.Attempt, o.Err)
	case "given_up":
		kind, text = "delivery_given_up", fmt.Sprintf("Gave up delivering via %s after %d attempts: %s", o.Channel, o.Attempt, o.Err)
	default:
		return
	}
	if o.UserID != 0 {
		text += fmt.Sprintf(" (user %d)", o.UserID)
	}
	if err := p.incs.AddTimeline(ctx, p.db.W, o.Ref.ID, incident.TimelineEntry{Kind: kind, Text: text, At: o.At}); err != nil {
		p.log.Warn("delivery outcome not put on the timeline", "incident", o.Ref.ID, "err", err)
	}
	if o.Status == "given_up" {
		if err := p.incs.RaiseInternal(ctx, "notify:"+o.Channel, "Notifications via "+o.Channel+" are failing",
			fmt.Sprintf("A notification for incident #%d was given up after %d attempts: %s", o.Ref.ID, o.Attempt, o.Err)); err != nil {
			p.log.Error("given-up delivery not raised as an alert", "channel", o.Channel, "err", err)
		}
	}
}

// heldBy says whether every open alert of the incident comes from a
// monitor whose CI depends, through the CMDB, on a CI whose own monitor is
// down: then the failure is a consequence, and the people paged for the
// cause need not be woken twice. It names the first cause found.
func (p *pipeline) heldBy(ctx context.Context, alerts []incident.Alert) (string, bool) {
	if p.cis == nil || p.mons == nil {
		return "", false
	}
	var why string
	for _, a := range alerts {
		if a.Status == incident.StatusResolved {
			continue
		}
		monitorID, ok := monitorOf(a)
		if !ok {
			return "", false
		}
		cause, ok := p.downDependency(ctx, monitorID)
		if !ok {
			return "", false
		}
		if why == "" {
			why = cause
		}
	}
	return why, why != ""
}

// monitorOf returns the monitor an alert comes from, by the dedup key the
// incident package gives monitor alerts ("monitor:<id>").
func monitorOf(a incident.Alert) (int64, bool) {
	id, ok := strings.CutPrefix(a.DedupKey, "monitor:")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil
}

// downDependency finds a monitor that is down on a CI that the monitor's
// own CIs depend on.
func (p *pipeline) downDependency(ctx context.Context, monitorID int64) (string, bool) {
	cis, err := p.cis.LinkedCIs(ctx, "monitor", monitorID)
	if err != nil {
		return "", false
	}
	for _, ci := range cis {
		deps, err := p.cis.Impact(ctx, ci.ID, cmdb.Downstream, 0)
		if err != nil {
			p.log.Warn("page: dependencies of CI", "ci", ci.ID, "err", err)
			continue
		}
		for _, n := range deps.Nodes {
			if n.CI.ID == ci.ID || p.dependsOn(ctx, n.CI.ID, ci.ID) {
				continue // a cycle: each would hold the other and nobody would be paged
			}
			links, err := p.cis.Links(ctx, n.CI.ID)
			if err != nil {
				continue
			}
			for _, l := range links {
				if l.Kind != cmdb.LinkMonitor || l.ObjectID == monitorID {
					continue
				}
				m, err := p.mons.Get(ctx, l.ObjectID)
				if err == nil && m.Status.State == monitor.StateDown {
					return fmt.Sprintf("%s depends on %s, whose monitor %q is down", ci.Name, n.CI.Name, m.Name), true
				}
			}
		}
	}
	return "", false
}

// dependsOn says whether CI from depends, however deep, on CI to.
func (p *pipeline) dependsOn(ctx context.Context, from, to int64) bool {
	deps, err := p.cis.Impact(ctx, from, cmdb.Downstream, 0)
	if err != nil {
		return false
	}
	for _, n := range deps.Nodes {
		if n.CI.ID == to {
			return true
		}
	}
	return false
}
