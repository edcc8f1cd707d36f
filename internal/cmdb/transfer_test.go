package cmdb

import (
	"testing"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func TestExportImportRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		src := newTestService(t, db)
		ctx := userCtx()
		shop := mustCI(t, src, "business_service", "Shop")
		dbc, err := src.Create(ctx, CIInput{Type: "database", Name: "orders", Attributes: map[string]any{"engine": "postgresql", "port": 5432.0}, Tags: []string{"pci"}})
		if err != nil {
			t.Fatal(err)
		}
		mustRelate(t, src, "depends_on", shop.ID, dbc.ID)
		d, err := src.Export(ctx)
		if err != nil || len(d.CIs) != 2 || len(d.Relationships) != 1 {
			t.Fatalf("export: %+v %v", d, err)
		}
		dst := newTestService(t, storetest.SQLite(t))
		res, err := dst.Import(ctx, d)
		if err != nil || res.Created != 2 || res.Related != 1 {
			t.Fatalf("import: %+v %v", res, err)
		}
		// Importing again changes nothing.
		if res, err = dst.Import(ctx, d); err != nil || res.Unchanged != 2 || res.AlreadyRelated != 1 {
			t.Fatalf("second import: %+v %v", res, err)
		}
		svcs, _ := dst.ImpactedServices(ctx, mustFind(t, dst, "database", "orders"))
		if ciNames(svcs) != "Shop" {
			t.Fatalf("impact after import: %s", ciNames(svcs))
		}
		hs, _, _ := dst.History(ctx, mustFind(t, dst, "database", "orders"), 0, 0)
		if hs[len(hs)-1].Source != SourceImport {
			t.Fatalf("history source: %+v", hs[len(hs)-1])
		}
		// A bad item anywhere stops the import before any write.
		bad := Dump{CIs: []CIInput{{Type: "host", Name: "new-host"}, {Type: "database", Name: "x", Attributes: map[string]any{"port": "high"}}}}
		_, err = dst.Import(ctx, bad)
		if ve, ok := valid.As(err); !ok || ve.Field != "cis[1].attributes.port" {
			t.Fatalf("bad file: %v", err)
		}
		if _, err := dst.findByKey(ctx, CIKey{"host", "new-host"}); err == nil {
			t.Fatal("a refused file wrote its first CI")
		}
		_, err = dst.Import(ctx, Dump{Relationships: []DumpRelation{{Type: "depends_on", Source: CIKey{"host", "ghost"}, Target: CIKey{"database", "orders"}}}})
		if ve, ok := valid.As(err); !ok || ve.Field != "relationships[0].source" {
			t.Fatalf("unknown end: %v", err)
		}
	})
}

func mustFind(t *testing.T, s *Service, typ, name string) int64 {
	t.Helper()
	c, err := s.findByKey(userCtx(), CIKey{typ, name})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}
