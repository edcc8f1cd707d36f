package cmdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func TestBuiltinsSeededOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db)
		ctx := userCtx()
		ts, err := s.Types(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, ty := range ts {
			keys = append(keys, ty.Key)
		}
		for _, want := range []string{"business_service", "application", "host", "virtual_machine", "container", "database", "network_device", "storage", "cloud_resource"} {
			if !strings.Contains(strings.Join(keys, ","), want) {
				t.Errorf("built-in type %s missing: %v", want, keys)
			}
		}
		// An admin's change to a built-in survives the next start.
		host, _ := s.TypeByKey(ctx, "host")
		host.Attributes = append(host.Attributes, Attribute{Key: "rack", Label: "Rack", Type: AttrString})
		if _, err := s.UpdateType(ctx, host.ID, CITypeInput{Name: "Server", Attributes: host.Attributes}); err != nil {
			t.Fatal(err)
		}
		s2 := newTestService(t, db)
		again, _ := s2.TypeByKey(ctx, "host")
		if again.Name != "Server" || len(again.Attributes) != len(host.Attributes) {
			t.Fatalf("restart reset the built-in: %+v", again)
		}
		rts, _ := s2.RelationshipTypes(ctx)
		if len(rts) != 5 {
			t.Fatalf("%d relationship types, want 5", len(rts))
		}
		var r *Refusal
		if err := s2.DeleteType(ctx, host.ID); !errors.As(err, &r) {
			t.Fatalf("delete built-in: %v", err)
		}
		if _, err := s2.UpdateType(ctx, host.ID, CITypeInput{Key: "server", Name: "Server"}); !errors.As(err, &r) {
			t.Fatalf("rename built-in key: %v", err)
		}
	})
}

