package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// addUser inserts a user row directly (no password hashing needed here).
func addUser(t testing.TB, db *store.DB, name string) int64 {
	t.Helper()
	var id int64
	now := time.Now().UTC()
	if err := db.W.QueryRowContext(context.Background(), `INSERT INTO users (username, role, password_hash, created_at, updated_at)
		VALUES ($1, 'operator', 'x', $2, $2) RETURNING id`, name, now).Scan(&id); err != nil {
		t.Fatalf("add user: %v", err)
	}
	return id
}

// mustChannel saves a channel or fails the test.
func mustChannel(t testing.TB, s *Service, name, kind string, settings any) ChannelConfig {
	t.Helper()
	raw, _ := json.Marshal(settings)
	c, err := s.SaveChannel(context.Background(), 0, ChannelInput{Name: name, Kind: kind, Settings: raw})
	if err != nil {
		t.Fatalf("save channel %s: %v", name, err)
	}
	return c
}

// inTx runs fn in a write transaction, as callers of the seams do.
func inTx(t testing.TB, db *store.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	if err := db.Tx(context.Background(), fn); err != nil {
		t.Fatalf("tx: %v", err)
	}
}

// wantField fails unless err is a validation error naming field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	ve, ok := valid.As(err)
	if !ok {
		t.Fatalf("want a validation error on %s, got %v", field, err)
	}
	if ve.Field != field {
		t.Fatalf("want the error on %s, got it on %s (%v)", field, ve.Field, ve)
	}
}

// outcomes collects OnOutcome calls.
type outcomes struct {
	mu  sync.Mutex
	all []Outcome
	ch  chan Outcome
}

func newOutcomes() *outcomes { return &outcomes{ch: make(chan Outcome, 10000)} }

func (o *outcomes) record(_ context.Context, x Outcome) {
	o.mu.Lock()
	o.all = append(o.all, x)
	o.mu.Unlock()
	o.ch <- x
}

// waitFor blocks until cond holds on a fresh read of the outbox, failing
// with every goroutine's stack after a generous bound so a hang names
// itself instead of timing the whole suite out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("gave up waiting for %s\n%s", what, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countStatus counts outbox rows in a status.
func countStatus(t *testing.T, db *store.DB, st Status) int {
	t.Helper()
	var n int
	if err := db.R.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM notifications WHERE status = $1`, string(st)).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// runWorker starts s.Run and stops it when the test ends.
func runWorker(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("worker: %v", err)
		}
	})
}

// receiver is a webhook receiver on a fixed loopback port that can be
// taken down (listener closed) and brought back on the same port.
type receiver struct {
	t       *testing.T
	addr    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
}

func newReceiver(t *testing.T, h http.Handler) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: ln.Addr().String(), handler: h}
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) URL() string { return "http://" + r.addr + "/hook" }

func (r *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: r.handler, ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// up re-opens the listener on the same port.
func (r *receiver) up() {
	var ln net.Listener
	var err error
	for range 100 { // the port may linger briefly after close
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("re-listen on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

// captured is one request a test receiver got.
type captured struct {
	Header http.Header
	Body   []byte
	Path   string
}

// capture is a handler that records requests and answers status.
type capture struct {
	mu     sync.Mutex
	got    []captured
	status int
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.got = append(c.got, captured{Header: r.Header.Clone(), Body: b, Path: r.URL.Path})
	st := c.status
	c.mu.Unlock()
	if st == 0 {
		st = http.StatusOK
	}
	w.WriteHeader(st)
	fmt.Fprint(w, `{"ok":true}`)
}

func (c *capture) requests() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.got...)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func pgAvailable() bool { return os.Getenv(storetest.EnvPostgres) != "" }
