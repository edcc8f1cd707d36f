package auth

import (
	"context"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func benchmarkAuthenticate(b *testing.B, ttl time.Duration) {
	s := NewService(storetest.SQLite(b), Options{TokenCacheTTL: ttl})
	ctx := context.Background()
	raw, _, err := s.CreateToken(ctx, NewToken{Name: "bench", Role: RoleOperator})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Authenticate(ctx, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAuthenticateCached is the API hot path: a token seen within the
// cache TTL costs a SHA-256 and a map read.
func BenchmarkAuthenticateCached(b *testing.B) { benchmarkAuthenticate(b, time.Minute) }

// BenchmarkAuthenticateUncached reads the token and its owner from SQLite on
// every call (TokenCacheTTL 0).
func BenchmarkAuthenticateUncached(b *testing.B) { benchmarkAuthenticate(b, 0) }
