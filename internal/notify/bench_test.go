package notify

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// BenchmarkEnqueue measures queuing one notification per transaction (the
// shape of a page: one caller transaction, one row), on SQLite and, with
// OPSDECK_TEST_POSTGRES, PostgreSQL.
func BenchmarkEnqueue(b *testing.B) {
	for _, eng := range engines(b) {
		b.Run(eng.name, func(b *testing.B) {
			db := eng.open(b)
			s := NewService(db, Options{})
			hook := mustChannel(b, s, "Hook", "webhook", map[string]any{"url": "https://hooks.example/x"})
			ctx := context.Background()
			m := Message{Title: "[SEV2] #42 Checkout API down", Text: "down", Severity: "error"}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := db.Tx(ctx, func(tx *sql.Tx) error {
					_, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{Kind: "incident", ID: int64(i)}, "bench/"+strconv.Itoa(i), m)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkDeliver measures the worker end to end: b.N queued rows are
// claimed, posted to a local webhook receiver and marked delivered.
func BenchmarkDeliver(b *testing.B) {
	for _, eng := range engines(b) {
		b.Run(eng.name, func(b *testing.B) {
			db := eng.open(b)
			var got atomic.Int64
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				got.Add(1)
			}))
			defer rcv.Close()
			s := NewService(db, Options{Concurrency: 16})
			hook := mustChannel(b, s, "Hook", "webhook", map[string]any{"url": rcv.URL, "secret": "0123456789abcdef"})
			ctx := context.Background()
			m := Message{Title: "[SEV2] #42 Checkout API down", Text: "down", Severity: "error"}
			if err := db.Tx(ctx, func(tx *sql.Tx) error {
				for i := range b.N {
					if _, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{Kind: "incident", ID: int64(i)}, "bench/"+strconv.Itoa(i), m); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- s.Run(wctx) }()
			for {
				var n int
				if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE status = 'delivered'`).Scan(&n); err != nil {
					b.Fatal(err)
				}
				if n == b.N {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

type engine struct {
	name string
	open func(testing.TB) *store.DB
}

func engines(b *testing.B) []engine {
	es := []engine{{"sqlite", storetest.SQLite}}
	if pgAvailable() {
		es = append(es, engine{"postgres", storetest.Postgres})
	}
	return es
}

// BenchmarkEnqueueToReceiver measures one page's path with an idle, running
// worker: commit of the row → wake-up → claim → POST received by the local
// webhook. ns/op is that latency (the issue asks for well under 1 s).
func BenchmarkEnqueueToReceiver(b *testing.B) {
	for _, eng := range engines(b) {
		b.Run(eng.name, func(b *testing.B) {
			db := eng.open(b)
			got := make(chan struct{}, 1)
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				got <- struct{}{}
			}))
			defer rcv.Close()
			s := NewService(db, Options{})
			hook := mustChannel(b, s, "Hook", "webhook", map[string]any{"url": rcv.URL})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			m := Message{Title: "[SEV2] #42 Checkout API down"}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := db.Tx(ctx, func(tx *sql.Tx) error {
					_, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{Kind: "incident", ID: 1}, "lat/"+strconv.Itoa(i), m)
					return err
				}); err != nil {
					b.Fatal(err)
				}
				<-got
			}
			b.StopTimer()
			cancel()
			<-done
		})
	}
}
