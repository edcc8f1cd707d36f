package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// api talks to the opsdeck server under test.
type api struct {
	base   string
	token  string
	client *http.Client
}

func newAPI(base, token string) *api {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	return &api{base: base, token: token, client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (a *api) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// monitorName is the name of the i-th load monitor; its URL's path is /m/i.
func monitorName(prefix string, i int) string { return fmt.Sprintf("%s-%05d", prefix, i) }

// createMonitors creates n http monitors checking the target, with conns
// requests in flight. A monitor that exists already (a 409 from an earlier
// run on the same data) counts as created.
func (a *api) createMonitors(ctx context.Context, p Plan, targetAddr string) (created, existed int, err error) {
	var next, nCreated, nExisted atomic.Int64
	var firstErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range p.CreateConns {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= p.Monitors || ctx.Err() != nil {
					return
				}
				body, _ := json.Marshal(map[string]string{
					"name": monitorName(p.Prefix, i), "type": "http",
					"url":      fmt.Sprintf("http://%s/m/%d", targetAddr, i),
					"interval": p.Interval.String(), "timeout": p.Timeout.String(),
				})
				code, resp, err := a.do(ctx, http.MethodPost, "/api/v1/monitors", body)
				switch {
				case err == nil && code == http.StatusCreated:
					nCreated.Add(1)
				case err == nil && code == http.StatusConflict, err == nil && code == http.StatusUnprocessableEntity && bytes.Contains(resp, []byte("exists already")):
					nExisted.Add(1)
				default:
					if err == nil {
						err = fmt.Errorf("POST /api/v1/monitors (%s): %d %s", monitorName(p.Prefix, i), code, bytes.TrimSpace(resp))
					}
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return int(nCreated.Load()), int(nExisted.Load()), firstErr
}

// listLatency sends GET /api/v1/monitors?limit=limit runs times, one after
// another, and returns the sorted latencies, the body size and the number
// of monitors in a page.
func (a *api) listLatency(ctx context.Context, limit, runs int) (lat []time.Duration, size, items int, err error) {
	path := fmt.Sprintf("/api/v1/monitors?limit=%d", limit)
	for range runs {
		start := time.Now()
		code, body, err := a.do(ctx, http.MethodGet, path, nil)
		d := time.Since(start)
		if err != nil {
			return nil, 0, 0, err
		}
		if code != http.StatusOK {
			return nil, 0, 0, fmt.Errorf("GET %s: %d %s", path, code, bytes.TrimSpace(body))
		}
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, 0, 0, fmt.Errorf("GET %s: %w", path, err)
		}
		lat = append(lat, d)
		size, items = len(body), len(page.Data)
	}
	slices.Sort(lat)
	return lat, size, items, nil
}

// waitReady polls GET /readyz every 2 ms until it answers 200 and returns
// when it did.
func waitReady(ctx context.Context, base string) (time.Time, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("readyz: %w (last error %v)", ctx.Err(), err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// pct returns the p-th percentile (nearest rank) of sorted durations in ms.
func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return ms(sorted[min(max(i, 0), len(sorted)-1)])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
