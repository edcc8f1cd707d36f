package asset

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// BenchmarkListLicenses measures the license list and compliance page at
// a large site: 200 licenses, 2,000 hosts (each a hardware asset) with 10
// licensed packages each (20,000 installations from the agent seam), and
// 1,000 seats assigned.
func BenchmarkListLicenses(b *testing.B) {
	const licenses, hosts, perHost = 200, 2000, 10
	db := storetest.SQLite(b)
	ctx := opCtx()
	var inst []Installation
	for h := range hosts {
		for p := range perHost {
			inst = append(inst, Installation{Host: fmt.Sprintf("host-%04d", h), AssetID: int64(h + 1),
				Package: fmt.Sprintf("product%03d-part%d", (h*perHost+p)%licenses, p%3), Version: "1.0"})
		}
	}
	seam := func(context.Context, []string) ([]Installation, error) { return inst, nil }
	s := NewService(db, Options{Now: func() time.Time { return testNow }, Installations: seam})
	rows := make([][]any, 0, hosts)
	for h := range hosts {
		rows = append(rows, []any{int64(h + 1), fmt.Sprintf("H-%04d", h), "hardware", "deployed", testNow, testNow})
	}
	if err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		return db.InsertMany(context.Background(), tx, "assets", []string{"id", "tag", "kind", "status", "created_at", "updated_at"}, rows)
	}); err != nil {
		b.Fatal(err)
	}
	for i := range licenses {
		l, err := s.CreateLicense(ctx, LicenseInput{Product: fmt.Sprintf("Product %03d", i), Seats: 8, Patterns: []string{fmt.Sprintf("product%03d-*", i)}})
		if err != nil {
			b.Fatal(err)
		}
		for j := range 5 {
			if _, err := s.AssignSeat(ctx, l.ID, 0, int64((i*5+j)%hosts+1), ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		ls, err := s.ListLicenses(context.Background(), LicenseFilter{Sort: "excess"})
		if err != nil || len(ls) != licenses || !ls[0].Compliance.OverUsed {
			b.Fatalf("%d licenses, %v", len(ls), err)
		}
	}
}
