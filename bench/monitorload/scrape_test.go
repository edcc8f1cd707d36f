package main

import (
	"math"
	"strings"
	"testing"
)

const sampleMetrics = `# HELP opsdeck_monitor_check_start_delay_seconds How late checks start after their scheduled time.
# TYPE opsdeck_monitor_check_start_delay_seconds histogram
opsdeck_monitor_check_start_delay_seconds_bucket{le="0.001"} 50
opsdeck_monitor_check_start_delay_seconds_bucket{le="0.01"} 90
opsdeck_monitor_check_start_delay_seconds_bucket{le="1"} 99
opsdeck_monitor_check_start_delay_seconds_bucket{le="10"} 100
opsdeck_monitor_check_start_delay_seconds_bucket{le="+Inf"} 100
opsdeck_monitor_check_start_delay_seconds_sum 12.5
opsdeck_monitor_check_start_delay_seconds_count 100
opsdeck_monitor_checks_total{result="up"} 97
opsdeck_monitor_checks_total{result="down"} 3
opsdeck_monitor_checks_skipped_total 2
opsdeck_monitor_up{monitor="load-00001",type="http"} 1
go_memstats_heap_inuse_bytes 2.5e+07
go_goroutines 27
`

func TestParseMetrics(t *testing.T) {
	s, err := parseMetrics(strings.NewReader(sampleMetrics))
	if err != nil {
		t.Fatal(err)
	}
	if s.checksSum() != 100 || s.checks["down"] != 3 || s.skipped != 2 || s.count != 100 || s.heap != 25e6 || s.routines != 27 {
		t.Fatalf("parsed %+v", s)
	}
	if len(s.buckets) != 5 || !math.IsInf(s.buckets[4].le, 1) {
		t.Fatalf("buckets %+v", s.buckets)
	}
	for _, tc := range []struct {
		q, want float64
	}{
		{0.5, 0.001},                 // exactly the first bound
		{0.25, 0.0005},               // halfway into the first bucket, from 0
		{0.7, 0.001 + 0.009*20/40},   // inside the second bucket
		{0.995, 1 + 9*(99.5-99)/1.0}, // inside the 1-10 s bucket
	} {
		if got := quantile(tc.q, s.buckets); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := fractionWithin(1, s.buckets); got != 0.99 {
		t.Errorf("fractionWithin(1) = %v, want 0.99", got)
	}
	if got := slowestBucket(s.buckets); got != 10 {
		t.Errorf("slowestBucket = %v, want 10", got)
	}
	d := delayDelta(s, s)
	if !math.IsNaN(quantile(.99, d)) {
		t.Errorf("quantile of an empty delta = %v, want NaN", quantile(.99, d))
	}
}

func TestLogAttr(t *testing.T) {
	text := `time=2026-11-25T17:16:01.123Z level=INFO msg="monitors scheduled" count=10000`
	if logAttr(text, "count") != "10000" || logTime(text).IsZero() {
		t.Fatalf("text line: count %q time %v", logAttr(text, "count"), logTime(text))
	}
	js := `{"time":"2026-11-25T17:16:01.123Z","level":"INFO","msg":"monitors scheduled","count":10000}`
	if logAttr(js, "count") != "10000" || logTime(js).IsZero() {
		t.Fatalf("json line: count %q time %v", logAttr(js, "count"), logTime(js))
	}
}
