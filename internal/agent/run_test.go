package agent

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// fakeFleet is a stand-in for the server side of the wire contract: it
// enrolls, decodes gzip'd reports with the contract's limits, validates them
// and keeps the accepted sequence numbers. status, when set, decides the
// answer to a report before the normal handling.
type fakeFleet struct {
	t *testing.T

	mu          sync.Mutex
	enrolls     int
	lastSeq     uint64
	accepted    []wire.Report
	attempts    int
	status      func(r *wire.Report) int
	needSW      bool
	gzipSeen    bool
	enrollToken string
}

func newFakeFleet(t *testing.T) (*fakeFleet, *httptest.Server) {
	f := &fakeFleet{t: t, enrollToken: "odenr_good"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/agent/enroll", f.enroll)
	mux.HandleFunc("POST /api/v1/agent/report", f.report)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeFleet) enroll(w http.ResponseWriter, r *http.Request) {
	var req enrollRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, 400, map[string]any{"error": map[string]string{"code": "bad_request"}})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Token != f.enrollToken || req.Hostname == "" {
		writeJSON(w, 401, map[string]any{"error": map[string]string{"code": "invalid_token", "message": "unknown, used or expired token"}})
		return
	}
	f.enrolls++
	writeJSON(w, 201, map[string]any{"agent_id": 7, "credential": "odagt_secret"})
}

func (f *fakeFleet) report(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer odagt_secret" {
		writeJSON(w, 401, map[string]any{"error": map[string]string{"code": "unauthorized"}})
		return
	}
	body := io.Reader(http.MaxBytesReader(w, r.Body, maxBodyGzip))
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			writeJSON(w, 400, map[string]any{"error": map[string]string{"code": "bad_gzip"}})
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxBodyRaw+1))
	if err != nil || len(raw) > maxBodyRaw {
		writeJSON(w, 413, map[string]any{"error": map[string]string{"code": "too_large"}})
		return
	}
	var rep wire.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		writeJSON(w, 400, map[string]any{"error": map[string]string{"code": "bad_json"}})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	f.gzipSeen = f.gzipSeen || gz
	if f.status != nil {
		if s := f.status(&rep); s != 0 {
			writeJSON(w, s, map[string]any{"error": map[string]string{"code": "test", "message": "status " + http.StatusText(s)}})
			return
		}
	}
	if err := rep.Validate(); err != nil {
		writeJSON(w, 400, map[string]any{"error": map[string]string{"code": "invalid", "message": err.Error()}})
		return
	}
	if rep.Seq <= f.lastSeq {
		writeJSON(w, 409, map[string]any{"error": map[string]string{"code": "replay"}, "accepted_seq": f.lastSeq})
		return
	}
	f.lastSeq = rep.Seq
	f.accepted = append(f.accepted, rep)
	need := f.needSW
	f.needSW = false
	writeJSON(w, 200, map[string]any{"accepted_seq": rep.Seq, "need_software": need, "interval_seconds": 30})
}

func (f *fakeFleet) seqs() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]uint64, len(f.accepted))
	for i, r := range f.accepted {
		out[i] = r.Seq
	}
	return out
}

