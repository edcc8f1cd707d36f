package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
)

// TestLicenseWarningsNotifyAdminsOnce checks the glue from the license
// warnings to the outbox: an over-used and an expiring license each queue
// one notification for the admin, and checking again queues nothing more.
func TestLicenseWarningsNotifyAdminsOnce(t *testing.T) {
	cfg := testConfig(t)
	ctx := auth.WithActor(context.Background(), auth.CLIActor("test"))
	db, err := OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as := NewAuth(db, cfg, nil)
	admin, err := as.CreateUser(ctx, auth.NewUser{Username: "dana", Name: "Dana", Role: auth.RoleAdmin, Password: "dana's long password"})
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := as.CreateUser(ctx, auth.NewUser{Username: "vic", Name: "Vic", Role: auth.RoleViewer, Password: "vic's long password!"})
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
	for _, u := range []int64{admin.ID, viewer.ID} {
		if _, err := notes.AddContactMethod(ctx, u, notify.ContactMethod{ChannelID: ch.ID, Address: "http://127.0.0.1:9/u"}); err != nil {
			t.Fatal(err)
		}
	}
	reg := asset.NewService(db, asset.Options{Logger: log})
	over, err := reg.CreateLicense(ctx, asset.LicenseInput{Product: "CAD Suite", Seats: 1, Patterns: []string{"cad*"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []int64{admin.ID, viewer.ID} {
		if _, err := reg.AssignSeat(ctx, over.ID, u, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	soon, err := reg.CreateLicense(ctx, asset.LicenseInput{Product: "Antivirus", Seats: 50, Patterns: []string{"clamav"}, Expires: "2000-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateLicense(ctx, asset.LicenseInput{Product: "Editor", Seats: 5, Patterns: []string{"editor"}}); err != nil {
		t.Fatal(err)
	}
	n := &licenseNotifier{db: db, assets: reg, auth: as, notes: notes, log: log, baseURL: "http://opsdeck.example/"}
	for range 2 {
		if err := n.check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rows, _, err := notes.Notifications(ctx, notify.Filter{RefKind: "license"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, r := range rows {
		if r.UserID != admin.ID {
			t.Fatalf("notified a non-admin: %+v", r)
		}
		if _, twice := got[r.Ref.ID]; twice {
			t.Fatalf("license %d notified twice", r.Ref.ID)
		}
		got[r.Ref.ID] = r.Title
	}
	if len(got) != 2 || !strings.Contains(got[over.ID], "over-used: CAD Suite (2 in use, 1 bought)") || !strings.Contains(got[soon.ID], "expired on 2000-01-01") {
		t.Fatalf("notifications %v", got)
	}
}