func TestCICreateValidatesAgainstType(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db)
		ctx := userCtx()
		if _, err := s.CreateType(ctx, CITypeInput{Key: "printer", Name: "Printer", Attributes: Schema{
			{Key: "ip", Type: AttrIP, Required: true}, {Key: "colour", Type: AttrBool}, {Key: "pages", Type: AttrInt}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateType(ctx, CITypeInput{Key: "printer", Name: "Again"}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate type key: %v", err)
		}
		for _, tc := range []struct {
			in    CIInput
			field string
		}{
			{CIInput{Type: "printer", Name: "p1"}, "attributes.ip"},
			{CIInput{Type: "printer", Name: "p1", Attributes: map[string]any{"ip": "1.2.3.4", "pages": "many"}}, "attributes.pages"},
			{CIInput{Type: "printer", Name: "p1", Attributes: map[string]any{"ip": "1.2.3.4", "toner": 1.0}}, "attributes.toner"},
			{CIInput{Type: "nosuch", Name: "p1"}, "type"},
			{CIInput{Type: "printer", Name: ""}, "name"},
			{CIInput{Type: "printer", Name: strings.Repeat("n", MaxName+1)}, "name"},
			{CIInput{Type: "printer", Name: "p\x1b[31m"}, "name"},
			{CIInput{Type: "printer", Name: "p1", Environment: "moon"}, "environment"},
			{CIInput{Type: "printer", Name: "p1", Status: "gone"}, "status"},
			{CIInput{Type: "printer", Name: "p1", Criticality: "meh"}, "criticality"},
			{CIInput{Type: "printer", Name: "p1", Tags: []string{"ok", "not ok"}}, "tags"},
		} {
			_, err := s.Create(ctx, tc.in)
			if ve, ok := valid.As(err); !ok || ve.Field != tc.field {
				t.Errorf("%+v: err %v, want field %s", tc.in, err, tc.field)
			}
		}
		c, err := s.Create(ctx, CIInput{Type: "printer", Name: "<script>alert(1)</script>", Attributes: map[string]any{"ip": "10.0.0.9", "pages": 12.0}, Tags: []string{"Floor-2", "floor-2", "hq"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Criticality != CriticalityMedium || c.Environment != EnvProd || c.Status != StatusActive || fmt.Sprint(c.Tags) != "[floor-2 hq]" || c.Attributes["pages"] != 12.0 {
			t.Fatalf("defaults/normalization: %+v", c)
		}
		if _, err := s.Create(ctx, CIInput{Type: "printer", Name: c.Name, Attributes: map[string]any{"ip": "10.0.0.9"}}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same name and type: %v", err)
		}
		pt, _ := s.TypeByKey(ctx, "printer")
		var r *Refusal
		if err := s.DeleteType(ctx, pt.ID); !errors.As(err, &r) {
			t.Fatalf("delete used type: %v", err)
		}
	})
}

func TestHistoryRecordsEveryChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db)
		ctx := userCtx()
		web := mustCI(t, s, "host", "web1")
		db1 := mustCI(t, s, "database", "db1")
		uiCtx := auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, Name: "bob", Role: auth.RoleOperator}, Via: auth.ViaUI})
		if _, err := s.Update(uiCtx, web.ID, CIInput{Type: "host", Name: "web1", Status: StatusMaintenance, Attributes: map[string]any{"cpu_cores": 4.0}}); err != nil {
			t.Fatal(err)
		}
		// An update that changes nothing records nothing.
		if _, err := s.Update(uiCtx, web.ID, CIInput{Type: "host", Name: "web1", Status: StatusMaintenance, Attributes: map[string]any{"cpu_cores": 4.0}}); err != nil {
			t.Fatal(err)
		}
		rel := mustRelate(t, s, "depends_on", web.ID, db1.ID)
		if err := s.Unrelate(WithSource(ctx, SourceImport), rel.ID); err != nil {
			t.Fatal(err)
		}
		hs, next, err := s.History(ctx, web.ID, 0, 0)
		if err != nil || next != 0 {
			t.Fatal(err, next)
		}
		var got []string
		for _, h := range hs {
			got = append(got, fmt.Sprintf("%s/%s/%s/%s:%s→%s", h.Actor, h.Source, h.Action, h.Field, h.Old, h.New))
		}
		want := []string{
			"alice/import/relationship_removed/relationship:web1 depends on db1→",
			"alice/api/relationship_added/relationship:→web1 depends on db1",
			"bob/ui/updated/attributes.cpu_cores:→4",
			"bob/ui/updated/status:active→maintenance",
			"alice/api/created/:→web1",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("history:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// Paging.
		page, next, _ := s.History(ctx, web.ID, 0, 2)
		rest, _, _ := s.History(ctx, web.ID, next, 10)
		if len(page) != 2 || len(rest) != 3 {
			t.Fatalf("pages of %d and %d", len(page), len(rest))
		}
		// Deleting a CI leaves a note on the other end.
		mustRelate(t, s, "depends_on", web.ID, db1.ID)
		if err := s.Delete(ctx, web.ID); err != nil {
			t.Fatal(err)
		}
		hs, _, _ = s.History(ctx, db1.ID, 0, 1)
		if hs[0].Action != "relationship_removed" || hs[0].Old != "web1 depends on db1" {
			t.Fatalf("peer history after delete: %+v", hs[0])
		}
		if _, _, err := s.History(ctx, web.ID, 0, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("history of a deleted CI: %v", err)
		}
		all, _, err := auth.ListAudit(ctx, db, auth.AuditFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range all {
			actions = append(actions, e.Action)
		}
		for _, a := range []string{"ci.create", "ci.update", "ci.delete", "ci_relationship.create", "ci_relationship.delete"} {
			if !strings.Contains(strings.Join(actions, ","), a) {
				t.Errorf("audit has no %s: %v", a, actions)
			}
		}
	})
}

func TestRelateRefusesSelfLinksAndDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db)
		ctx := userCtx()
		a, b := mustCI(t, s, "application", "a"), mustCI(t, s, "host", "b")
		_, err := s.Relate(ctx, RelationshipInput{Type: "runs_on", SourceID: a.ID, TargetID: a.ID})
		if ve, ok := valid.As(err); !ok || ve.Field != "target_id" {
			t.Fatalf("self-link: %v", err)
		}
		mustRelate(t, s, "runs_on", a.ID, b.ID)
		if _, err := s.Relate(ctx, RelationshipInput{Type: "runs_on", SourceID: a.ID, TargetID: b.ID}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
		// Another type between the same two, and the reverse (a cycle), are fine.
		mustRelate(t, s, "depends_on", a.ID, b.ID)
		mustRelate(t, s, "depends_on", b.ID, a.ID)
		for _, tc := range []struct {
			in    RelationshipInput
			field string
		}{
			{RelationshipInput{Type: "likes", SourceID: a.ID, TargetID: b.ID}, "type"},
			{RelationshipInput{Type: "runs_on", SourceID: a.ID, TargetID: 999999}, "target_id"},
			{RelationshipInput{Type: "runs_on", TargetID: b.ID}, "source_id"},
		} {
			_, err := s.Relate(ctx, tc.in)
			if ve, ok := valid.As(err); !ok || ve.Field != tc.field {
				t.Errorf("%+v: %v, want field %s", tc.in, err, tc.field)
			}
		}
		rels, err := s.Relationships(ctx, a.ID)
		if err != nil || len(rels) != 3 {
			t.Fatalf("%d relationships, %v", len(rels), err)
		}
	})
}

func TestImpactFindsServicesWithPaths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db)
		ctx := userCtx()
		shop := mustCI(t, s, "business_service", "Shop")
		mail := mustCI(t, s, "business_service", "Mail")
		app := mustCI(t, s, "application", "shop-app")
		mta := mustCI(t, s, "application", "mta")
		dbase := mustCI(t, s, "database", "orders-db")
		host := mustCI(t, s, "host", "h1")
		backup := mustCI(t, s, "storage", "nas")
		mustRelate(t, s, "depends_on", shop.ID, app.ID)
		mustRelate(t, s, "depends_on", mail.ID, mta.ID)
		mustRelate(t, s, "depends_on", app.ID, dbase.ID)
		mustRelate(t, s, "runs_on", dbase.ID, host.ID)
		mustRelate(t, s, "runs_on", mta.ID, host.ID)
		mustRelate(t, s, "backed_up_by", dbase.ID, backup.ID)
		mustRelate(t, s, "depends_on", host.ID, app.ID) // a cycle: h1 → shop-app → orders-db → h1

		res, err := s.Impact(ctx, host.ID, Upstream, 0)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, sp := range res.Services {
			paths = append(paths, names(sp.Path))
		}
		if got := strings.Join(paths, " | "); got != "h1>mta>Mail | h1>orders-db>shop-app>Shop" {
			t.Fatalf("paths: %s", got)
		}
		svcs, err := s.ImpactedServices(ctx, host.ID)
		if err != nil || ciNames(svcs) != "Mail,Shop" {
			t.Fatalf("impacted services: %s %v", ciNames(svcs), err)
		}
		// The backup store failing hurts nothing: backed_up_by carries no impact.
		if svcs, _ := s.ImpactedServices(ctx, backup.ID); len(svcs) != 0 {
			t.Fatalf("backup impact: %s", ciNames(svcs))
		}
		// Downstream of the shop: everything it needs, the backup not included.
		res, _ = s.Impact(ctx, shop.ID, Downstream, 0)
		var got []string
		for _, n := range res.Nodes {
			got = append(got, fmt.Sprintf("%s@%d", n.CI.Name, n.Depth))
		}
		if strings.Join(got, ",") != "shop-app@1,orders-db@2,h1@3" {
			t.Fatalf("downstream: %v", got)
		}
		res, _ = s.Impact(ctx, shop.ID, Downstream, 1)
		if len(res.Nodes) != 1 || !res.Truncated {
			t.Fatalf("depth 1: %+v", res)
		}
		// Turning backed_up_by into a real dependency changes impact at once.
		rts, _ := s.RelationshipTypes(ctx)
		for _, rt := range rts {
			if rt.Key == "backed_up_by" {
				if _, err := s.UpdateRelationshipType(ctx, rt.ID, RelationshipTypeInput{Name: rt.Name, ReverseName: rt.ReverseName, Impact: ImpactTargetToSource}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// (through the cycle: orders-db hurts shop-app, which h1 needs, which mta runs on)
		if svcs, _ := s.ImpactedServices(ctx, backup.ID); ciNames(svcs) != "Mail,Shop" {
			t.Fatalf("backup impact after change: %s", ciNames(svcs))
		}
		// A renamed CI shows its new name in impact at once.
		if _, err := s.Update(ctx, app.ID, CIInput{Type: "application", Name: "shop-backend"}); err != nil {
			t.Fatal(err)
		}
		res, _ = s.Impact(ctx, host.ID, Upstream, 0)
		if names(res.Services[1].Path) != "h1>orders-db>shop-backend>Shop" {
			t.Fatalf("after rename: %s", names(res.Services[1].Path))
		}
		if _, err := s.Impact(ctx, 999999, Upstream, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown CI: %v", err)
		}
	})
}

func TestLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db)
		s.opts.CheckObject = func(_ context.Context, kind LinkKind, id int64) error {
			if id == 404 {
				return fmt.Errorf("test: %w", store.ErrNotFound)
			}
			return nil
		}
		ctx := userCtx()
		shop := mustCI(t, s, "business_service", "Shop")
		app := mustCI(t, s, "application", "app")
		mustRelate(t, s, "depends_on", shop.ID, app.ID)
		l, err := s.LinkObject(ctx, app.ID, LinkMonitor, 7)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.LinkObject(ctx, app.ID, LinkMonitor, 7); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("twice: %v", err)
		}
		if _, err := s.LinkObject(ctx, app.ID, LinkMonitor, 404); err == nil {
			t.Fatal("missing object linked")
		} else if ve, ok := valid.As(err); !ok || ve.Field != "object_id" {
			t.Fatalf("missing object: %v", err)
		}
		if _, err := s.LinkObject(ctx, app.ID, "printer", 1); err == nil {
			t.Fatal("unknown kind linked")
		}
		cis, err := s.LinkedCIs(ctx, "monitor", 7)
		if err != nil || ciNames(cis) != "app" {
			t.Fatalf("linked: %s %v", ciNames(cis), err)
		}
		svcs, _ := s.ImpactedServices(ctx, cis[0].ID)
		if ciNames(svcs) != "Shop" {
			t.Fatalf("services hurt by the monitor's CI: %s", ciNames(svcs))
		}
		if err := s.Unlink(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
		if cis, _ := s.LinkedCIs(ctx, "monitor", 7); len(cis) != 0 {
			t.Fatalf("after unlink: %s", ciNames(cis))
		}
	})
}

func TestListFiltersSortsAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db)
		ctx := userCtx()
		for i := range 25 {
			in := CIInput{Type: "host", Name: fmt.Sprintf("host-%02d", i), Environment: EnvProd, Tags: []string{"rack-a"}}
			if i%2 == 1 {
				in.Environment, in.Tags, in.Type = EnvDev, nil, "virtual_machine"
			}
			if i == 3 {
				in.Description = "the 100%_special one"
			}
			if _, err := s.Create(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		var all []string
		var after int64
		for {
			page, next, err := s.List(ctx, ListFilter{Sort: "-name", Limit: 7, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				all = append(all, c.Name)
			}
			if next == 0 {
				break
			}
			after = next
		}
		if len(all) != 25 || all[0] != "host-24" || all[24] != "host-00" {
			t.Fatalf("pages: %v", all)
		}
		for _, tc := range []struct {
			f    ListFilter
			want int
		}{
			{ListFilter{Type: "host"}, 13},
			{ListFilter{Environment: EnvDev}, 12},
			{ListFilter{Tag: "rack-a"}, 13},
			{ListFilter{Query: "HOST-1"}, 10},
			{ListFilter{Query: "100%_"}, 1},
			{ListFilter{Query: "%"}, 1},
			{ListFilter{Status: StatusRetired}, 0},
			{ListFilter{Criticality: CriticalityMedium, Type: "virtual_machine"}, 12},
		} {
			got, _, err := s.List(ctx, tc.f)
			if err != nil || len(got) != tc.want {
				t.Errorf("%+v: %d, %v; want %d", tc.f, len(got), err, tc.want)
			}
		}
		if _, _, err := s.List(ctx, ListFilter{Sort: "colour"}); err == nil {
			t.Fatal("bad sort accepted")
		}
		if _, _, err := s.List(ctx, ListFilter{After: 999999}); err == nil {
			t.Fatal("dangling cursor accepted")
		}
	})
}
