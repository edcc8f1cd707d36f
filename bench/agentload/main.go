// Command agentload simulates a fleet of opsdeck agents against a running
// server: it enrolls each agent (making its enrollment token through the
// admin API), then has every agent report on its own schedule, the first
// report with facts and the whole package inventory, every later one with
// about 20 metric samples and only the unchanged inventory hash, as real
// agents do. It prints report latency percentiles for the first reports and
// for the steady state, and the server's CPU and RSS read from /proc.
//
//	agentload -url http://127.0.0.1:8080 -token odk_... -pid 1234 -agents 1000 -interval 30s -duration 3m
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

func main() {
	base := flag.String("url", "", "server base URL")
	token := flag.String("token", "", "admin API token (to make enrollment tokens)")
	pid := flag.Int("pid", 0, "server process id, for CPU and RSS from /proc (0: not measured)")
	agents := flag.Int("agents", 1000, "simulated agents")
	interval := flag.Duration("interval", 30*time.Second, "report interval of each agent")
	duration := flag.Duration("duration", 3*time.Minute, "steady-state measurement after every agent's first report")
	npkg := flag.Int("packages", 1500, "packages in each inventory")
	nsamples := flag.Int("samples", 20, "metric samples per report")
	distinct := flag.Bool("distinct", false, "give every agent its own inventory (one package version differs), so none is shared")
	ramp := flag.Duration("ramp", 0, "start the agents over this long (default: one interval)")
	flag.Parse()
	if *base == "" || *token == "" {
		fmt.Fprintln(os.Stderr, "agentload: -url and -token are required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	l := &loader{base: strings.TrimSuffix(*base, "/"), admin: *token, samples: *nsamples, distinct: *distinct, ramp: *ramp,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: *agents + 10, MaxIdleConnsPerHost: *agents + 10}}}
	l.pkgs = make([]wire.Package, *npkg)
	for i := range l.pkgs {
		l.pkgs[i] = wire.Package{Name: fmt.Sprintf("package-%04d", i), Version: fmt.Sprintf("1.%d.%d-1", i%17, i%5), Arch: "amd64", Source: "dpkg"}
	}
	l.hash = wire.Hash(l.pkgs)
	if err := l.run(ctx, *agents, *interval, *duration, *pid); err != nil {
		fmt.Fprintln(os.Stderr, "agentload:", err)
		os.Exit(1)
	}
}

type loader struct {
	base, admin string
	client      *http.Client
	pkgs        []wire.Package
	hash        string
	samples     int
	distinct    bool
	ramp        time.Duration

	mu               sync.Mutex
	first, steady    []time.Duration
	errors, statuses map[string]int
	measuring        bool
}

type agent struct {
	id         int
	host, cred string
	seq        uint64
	pkgs       []wire.Package
	hash       string
}

func (l *loader) run(ctx context.Context, n int, interval, duration time.Duration, pid int) error {
	l.errors, l.statuses = map[string]int{}, map[string]int{}
	t0 := time.Now()
	agents := make([]*agent, n)
	var enrollLat []time.Duration
	var emu sync.Mutex
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var ferr error
	for i := range agents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a := &agent{id: i, host: fmt.Sprintf("sim-%04d", i)}
			t := time.Now()
			if err := l.enroll(ctx, a); err != nil {
				emu.Lock()
				ferr = err
				emu.Unlock()
				return
			}
			emu.Lock()
			enrollLat = append(enrollLat, time.Since(t))
			emu.Unlock()
			agents[i] = a
		}()
	}
	wg.Wait()
	if ferr != nil {
		return ferr
	}
	fmt.Printf("enrolled %d agents in %s (p50 %s, p99 %s per enrollment incl. token creation)\n", n, time.Since(t0).Round(time.Millisecond),
		pct(enrollLat, 50), pct(enrollLat, 99))

	// Every agent reports on its own phase in the interval, like a fleet
	// started over time. The first interval carries the inventories.
	ramp := l.ramp
	if ramp <= 0 {
		ramp = interval
	}
	start := time.Now()
	warmEnd := start.Add(ramp + interval + 2*time.Second)
	end := warmEnd.Add(duration)
	rctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	for _, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			offset := time.Duration(int64(ramp) * int64(a.id) / int64(n))
			next := start.Add(offset)
			for {
				select {
				case <-rctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				l.report(rctx, a)
				next = next.Add(interval)
			}
		}()
	}
	// Measure the steady state: CPU over the window, RSS sampled.
	time.Sleep(time.Until(warmEnd))
	l.mu.Lock()
	l.measuring = true
	firstN := len(l.first)
	l.mu.Unlock()
	cpu0, _ := cpuTicks(pid)
	m0 := time.Now()
	var maxRSS int64
	tick := time.NewTicker(time.Second)
	for time.Now().Before(end) && ctx.Err() == nil {
		<-tick.C
		if r, err := rssBytes(pid); err == nil {
			maxRSS = max(maxRSS, r)
		}
	}
	tick.Stop()
	cpu1, _ := cpuTicks(pid)
	secs := time.Since(m0).Seconds()
	wg.Wait()

	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Printf("first reports (facts + %d packages): n=%d p50=%s p99=%s max=%s\n", len(l.pkgs), firstN, pct(l.first, 50), pct(l.first, 99), pct(l.first, 100))
	rate := float64(len(l.steady)) / secs
	fmt.Printf("steady reports (%d samples, unchanged inventory hash): n=%d (%.1f/s) p50=%s p90=%s p99=%s max=%s\n",
		l.samples, len(l.steady), rate, pct(l.steady, 50), pct(l.steady, 90), pct(l.steady, 99), pct(l.steady, 100))
	if len(l.errors) > 0 {
		fmt.Printf("errors: %v\n", l.errors)
	}
	fmt.Printf("statuses: %v\n", l.statuses)
	cpu := 0.0
	if pid > 0 {
		cpu = float64(cpu1-cpu0) / 100 / secs // USER_HZ is 100 on Linux
		fmt.Printf("server pid %d: cpu %.3f cores over %.0fs steady state, max RSS %.1f MiB\n", pid, cpu, secs, float64(maxRSS)/(1<<20))
	}
	nerr := 0
	for _, v := range l.errors {
		nerr += v
	}
	fmt.Printf("RESULT agents=%d interval_s=%.0f reports_per_s=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f first_p99_ms=%.2f errors=%d server_cpu=%.3f server_rss_mib=%.1f\n",
		len(agents), interval.Seconds(), rate, ms(pct(l.steady, 50)), ms(pct(l.steady, 99)), ms(pct(l.steady, 100)), ms(pct(l.first, 99)), nerr, cpu, float64(maxRSS)/(1<<20))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

