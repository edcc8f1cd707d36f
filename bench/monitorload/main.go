// Command monitorload measures opsdeck's monitoring at scale against a
// running server: it serves a tiny HTTP target on loopback (200 "ok", every
// request counted), creates N http monitors checking it through the API,
// and then reads the server's /metrics and /proc to tell whether every
// check ran, how late checks started, and what memory and CPU the server
// used. The summary ends in `RESULT key=value` lines for scripts.
//
// Two modes:
//
//	-mode load     create the monitors, let them settle, measure a window,
//	               then time GET /api/v1/monitors?limit=100 and 1000 under
//	               that load. With -wait-exit it then waits for the server
//	               process to end and prints the target's final count, to be
//	               compared with the rows stored.
//	-mode startup  the server was just started (at -started-at, unix ns)
//	               with monitors stored: time /readyz answering 200 and the
//	               "monitors scheduled" log line (-log), then time the list.
//
// The target keeps serving in both modes, so -target-addr with the address
// printed by a load run keeps the monitors of a restarted server up.
// bench/run-monitors.sh builds and starts a server and runs both;
// docs/performance.md records the figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Plan is what one run does.
type Plan struct {
	Mode        string
	Server      string
	Token       string
	PID         int
	Monitors    int
	Interval    time.Duration
	Timeout     time.Duration
	Duration    time.Duration
	Settle      time.Duration
	Scrape      time.Duration
	CreateConns int
	TargetAddr  string
	Prefix      string
	ListRuns    int
	WaitExit    bool
	ClockTicks  float64
	LogPath     string
	StartedAt   int64
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("monitorload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var p Plan
	fs.StringVar(&p.Mode, "mode", "load", "`mode`: load or startup")
	fs.StringVar(&p.Server, "server", "http://127.0.0.1:8080", "opsdeck base `URL`")
	fs.StringVar(&p.Token, "token", os.Getenv("OPSDECK_TOKEN"), "API `token` (operator for load, viewer enough for startup; default $OPSDECK_TOKEN)")
	fs.IntVar(&p.PID, "pid", 0, "server process `id`, for /proc (required)")
	fs.IntVar(&p.Monitors, "monitors", 10000, "`number` of http monitors to create")
	fs.DurationVar(&p.Interval, "interval", 10*time.Second, "monitors' check `interval`")
	fs.DurationVar(&p.Timeout, "timeout", 5*time.Second, "monitors' check `timeout`")
	fs.DurationVar(&p.Duration, "duration", 300*time.Second, "measured `window`")
	fs.DurationVar(&p.Settle, "settle", 0, "`wait` after creating before measuring (default two intervals)")
	fs.DurationVar(&p.Scrape, "scrape", 30*time.Second, "/metrics scrape `period` during the window (as a Prometheus would)")
	fs.IntVar(&p.CreateConns, "create-conns", 8, "create requests in `flight`")
	fs.StringVar(&p.TargetAddr, "target-addr", "127.0.0.1:0", "`host:port` of the target")
	fs.StringVar(&p.Prefix, "prefix", "load", "monitor name `prefix`")
	fs.IntVar(&p.ListRuns, "list-runs", 50, "`requests` per list size when timing GET /api/v1/monitors (0: skip)")
	fs.BoolVar(&p.WaitExit, "wait-exit", false, "load: after the report, wait for the server to exit and print the target's final count")
	fs.Float64Var(&p.ClockTicks, "clk-tck", 100, "clock `ticks` per second in /proc (getconf CLK_TCK)")
	fs.StringVar(&p.LogPath, "log", "", "startup: server log `file` (text or json) to find \"monitors scheduled\" in")
	fs.Int64Var(&p.StartedAt, "started-at", 0, "startup: when the server process was started, unix `nanoseconds`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if p.Settle == 0 {
		p.Settle = 2 * p.Interval
	}
	if err := p.validate(); err != nil {
		fmt.Fprintln(stderr, "monitorload:", err)
		return 2
	}
	var err error
	switch p.Mode {
	case "load":
		err = runLoad(ctx, p, stdout)
	case "startup":
		err = runStartup(ctx, p, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "monitorload:", err)
		return 1
	}
	return 0
}

func (p Plan) validate() error {
	u, err := url.Parse(p.Server)
	switch {
	case p.Mode != "load" && p.Mode != "startup":
		return fmt.Errorf("-mode %q: want load or startup", p.Mode)
	case err != nil || u.Scheme != "http" || u.Host == "":
		return fmt.Errorf("-server %q: want an http:// URL", p.Server)
	case p.Token == "":
		return errors.New("-token is required")
	case p.PID <= 0:
		return errors.New("-pid is required")
	case !procAlive(p.PID):
		return fmt.Errorf("-pid %d: no such running process", p.PID)
	case p.Monitors <= 0 || p.Interval <= 0 || p.Timeout <= 0 || p.Duration <= 0 || p.Scrape <= 0 || p.CreateConns <= 0 || p.ClockTicks <= 0:
		return errors.New("-monitors, -interval, -timeout, -duration, -scrape, -create-conns and -clk-tck must be positive")
	case p.Mode == "startup" && (p.LogPath == "" || p.StartedAt == 0):
		return errors.New("-mode startup needs -log and -started-at")
	}
	return nil
}
