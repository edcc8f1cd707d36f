package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// runStartup measures a server that was just started: when /readyz first
// answered 200 and when the log said "monitors scheduled", both from the
// process start. The target serves meanwhile, so the restarted monitors'
// checks succeed, and the list endpoint is timed at the end.
func runStartup(ctx context.Context, p Plan, out io.Writer) error {
	tgt, err := startTarget(p.TargetAddr, p.Monitors, p.Interval)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer tgt.close()
	c0, err := sampleCPU(p.PID)
	if err != nil {
		return err
	}
	started := time.Unix(0, p.StartedAt)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	readyAt, err := waitReady(ctx, p.Server)
	if err != nil {
		return err
	}
	cpuAtReady, _ := procCPU(p.PID)
	line, seenAt, err := waitLogLine(ctx, p.LogPath, "monitors scheduled")
	if err != nil {
		return err
	}
	cpuAtScheduled, _ := procCPU(p.PID)
	_, hwm, _ := procMemory(p.PID)
	loggedAt, count := logTime(line), logAttr(line, "count")
	c1, err := sampleCPU(p.PID)
	if err != nil {
		return err
	}
	secs := time.Since(started).Seconds()
	_, _, rest := c0.cores(c1, p.ClockTicks, secs)

	readyMS := ms(readyAt.Sub(started))
	schedMS := ms(seenAt.Sub(started))
	if !loggedAt.IsZero() {
		schedMS = ms(loggedAt.Sub(started))
	}
	fmt.Fprintf(out, "startup   /readyz 200 after %.0f ms; \"monitors scheduled\" (count=%s) logged after %.0f ms (seen after %.0f ms); "+
		"server CPU %.2f s by ready, %.2f s by scheduled; VmHWM %.1f MB; rest of machine %.2f cores\n",
		readyMS, count, schedMS, ms(seenAt.Sub(started)), float64(cpuAtReady)/p.ClockTicks, float64(cpuAtScheduled)/p.ClockTicks, mb(hwm), rest)
	fmt.Fprintf(out, "RESULT phase=startup ready_ms=%.0f scheduled_ms=%.0f count=%s server_cpu_ready_s=%.2f server_cpu_scheduled_s=%.2f hwm_mb=%.1f rest_cpu=%.2f\n",
		readyMS, schedMS, count, float64(cpuAtReady)/p.ClockTicks, float64(cpuAtScheduled)/p.ClockTicks, mb(hwm), rest)
	if p.ListRuns > 0 {
		return reportList(ctx, newAPI(p.Server, p.Token), p, out, "after restart")
	}
	return nil
}

// waitLogLine polls path every 5 ms until a line contains msg and returns
// the line and when it was seen.
func waitLogLine(ctx context.Context, path, msg string) (string, time.Time, error) {
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			for _, l := range bytes.Split(b, []byte("\n")) {
				if bytes.Contains(l, []byte(msg)) {
					return string(l), time.Now(), nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", time.Time{}, fmt.Errorf("log %s: no %q: %w", path, msg, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// logTime reads the time attribute of a slog line, text or JSON; zero when
// there is none.
func logTime(line string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, logAttr(line, "time"))
	return t
}

// logAttr returns an attribute of a slog text (key=value) or JSON line.
func logAttr(line, key string) string {
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			return ""
		}
		if v, ok := m[key]; ok {
			return fmt.Sprint(v)
		}
		return ""
	}
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
