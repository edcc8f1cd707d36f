package statuspage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// benchPage fills a page of n monitors with 90 days of hourly rollups and
// an hour of raw results each, as a long-running install has them.
func benchPage(b *testing.B, db *store.DB, n int) *fixture {
	b.Helper()
	f := newFixture(b, db)
	rolled := f.now.Truncate(time.Hour)
	var es []EntryInput
	for i := range n {
		id := f.monitor(fmt.Sprintf("service %02d", i))
		f.hourlyRollups(id, rolled.Add(-91*24*time.Hour), rolled, 60, func(time.Time) int64 { return int64(i % 3) })
		f.results(id, rolled, f.now, time.Minute, func(j int) string { return "up" })
		es = append(es, EntryInput{MonitorID: id, DisplayName: fmt.Sprintf("Service %d", i)})
	}
	if _, err := f.sp.Create(context.Background(), Input{Slug: "big", Title: "Big", Public: true, Monitors: es}); err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkViewBySlug50 reads the view of a page with 50 monitors: five
// queries over 108,000 hourly rollups and 2,000 raw results.
func BenchmarkViewBySlug50(b *testing.B) {
	for _, eng := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(eng.name, func(b *testing.B) {
			f := benchPage(b, eng.open(b), 50)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.sp.ViewBySlug(ctx, "big"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
