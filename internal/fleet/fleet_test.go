package fleet

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestEnrollmentTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		tok, rec, err := e.f.CreateToken(e.ctx, time.Hour, "rack 4")
		if err != nil || !strings.HasPrefix(tok, "odenr_") || len(tok) != len("odenr_")+32 {
			t.Fatalf("token %q %v", tok, err)
		}
		if e.count(t, `SELECT COUNT(*) FROM agent_enroll_tokens WHERE token_hash = $1`, tok) != 0 {
			t.Fatal("the raw token is stored")
		}
		req := wire.EnrollRequest{Token: tok, Hostname: "web1", MachineID: "m1", AgentVersion: "1.0"}
		r1, err := e.f.Enroll(e.ctx, req)
		if err != nil || r1.AgentID == 0 || !strings.HasPrefix(r1.Credential, "odagt_") {
			t.Fatalf("enroll: %+v %v", r1, err)
		}
		if _, err := e.f.Enroll(e.ctx, req); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("second use of a one-time token: %v", err)
		}
		// Expired.
		tok2, _, _ := e.f.CreateToken(e.ctx, time.Minute, "")
		e.clock.Add(2 * time.Minute)
		if _, err := e.f.Enroll(e.ctx, wire.EnrollRequest{Token: tok2, Hostname: "web2"}); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("expired token: %v", err)
		}
		// Revoked.
		tok3, rec3, _ := e.f.CreateToken(e.ctx, time.Hour, "")
		if err := e.f.RevokeToken(e.ctx, rec3.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.f.Enroll(e.ctx, wire.EnrollRequest{Token: tok3, Hostname: "web3"}); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("revoked token: %v", err)
		}
		if err := e.f.RevokeToken(e.ctx, rec.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking a used token: %v", err)
		}
		ts, _ := e.f.Tokens(e.ctx)
		got := map[string]int{}
		for _, x := range ts {
			got[x.Status]++
		}
		if got["used"] != 1 || got["expired"] != 1 || got["revoked"] != 1 {
			t.Fatalf("token states %v", got)
		}
		// Wrong token.
		if _, err := e.f.Enroll(e.ctx, wire.EnrollRequest{Token: "odenr_nope", Hostname: "x"}); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown token: %v", err)
		}
		if e.f.Stats().EnrollFailures.Load() != 4 {
			t.Fatalf("enroll failures %d", e.f.Stats().EnrollFailures.Load())
		}

		// Re-enrolling the same machine keeps the row; the old credential dies.
		id, err := e.f.Authenticate(e.ctx, r1.Credential)
		if err != nil || id != r1.AgentID {
			t.Fatalf("authenticate: %d %v", id, err)
		}
		if _, err := e.f.Ingest(e.ctx, id, &wire.Report{Seq: 5, SentAt: time.Now()}, ""); err != nil {
			t.Fatal(err)
		}
		r2 := e.enroll(t, "web1-new", "m1")
		if r2.AgentID != r1.AgentID || r2.Credential == r1.Credential {
			t.Fatalf("re-enroll: %+v vs %+v", r2, r1)
		}
		if _, err := e.f.Authenticate(e.ctx, r1.Credential); !errors.Is(err, ErrBadCredential) {
			t.Fatalf("old credential after re-enroll: %v", err)
		}
		if _, err := e.f.Ingest(e.ctx, r2.AgentID, &wire.Report{Seq: 1, SentAt: time.Now()}, ""); err != nil {
			t.Fatalf("a re-enrolled agent starts its seq again: %v", err)
		}
		if e.count(t, `SELECT COUNT(*) FROM agents`) != 1 {
			t.Fatal("re-enroll made a second row")
		}
		// Revoke the agent: its credential is refused at once.
		if err := e.f.Revoke(e.ctx, r2.AgentID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.f.Authenticate(e.ctx, r2.Credential); !errors.Is(err, ErrBadCredential) {
			t.Fatalf("revoked agent: %v", err)
		}
		if _, err := e.f.Ingest(e.ctx, r2.AgentID, &wire.Report{Seq: 2, SentAt: time.Now()}, ""); !errors.Is(err, ErrBadCredential) {
			t.Fatalf("ingest after revoke: %v", err)
		}
	})
}

func TestReplayRefusedWithoutWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		a := e.enroll(t, "web1", "m1")
		r := report(1)
		r.Metrics = []wire.Sample{{T: time.Now().Unix(), Name: "load.1", Value: 0.5}}
		res, err := e.f.Ingest(e.ctx, a.AgentID, r, "")
		if err != nil || res.AcceptedSeq != 1 || res.IntervalSeconds != 30 {
			t.Fatalf("%+v %v", res, err)
		}
		r.Metrics = []wire.Sample{{T: time.Now().Unix() + 30, Name: "load.1", Value: 0.7}}
		var re *ReplayError
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); !errors.As(err, &re) || re.Accepted != 1 {
			t.Fatalf("replay: %v", err)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM agent_samples`); n != 1 {
			t.Fatalf("a replayed report wrote samples: %d", n)
		}
		// The seq survives a restart of the service.
		f2 := NewService(db, Options{})
		go f2.batch.Run(context.Background())
		if _, err := f2.Ingest(e.ctx, a.AgentID, report(1), ""); !errors.As(err, &re) {
			t.Fatalf("replay after restart: %v", err)
		}
	})
}

func TestFactsMakeHostCIAndAsset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		a := e.enroll(t, "web1", "0123abcd")
		r := report(1)
		r.Facts = facts("web1", "0123abcd", "SRV-77")
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, "192.0.2.10"); err != nil {
			t.Fatal(err)
		}
		ag, err := e.f.Get(e.ctx, a.AgentID)
		if err != nil || ag.CIID == 0 || ag.AssetID == 0 || ag.Facts == nil || ag.OS != "Debian GNU/Linux 12 (bookworm)" {
			t.Fatalf("agent %+v %v", ag, err)
		}
		ci, err := e.ci.Get(e.ctx, ag.CIID)
		if err != nil || ci.Type != "host" || ci.Name != "web1" || ci.Attributes["ip"] != "192.0.2.10" || ci.Attributes["os"] != "Debian GNU/Linux 12 (bookworm)" {
			t.Fatalf("CI %+v %v", ci, err)
		}
		asset, err := e.as.Get(e.ctx, ag.AssetID)
		if err != nil || asset.Serial != "SRV-77" || asset.Status != "deployed" || asset.Manufacturer != "Dell Inc." || asset.CI == nil || asset.CI.ID != ci.ID {
			t.Fatalf("asset %+v %v", asset, err)
		}
		// Same facts (uptime aside): no new writes to the CI.
		r = report(2)
		r.Facts = facts("web1", "0123abcd", "SRV-77")
		r.Facts.UptimeSeconds = 999
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		h0, _, _ := e.ci.History(e.ctx, ci.ID, 0, 100)
		// Changed facts update the CI, recorded with source agent.
		r = report(3)
		r.Facts = facts("web1", "0123abcd", "SRV-77")
		r.Facts.MemoryBytes = 16 << 30
		r.Facts.Model = "PowerEdge R650"
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		h1, _, _ := e.ci.History(e.ctx, ci.ID, 0, 100)
		if len(h1) != len(h0)+1 || h1[0].Field != "attributes.memory_gb" || h1[0].Source != "agent" || h1[0].New != "16" {
			t.Fatalf("history %+v", h1)
		}
		asset, _ = e.as.Get(e.ctx, ag.AssetID)
		if asset.Model != "PowerEdge R650" {
			t.Fatalf("asset model %q", asset.Model)
		}
		// A reinstalled host with the same serial finds the same asset.
		b := e.enroll(t, "web1", "0123abcd")
		r = report(1)
		r.Facts = facts("web1", "0123abcd", "SRV-77")
		if _, err := e.f.Ingest(e.ctx, b.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		if e.count(t, `SELECT COUNT(*) FROM assets`) != 1 || e.count(t, `SELECT COUNT(*) FROM cis`) != 1 {
			t.Fatal("re-enrolled host made a second CI or asset")
		}
		// A host without a usable serial matches its asset by machine id.
		c := e.enroll(t, "db1", "feedbeef")
		for seq := uint64(1); seq <= 2; seq++ {
			r = report(seq)
			r.Facts = facts("db1", "feedbeef", "To Be Filled By O.E.M.")
			r.Facts.Kernel = "6.1." + string(rune('0'+seq))
			if _, err := e.f.Ingest(e.ctx, c.AgentID, r, ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.as.GetByTag(e.ctx, "agent-feedbeef"); err != nil {
			t.Fatalf("asset by machine id: %v", err)
		}
		if e.count(t, `SELECT COUNT(*) FROM assets`) != 2 {
			t.Fatal("second report of db1 made another asset")
		}
	})
}

func TestUnchangedInventoryDoesNoWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		a := e.enroll(t, "web1", "m1")
		ps := pkgs(1500)
		r := report(1)
		r.Software = &wire.Software{Hash: wire.Hash(ps), Packages: ps}
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM agent_packages p JOIN agents a ON a.software_hash = p.set_hash WHERE a.id = $1`, a.AgentID); n != 1500 {
			t.Fatalf("packages %d", n)
		}
		// A second host with the same inventory shares the stored list.
		b := e.enroll(t, "web2", "m2")
		r = report(1)
		r.Software = &wire.Software{Hash: wire.Hash(ps), Packages: ps}
		if _, err := e.f.Ingest(e.ctx, b.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM agent_packages`); n != 1500 || e.f.Stats().SoftwareSetsWritten.Load() != 1 {
			t.Fatalf("identical inventories stored twice: %d rows", n)
		}
		if got, _ := e.f.Packages(e.ctx, b.AgentID, "", 0); len(got) != 1500 {
			t.Fatalf("web2 lists %d packages", len(got))
		}
		var at1 time.Time
		_ = db.R.QueryRow(`SELECT software_at FROM agents WHERE id = $1`, a.AgentID).Scan(&at1)
		e.clock.Add(time.Minute)
		for seq := uint64(2); seq <= 5; seq++ {
			r := report(seq)
			r.Software = &wire.Software{Hash: wire.Hash(ps)}
			res, err := e.f.Ingest(e.ctx, a.AgentID, r, "")
			if err != nil || res.NeedSoftware {
				t.Fatalf("%+v %v", res, err)
			}
		}
		var at2 time.Time
		_ = db.R.QueryRow(`SELECT software_at FROM agents WHERE id = $1`, a.AgentID).Scan(&at2)
		if !at1.Equal(at2) || e.f.Stats().SoftwareWrites.Load() != 2 {
			t.Fatalf("an unchanged inventory was written: %v %v writes %d", at1, at2, e.f.Stats().SoftwareWrites.Load())
		}
		// A changed hash without the list asks for it; nothing is written.
		ps2 := append(ps[:1499:1499], wire.Package{Name: "nginx", Version: "1.22", Arch: "amd64", Source: "dpkg"})
		r = report(6)
		r.Software = &wire.Software{Hash: wire.Hash(ps2)}
		res, err := e.f.Ingest(e.ctx, a.AgentID, r, "")
		if err != nil || !res.NeedSoftware {
			t.Fatalf("changed hash without packages: %+v %v", res, err)
		}
		r = report(7)
		r.Software = &wire.Software{Hash: wire.Hash(ps2), Packages: ps2}
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		ins, err := e.f.Installations(e.ctx, "NGI*")
		if err != nil || len(ins) != 1 || ins[0].Hostname != "web1" || ins[0].Version != "1.22" {
			t.Fatalf("installations %+v %v", ins, err)
		}
		if ins, _ := e.f.Installations(e.ctx, "ngin_"); len(ins) != 0 {
			t.Fatalf("_ is not a wildcard: %+v", ins)
		}
		if e.count(t, `SELECT COUNT(*) FROM agent_packages`) != 3000 {
			t.Fatal("web1's new inventory not stored beside web2's")
		}
		if ins, _ := e.f.Installations(e.ctx, "pkga0s"); len(ins) != 2 {
			t.Fatalf("a package on both hosts: %+v", ins)
		}
		// The retention job drops inventories no host has.
		e.clock.Add(2 * time.Hour)
		r = report(8)
		r.Software = &wire.Software{Hash: wire.Hash(ps2)}
		if _, err := e.f.Ingest(e.ctx, b.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		r = report(9)
		r.Software = &wire.Software{Hash: wire.Hash(ps2), Packages: ps2}
		if _, err := e.f.Ingest(e.ctx, b.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.f.applyRetention(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM agent_packages`); n != 1500 {
			t.Fatalf("unused inventory kept: %d rows", n)
		}
	})
}

