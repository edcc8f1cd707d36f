package app

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/security"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestPendingSecurityUpdatesBecomeFindingsAndCloseWhenInstalled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := security.New(db, security.Options{})
		hook := updatesToFindings(sec, slog.New(slog.NewTextHandler(io.Discard, nil)))
		open := func() map[string]security.Finding {
			list, _, err := sec.List(ctx, security.Filter{Status: security.StatusOpen, Source: security.SourceAgentUpdates})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]security.Finding{}
			for _, f := range list {
				out[f.Key] = f
			}
			return out
		}
		hook(ctx, 1, 0, []wire.Update{{Name: "openssl", Security: true}}) // no CI yet: nothing
		if got := open(); len(got) != 0 {
			t.Fatalf("findings without a CI: %+v", got)
		}
		hook(ctx, 1, 42, []wire.Update{
			{Name: "openssl", Current: "3.0.1", Candidate: "3.0.2", Security: true},
			{Name: "curl", Current: "7.88", Candidate: "7.89", Security: true},
			{Name: "vim", Current: "9.0", Candidate: "9.1"}, // not a security update
		})
		got := open()
		if len(got) != 2 || got["openssl"].CIID != 42 || got["openssl"].Severity != security.SeverityMedium || got["vim"].ID != 0 {
			t.Fatalf("findings = %+v", got)
		}
		// Another host's updates do not touch this host's findings.
		hook(ctx, 2, 43, nil)
		// openssl was installed on host 42: its finding is fixed.
		hook(ctx, 1, 42, []wire.Update{{Name: "curl", Current: "7.88", Candidate: "7.89", Security: true}})
		got = open()
		if len(got) != 1 || got["curl"].ID == 0 {
			t.Fatalf("after openssl was installed: %+v", got)
		}
	})
}
