package agent

import (
	"compress/gzip"
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// BenchmarkBuildReport is one interval's work on this machine without the
// network: read /proc and /sys, check the package databases (unchanged),
// build and validate the report and gzip it.
func BenchmarkBuildReport(b *testing.B) {
	a := &agent{cfg: Config{Version: "bench", UpdatesEvery: -1, FactsEvery: time.Hour}}
	a.cfg.defaults()
	a.log = a.cfg.Logger
	c := &collector{
		a: a, sampler: newSampler(realHost()), inv: newInventory(),
		warned: map[string]bool{}, maxRaw: maxBodyRaw, maxGzip: maxBodyGzip, zw: gzip.NewWriter(io.Discard),
	}
	var bg sync.WaitGroup
	ctx := context.Background()
	r, commit := c.build(ctx, time.Now(), &bg) // first: facts and packages
	r.Seq = 1
	if _, err := c.encode(r); err != nil {
		b.Fatal(err)
	}
	commit()
	b.ReportAllocs()
	var size int
	for i := 0; b.Loop(); i++ {
		r, commit := c.build(ctx, time.Now(), &bg)
		r.Seq = uint64(i + 2)
		body, err := c.encode(r)
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
		commit()
	}
	b.ReportMetric(float64(size), "gzip-bytes")
}
