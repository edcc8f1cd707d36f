package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/config"
)

// BenchmarkAPIMe is the in-process twin of bench/run-api.sh: a whole opsdeck
// (app.Run on 127.0.0.1:0, SQLite, request logs to a file as a redirected
// stderr would take them) answers GET /api/v1/me with a cached token, with
// request logs at info and at warn. It is closed-loop (32 clients, each
// sending when the last answer came), so it measures capacity, not latency;
// its use is a CPU profile of the request path without a pprof endpoint:
//
//	go test ./bench/apiload -run '^$' -bench APIMe -count 6 -cpuprofile /tmp/api.prof
//	go tool pprof -top -focus 'internal/web|internal/auth|net/http.\(\*conn\)' apiload.test /tmp/api.prof  # the binary -cpuprofile leaves here
func BenchmarkAPIMe(b *testing.B) {
	for _, level := range []string{"info", "warn"} {
		url, token := startServer(b, level)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.Run("log="+level, func(b *testing.B) {
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				req, err := http.NewRequest(http.MethodGet, url+"/api/v1/me", nil)
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+token)
				for pb.Next() {
					status, err := send(client, req)
					if err != nil || status != http.StatusOK {
						b.Errorf("GET /api/v1/me: status %d, %v", status, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// startServer runs a server with a fresh data folder until b ends and
// returns its base URL and a viewer token, made as `opsdeck token create`
// makes one.
func startServer(b *testing.B, logLevel string) (baseURL, token string) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.Log.Level = "127.0.0.1:0", dir, logLevel

	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	token, _, err = app.NewAuth(db, cfg, nil).CreateToken(auth.WithActor(ctx, auth.SystemActor()),
		auth.NewToken{Name: "bench", Role: auth.RoleViewer})
	db.Close()
	if err != nil {
		b.Fatal(err)
	}

	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(runCtx, cfg, app.Options{Version: "bench", AdminPassword: "bench-admin-password-1",
			Console: io.Discard, Logger: app.NewLogger(cfg.Log, logFile), Ready: ready})
	}()
	b.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			b.Errorf("server: %v", err)
		}
		logFile.Close()
	})
	select {
	case addr := <-ready:
		return "http://" + addr, token
	case err := <-done:
		done <- err
		b.Fatalf("server did not start: %v", err)
		return "", ""
	}
}
