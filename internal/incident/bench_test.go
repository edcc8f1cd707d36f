package incident

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// BenchmarkIngest measures the intake's domain path on SQLite: many
// goroutines each ingest one event and wait for its commit, as HTTP
// handlers do. "new" opens an alert per event (the heavy path: alert,
// grouping, timeline); "dedup" updates one of 1,000 open alerts.
func BenchmarkIngest(b *testing.B) {
	for _, mode := range []string{"new", "dedup"} {
		b.Run(mode, func(b *testing.B) {
			s := newTestService(b, storetest.SQLite(b), Options{})
			_, in := fixture(b, s, "source")
			var n atomic.Int64
			b.SetParallelism(32) // 32 × GOMAXPROCS waiting clients
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					key := "k" + strconv.FormatInt(i, 10)
					if mode == "dedup" {
						key = "k" + strconv.FormatInt(i%1000, 10)
					}
					ev := trigger(key, "load "+key, SeverityError, map[string]string{"source": "src-" + strconv.FormatInt(i%10, 10)})
					if err := s.Ingest(context.Background(), in, "", []Event{ev}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