func TestDriftAndUpdates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var hooked []wire.Update
		var hookedCI int64
		e.f.opts.OnUpdates = func(_ context.Context, _ int64, ci int64, p []wire.Update) { hooked, hookedCI = p, ci }
		a := e.enroll(t, "web1", "m1")
		r := report(1)
		r.Facts = facts("web1", "m1", "")
		r.Files = []wire.FileChange{{Path: "/etc/ssh/sshd_config", SHA256: strings.Repeat("a", 64), Size: 10, Mode: "-rw-r--r--", T: time.Now()}}
		r.Updates = &wire.Updates{CheckedAt: time.Now(), Pending: []wire.Update{{Name: "openssl", Current: "3.0.1", Candidate: "3.0.2", Security: true}, {Name: "vim", Current: "9", Candidate: "9.1"}}}
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		r = report(2)
		r.Files = []wire.FileChange{{Path: "/etc/ssh/sshd_config", SHA256: strings.Repeat("b", 64), Size: 12, Mode: "-rw-r--r--",
			Diff: "--- a\n+++ b\n-PermitRootLogin no\n+PermitRootLogin yes\n", T: time.Now()}}
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		ag, _ := e.f.Get(e.ctx, a.AgentID)
		h, _, _ := e.ci.History(e.ctx, ag.CIID, 0, 10)
		if h[0].Action != "file_changed" || h[0].Field != "/etc/ssh/sshd_config" || h[0].Source != "agent" || h[0].Old != "aaaaaaaaaaaa" || !strings.HasPrefix(h[0].New, "bbbbbbbbbbbb") {
			t.Fatalf("drift history %+v", h[0])
		}
		fc, _ := e.f.FileChanges(e.ctx, a.AgentID, 0, true)
		if len(fc) != 2 || !strings.Contains(fc[0].Diff, "PermitRootLogin yes") {
			t.Fatalf("file changes %+v", fc)
		}
		up, _ := e.f.Updates(e.ctx, a.AgentID)
		if len(up) != 2 || up[0].Name != "openssl" || ag.SecurityCount != 1 || ag.UpdatesCount != 2 {
			t.Fatalf("updates %+v %+v", up, ag)
		}
		if len(hooked) != 2 || hookedCI != ag.CIID {
			t.Fatalf("OnUpdates got %+v ci %d", hooked, hookedCI)
		}
	})
}