func (l *loader) enroll(ctx context.Context, a *agent) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", l.base+"/api/v1/agent-tokens", strings.NewReader(`{"ttl":"1h","note":"agentload"}`))
	req.Header.Set("Authorization", "Bearer "+l.admin)
	req.Header.Set("Content-Type", "application/json")
	var tok struct{ Token string }
	if err := l.call(req, http.StatusCreated, &tok); err != nil {
		return fmt.Errorf("create enrollment token: %w", err)
	}
	b, _ := json.Marshal(wire.EnrollRequest{Token: tok.Token, Hostname: a.host, MachineID: fmt.Sprintf("%032x", a.id+1), AgentVersion: "agentload"})
	req, _ = http.NewRequestWithContext(ctx, "POST", l.base+"/api/v1/agent/enroll", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	var er wire.EnrollResponse
	if err := l.call(req, http.StatusCreated, &er); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	a.cred = er.Credential
	a.pkgs, a.hash = l.pkgs, l.hash
	if l.distinct {
		a.pkgs = slices.Clone(l.pkgs)
		a.pkgs[0].Version = fmt.Sprintf("1.0-%d", a.id)
		a.hash = wire.Hash(a.pkgs)
	}
	return nil
}

func (l *loader) call(req *http.Request, want int, v any) error {
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// report sends one report of a and records its latency.
func (l *loader) report(ctx context.Context, a *agent) {
	a.seq++
	now := time.Now()
	r := wire.Report{Seq: a.seq, SentAt: now.UTC(), AgentVersion: "agentload", Software: &wire.Software{Hash: a.hash}}
	first := a.seq == 1
	if first {
		r.Software.Packages = a.pkgs
		r.Facts = &wire.Facts{Hostname: a.host, MachineID: fmt.Sprintf("%032x", a.id+1), OS: wire.OSInfo{Name: "Debian GNU/Linux", Version: "12", ID: "debian", Pretty: "Debian GNU/Linux 12 (bookworm)"},
			Kernel: "6.1.0-28-amd64", Arch: "x86_64", CPU: wire.CPUInfo{Model: "Simulated CPU", Cores: 4, Threads: 8}, MemoryBytes: 16 << 30,
			Serial: "SIM-" + strconv.Itoa(a.id), Vendor: "Sim", Model: "Load 1",
			Interfaces: []wire.Interface{{Name: "eth0", MAC: "52:54:00:00:00:01", MTU: 1500, Addrs: []string{fmt.Sprintf("10.%d.%d.%d/16", a.id>>16&255, a.id>>8&255, a.id&255)}}}}
	}
	names := []struct{ n, k string }{{"cpu.used_pct", ""}, {"cpu.iowait_pct", ""}, {"mem.used_pct", ""}, {"mem.used_bytes", ""}, {"mem.total_bytes", ""},
		{"swap.used_pct", ""}, {"load.1", ""}, {"load.5", ""}, {"load.15", ""}, {"disk.used_pct", "/"}, {"disk.used_bytes", "/"}, {"disk.free_bytes", "/"},
		{"disk.used_pct", "/var"}, {"diskio.read_bps", "sda"}, {"diskio.write_bps", "sda"}, {"net.rx_bps", "eth0"}, {"net.tx_bps", "eth0"},
		{"agent.rss_bytes", ""}, {"agent.cpu_pct", ""}, {"disk.free_bytes", "/var"}}
	for i := 0; i < l.samples; i++ {
		m := names[i%len(names)]
		r.Metrics = append(r.Metrics, wire.Sample{T: now.Unix(), Name: m.n, Key: m.k, Value: float64((a.id*7+int(a.seq)*13+i)%100) + 0.5})
	}
	raw, _ := json.Marshal(r)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", l.base+"/api/v1/agent/report", &buf)
	req.Header.Set("Authorization", "Bearer "+a.cred)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	t := time.Now()
	resp, err := l.client.Do(req)
	lat := time.Since(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			l.errors[strings.SplitN(err.Error(), ":", 2)[0]]++
		}
		a.seq--
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	l.statuses[strconv.Itoa(resp.StatusCode)]++
	if resp.StatusCode == http.StatusConflict {
		// Delivered before (the answer was lost): go on after it, as the
		// agent drops its spooled reports up to accepted_seq.
		var rep struct {
			AcceptedSeq uint64 `json:"accepted_seq"`
		}
		if json.Unmarshal(body, &rep) == nil && rep.AcceptedSeq >= a.seq {
			a.seq = rep.AcceptedSeq
		}
	}
	if resp.StatusCode != http.StatusOK {
		l.errors["status "+strconv.Itoa(resp.StatusCode)]++
		if resp.StatusCode == http.StatusBadRequest && l.errors["status 400"] <= 3 {
			fmt.Fprintf(os.Stderr, "400: %s\n", body)
		}
		if resp.StatusCode >= 500 {
			a.seq-- // kept in the spool and sent again
		}
		return
	}
	if first {
		l.first = append(l.first, lat)
	} else if l.measuring {
		l.steady = append(l.steady, lat)
	}
}

// cpuTicks is a process's user+system CPU time in clock ticks.
func cpuTicks(pid int) (int64, error) {
	if pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may hold spaces) start past ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

// rssBytes is a process's resident set size.
func rssBytes(pid int) (int64, error) {
	if pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}
