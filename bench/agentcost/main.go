// Command agentcost measures the opsdeck agent's own footprint: it serves
// the agent side of the wire contract (enroll + report, answering 200) on a
// loopback port, runs the real `opsdeck agent` binary against it, and
// samples the agent process's CPU time and RSS from /proc every second.
//
//	go build -o /tmp/opsdeck ./cmd/opsdeck
//	go run ./bench/agentcost -bin /tmp/opsdeck -interval 1s -duration 3m
//	go run ./bench/agentcost -bin /tmp/opsdeck -interval 30s -duration 5m -user nobody
//
// With -user the agent runs as that unprivileged user (the harness must be
// root to switch), which also proves it needs no privileges.
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

type server struct {
	mu       sync.Mutex
	reports  int
	withPkgs int
	gzBytes  int64
	rawBytes int64
	samples  int
	maxSeq   uint64
}

func (s *server) enroll(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"agent_id":1,"credential":"odagt_bench"}`)
}

func (s *server) report(w http.ResponseWriter, r *http.Request) {
	gz, _ := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	zr, err := gzip.NewReader(strings.NewReader(string(gz)))
	if err != nil {
		http.Error(w, `{"error":{"code":"bad_gzip"}}`, http.StatusBadRequest)
		return
	}
	raw, _ := io.ReadAll(io.LimitReader(zr, 8<<20))
	var rep struct {
		Seq      uint64 `json:"seq"`
		Software *struct {
			Packages []json.RawMessage `json:"packages"`
		} `json:"software"`
		Metrics []json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		http.Error(w, `{"error":{"code":"bad_json"}}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reports++
	s.gzBytes += int64(len(gz))
	s.rawBytes += int64(len(raw))
	s.samples += len(rep.Metrics)
	if rep.Software != nil && len(rep.Software.Packages) > 0 {
		s.withPkgs++
	}
	s.maxSeq = max(s.maxSeq, rep.Seq)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"accepted_seq":%d,"need_software":false,"interval_seconds":30}`, rep.Seq)
}

// procUsage reads a process's CPU time (user+system), RSS and the
// anonymous part of it (heap and stacks, as opposed to mapped binary pages).
func procUsage(pid int) (cpu time.Duration, rss, anon int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// fields after the comm: state(0) ... utime(11) stime(12)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	cpu = time.Duration(ut+st) * time.Second / clockTicks
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			rss = kb * 1024
		}
		if v, ok := strings.CutPrefix(l, "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			anon = kb * 1024
		}
	}
	return cpu, rss, anon, nil
}

func main() {
	bin := flag.String("bin", "", "opsdeck binary to run (required)")
	interval := flag.Duration("interval", 30*time.Second, "agent --interval")
	duration := flag.Duration("duration", 3*time.Minute, "how long to measure")
	warmup := flag.Duration("warmup", 5*time.Second, "time before measuring CPU (start-up, first inventory)")
	runAs := flag.String("user", "", "run the agent as this user (needs root)")
	watch := flag.String("watch", "/etc/hostname,/etc/hosts", "files for the agent to watch")
	flag.Parse()
	if *bin == "" {
		log.Fatal("agentcost: -bin is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	s := &server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/agent/enroll", s.enroll)
	mux.HandleFunc("POST /api/v1/agent/report", s.report)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, mux)

	state, err := os.MkdirTemp("", "agentcost-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(state)
	state = filepath.Join(state, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(*bin, "agent", "--server", "http://"+ln.Addr().String(), "--enroll", "odenr_bench",
		"--state", state, "--interval", interval.String(), "--watch", *watch, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if *runAs != "" {
		u, err := user.Lookup(*runAs)
		if err != nil {
			log.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(state, uid, gid); err != nil {
			log.Fatal(err)
		}
		os.Chmod(filepath.Dir(state), 0o755)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent"}
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	start := time.Now()
	var rss, anon []int64
	var cpu0, cpuEnd time.Duration
	var t0 time.Time
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
loop:
	for time.Since(start) < *duration+*warmup {
		select {
		case <-ctx.Done():
			break loop
		case err := <-exited:
			log.Fatalf("agentcost: the agent exited: %v", err)
		case <-tick.C:
		}
		c, r, an, err := procUsage(pid)
		if err != nil {
			log.Fatal(err)
		}
		if time.Since(start) < *warmup {
			cpu0, t0 = c, time.Now()
			continue
		}
		rss = append(rss, r)
		anon = append(anon, an)
		cpuEnd = c
	}
	wall := time.Since(t0)
	totalCPU, _, _, _ := procUsage(pid)
	cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	if len(rss) == 0 {
		log.Fatal("agentcost: no samples")
	}
	slices.Sort(rss)
	slices.Sort(anon)
	var sum int64
	for _, r := range rss {
		sum += r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	fmt.Printf("interval %s, measured %s after %s warm-up, user %q\n", *interval, wall.Round(time.Second), *warmup, *runAs)
	fmt.Printf("  CPU: %.3f%% of one core (%s CPU in %s); %s CPU in total incl. start-up\n",
		100*(cpuEnd-cpu0).Seconds()/wall.Seconds(), (cpuEnd - cpu0).Round(time.Millisecond), wall.Round(time.Second), totalCPU.Round(time.Millisecond))
	fmt.Printf("  RSS: min %s, median %s, mean %s, max %s; of which anonymous (heap, stacks): median %s, max %s\n",
		mib(rss[0]), mib(rss[len(rss)/2]), mib(sum/int64(len(rss))), mib(rss[len(rss)-1]), mib(anon[len(anon)/2]), mib(anon[len(anon)-1]))
	if s.reports > 0 {
		fmt.Printf("  reports: %d (%d with the package list), %.1f metric samples each, mean body %d B gzip'd (%d B JSON)\n",
			s.reports, s.withPkgs, float64(s.samples)/float64(s.reports), s.gzBytes/int64(s.reports), s.rawBytes/int64(s.reports))
	}
}
