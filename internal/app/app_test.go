package app

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/config"
)

// syncBuffer is a Console that the test can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startServer(t *testing.T, cfg config.Config, adminPW string) (addr string, console *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	console = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Version: "test", AdminPassword: adminPW, Console: console,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: ready})
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start in 30s")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return addr, console, stop
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.HTTP.ShutdownTimeout = 10 * time.Second
	return cfg
}

func TestFirstStartCreatesAdminAndPrintsPasswordOnce(t *testing.T) {
	cfg := testConfig(t)
	addr, console, stop := startServer(t, cfg, "")
	out := console.String()
	i := strings.Index(out, "with password ")
	if i < 0 {
		t.Fatalf("console lacks the generated password:\n%s", out)
	}
	pw := strings.Fields(out[i+len("with password "):])[0]
	// Ready once the stored monitors are scheduled, a moment after listening.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz never 200: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// The printed password works and must be changed; a restart prints nothing.
	db, err := OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	as := NewAuth(db, cfg, nil)
	_, p, err := as.Login(context.Background(), "admin", pw, "127.0.0.1", "test")
	if err != nil || !p.MustChangePassword || p.Role != auth.RoleAdmin {
		t.Fatalf("login with printed password: %+v %v", p, err)
	}
	db.Close()
	_, console2, _ := startServer(t, cfg, "")
	if strings.Contains(console2.String(), "password") {
		t.Fatalf("second start mentions a password:\n%s", console2.String())
	}
}

// TestShutdownDrainsInFlightRequests starts a request whose body arrives
// slowly, cancels the server's context mid-request, and expects the request
// to finish and its write to be committed before Run returns.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	cfg := testConfig(t)
	addr, _, stop := startServer(t, cfg, "a fine admin password")

	db, err := OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	as := NewAuth(db, cfg, nil)
	raw, _, err := as.CreateToken(auth.WithActor(context.Background(), auth.CLIActor("test")), auth.NewToken{Name: "t", Role: auth.RoleAdmin})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	// A raw connection, so the bytes are on the wire when we say they are.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"username":"late","role":"viewer","password":"long enough password"}`
	head := "POST /api/v1/users HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + raw +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := conn.Write([]byte(head + body[:20])); err != nil {
		t.Fatal(err)
	}
	// Give the server a moment to accept the connection and read the
	// headers; only then is the request in flight.
	time.Sleep(200 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(300 * time.Millisecond) // Shutdown has begun; the body is half sent
	if _, err := conn.Write([]byte(body[20:])); err != nil {
		t.Fatalf("send rest of body during shutdown: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request: status %d", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
	db, err = OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := NewAuth(db, cfg, nil).GetUserByName(context.Background(), "late"); err != nil {
		t.Fatalf("user written during shutdown is missing: %v", err)
	}
}

func TestRunRefusesABusyAddress(t *testing.T) {
	cfg := testConfig(t)
	addr, _, _ := startServer(t, cfg, "a fine admin password")
	cfg2 := testConfig(t)
	cfg2.Addr = addr
	err := Run(context.Background(), cfg2, Options{Console: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Run on a busy address: %v", err)
	}
}

// TestMonitorsFileOnStartAndReload: the monitors file is applied on start,
// a broken one stops the start, and a reload applies a changed one.
func TestMonitorsFileOnStartAndReload(t *testing.T) {
	cfg := testConfig(t)
	file := filepath.Join(t.TempDir(), "monitors.yaml")
	cfg.MonitorsPath = file
	if err := os.WriteFile(file, []byte("monitors:\n  - name: site\n    type: http\n    url: http://127.0.0.1:1/\n    interval: 1h\n  - name: broken\n    type: http\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), cfg, Options{Console: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "monitors.yaml:6") || !strings.Contains(err.Error(), "url") {
		t.Fatalf("start with a broken monitors file: %v", err)
	}
	if err := os.WriteFile(file, []byte("monitors:\n  - name: site\n    type: http\n    url: http://127.0.0.1:1/\n    interval: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Console: io.Discard, Logger: slog.New(slog.DiscardHandler), Ready: ready, Reload: reload, AdminPassword: "a fine admin password"})
	}()
	<-ready
	names := func() string {
		db, err := OpenStore(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.R.Query(`SELECT name FROM monitors WHERE source = 'file' ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			out = append(out, n)
		}
		return strings.Join(out, ",")
	}
	if got := names(); got != "site" {
		t.Fatalf("after start: %q", got)
	}
	if err := os.WriteFile(file, []byte("monitors:\n  - name: api\n    type: tcp\n    host: 127.0.0.1\n    port: 1\n    interval: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	deadline := time.Now().Add(20 * time.Second)
	for names() != "api" {
		if time.Now().After(deadline) {
			t.Fatalf("after reload: %q", names())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
