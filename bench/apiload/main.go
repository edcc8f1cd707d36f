// Command apiload drives one HTTP endpoint of a running opsdeck at a fixed
// request rate over a fixed number of keep-alive connections and prints the
// achieved rate, the errors and the latency percentiles.
//
// It is an open-loop generator: request i is due at start + i/rate whether or
// not earlier requests have been answered, and its latency is measured from
// that due time, not from when a connection was free to send it. A server
// that stalls therefore shows the stall in every request queued behind it
// instead of hiding it by slowing the generator down (the "coordinated
// omission" of closed-loop tools).
//
//	apiload -url http://127.0.0.1:8080/api/v1/me -token odk_... -rate 10000 -duration 20s -conns 64
//
// bench/run-api.sh builds and starts a server, makes a token and runs a
// series of rates; docs/performance.md records the figures.
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

// run parses the flags, drives the load and prints the report; it returns
// the process exit code: 0 after a completed run (whatever its errors, which
// the report counts), 1 when the run could not start, 2 for bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apiload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var p Plan
	fs.StringVar(&p.URL, "url", "http://127.0.0.1:8080/api/v1/me", "`URL` to GET")
	fs.StringVar(&p.Token, "token", os.Getenv("OPSDECK_TOKEN"), "API `token` sent as Authorization: Bearer (default $OPSDECK_TOKEN)")
	fs.Float64Var(&p.Rate, "rate", 1000, "intended request `rate` per second")
	fs.DurationVar(&p.Duration, "duration", 10*time.Second, "measured `time`")
	fs.DurationVar(&p.Warmup, "warmup", 2*time.Second, "`time` at the same rate before measuring, not counted")
	fs.IntVar(&p.Conns, "conns", 64, "keep-alive `connections` (at most one request in flight on each)")
	fs.DurationVar(&p.Timeout, "timeout", 5*time.Second, "per-request `timeout`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := p.validate(); err != nil {
		fmt.Fprintln(stderr, "apiload:", err)
		return 2
	}
	res, err := Drive(ctx, p)
	if err != nil {
		fmt.Fprintln(stderr, "apiload:", err)
		return 1
	}
	res.Print(stdout)
	return 0
}

func (p Plan) validate() error {
	u, err := url.Parse(p.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("-url %q: want an http:// or https:// URL", p.URL)
	case p.Rate <= 0:
		return errors.New("-rate must be positive")
	case p.Duration <= 0:
		return errors.New("-duration must be positive")
	case p.Warmup < 0:
		return errors.New("-warmup must not be negative")
	case p.Conns <= 0:
		return errors.New("-conns must be positive")
	case p.Timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	return nil
}
