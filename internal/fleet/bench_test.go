package fleet

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// BenchmarkIngestSteadyReport measures the hot path of a fleet: decode a
// gzipped report (20 samples, unchanged inventory hash) and commit it, for
// 100 agents in turn, from parallel goroutines as HTTP handlers would.
func BenchmarkIngestSteadyReport(b *testing.B) {
	db := storetest.SQLite(b)
	e := &env{db: db, f: NewService(db, Options{}), ctx: auth.WithActor(b.Context(), auth.SystemActor())}
	go e.f.batch.Run(b.Context())
	const agents = 100
	ids := make([]int64, agents)
	ps := pkgs(1500)
	hash := wire.Hash(ps)
	for i := range ids {
		tok, _, _ := e.f.CreateToken(e.ctx, time.Hour, "")
		r, err := e.f.Enroll(e.ctx, wire.EnrollRequest{Token: tok, Hostname: fmt.Sprintf("h%d", i), MachineID: fmt.Sprint(i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = r.AgentID
		first := report(1)
		first.Software = &wire.Software{Hash: hash, Packages: ps}
		if _, err := e.f.Ingest(e.ctx, ids[i], first, ""); err != nil {
			b.Fatal(err)
		}
	}
	body := func(seq uint64) []byte {
		r := report(seq)
		r.Software = &wire.Software{Hash: hash}
		for j := range 20 {
			r.Metrics = append(r.Metrics, wire.Sample{T: 1780000000 + int64(seq)*30, Name: "disk.used_pct", Key: fmt.Sprint(j), Value: float64(j)})
		}
		raw, _ := json.Marshal(r)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(raw)
		zw.Close()
		return buf.Bytes()
	}
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = body(uint64(i + 2))
	}
	var next [agents]chanLock
	for i := range next {
		next[i] = make(chanLock, 1)
		next[i] <- 2
	}
	var mu chanLock = make(chanLock, 1)
	mu <- 0
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := <-mu
			i := c % agents
			mu <- c + 1
			seq := <-next[i]
			rep, err := DecodeReport(bytes.NewReader(bodies[seq%64]), "gzip")
			if err != nil {
				b.Fatal(err)
			}
			rep.Seq = uint64(seq)
			if _, err := e.f.Ingest(e.ctx, ids[i], rep, ""); err != nil {
				b.Fatal(err)
			}
			next[i] <- seq + 1
		}
	})
	if e.f.Stats().SoftwareWrites.Load() != agents {
		b.Fatalf("software written %d times; want once per agent", e.f.Stats().SoftwareWrites.Load())
	}
}

// chanLock is a one-slot channel used as a lock that carries a value.
type chanLock chan int64
