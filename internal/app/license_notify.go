package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/store"
)

// licenseNotifier tells the admins, through their notification rules, when
// a license is over-used or expires within the warning window. It checks
// at start and then every interval; the outbox's idempotency keys make a
// repeated check queue nothing new: an over-use is told once per number in
// use (it is told again if it grows), an expiry once per expiry date (a
// renewal with a new date is a new warning).
type licenseNotifier struct {
	db      *store.DB
	assets  *asset.Service
	auth    *auth.Service
	notes   *notify.Service
	log     *slog.Logger
	baseURL string
	every   time.Duration
}

// Run checks until ctx ends.
func (n *licenseNotifier) Run(ctx context.Context) {
	every := n.every
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := n.check(ctx); err != nil && ctx.Err() == nil {
				n.log.Error("license warnings not sent", "err", err)
			}
			t.Reset(every)
		}
	}
}

// check queues the notifications of the licenses needing attention now.
func (n *licenseNotifier) check(ctx context.Context) error {
	w, err := n.assets.Warnings(ctx)
	if err != nil || w.Empty() {
		return err
	}
	users, err := n.auth.ListUsers(ctx)
	if err != nil {
		return err
	}
	var admins []int64
	for _, u := range users {
		if u.Role == auth.RoleAdmin && !u.Disabled {
			admins = append(admins, u.ID)
		}
	}
	base := strings.TrimSuffix(n.baseURL, "/")
	for _, l := range w.OverUsed {
		c := l.Compliance
		inUse := max(c.Assigned, c.Installed)
		url := base + "/licenses/" + strconv.FormatInt(l.ID, 10)
		n.send(ctx, admins, l.ID, fmt.Sprintf("license/l%d/over/%d", l.ID, inUse), notify.Message{
			Title:    fmt.Sprintf("License over-used: %s (%d in use, %d bought)", l.Product, inUse, l.Seats),
			Text:     fmt.Sprintf("%s is over-used by %d: %d seats bought, %d assigned, %s.\n%s", l.Product, c.Excess(), l.Seats, c.Assigned, installedText(c), url),
			Severity: "warning",
			URL:      url,
			Fields: []notify.Field{{Name: "Seats bought", Value: strconv.FormatInt(l.Seats, 10)},
				{Name: "Assigned", Value: strconv.FormatInt(c.Assigned, 10)}, {Name: "Installed", Value: installedText(c)}},
		})
	}
	for _, l := range w.Expiring {
		verb := "expires on"
		if l.Expired {
			verb = "expired on"
		}
		url := base + "/licenses/" + strconv.FormatInt(l.ID, 10)
		n.send(ctx, admins, l.ID, fmt.Sprintf("license/l%d/expires/%s", l.ID, l.Expires), notify.Message{
			Title:    fmt.Sprintf("License %s %s: %s", verb, l.Expires, l.Product),
			Text:     fmt.Sprintf("The license %s %s %s. Renew it or record its end.\n%s", l.Product, verb, l.Expires, url),
			Severity: "warning",
			URL:      url,
			Fields:   []notify.Field{{Name: "Expires", Value: l.Expires}, {Name: "Type", Value: l.Type.Label()}},
		})
	}
	return nil
}

func installedText(c asset.Compliance) string {
	if !c.AgentData {
		return "installations unknown (no agent data)"
	}
	return strconv.FormatInt(c.Installed, 10) + " installed"
}

// send queues m for every admin; a failure is logged (the license pages
// and the home page show the state anyway).
func (n *licenseNotifier) send(ctx context.Context, admins []int64, licenseID int64, key string, m notify.Message) {
	for _, uid := range admins {
		if _, err := n.notes.NotifyUser(ctx, n.db.W, uid, notify.Ref{Kind: "license", ID: licenseID}, key+"/u"+strconv.FormatInt(uid, 10), m); err != nil {
			n.log.Error("license notification not queued", "license", licenseID, "user", uid, "err", err)
		}
	}
}
