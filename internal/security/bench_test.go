package security

import (
	"context"
	"fmt"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// BenchmarkSyncHost measures one host agent report of 50 pending updates
// when all are already known (the steady state: refresh only).
func BenchmarkSyncHost(b *testing.B) {
	s := New(storetest.SQLite(b), Options{})
	ctx := context.Background()
	sigs := make([]Signal, 50)
	for i := range sigs {
		sigs[i] = Signal{Key: fmt.Sprintf("pkg-%d", i), Title: fmt.Sprintf("update for pkg-%d", i), Severity: SeverityMedium, CIID: 1}
	}
	if err := s.Sync(ctx, SourceAgentUpdates, "ci:1", sigs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := s.Sync(ctx, SourceAgentUpdates, "ci:1", sigs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPosture measures the posture page's query over 10,000 findings.
func BenchmarkPosture(b *testing.B) {
	s := New(storetest.SQLite(b), Options{})
	ctx := context.Background()
	for h := range 200 {
		sigs := make([]Signal, 50)
		for i := range sigs {
			sigs[i] = Signal{Key: fmt.Sprintf("h%d-pkg-%d", h, i), Title: "update", Severity: AllSeverities()[i%5], CIID: int64(h + 1)}
		}
		if err := s.Sync(ctx, SourceAgentUpdates, fmt.Sprintf("ci:%d", h+1), sigs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Posture(ctx, 0, 30); err != nil {
			b.Fatal(err)
		}
	}
}
