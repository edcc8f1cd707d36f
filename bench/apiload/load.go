package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Plan is one load run.
type Plan struct {
	URL   string
	Token string
	// Rate is the intended requests per second.
	Rate float64
	// Warmup runs at Rate before the measured Duration; its requests are
	// sent but not counted.
	Warmup, Duration time.Duration
	// Conns is the number of keep-alive connections, and so of requests in
	// flight at most.
	Conns   int
	Timeout time.Duration
}

// maxQueued bounds the schedule buffered ahead of the connections. When the
// server falls that far behind, the scheduler waits, but due times stay
// fixed, so the wait still shows in the latencies.
const maxQueued = 1 << 20

// Drive runs p against its URL and returns what it measured. It first opens
// the connections and checks that the URL answers 2xx with the token, so a
// wrong token or port fails fast instead of producing a report of errors.
func Drive(ctx context.Context, p Plan) (*Result, error) {
	tr := &http.Transport{
		MaxIdleConns:        p.Conns,
		MaxIdleConnsPerHost: p.Conns,
		MaxConnsPerHost:     p.Conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: p.Timeout}
	if err := preflight(ctx, client, p); err != nil {
		return nil, err
	}

	total := int(p.Rate * (p.Warmup + p.Duration).Seconds())
	interval := float64(time.Second) / p.Rate
	start := time.Now().Add(10 * time.Millisecond)
	measureFrom := start.Add(p.Warmup)
	// A request not sent by the end of the schedule plus one timeout is
	// counted as not sent: the server was too far behind to catch up.
	giveUp := start.Add(p.Warmup + p.Duration + p.Timeout)

	jobs := make(chan time.Time, min(total, maxQueued))
	workers := make([]*worker, p.Conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{client: client, giveUp: giveUp, measureFrom: measureFrom}
		workers[i] = w
		wg.Go(func() { w.run(ctx, p, jobs) })
	}

	scheduled := 0
schedule:
	for ; scheduled < total; scheduled++ {
		due := start.Add(time.Duration(float64(scheduled) * interval))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case jobs <- due:
		case <-ctx.Done():
			break schedule
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted after %d of %d requests: %w", scheduled, total, err)
	}
	return collect(p, measureFrom, workers), nil
}

// preflight sends one request per connection at once, which opens the
// connections, and requires every answer to be 2xx.
func preflight(ctx context.Context, client *http.Client, p Plan) error {
	errs := make([]error, p.Conns)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			req, err := newRequest(ctx, p)
			if err != nil {
				errs[i] = err
				return
			}
			status, err := send(client, req)
			if err == nil && status/100 != 2 {
				err = fmt.Errorf("status %d", status)
			}
			if err != nil {
				errs[i] = fmt.Errorf("preflight GET %s: %w", p.URL, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func newRequest(ctx context.Context, p Plan) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return nil, err
	}
	if p.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.Token)
	}
	return req, nil
}

// send does one request and reads the whole body, so the connection goes
// back to the pool for the next one.
func send(client *http.Client, req *http.Request) (int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// worker takes due times off the shared schedule and sends one request at a
// time, so Conns workers keep at most Conns connections busy. Each keeps its
// own samples, so recording takes no lock.
type worker struct {
	client      *http.Client
	giveUp      time.Time
	measureFrom time.Time

	// latency is from due time to the end of the response, service from
	// the actual send, lag from due time to the actual send (the
	// generator's own lateness, part of latency).
	latency, service, lag []time.Duration
	ok, transportErrs     int
	statuses              map[int]int
	firstErr              error
	unsent                int
	last                  time.Time
}

func (w *worker) run(ctx context.Context, p Plan, jobs <-chan time.Time) {
	w.statuses = make(map[int]int)
	req, err := newRequest(ctx, p)
	if err != nil {
		w.firstErr = err
		for range jobs {
			w.unsent++
		}
		return
	}
	for due := range jobs {
		sent := time.Now()
		if sent.After(w.giveUp) || ctx.Err() != nil {
			w.unsent++
			continue
		}
		status, err := send(w.client, req)
		end := time.Now()
		if due.Before(w.measureFrom) {
			continue
		}
		w.latency = append(w.latency, end.Sub(due))
		w.service = append(w.service, end.Sub(sent))
		w.lag = append(w.lag, sent.Sub(due))
		w.last = end
		switch {
		case err != nil:
			w.transportErrs++
			if w.firstErr == nil && !errors.Is(err, context.Canceled) {
				w.firstErr = err
			}
		case status/100 == 2:
			w.ok++
		default:
			w.statuses[status]++
		}
	}
}

// collect merges the workers' samples into one sorted Result.
func collect(p Plan, measureFrom time.Time, workers []*worker) *Result {
	r := &Result{Plan: p, Statuses: make(map[int]int)}
	last := measureFrom
	for _, w := range workers {
		r.Latency = append(r.Latency, w.latency...)
		r.Service = append(r.Service, w.service...)
		r.Lag = append(r.Lag, w.lag...)
		r.OK += w.ok
		r.TransportErrors += w.transportErrs
		r.Unsent += w.unsent
		for s, n := range w.statuses {
			r.Statuses[s] += n
		}
		if r.FirstError == nil {
			r.FirstError = w.firstErr
		}
		if w.last.After(last) {
			last = w.last
		}
	}
	r.Elapsed = last.Sub(measureFrom)
	slices.Sort(r.Latency)
	slices.Sort(r.Service)
	slices.Sort(r.Lag)
	return r
}
