package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestQuantileIsNearestRank(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {.5, 5}, {.9, 9}, {.99, 10}, {1, 10}} {
		if got := quantile(s, tc.q); got != tc.want {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := quantile(nil, .5); got != 0 {
		t.Errorf("quantile of nothing = %v, want 0", got)
	}
}

// TestStallShowsInQueuedRequests is the point of an open loop: one stalled
// answer on the only connection delays every request due during the stall,
// and their latencies must say so.
func TestStallShowsInQueuedRequests(t *testing.T) {
	const stall = 300 * time.Millisecond
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer odk_test" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// Request 1 is the preflight; stall the 50th, in the measured window.
		if n.Add(1) == 50 {
			time.Sleep(stall)
		}
		w.Write([]byte(`{"name":"token:bench"}`))
	}))
	defer srv.Close()

	res, err := Drive(context.Background(), Plan{URL: srv.URL, Token: "odk_test", Rate: 200,
		Duration: time.Second, Warmup: 100 * time.Millisecond, Conns: 1, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != len(res.Latency) || res.Errors() != 0 || res.Unsent != 0 {
		t.Fatalf("ok %d of %d, errors %d, unsent %d", res.OK, len(res.Latency), res.Errors(), res.Unsent)
	}
	// At 200/s, about 60 requests fall due during the stall: more than 1%,
	// so p99 must carry most of it, where a closed loop would show one slow
	// request and a fast p99.
	if p99 := quantile(res.Latency, .99); p99 < stall/2 {
		t.Errorf("p99 = %v; the %v stall was hidden", p99, stall)
	}
	if p50 := quantile(res.Service, .5); p50 > 50*time.Millisecond {
		t.Errorf("service p50 = %v; only one request was slow", p50)
	}
	var out bytes.Buffer
	res.Print(&out)
	if !strings.Contains(out.String(), "RESULT rate=200 ") {
		t.Errorf("report lacks the RESULT line:\n%s", out.String())
	}
}

func TestWrongTokenFailsBeforeTheRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", srv.URL, "-token", "odk_wrong", "-rate", "10", "-duration", "1s", "-conns", "2"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "status 401") {
		t.Fatalf("exit %d, stderr %q; want 1 and the 401", code, stderr.String())
	}
}

func TestFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "127.0.0.1:8080"},
		{"-rate", "0"},
		{"-conns", "0"},
		{"-duration", "-1s"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
