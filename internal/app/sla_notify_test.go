package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
)

// TestSLAEventsQueueNotificationsForTheAssigneeOnce checks the glue from
// the service desk's SLA job to the outbox: a breach queues one page for
// the ticket's assignee, and the same event again (the job ran twice)
// queues nothing more.
func TestSLAEventsQueueNotificationsForTheAssigneeOnce(t *testing.T) {
	cfg := testConfig(t)
	ctx := auth.WithActor(context.Background(), auth.CLIActor("test"))
	db, err := OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as := NewAuth(db, cfg, nil)
	u, err := as.CreateUser(ctx, auth.NewUser{Username: "carol", Name: "Carol", Role: auth.RoleOperator, Password: "carol's long password"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	notes := notify.NewService(db, notify.Options{Logger: log})
	ch, err := notes.SaveChannel(ctx, 0, notify.ChannelInput{Name: "hook", Kind: "webhook",
		Settings: json.RawMessage(`{"url":"http://127.0.0.1:9/x","secret":"a signing secret of some length"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notes.AddContactMethod(ctx, u.ID, notify.ContactMethod{ChannelID: ch.ID, Address: "http://127.0.0.1:9/carol"}); err != nil {
		t.Fatal(err)
	}
	n := &slaNotifier{db: db, notes: notes, desk: servicedesk.New(db, servicedesk.Options{Logger: log}), log: log, baseURL: "http://opsdeck.example"}
	ev := servicedesk.SLAEvent{TicketID: 7, Subject: "VPN drops every hour", Priority: 2, AssigneeID: u.ID,
		Timer: "resolution", State: servicedesk.SLABreached, At: time.Now()}
	n.event(ctx, ev)
	n.event(ctx, ev)
	rows, _, err := notes.Notifications(ctx, notify.Filter{RefKind: "ticket", RefID: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].UserID != u.ID {
		t.Fatalf("queued %d notifications for ticket 7, want one for carol: %+v", len(rows), rows)
	}
	msg, _ := json.Marshal(rows[0])
	if !strings.Contains(string(msg), "resolution target is breached") || !strings.Contains(string(msg), "http://opsdeck.example/tickets/7") {
		t.Fatalf("message: %s", msg)
	}
}
