package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// target is the HTTP service the monitors check: it answers every request
// with 200 "ok" at once and counts the requests, in total and per monitor
// (the path is /m/{index}), so the driver can tell whether every monitor
// was checked as often as its interval says, from the outside.
type target struct {
	srv      *http.Server
	ln       net.Listener
	interval time.Duration
	hits     atomic.Int64
	per      []monitorHits
	// tracking turns on the gap accounting (during the measured window only,
	// so monitors created late or the settle period do not count).
	tracking atomic.Bool
	maxGap   atomic.Int64 // nanoseconds
	late     atomic.Int64 // gaps longer than interval + 1 s
}

type monitorHits struct {
	hits atomic.Int64
	last atomic.Int64 // unix nanoseconds of the last request
}

// startTarget listens on addr (127.0.0.1:0 picks a port) and serves until
// close.
func startTarget(addr string, monitors int, interval time.Duration) (*target, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &target{ln: ln, interval: interval, per: make([]monitorHits, monitors)}
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	go func() {
		if err := t.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err) // the measurement is meaningless without its target
		}
	}()
	return t, nil
}

func (t *target) addr() string { return t.ln.Addr().String() }

func (t *target) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = t.srv.Shutdown(ctx)
}

var okBody = []byte("ok")

func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.hits.Add(1)
	if i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/m/")); err == nil && i >= 0 && i < len(t.per) {
		m := &t.per[i]
		m.hits.Add(1)
		now := time.Now().UnixNano()
		prev := m.last.Swap(now)
		if prev != 0 && t.tracking.Load() {
			gap := now - prev
			for {
				cur := t.maxGap.Load()
				if gap <= cur || t.maxGap.CompareAndSwap(cur, gap) {
					break
				}
			}
			if time.Duration(gap) > t.interval+time.Second {
				t.late.Add(1)
			}
		}
	}
	w.Header().Set("Content-Length", "2")
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(okBody)
}

// perMonitor copies the per-monitor request counts.
func (t *target) perMonitor() []int64 {
	out := make([]int64, len(t.per))
	for i := range t.per {
		out[i] = t.per[i].hits.Load()
	}
	return out
}
