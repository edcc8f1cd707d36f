package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Result is what one run measured, over the measured window only.
type Result struct {
	Plan Plan
	// Latency (from due time), Service (from actual send) and Lag (due
	// time to actual send) hold one sorted sample per measured request.
	Latency, Service, Lag []time.Duration
	OK                    int
	// Statuses counts non-2xx answers by status code.
	Statuses        map[int]int
	TransportErrors int
	FirstError      error
	// Unsent counts scheduled requests, warm-up included, that were still
	// queued when the run gave up on them.
	Unsent int
	// Elapsed runs from the start of the measured window to the last
	// measured response.
	Elapsed time.Duration
}

// Achieved is the measured requests per second.
func (r *Result) Achieved() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latency)) / r.Elapsed.Seconds()
}

// Errors counts measured requests that did not get a 2xx answer.
func (r *Result) Errors() int {
	n := r.TransportErrors
	for _, c := range r.Statuses {
		n += c
	}
	return n
}

// quantile returns the q-quantile of sorted samples (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

func percentiles(sorted []time.Duration) string {
	return fmt.Sprintf("p50 %sms  p90 %sms  p99 %sms  p99.9 %sms  max %sms",
		ms(quantile(sorted, .5)), ms(quantile(sorted, .9)), ms(quantile(sorted, .99)),
		ms(quantile(sorted, .999)), ms(quantile(sorted, 1)))
}

// Print writes the report: a readable block, then one RESULT line of
// key=value pairs for scripts.
func (r *Result) Print(w io.Writer) {
	p := r.Plan
	fmt.Fprintf(w, "GET %s at %g req/s for %s (+%s warm-up) on %d connections, open loop\n",
		p.URL, p.Rate, p.Duration, p.Warmup, p.Conns)
	fmt.Fprintf(w, "  requests  %d measured, achieved %.1f req/s\n", len(r.Latency), r.Achieved())
	var codes []string
	for _, s := range slices.Sorted(maps.Keys(r.Statuses)) {
		codes = append(codes, fmt.Sprintf("%d×%d", r.Statuses[s], s))
	}
	fmt.Fprintf(w, "  outcome   %d ok, %d errors (non-2xx: %s; transport: %d), %d not sent\n",
		r.OK, r.Errors(), orNone(strings.Join(codes, " ")), r.TransportErrors, r.Unsent)
	if r.FirstError != nil {
		fmt.Fprintf(w, "  first transport error: %v\n", r.FirstError)
	}
	fmt.Fprintf(w, "  latency   %s  (from due time)\n", percentiles(r.Latency))
	fmt.Fprintf(w, "  service   %s  (from actual send)\n", percentiles(r.Service))
	fmt.Fprintf(w, "  send lag  %s  (generator lateness, in latency)\n", percentiles(r.Lag))
	fmt.Fprintf(w, "RESULT rate=%g conns=%d duration=%s achieved=%.1f ok=%d errors=%d unsent=%d p50_ms=%s p90_ms=%s p99_ms=%s p999_ms=%s max_ms=%s lag_p99_ms=%s\n",
		p.Rate, p.Conns, p.Duration, r.Achieved(), r.OK, r.Errors(), r.Unsent,
		ms(quantile(r.Latency, .5)), ms(quantile(r.Latency, .9)), ms(quantile(r.Latency, .99)),
		ms(quantile(r.Latency, .999)), ms(quantile(r.Latency, 1)), ms(quantile(r.Lag, .99)))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
