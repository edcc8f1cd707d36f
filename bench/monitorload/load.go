package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// runLoad creates the monitors, waits for them to settle, measures one
// window and reports it.
func runLoad(ctx context.Context, p Plan, out io.Writer) error {
	tgt, err := startTarget(p.TargetAddr, p.Monitors, p.Interval)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer tgt.close()
	fmt.Fprintf(out, "target    http://%s/m/{0..%d}\n", tgt.addr(), p.Monitors-1)
	a := newAPI(p.Server, p.Token)
	metricsURL := p.Server + "/metrics"
	if _, err := fetchMetrics(ctx, a.client, metricsURL, p.Token); err != nil {
		return err
	}

	// Peak memory and CPU are watched from the first request on.
	mem := newMemWatch(p.PID)
	stopWatch := mem.start(time.Second)
	defer stopWatch()

	t0 := time.Now()
	created, existed, err := a.createMonitors(ctx, p, tgt.addr())
	if err != nil {
		return err
	}
	createTook := time.Since(t0)
	fmt.Fprintf(out, "create    %d monitors in %.1f s (%.0f/s, %d existed already), interval %s, timeout %s\n",
		created, createTook.Seconds(), float64(created)/createTook.Seconds(), existed, p.Interval, p.Timeout)
	if err := sleep(ctx, p.Settle); err != nil {
		return err
	}

	// The window: scrape and sample at both ends, scrape periodically in
	// between (a Prometheus would), and record the machine's load per slice
	// so a busy stretch shows.
	s0, err := fetchMetrics(ctx, a.client, metricsURL, p.Token)
	if err != nil {
		return err
	}
	c0, err := sampleCPU(p.PID)
	if err != nil {
		return err
	}
	hits0, per0 := tgt.hits.Load(), tgt.perMonitor()
	tgt.tracking.Store(true)
	mem.resetWindow()
	windowStart := time.Now()
	var restMax, scrapeMax float64
	var scrapeBytes int64
	// One line per slice (a scrape period): a stretch where checks started
	// late shows next to what the rest of the machine was doing then.
	prevS, prevC, prevT := s0, c0, time.Now()
	end := windowStart.Add(p.Duration)
	var s1 scrape
	var c1 cpuSample
	for {
		if err := sleep(ctx, min(time.Until(end), p.Scrape)); err != nil {
			return err
		}
		s, err := fetchMetrics(ctx, a.client, metricsURL, p.Token)
		if err != nil {
			return err
		}
		c, err := sampleCPU(p.PID)
		if err != nil {
			return err
		}
		now := time.Now()
		sc, _, rest := prevC.cores(c, p.ClockTicks, now.Sub(prevT).Seconds())
		d := delayDelta(prevS, s)
		fmt.Fprintf(out, "slice     +%3.0f s: %6.1f checks/s, %8.4f%% started within 1 s, p99 delay %7.1f ms; server %.2f cores, rest of machine %.2f cores\n",
			now.Sub(windowStart).Seconds(), (s.checksSum()-prevS.checksSum())/s.at.Sub(prevS.at).Seconds(),
			100*fractionWithin(1, d), 1000*quantile(.99, d), sc, rest)
		if now.Sub(prevT) >= p.Scrape/2 {
			restMax = max(restMax, rest)
		}
		scrapeMax, scrapeBytes = max(scrapeMax, ms(s.took)), s.bytes
		prevS, prevC, prevT = s, c, now
		if !now.Before(end) {
			s1, c1 = s, c
			break
		}
	}
	tgt.tracking.Store(false)
	hits1, per1 := tgt.hits.Load(), tgt.perMonitor()
	windowEnd := time.Now()
	scrapeMax = max(scrapeMax, ms(s0.took))
	rssWindowMax := mem.windowMax()
	_, hwm, _ := procMemory(p.PID)

	secs := s1.at.Sub(s0.at).Seconds()
	cpuSecs := windowEnd.Sub(windowStart).Seconds()
	serverCPU, selfCPU, restCPU := c0.cores(c1, p.ClockTicks, cpuSecs)
	expected := float64(p.Monitors) * secs / p.Interval.Seconds()
	checks := s1.checksSum() - s0.checksSum()
	skipped := s1.skipped - s0.skipped
	hits := hits1 - hits0
	minHits, maxHits, zero := int64(math.MaxInt64), int64(0), 0
	for i := range per1 {
		d := per1[i] - per0[i]
		minHits, maxHits = min(minHits, d), max(maxHits, d)
		if d == 0 {
			zero++
		}
	}
	delays := delayDelta(s0, s1)
	var results []string
	for k, v := range s1.checks {
		if d := v - s0.checks[k]; d > 0 {
			results = append(results, fmt.Sprintf("%s=%.0f", k, d))
		}
	}

	fmt.Fprintf(out, "window    %.1f s (scrape to scrape), %d monitors every %s: %.0f checks expected (%.1f/s)\n",
		secs, p.Monitors, p.Interval, expected, expected/secs)
	fmt.Fprintf(out, "checks    %.0f run (%.1f%% of expected; %s), %.0f skipped; target saw %d requests\n",
		checks, 100*checks/expected, strings.Join(results, " "), skipped, hits)
	fmt.Fprintf(out, "per mon   %d..%d requests each, %d monitors never checked; longest gap between two checks of one monitor %.2f s, %d gaps > interval+1s\n",
		minHits, maxHits, zero, time.Duration(tgt.maxGap.Load()).Seconds(), tgt.late.Load())
	fmt.Fprintf(out, "delay     start delay p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, p99.9 %.1f ms (interpolated); %.4f%% within 1 s; all within %g s\n",
		1000*quantile(.5, delays), 1000*quantile(.9, delays), 1000*quantile(.99, delays), 1000*quantile(.999, delays),
		100*fractionWithin(1, delays), slowestBucket(delays))
	fmt.Fprintf(out, "memory    server RSS max %.1f MB in window, %.1f MB over the run; VmHWM %.1f MB; Go heap in use %.1f MB; %.0f goroutines\n",
		mb(rssWindowMax), mb(mem.max()), mb(hwm), mb(int64(s1.heap)), s1.routines)
	fmt.Fprintf(out, "cpu       server %.2f cores, target+driver %.2f cores, rest of machine %.2f cores (max %.2f over a slice)\n",
		serverCPU, selfCPU, restCPU, restMax)
	fmt.Fprintf(out, "scrape    /metrics %.1f MB, slowest %.0f ms\n", float64(scrapeBytes)/1e6, scrapeMax)
	fmt.Fprintf(out, "RESULT phase=window monitors=%d interval_s=%g window_s=%.1f window_start_unix=%.3f window_end_unix=%.3f expected=%.0f checks=%.0f skipped=%.0f target_hits=%d "+
		"min_per_monitor=%d max_per_monitor=%d never_checked=%d max_gap_s=%.2f late_gaps=%d "+
		"p50_delay_ms=%.1f p99_delay_ms=%.1f p999_delay_ms=%.1f within_1s_pct=%.4f max_delay_bucket_s=%g "+
		"rss_max_mb=%.1f rss_run_max_mb=%.1f hwm_mb=%.1f heap_inuse_mb=%.1f server_cpu=%.2f driver_cpu=%.2f rest_cpu=%.2f rest_cpu_max=%.2f scrape_mb=%.1f scrape_max_ms=%.0f create_s=%.1f target_addr=%s\n",
		p.Monitors, p.Interval.Seconds(), secs, unixSeconds(s0.at), unixSeconds(s1.at), expected, checks, skipped, hits,
		minHits, maxHits, zero, time.Duration(tgt.maxGap.Load()).Seconds(), tgt.late.Load(),
		1000*quantile(.5, delays), 1000*quantile(.99, delays), 1000*quantile(.999, delays), 100*fractionWithin(1, delays), slowestBucket(delays),
		mb(rssWindowMax), mb(mem.max()), mb(hwm), mb(int64(s1.heap)), serverCPU, selfCPU, restCPU, restMax, float64(scrapeBytes)/1e6, scrapeMax, createTook.Seconds(), tgt.addr())

	if p.ListRuns > 0 {
		if err := reportList(ctx, a, p, out, "under load"); err != nil {
			return err
		}
	}

	fmt.Fprintln(out, "RESULT phase=window_done")
	if !p.WaitExit {
		return nil
	}
	// The script stops the server now; its last checks reach the target
	// until it exits, and the target's count is then the number of checks
	// the server ran in its life (each http check is one request).
	for procAlive(p.PID) {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "RESULT phase=final target_hits_total=%d hwm_mb=%.1f\n", tgt.hits.Load(), mb(hwm))
	return nil
}

// reportList times the list endpoint at two page sizes.
func reportList(ctx context.Context, a *api, p Plan, out io.Writer, when string) error {
	for _, limit := range []int{100, 1000} {
		lat, size, items, err := a.listLatency(ctx, limit, p.ListRuns)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "list      GET /api/v1/monitors?limit=%d %s: %d items, %.0f KB; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms over %d requests\n",
			limit, when, items, float64(size)/1e3, pct(lat, 50), pct(lat, 90), pct(lat, 99), pct(lat, 100), len(lat))
		fmt.Fprintf(out, "RESULT phase=list limit=%d items=%d kb=%.0f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f runs=%d\n",
			limit, items, float64(size)/1e3, pct(lat, 50), pct(lat, 90), pct(lat, 99), pct(lat, 100), len(lat))
	}
	return nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
