// Command intakeload drives the PagerDuty-compatible intake (POST
// /v2/enqueue) of a running opsdeck and prints what it measured.
//
// Two modes:
//
//   - rate: an open-loop run at a fixed event rate (request i is due at
//     start + i/rate; its latency counts from that due time, so a stall shows
//     in every request queued behind it). Prints achieved rate, errors and
//     latency percentiles.
//   - storm: sends -events events over -keys dedup keys as fast as -conns
//     connections allow, then asks the API how many alerts and incidents
//     exist (needs an admin or viewer token).
//
// Without -key it creates a service (grouped by the "source" label the
// events carry, one of -sources values) and a PagerDuty integration with the
// admin -token, and uses its key.
//
//	intakeload -url http://127.0.0.1:8080 -token odk_... -mode rate -rate 1000 -duration 20s
//	intakeload -url http://127.0.0.1:8080 -token odk_... -mode storm -events 100000 -keys 1000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// plan is what one run does.
type plan struct {
	URL, Token, Key, Mode string
	Rate                  float64
	Duration, Warmup      time.Duration
	Conns, Events, Keys   int
	Sources               int
}

func (p plan) validate() error {
	switch {
	case p.Mode != "rate" && p.Mode != "storm":
		return errors.New("-mode must be rate or storm")
	case p.Key == "" && p.Token == "":
		return errors.New("give -key (an integration key) or -token (an admin API token to make one)")
	case p.Conns < 1 || p.Conns > 4096:
		return errors.New("-conns must be 1..4096")
	case p.Mode == "rate" && (p.Rate <= 0 || p.Duration <= 0):
		return errors.New("-rate and -duration must be positive")
	case p.Keys < 0:
		return errors.New("-keys must not be negative")
	case p.Mode == "storm" && (p.Events < 1 || p.Keys < 1 || p.Keys > p.Events):
		return errors.New("-events and -keys must be positive, keys at most events")
	case p.Sources < 1:
		return errors.New("-sources must be positive")
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("intakeload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var p plan
	fs.StringVar(&p.URL, "url", "http://127.0.0.1:8080", "opsdeck base `URL`")
	fs.StringVar(&p.Token, "token", os.Getenv("OPSDECK_TOKEN"), "admin API `token` (to make the integration and count results)")
	fs.StringVar(&p.Key, "key", "", "integration `key` to use instead of making one")
	fs.StringVar(&p.Mode, "mode", "rate", "rate or storm")
	fs.Float64Var(&p.Rate, "rate", 1000, "events per second (rate mode)")
	fs.DurationVar(&p.Duration, "duration", 10*time.Second, "measured `time` (rate mode)")
	fs.DurationVar(&p.Warmup, "warmup", 2*time.Second, "`time` at the same rate before measuring (rate mode)")
	fs.IntVar(&p.Conns, "conns", 64, "keep-alive `connections`")
	fs.IntVar(&p.Events, "events", 100000, "events to send (storm mode)")
	fs.IntVar(&p.Keys, "keys", 0, "distinct dedup keys (storm: default 1000; rate: default a new key per event)")
	fs.IntVar(&p.Sources, "sources", 10, "distinct sources (the grouping label)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if p.Keys == 0 && p.Mode == "storm" {
		p.Keys = 1000
	}
	if err := p.validate(); err != nil {
		fmt.Fprintln(stderr, "intakeload:", err)
		return 2
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: p.Conns, MaxConnsPerHost: p.Conns}}
	if p.Key == "" {
		key, err := makeIntegration(ctx, client, p)
		if err != nil {
			fmt.Fprintln(stderr, "intakeload:", err)
			return 1
		}
		p.Key = key
	}
	if p.Mode == "rate" {
		r := rateRun(ctx, client, p)
		r.print(stdout)
		return 0
	}
	return storm(ctx, client, p, stdout, stderr)
}

func makeIntegration(ctx context.Context, c *http.Client, p plan) (string, error) {
	name := "intakeload " + time.Now().UTC().Format("150405.000")
	var svc struct{ ID int64 }
	if err := call(ctx, c, p, "POST", "/api/v1/services", map[string]any{"name": name, "group_by": []string{"source"}}, &svc); err != nil {
		return "", fmt.Errorf("create service: %w", err)
	}
	var in struct{ Key string }
	if err := call(ctx, c, p, "POST", "/api/v1/integrations", map[string]any{"service_id": svc.ID, "name": "load", "kind": "pagerduty"}, &in); err != nil {
		return "", fmt.Errorf("create integration: %w", err)
	}
	return in.Key, nil
}

func call(ctx context.Context, c *http.Client, p plan, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.Token)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// event is the body of event number i, over keys dedup keys.
func event(key string, i, keys, sources int) []byte {
	k := i % keys
	return []byte(`{"routing_key":"` + key + `","event_action":"trigger","dedup_key":"load-` + strconv.Itoa(k) +
		`","payload":{"summary":"load test alert ` + strconv.Itoa(k) + `","source":"src-` + strconv.Itoa(k%sources) + `","severity":"error"}}`)
}

// send posts one event and reports whether it got 202.
func send(ctx context.Context, c *http.Client, url string, body []byte) bool {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusAccepted
}

// result is a rate run's outcome.
type result struct {
	Rate, Achieved    float64
	Sent, Errors      int
	Unsent            int
	P50, P90, P99, Mx time.Duration
}

func (r result) print(w io.Writer) {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) }
	fmt.Fprintf(w, "rate %.0f/s: achieved %.0f/s, %d sent, %d errors, %d unsent; latency p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n",
		r.Rate, r.Achieved, r.Sent, r.Errors, r.Unsent, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Mx))
	fmt.Fprintf(w, "RESULT rate=%.0f achieved=%.0f errors=%d unsent=%d p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s\n",
		r.Rate, r.Achieved, r.Errors, r.Unsent, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Mx))
}