func TestMetricsRollUpIncludingLateSamples(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		a := e.enroll(t, "web1", "m1")
		base := e.clock.Now().Add(-3 * time.Hour).Truncate(time.Hour).Unix()
		r := report(1)
		for i := int64(0); i < 4; i++ { // two samples in each of two minutes
			r.Metrics = append(r.Metrics, wire.Sample{T: base + i*30, Name: "disk.used_pct", Key: "/", Value: float64(10 * (i + 1))})
		}
		r.Metrics = append(r.Metrics, r.Metrics[0]) // a duplicate is dropped
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.f.RollUp(e.ctx); err != nil {
			t.Fatal(err)
		}
		ms, err := e.f.Metrics(e.ctx, a.AgentID, "", time.Unix(base, 0), time.Unix(base, 0).Add(24*time.Hour))
		if err != nil || len(ms) != 1 || ms[0].Label() != "disk.used_pct{/}" || len(ms[0].Points) != 2 || ms[0].Points[0].Value != 15 || ms[0].Points[1].Max != 40 {
			t.Fatalf("minute rollups %+v %v", ms, err)
		}
		// A late sample (an agent's spool after an outage) redoes its minute.
		r = report(2)
		r.Metrics = []wire.Sample{{T: base + 10, Name: "disk.used_pct", Key: "/", Value: 100}}
		if _, err := e.f.Ingest(e.ctx, a.AgentID, r, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.f.RollUp(e.ctx); err != nil {
			t.Fatal(err)
		}
		ms, _ = e.f.Metrics(e.ctx, a.AgentID, "disk.used_pct", time.Unix(base, 0), time.Unix(base, 0).Add(24*time.Hour))
		if ms[0].Points[0].Max != 100 || ms[0].Points[0].Value != (10+20+100)/3.0 {
			t.Fatalf("late sample not rolled up: %+v", ms[0].Points[0])
		}
		// The hour rollup exists and weighs minutes by their counts.
		ms, _ = e.f.Metrics(e.ctx, a.AgentID, "", time.Unix(base, 0), time.Unix(base, 0).Add(30*24*time.Hour))
		if len(ms) != 1 || len(ms[0].Points) != 1 || ms[0].Points[0].Value != (10+20+100+30+40)/5.0 {
			t.Fatalf("hour rollup %+v", ms)
		}
		// Raw retention.
		e.clock.Add(72 * time.Hour)
		if err := e.f.applyRetention(e.ctx); err != nil {
			t.Fatal(err)
		}
		if e.count(t, `SELECT COUNT(*) FROM agent_samples`) != 0 || e.count(t, `SELECT COUNT(*) FROM agent_rollups`) == 0 {
			t.Fatal("retention")
		}
	})
}

