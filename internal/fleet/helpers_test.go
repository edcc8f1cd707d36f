package fleet

import (
	"context"
	"sync"
	"testing"
	"time"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	db    *store.DB
	f     *Service
	ci    *cmdb.Service
	as    *assets.Service
	clock *clock
	ctx   context.Context
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := auth.WithActor(context.Background(), auth.SystemActor())
	ck := &clock{t: time.Now().UTC().Truncate(time.Second)}
	ci := cmdb.NewService(db, cmdb.Options{})
	if err := ci.Start(ctx); err != nil {
		t.Fatal(err)
	}
	as := assets.NewService(db, assets.Options{CMDB: ci})
	f := NewService(db, Options{CMDB: ci, Assets: as, Now: ck.Now})
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.batch.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{db: db, f: f, ci: ci, as: as, clock: ck, ctx: ctx}
}

// enroll makes a token and enrolls a host with it.
func (e *env) enroll(t *testing.T, host, machine string) wire.EnrollResponse {
	t.Helper()
	tok, _, err := e.f.CreateToken(e.ctx, time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.f.Enroll(e.ctx, wire.EnrollRequest{Token: tok, Hostname: host, MachineID: machine, AgentVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.R.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func facts(host, machine, serial string) *wire.Facts {
	return &wire.Facts{Hostname: host, MachineID: machine, OS: wire.OSInfo{Name: "Debian GNU/Linux", Version: "12", ID: "debian", Pretty: "Debian GNU/Linux 12 (bookworm)"},
		Kernel: "6.1.0", Arch: "x86_64", CPU: wire.CPUInfo{Model: "Xeon", Cores: 4, Threads: 8}, MemoryBytes: 8 << 30,
		Vendor: "Dell Inc.", Model: "PowerEdge R640", Serial: serial,
		Interfaces: []wire.Interface{{Name: "lo", Addrs: []string{"127.0.0.1/8"}}, {Name: "eth0", MAC: "52:54:00:12:34:56", MTU: 1500, Addrs: []string{"fe80::1/64", "192.0.2.10/24"}}}}
}

func pkgs(n int) []wire.Package {
	out := make([]wire.Package, n)
	for i := range out {
		out[i] = wire.Package{Name: "pkg" + string(rune('a'+i%26)) + time.Duration(i).String(), Version: "1.0", Arch: "amd64", Source: "dpkg"}
	}
	return out
}

func report(seq uint64) *wire.Report {
	return &wire.Report{Seq: seq, SentAt: time.Now().UTC(), AgentVersion: "1.0"}
}
