package security

import (
	"context"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestScanAuthSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := auth.WithActor(context.Background(), auth.SystemActor())
		as := auth.NewService(db, auth.Options{LoginMaxFailuresPerUser: 50, LoginMaxFailuresPerIP: 50})
		alerts := &recordingAlerts{}
		s := New(db, Options{Alerts: alerts, BruteForceUser: 3, BruteForceAddr: 4})
		const pw = "correct horse battery"
		u, err := as.CreateUser(ctx, auth.NewUser{Username: "ann", Role: auth.RoleViewer, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := as.Login(ctx, "ann", pw, "10.0.0.1", "test"); err != nil {
			t.Fatal(err)
		}
		// Three failures for ann from one address, one more for a name
		// that does not exist from the same address: both limits reached.
		for range 3 {
			_, _, _ = as.Login(ctx, "ann", "wrong password!", "203.0.113.9", "test")
		}
		_, _, _ = as.Login(ctx, "nobody\x00\n", "wrong password!", "203.0.113.9", "test")
		// A second sign-in from a new address.
		if _, _, err := as.Login(ctx, "ann", pw, "198.51.100.7", "test"); err != nil {
			t.Fatal(err)
		}
		admin := auth.RoleAdmin
		if _, err := as.UpdateUser(ctx, u.ID, auth.UserUpdate{Role: &admin}); err != nil {
			t.Fatal(err)
		}
		if err := s.ScanAuth(ctx); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			SourceBruteForce + "|user:ann":            "3 failed sign-ins for user \"ann\" within 1h0m0s",
			SourceBruteForce + "|address:203.0.113.9": "4 failed sign-ins for address \"203.0.113.9\" within 1h0m0s",
		}
		list, _, err := s.List(ctx, Filter{Status: StatusOpen})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, f := range list {
			got[f.Source] = true
			if w, ok := want[f.Source+"|"+f.Key]; ok && f.Title != w {
				t.Errorf("%s: title %q, want %q", f.Key, f.Title, w)
			}
		}
		for _, src := range []string{SourceBruteForce, SourceNewAddress, SourceAdminGrant} {
			if !got[src] {
				t.Errorf("no open %s finding in %+v", src, list)
			}
		}
		if len(list) != 4 {
			t.Errorf("open findings = %d, want 4: %+v", len(list), list)
		}
		// A second scan changes nothing.
		if err := s.ScanAuth(ctx); err != nil {
			t.Fatal(err)
		}
		if again, _, _ := s.List(ctx, Filter{Status: StatusOpen}); len(again) != len(list) {
			t.Errorf("second scan: %d findings, want %d", len(again), len(list))
		}
	})
}
