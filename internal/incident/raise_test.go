package incident

import (
	"context"
	"errors"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func TestRaiseAndClear(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db, Options{})
		ctx := context.Background()
		sig := Signal{Source: "backup", Service: "Backups", Key: "job:7:late", Summary: "nightly is late", Detail: "expected 02:00", Severity: SeverityWarning}
		for range 2 { // the second raise refreshes the same alert
			if err := s.Raise(ctx, sig); err != nil {
				t.Fatal(err)
			}
		}
		// Another source with the same key is another alert.
		other := sig
		other.Source = "security"
		if err := s.Raise(ctx, other); err != nil {
			t.Fatal(err)
		}
		svc, err := s.ServiceByName(ctx, "Backups")
		if err != nil {
			t.Fatal(err)
		}
		open, _, err := s.ListAlerts(ctx, AlertFilter{ServiceID: svc.ID, Status: "open"})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 2 {
			t.Fatalf("open alerts = %d, want 2 (one per source)", len(open))
		}
		for _, a := range open {
			if a.Labels["source"] == "backup" && (a.Count != 2 || a.Severity != SeverityWarning || a.Labels["detail"] != "expected 02:00") {
				t.Errorf("backup alert = %+v", a)
			}
			if a.IncidentID == nil {
				t.Errorf("alert %d opened no incident", a.ID)
			}
		}
		if err := s.Clear(ctx, "backup", "Backups", sig.Key); err != nil {
			t.Fatal(err)
		}
		if err := s.Clear(ctx, "backup", "Backups", "never-raised"); err != nil {
			t.Fatalf("clearing what is not open: %v", err)
		}
		open, _, _ = s.ListAlerts(ctx, AlertFilter{ServiceID: svc.ID, Status: "open"})
		if len(open) != 1 || open[0].Labels["source"] != "security" {
			t.Fatalf("after clear, open = %+v", open)
		}
	})
}

func TestRaiseRefusesIncompleteSignals(t *testing.T) {
	s := newTestService(t, storetest.SQLite(t), Options{})
	for field, sig := range map[string]Signal{
		"source":  {Service: "S", Key: "k"},
		"service": {Source: "x", Key: "k"},
		"key":     {Source: "x", Service: "S"},
	} {
		err := s.Raise(context.Background(), sig)
		var ve *valid.Error
		if !errors.As(err, &ve) || ve.Field != field {
			t.Errorf("missing %s: err = %v", field, err)
		}
	}
}