// rateRun sends events open-loop at p.Rate for warm-up plus duration and
// measures the latter part.
func rateRun(ctx context.Context, c *http.Client, p plan) result {
	url := p.URL + "/v2/enqueue"
	total := int((p.Warmup + p.Duration).Seconds() * p.Rate)
	warm := int(p.Warmup.Seconds() * p.Rate)
	due := make(chan int, p.Conns*4)
	var mu sync.Mutex
	var lats []time.Duration
	var errs, unsent atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range p.Conns {
		wg.Go(func() {
			for i := range due {
				at := start.Add(time.Duration(float64(i) / p.Rate * float64(time.Second)))
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				keys := p.Keys
				if keys == 0 {
					keys = 1 << 30 // a new alert per event: the heaviest path
				}
				ok := send(ctx, c, url, event(p.Key, i, keys, p.Sources))
				lat := time.Since(at)
				if i < warm {
					continue
				}
				if !ok {
					errs.Add(1)
				}
				mu.Lock()
				lats = append(lats, lat)
				mu.Unlock()
			}
		})
	}
	for i := range total {
		at := start.Add(time.Duration(float64(i) / p.Rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case due <- i:
		default:
			if i >= warm {
				unsent.Add(1) // every connection is busy: the server is behind
			}
		}
	}
	close(due)
	wg.Wait()
	measured := time.Since(start.Add(p.Warmup))
	return summarize(p.Rate, lats, int(errs.Load()), int(unsent.Load()), measured)
}

func summarize(rate float64, lats []time.Duration, errs, unsent int, measured time.Duration) result {
	slices.Sort(lats)
	pct := func(q float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		i := int(q*float64(len(lats))+0.5) - 1 // nearest rank
		return lats[min(max(i, 0), len(lats)-1)]
	}
	r := result{Rate: rate, Sent: len(lats), Errors: errs, Unsent: unsent, P50: pct(0.50), P90: pct(0.90), P99: pct(0.99)}
	if len(lats) > 0 {
		r.Mx = lats[len(lats)-1]
	}
	if measured > 0 {
		r.Achieved = float64(len(lats)-errs) / measured.Seconds()
	}
	return r
}

// storm sends p.Events events over p.Keys keys as fast as it can, then
// counts alerts and incidents through the API.
func storm(ctx context.Context, c *http.Client, p plan, stdout, stderr io.Writer) int {
	url := p.URL + "/v2/enqueue"
	var next, errs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range p.Conns {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= p.Events || ctx.Err() != nil {
					return
				}
				if !send(ctx, c, url, event(p.Key, i, p.Keys, p.Sources)) {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Fprintf(stdout, "storm: %d events over %d dedup keys in %s: %.0f events/s, %d errors\n",
		p.Events, p.Keys, el.Round(time.Millisecond), float64(p.Events)/el.Seconds(), errs.Load())
	if p.Token == "" {
		return 0
	}
	alerts, err := countAll(ctx, c, p, "/api/v1/alerts?status=open&limit=1000")
	if err != nil {
		fmt.Fprintln(stderr, "intakeload: count alerts:", err)
		return 1
	}
	incidents, err := countAll(ctx, c, p, "/api/v1/incidents?status=open&limit=500")
	if err != nil {
		fmt.Fprintln(stderr, "intakeload: count incidents:", err)
		return 1
	}
	fmt.Fprintf(stdout, "storm result: %d open alerts, %d open incidents (pages started: one per incident)\n", alerts, incidents)
	fmt.Fprintf(stdout, "RESULT events=%d keys=%d events_per_s=%.0f errors=%d alerts=%d incidents=%d\n",
		p.Events, p.Keys, float64(p.Events)/el.Seconds(), errs.Load(), alerts, incidents)
	return 0
}

// countAll pages through a list endpoint and counts its rows.
func countAll(ctx context.Context, c *http.Client, p plan, path string) (int, error) {
	n, cursor := 0, ""
	for {
		var pg struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor string            `json:"next_cursor"`
		}
		q := path
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		if err := call(ctx, c, p, "GET", q, nil, &pg); err != nil {
			return n, err
		}
		n += len(pg.Data)
		if pg.NextCursor == "" {
			return n, nil
		}
		cursor = pg.NextCursor
	}
}
