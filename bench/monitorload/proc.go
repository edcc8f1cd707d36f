package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procCPU returns a process's user+system CPU time in clock ticks, from
// /proc/PID/stat (pid 0 means this process).
func procCPU(pid int) (int64, error) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces; fields count from
	// after its closing parenthesis: state is field 3, utime 14, stime 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name", path)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields", path, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad utime/stime", path)
	}
	return ut + st, nil
}

// procAlive reports whether pid runs (a zombie counts as gone).
func procAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// procMemory returns VmRSS and VmHWM (peak RSS) of pid in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, k := range []struct {
			name string
			dst  *int64
		}{{"VmRSS:", &rss}, {"VmHWM:", &hwm}} {
			if v, ok := strings.CutPrefix(line, k.name); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				*k.dst = kb << 10
			}
		}
	}
	return rss, hwm, sc.Err()
}

// machineBusy returns the CPU time all cores spent busy (user, nice,
// system, irq, softirq, steal) in clock ticks, like bench/run-api.sh.
func machineBusy() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var sum int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		sum += v
	}
	return sum, nil
}

// cpuSample is the CPU counters at one moment.
type cpuSample struct {
	server, self, machine int64
}

func sampleCPU(pid int) (cpuSample, error) {
	var c cpuSample
	var err error
	if c.server, err = procCPU(pid); err != nil {
		return c, err
	}
	if c.self, err = procCPU(0); err != nil {
		return c, err
	}
	c.machine, err = machineBusy()
	return c, err
}

// cores converts tick deltas over secs seconds into cores used by the
// server, by this process (target and driver), and by everything else.
func (c cpuSample) cores(later cpuSample, tck, secs float64) (server, self, rest float64) {
	server = float64(later.server-c.server) / tck / secs
	self = float64(later.self-c.self) / tck / secs
	rest = max(float64(later.machine-c.machine)/tck/secs-server-self, 0)
	return server, self, rest
}

// memWatch samples a process's VmRSS periodically and keeps the maxima over
// the whole run and over the current window.
type memWatch struct {
	pid  int
	mu   sync.Mutex
	all  int64
	win  int64
	stop chan struct{}
	done chan struct{}
}

func newMemWatch(pid int) *memWatch { return &memWatch{pid: pid} }

// start samples every period until the returned function is called.
func (m *memWatch) start(period time.Duration) func() {
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(m.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(m.stop); <-m.done }
}

func (m *memWatch) sample() {
	rss, _, err := procMemory(m.pid)
	if err != nil {
		return
	}
	m.mu.Lock()
	m.all, m.win = max(m.all, rss), max(m.win, rss)
	m.mu.Unlock()
}

func (m *memWatch) resetWindow() {
	m.mu.Lock()
	m.win = 0
	m.mu.Unlock()
	m.sample()
}

func (m *memWatch) windowMax() int64 {
	m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.win
}

func (m *memWatch) max() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.all
}
