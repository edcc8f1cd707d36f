package app

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/fleet"

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

// Inventories stored before the check existed, or before the patterns
// changed, are brought up to date at start.
func TestRiskySoftwareSweepAtStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := auth.WithActor(context.Background(), auth.SystemActor())
		ci := cmdb.NewService(db, cmdb.Options{})
		if err := ci.Start(ctx); err != nil {
			t.Fatal(err)
		}
		agents := fleet.NewService(db, fleet.Options{CMDB: ci}) // no OnSoftware: stored before the check
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { agents.Run(rctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		sec := security.New(db, security.Options{})
		host := func(name string, pkgs ...string) int64 {
			tok, _, err := agents.CreateToken(ctx, time.Hour, "test")
			if err != nil {
				t.Fatal(err)
			}
			en, err := agents.Enroll(ctx, wire.EnrollRequest{Token: tok, Hostname: name, MachineID: name, AgentVersion: "1.0"})
			if err != nil {
				t.Fatal(err)
			}
			var ps []wire.Package
			for _, p := range pkgs {
				ps = append(ps, wire.Package{Name: p, Version: "1", Arch: "amd64", Source: "dpkg"})
			}
			rep := &wire.Report{Seq: 1, SentAt: time.Now().UTC(), AgentVersion: "1.0",
				Facts:    &wire.Facts{Hostname: name, MachineID: name, OS: wire.OSInfo{Name: "Debian GNU/Linux", ID: "debian"}},
				Software: &wire.Software{Hash: wire.Hash(ps), Packages: ps}}
			if _, err := agents.Ingest(ctx, en.AgentID, rep, ""); err != nil {
				t.Fatal(err)
			}
			a, err := agents.Get(ctx, en.AgentID)
			if err != nil || a.CIID == 0 {
				t.Fatalf("agent %+v %v", a, err)
			}
			return a.CIID
		}
		web := host("web1", "telnetd", "nis", "openssh-server")
		db1 := host("db1", "postgresql", "telnetd")
		host("app1", "openssh-server")
		open := func() map[string]bool {
			list, _, err := sec.List(ctx, security.Filter{Status: security.StatusOpen, Source: security.SourceAgentSoftware})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for _, f := range list {
				out[f.Key] = true
			}
			return out
		}
		key := func(ci int64, p string) string { return "ci:" + strconv.FormatInt(ci, 10) + "/" + p }
		if err := syncRiskySoftware(ctx, agents, sec, []string{"telnetd", "NIS", "telnet*"}); err != nil {
			t.Fatal(err)
		}
		if got := open(); len(got) != 3 || !got[key(web, "telnetd")] || !got[key(web, "nis")] || !got[key(db1, "telnetd")] {
			t.Fatalf("after the first sweep: %v", got)
		}
		// nis dropped from the patterns: its finding is fixed at the next start.
		if err := syncRiskySoftware(ctx, agents, sec, []string{"telnetd"}); err != nil {
			t.Fatal(err)
		}
		if got := open(); len(got) != 2 || got[key(web, "nis")] {
			t.Fatalf("after nis was dropped: %v", got)
		}
		// The check turned off: every such finding is fixed.
		if err := syncRiskySoftware(ctx, agents, sec, nil); err != nil {
			t.Fatal(err)
		}
		if got := open(); len(got) != 0 {
			t.Fatalf("with the check off: %v", got)
		}
	})
}
