package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
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
		if len(got) != 2 || got["ci:42/openssl"].CIID != 42 || got["ci:42/openssl"].Severity != security.SeverityMedium || got["ci:42/vim"].ID != 0 {
			t.Fatalf("findings = %+v", got)
		}
		// Another host's updates do not touch this host's findings, and
		// the same update pending there is a finding of its own.
		hook(ctx, 2, 43, nil)
		hook(ctx, 3, 44, []wire.Update{{Name: "openssl", Current: "3.0.1", Candidate: "3.0.2", Security: true}})
		got = open()
		if len(got) != 3 || got["ci:42/openssl"].CIID != 42 || got["ci:44/openssl"].CIID != 44 {
			t.Fatalf("after other hosts: %+v", got)
		}
		// openssl was installed on host 42: its finding is fixed.
		hook(ctx, 1, 42, []wire.Update{{Name: "curl", Current: "7.88", Candidate: "7.89", Security: true}})
		got = open()
		if len(got) != 2 || got["ci:42/curl"].ID == 0 || got["ci:44/openssl"].ID == 0 {
			t.Fatalf("after openssl was installed: %+v", got)
		}
	})
}

func TestRiskySoftwareBecomesFindingsAndClosesWhenRemoved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := security.New(db, security.Options{})
		hook := softwareToFindings(sec, []string{"telnetd", "RSH-*", "tftp?-hpa"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		open := func() map[string]security.Finding {
			list, _, err := sec.List(ctx, security.Filter{Status: security.StatusOpen, Source: security.SourceAgentSoftware})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]security.Finding{}
			for _, f := range list {
				out[f.Key] = f
			}
			return out
		}
		web := []wire.Package{
			{Name: "telnetd", Version: "0.17-44", Arch: "amd64", Source: "dpkg"},
			{Name: "rsh-redone-server", Version: "85-3", Arch: "amd64", Source: "dpkg"},
			{Name: "tftpd-hpa", Version: "5.2", Arch: "amd64", Source: "dpkg"},
			{Name: "telnet", Version: "0.17-44", Arch: "amd64", Source: "dpkg"},       // a client: no pattern
			{Name: "tftp-hpa", Version: "5.2", Arch: "amd64", Source: "dpkg"},         // ? is one character
			{Name: "TELNETD-ssl", Version: "0.17", Arch: "amd64", Source: "dpkg"},     // whole-name match only
			{Name: "openssh-server", Version: "9.2p1", Arch: "amd64", Source: "dpkg"}, // fine
		}
		hook(ctx, 1, 0, web) // no CI yet: nothing
		if got := open(); len(got) != 0 {
			t.Fatalf("findings without a CI: %+v", got)
		}
		hook(ctx, 1, 42, web)
		got := open()
		tel := got["ci:42/telnetd"]
		if len(got) != 3 || tel.CIID != 42 || tel.Severity != security.SeverityHigh || got["ci:42/rsh-redone-server"].ID == 0 || got["ci:42/tftpd-hpa"].ID == 0 {
			t.Fatalf("findings = %+v", got)
		}
		if !strings.Contains(tel.Title, "telnetd 0.17-44") || !strings.Contains(string(tel.Evidence), `"version":"0.17-44"`) || !strings.Contains(string(tel.Evidence), `"source":"dpkg"`) {
			t.Fatalf("telnetd finding %q evidence %s", tel.Title, tel.Evidence)
		}
		// Another host: its own findings, this host's untouched, and a
		// host without risky software closes nothing of others'.
		hook(ctx, 2, 43, []wire.Package{{Name: "telnetd", Version: "1", Source: "rpm"}}) // same package, another host
		hook(ctx, 3, 44, []wire.Package{{Name: "openssh-server", Version: "9"}})
		got = open()
		if len(got) != 4 || got["ci:42/telnetd"].ID != tel.ID || got["ci:43/telnetd"].CIID != 43 {
			t.Fatalf("after other hosts: %+v", got)
		}
		// telnetd removed from host 42: its finding is fixed, the rest stay.
		hook(ctx, 1, 42, web[1:])
		got = open()
		if len(got) != 3 || got["ci:42/telnetd"].ID != 0 || got["ci:43/telnetd"].ID == 0 {
			t.Fatalf("after telnetd was removed: %+v", got)
		}
		if f, err := sec.Get(ctx, tel.ID); err != nil || f.Status != security.StatusFixed {
			t.Fatalf("removed package's finding: %+v %v", f, err)
		}
		// No patterns: the check is off and closes nothing.
		softwareToFindings(sec, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))(ctx, 1, 42, nil)
		if got := open(); len(got) != 3 {
			t.Fatalf("with the check off: %+v", got)
		}
	})
}
