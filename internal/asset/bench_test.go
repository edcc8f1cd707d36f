package asset

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// benchAssets is the issue's size: "filters that stay fast with 100,000
// assets".
const benchAssets = 100_000

// fillAssets writes benchAssets assets with store.InsertMany: 20
// categories, 50 locations, statuses weighted as in a real register (most
// deployed), warranties spread over six years around now, one in ten with
// a lease.
func fillAssets(b *testing.B, db *store.DB) *Service {
	b.Helper()
	ctx := context.Background()
	s := NewService(db, Options{Now: func() time.Time { return testNow }})
	r := rand.New(rand.NewPCG(1, 2))
	statuses := []Status{StatusDeployed, StatusDeployed, StatusDeployed, StatusDeployed, StatusDeployed, StatusInStock, StatusInStock, StatusInRepair, StatusRetired, StatusOrdered}
	rows := make([][]any, 0, benchAssets)
	for i := range benchAssets {
		at := testNow.Add(-time.Duration(r.IntN(3*365*24)) * time.Hour)
		warranty := testNow.AddDate(0, 0, r.IntN(6*365)-3*365).Format(dateLayout)
		lease := ""
		if i%10 == 0 {
			lease = testNow.AddDate(0, 0, r.IntN(3*365)).Format(dateLayout)
		}
		tag, serial, model, maker := fmt.Sprintf("AST-%06d", i), fmt.Sprintf("SN%010d", r.Int64N(1e10)), fmt.Sprintf("Model %d", r.IntN(300)), fmt.Sprintf("Maker %d", r.IntN(30))
		rows = append(rows, []any{int64(i + 1), tag, "hardware", string(statuses[r.IntN(len(statuses))]), serial, model, maker,
			fmt.Sprintf("category-%02d", r.IntN(20)), fmt.Sprintf("site-%02d", r.IntN(50)), warranty, lease, SearchText(tag, serial, model, maker), at, at})
	}
	cols := []string{"id", "tag", "kind", "status", "serial", "model", "manufacturer", "category", "location", "warranty_end", "lease_end", "search", "created_at", "updated_at"}
	if err := db.Tx(ctx, func(tx *sql.Tx) error { return db.InsertMany(ctx, tx, "assets", cols, rows) }); err != nil {
		b.Fatal(err)
	}
	if db.Dialect == store.Postgres {
		if _, err := db.W.ExecContext(ctx, `ANALYZE assets`); err != nil {
			b.Fatal(err)
		}
	} else if _, err := db.W.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAssetList100k lists one page of 50 over 100,000 assets, for the
// filters and sorts the list offers.
func BenchmarkAssetList100k(b *testing.B) {
	cases := []struct {
		name string
		f    ListFilter
	}{
		{"all_by_tag", ListFilter{}},
		{"status_by_tag", ListFilter{Status: StatusInRepair}},
		{"category_by_tag_desc", ListFilter{Category: "category-07", Sort: "-tag"}},
		{"location_recently_changed", ListFilter{Location: "site-13", Sort: "-updated"}},
		{"status_category_by_warranty", ListFilter{Status: StatusDeployed, Category: "category-03", Sort: "warranty"}},
		{"warranty_30d", ListFilter{WarrantyWithin: 30, Sort: "warranty"}},
		{"expiring_30d", ListFilter{ExpiringWithin: 30}},
		{"text_q", ListFilter{Query: "model 17"}},
		{"text_q_status", ListFilter{Query: "sn00", Status: StatusRetired, Sort: "-updated"}},
	}
	for _, eng := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(eng.name, func(b *testing.B) {
			s := fillAssets(b, eng.open(b))
			ctx := context.Background()
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					f := c.f
					f.Limit = 50
					first, next, err := s.List(ctx, f)
					if err != nil || len(first) == 0 {
						b.Fatalf("%d rows, %v", len(first), err)
					}
					b.ResetTimer()
					for i := range b.N {
						// Alternate the first page and the page after it
						// (the cursor path).
						g := f
						if i%2 == 1 {
							g.After = next
						}
						if _, _, err := s.List(ctx, g); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