// testConfig is a fast agent: reports every 20 ms, short backoff, no apt.
func testConfig(t *testing.T, server string) Config {
	return Config{
		Server: server, EnrollToken: "odenr_good", StateDir: t.TempDir(),
		Interval: 20 * time.Millisecond, UpdatesEvery: -1,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		Version: "test", Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// runAgent starts Run and returns a stop function that cancels it and
// returns Run's error.
func runAgent(t *testing.T, cfg Config) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spooledSeqs lists the reports left in a state folder's spool.
func spooledSeqs(t *testing.T, state string) []uint64 {
	ents, err := os.ReadDir(filepath.Join(state, "spool"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []uint64
	for _, e := range ents {
		if seq, ok := parseSpoolName(e.Name()); ok {
			out = append(out, seq)
		}
	}
	return out
}

func TestRunDeliversEverySeqOnceInOrderAcrossOutage(t *testing.T) {
	f, srv := newFakeFleet(t)
	down := true
	f.status = func(*wire.Report) int {
		if down {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	cfg := testConfig(t, srv.URL)
	stop := runAgent(t, cfg)
	// While the server answers 503, reports pile up in the spool.
	waitFor(t, "10 spooled reports", func() bool { return len(spooledSeqs(t, cfg.StateDir)) >= 10 })
	if got := f.seqs(); len(got) != 0 {
		t.Fatalf("accepted during the outage: %v", got)
	}
	f.mu.Lock()
	down = false
	f.mu.Unlock()
	waitFor(t, "25 accepted reports", func() bool { return len(f.seqs()) >= 25 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := f.seqs()
	left := spooledSeqs(t, cfg.StateDir)
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("accepted seqs not 1,2,3...: %v", got)
		}
	}
	// A report the server committed just as the agent stopped may still be
	// spooled (at least once delivery); the next start gets a 409 for it.
	var undelivered []uint64
	for _, s := range left {
		if s > uint64(len(got)) {
			undelivered = append(undelivered, s)
		}
	}
	for i, s := range undelivered {
		if s != uint64(len(got)+i+1) {
			t.Fatalf("spool after stop %v does not continue accepted %v", left, got)
		}
	}
	left = undelivered
	last, _ := stateDir(cfg.StateDir).lastSeq()
	if last != uint64(len(got)+len(left)) {
		t.Fatalf("seq file %d, accepted %d + spooled %d", last, len(got), len(left))
	}
	if !f.gzipSeen {
		t.Error("reports not gzip'd")
	}
	// The first report carries facts and packages; the next ones the hash only.
	first, second := f.accepted[0], f.accepted[1]
	if first.Facts == nil || first.Facts.Hostname == "" || first.Software == nil || len(first.Software.Packages) < 100 {
		t.Errorf("first report lacks facts or packages")
	}
	if second.Facts != nil || second.Software == nil || second.Software.Packages != nil || second.Software.Hash != first.Software.Hash {
		t.Errorf("second report resends facts or packages")
	}
	if len(second.Metrics) == 0 {
		t.Error("no metrics")
	}

	// A restart continues the sequence and sends the leftovers first.
	f.mu.Lock()
	f.needSW = true
	f.mu.Unlock()
	n := len(got)
	stop = runAgent(t, cfg)
	waitFor(t, "10 more", func() bool { return len(f.seqs()) >= n+len(left)+10 })
	stop()
	got = f.seqs()
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("after restart accepted seqs are not 1,2,3...: %v", got)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	withPkgs := 0
	for _, r := range f.accepted[n:] {
		if r.Software != nil && len(r.Software.Packages) > 0 {
			withPkgs++
		}
	}
	if withPkgs == 0 {
		t.Error("need_software / restart did not bring the package list")
	}
	if f.enrolls != 1 {
		t.Errorf("enrolled %d times", f.enrolls)
	}
}

func TestRunReplay409(t *testing.T) {
	f, srv := newFakeFleet(t)
	cfg := testConfig(t, srv.URL)
	// Spool five reports while the server is down.
	down := true
	f.status = func(*wire.Report) int {
		if down {
			return http.StatusBadGateway
		}
		return 0
	}
	stop := runAgent(t, cfg)
	waitFor(t, "5 spooled", func() bool { return len(spooledSeqs(t, cfg.StateDir)) >= 5 })
	stop()
	spooled := spooledSeqs(t, cfg.StateDir)
	// The server had committed the first three (the answers were lost).
	f.mu.Lock()
	down = false
	f.lastSeq = 3
	f.mu.Unlock()
	stop = runAgent(t, cfg)
	waitFor(t, "new reports", func() bool { return len(f.seqs()) >= 5 })
	stop()
	got := f.seqs()
	if got[0] != 4 {
		t.Fatalf("after 409 through 3 the first accepted is %d: %v (spooled %v)", got[0], got, spooled)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("gap or duplicate: %v", got)
		}
	}
}

func TestRunReinstalledHostSkipsPastServerSeq(t *testing.T) {
	f, srv := newFakeFleet(t)
	f.lastSeq = 1000 // the server knows this machine from before a reinstall
	cfg := testConfig(t, srv.URL)
	stop := runAgent(t, cfg)
	waitFor(t, "accepted", func() bool { return len(f.seqs()) >= 3 })
	stop()
	if got := f.seqs(); got[0] <= 1000 {
		t.Fatalf("accepted %v", got)
	}
	// The refused first reports carried the facts and packages: the first
	// accepted one carries them again.
	f.mu.Lock()
	defer f.mu.Unlock()
	// (A report being built while the 409 came back may arrive first.)
	facts, pkgs := false, false
	for _, r := range f.accepted[:2] {
		facts = facts || r.Facts != nil
		pkgs = pkgs || (r.Software != nil && len(r.Software.Packages) > 0)
	}
	if !facts || !pkgs {
		t.Errorf("facts (%v) or packages (%v) lost with the replayed reports", facts, pkgs)
	}
}

func TestRunDropsRefusedReports(t *testing.T) {
	f, srv := newFakeFleet(t)
	f.status = func(r *wire.Report) int {
		switch r.Seq {
		case 2:
			return http.StatusBadRequest
		case 3:
			return http.StatusRequestEntityTooLarge
		}
		return 0
	}
	cfg := testConfig(t, srv.URL)
	stop := runAgent(t, cfg)
	waitFor(t, "accepted", func() bool { return len(f.seqs()) >= 5 })
	stop()
	got := f.seqs()
	if got[0] != 1 || got[1] != 4 || got[2] != 5 {
		t.Fatalf("accepted %v, want 1,4,5,...", got)
	}
}

func TestRunUnauthorizedKeepsSpool(t *testing.T) {
	f, srv := newFakeFleet(t)
	f.status = func(*wire.Report) int { return http.StatusUnauthorized }
	cfg := testConfig(t, srv.URL)
	cfg.MaxBackoff = time.Hour // a 401 waits the longest backoff: at least half an hour here
	stop := runAgent(t, cfg)
	waitFor(t, "spooled", func() bool { return len(spooledSeqs(t, cfg.StateDir)) >= 5 })
	stop()
	f.mu.Lock()
	attempts := f.attempts
	f.mu.Unlock()
	if attempts != 1 {
		t.Errorf("401 retried %d times in a short run: not slow", attempts)
	}
	if s := spooledSeqs(t, cfg.StateDir); s[0] != 1 {
		t.Errorf("spool lost reports after 401: %v", s)
	}
}

func TestEnrollment(t *testing.T) {
	f, srv := newFakeFleet(t)
	cfg := testConfig(t, srv.URL)
	cfg.EnrollToken = "odenr_wrong"
	err := Run(context.Background(), cfg)
	if !errors.Is(err, errEnrollRefused) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "credential")); err == nil {
		t.Fatal("credential written after refusal")
	}
	cfg.EnrollToken = ""
	if err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "--enroll") {
		t.Fatalf("no token: %v", err)
	}

	cfg.EnrollToken = "odenr_good"
	stop := runAgent(t, cfg)
	waitFor(t, "a report", func() bool { return len(f.seqs()) >= 1 })
	stop()
	info, err := os.Stat(filepath.Join(cfg.StateDir, "credential"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("credential: %v %v", info, err)
	}
	id, err := stateDir(cfg.StateDir).identity()
	if err != nil || id.AgentID != 7 || id.Server != srv.URL {
		t.Fatalf("agent.json: %+v %v", id, err)
	}
	// Enrolled: no token and no --server needed any more.
	cfg.EnrollToken, cfg.Server = "", ""
	n := len(f.seqs())
	stop = runAgent(t, cfg)
	waitFor(t, "reports without re-enrolling", func() bool { return len(f.seqs()) >= n+2 })
	stop()
	if f.enrolls != 1 {
		t.Errorf("enrolled %d times", f.enrolls)
	}
}

func TestEnrollmentWaitsForServer(t *testing.T) {
	f, srv := newFakeFleet(t)
	failing := 3
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/enroll") && failing > 0 {
			failing--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		srv.Config.Handler.ServeHTTP(w, r)
	})
	flaky := httptest.NewServer(mux)
	defer flaky.Close()
	cfg := testConfig(t, flaky.URL)
	stop := runAgent(t, cfg)
	waitFor(t, "a report", func() bool { return len(f.seqs()) >= 1 })
	stop()
}

func TestRunBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Server: "ftp://x", StateDir: t.TempDir()},
		{Server: "not a url", StateDir: t.TempDir()},
		{StateDir: t.TempDir()},
		{Server: "http://x", StateDir: t.TempDir(), Interval: -time.Second},
		{Server: "http://x", StateDir: t.TempDir(), EnrollToken: "t", Watch: []string{"etc/passwd"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := Run(ctx, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
		cancel()
	}
}

// TestRunSurvivesServerRestart stops the server process entirely
// (connection refused, not 503) and starts it again on the same address:
// everything collected meanwhile arrives once, in order.
func TestRunSurvivesServerRestart(t *testing.T) {
	f, srv := newFakeFleet(t)
	addr := srv.Listener.Addr().String()
	handler := srv.Config.Handler
	cfg := testConfig(t, srv.URL)
	stop := runAgent(t, cfg)
	waitFor(t, "first reports", func() bool { return len(f.seqs()) >= 3 })
	srv.Close()
	before := len(f.seqs())
	waitFor(t, "reports spooled while down", func() bool { return len(spooledSeqs(t, cfg.StateDir)) >= 10 })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv2 := &http.Server{Handler: handler}
	go srv2.Serve(ln)
	defer srv2.Close()
	waitFor(t, "the backlog", func() bool { return len(f.seqs()) >= before+15 })
	stop()
	got := f.seqs()
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("accepted seqs not 1,2,3...: %v", got)
		}
	}
}

func TestRunFollowsServerInterval(t *testing.T) {
	f, srv := newFakeFleet(t)
	// The fake answers interval_seconds 30; this one asks for 1 s.
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		srv.Config.Handler.ServeHTTP(rec, r)
		body := strings.Replace(rec.Body.String(), `"interval_seconds":30`, `"interval_seconds":1`, 1)
		w.WriteHeader(rec.Code)
		io.WriteString(w, body)
	})
	fast := httptest.NewServer(mux)
	defer fast.Close()
	cfg := testConfig(t, fast.URL)
	cfg.Interval = 0 // default 30 s, following the server
	stop := runAgent(t, cfg)
	// At 30 s the third report would come after a minute.
	waitFor(t, "three reports at the server's 1 s interval", func() bool { return len(f.seqs()) >= 3 })
	stop()
}