func TestOnSoftwareFiresOnlyWhenTheInventoryChanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var calls int
		var got []wire.Package
		var gotAgent, gotCI int64
		e.f.opts.OnSoftware = func(_ context.Context, agent, ci int64, p []wire.Package) {
			calls++
			got, gotAgent, gotCI = p, agent, ci
		}
		a := e.enroll(t, "web1", "m1")
		ingest := func(seq uint64, sw *wire.Software) wire.ReportResponse {
			t.Helper()
			r := report(seq)
			if seq == 1 {
				r.Facts = facts("web1", "m1", "")
			}
			r.Software = sw
			res, err := e.f.Ingest(e.ctx, a.AgentID, r, "")
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		ps := pkgs(3)
		ingest(1, &wire.Software{Hash: wire.Hash(ps), Packages: ps})
		ag, _ := e.f.Get(e.ctx, a.AgentID)
		if calls != 1 || gotAgent != a.AgentID || gotCI == 0 || gotCI != ag.CIID || len(got) != 3 || got[0].Name != ps[0].Name {
			t.Fatalf("first inventory: %d calls, agent %d ci %d (want %d) %+v", calls, gotAgent, gotCI, ag.CIID, got)
		}
		// Unchanged: by hash alone, or the whole list sent again.
		ingest(2, &wire.Software{Hash: wire.Hash(ps)})
		ingest(3, &wire.Software{Hash: wire.Hash(ps), Packages: ps})
		ingest(4, nil)
		if calls != 1 {
			t.Fatalf("unchanged inventory called OnSoftware: %d calls", calls)
		}
		// Changed, but the list did not come: nothing to tell yet.
		ps2 := pkgs(2)
		if res := ingest(5, &wire.Software{Hash: wire.Hash(ps2)}); !res.NeedSoftware || calls != 1 {
			t.Fatalf("changed hash without the list: %+v, %d calls", res, calls)
		}
		ingest(6, &wire.Software{Hash: wire.Hash(ps2), Packages: ps2})
		if calls != 2 || len(got) != 2 || gotCI != ag.CIID {
			t.Fatalf("changed inventory: %d calls, %+v ci %d", calls, got, gotCI)
		}
	})
}
