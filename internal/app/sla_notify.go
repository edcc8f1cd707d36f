package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
)

// slaNotifier sends a ticket's SLA warnings and breaches through the
// notification channels: to its assignee, or, when nobody has it yet, to
// every member of its group. The service desk records the event on the
// ticket before calling; a lost notification here is logged, not retried,
// because the ticket page and list already show the state.
type slaNotifier struct {
	db      *store.DB
	desk    *servicedesk.Service
	notes   *notify.Service
	log     *slog.Logger
	baseURL string
}

func (n *slaNotifier) event(ctx context.Context, e servicedesk.SLAEvent) {
	users := []int64{}
	if e.AssigneeID != 0 {
		users = append(users, e.AssigneeID)
	} else if e.GroupID != 0 {
		if g, err := n.desk.Group(ctx, e.GroupID); err == nil {
			users = append(users, g.MemberIDs...)
		} else {
			n.log.Warn("SLA event: group of ticket", "ticket", e.TicketID, "err", err)
		}
	}
	if len(users) == 0 {
		n.log.Info("SLA event with nobody to tell: the ticket has no assignee or group", "ticket", e.TicketID, "timer", e.Timer, "state", e.State)
		return
	}
	timer := strings.ReplaceAll(e.Timer, "_", " ")
	verb := "will breach soon"
	severity := "warning"
	if e.State == servicedesk.SLABreached {
		verb, severity = "is breached", "error"
	}
	url := strings.TrimSuffix(n.baseURL, "/") + "/tickets/" + strconv.FormatInt(e.TicketID, 10)
	m := notify.Message{
		Title:    fmt.Sprintf("[#%d] %s target %s: %s", e.TicketID, timer, verb, e.Subject),
		Text:     fmt.Sprintf("The %s target of ticket #%d (%s) %s.\n%s", timer, e.TicketID, e.Priority, verb, url),
		Severity: severity,
		URL:      url,
		Fields:   []notify.Field{{Name: "Priority", Value: e.Priority.String()}, {Name: "Timer", Value: timer}, {Name: "State", Value: string(e.State)}},
	}
	ref := notify.Ref{Kind: "ticket", ID: e.TicketID}
	for _, uid := range users {
		key := fmt.Sprintf("sla/t%d/%s/%s/u%d", e.TicketID, e.Timer, e.State, uid)
		if _, err := n.notes.NotifyUser(ctx, n.db.W, uid, ref, key, m); err != nil {
			n.log.Error("SLA notification not queued", "ticket", e.TicketID, "user", uid, "err", err)
		}
	}
}
