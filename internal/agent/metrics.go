package agent

import (
	"maps"
	"slices"
	"syscall"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// sampler turns the cumulative counters of /proc into per-interval samples.
// Rates (CPU, disk and network I/O, the agent's own CPU) need the previous
// reading, so the first call after start gives levels only.
type sampler struct {
	h host

	prevT    time.Time
	prevCPU  cpuTimes
	prevDisk map[string]ioCounters
	prevNet  map[string]ioCounters
	prevSelf time.Duration // user+system CPU time of this process
}

func newSampler(h host) *sampler { return &sampler{h: h} }

// sample reads the metrics at now. Unreadable sources are skipped with their
// error returned; the samples that could be read are still returned.
func (s *sampler) sample(now time.Time) (out []wire.Sample, errs []error) {
	t := now.Unix()
	add := func(name, key string, v float64) {
		out = append(out, wire.Sample{T: t, Name: name, Key: key, Value: v})
	}
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	dt := now.Sub(s.prevT).Seconds()
	haveRate := !s.prevT.IsZero() && dt > 0.01

	if b, err := s.h.proc("stat"); err == nil {
		cpu, _, perr := parseStat(b)
		note(perr)
		if perr == nil {
			if haveRate && cpu.Total > s.prevCPU.Total && cpu.Idle >= s.prevCPU.Idle && cpu.IOWait >= s.prevCPU.IOWait {
				total := float64(cpu.Total - s.prevCPU.Total)
				idle := float64(cpu.Idle - s.prevCPU.Idle)
				iow := float64(cpu.IOWait - s.prevCPU.IOWait)
				add("cpu.used_pct", "", clampPct(100*(total-idle-iow)/total))
				add("cpu.iowait_pct", "", clampPct(100*iow/total))
			}
			s.prevCPU = cpu
		}
	} else {
		note(err)
	}

	if b, err := s.h.proc("meminfo"); err == nil {
		m, perr := parseMeminfo(b)
		note(perr)
		if perr == nil {
			u := memFromInfo(m)
			add("mem.total_bytes", "", float64(u.Total))
			add("mem.used_bytes", "", float64(u.Used))
			add("mem.used_pct", "", pct(u.Used, u.Total))
			add("swap.used_pct", "", pct(u.SwapUsed, u.SwapTotal))
		}
	} else {
		note(err)
	}

	if b, err := s.h.proc("loadavg"); err == nil {
		l, perr := parseLoadavg(b)
		note(perr)
		if perr == nil {
			add("load.1", "", l[0])
			add("load.5", "", l[1])
			add("load.15", "", l[2])
		}
	} else {
		note(err)
	}

	if b, err := s.h.proc("self/mounts"); err == nil {
		for _, m := range realFilesystems(parseMounts(b)) {
			key := cleanPath(m.Mount)
			u, err := statFS(m.Mount)
			if err != nil || key == "" || u.Total == 0 {
				note(err)
				continue
			}
			add("disk.used_pct", key, pct(u.Used, u.Used+u.Avail))
			add("disk.used_bytes", key, float64(u.Used))
			add("disk.free_bytes", key, float64(u.Avail))
		}
	} else {
		note(err)
	}

	if b, err := s.h.proc("diskstats"); err == nil {
		cur := parseDiskstats(b)
		disks, derr := s.h.blockDevices()
		note(derr)
		keep := map[string]ioCounters{}
		for _, d := range disks {
			c, ok := cur[d]
			if !ok {
				continue
			}
			keep[d] = c
			if rd, wr, ok := rates(s.prevDisk, d, c, dt, haveRate); ok {
				add("diskio.read_bps", d, rd)
				add("diskio.write_bps", d, wr)
			}
		}
		s.prevDisk = keep
	} else {
		note(err)
	}

	if b, err := s.h.proc("net/dev"); err == nil {
		cur := parseNetDev(b)
		for _, name := range slices.Sorted(maps.Keys(cur)) {
			c := cur[name]
			if name == "lo" || cleanLine(name) != name {
				delete(cur, name)
				continue
			}
			if rx, tx, ok := rates(s.prevNet, name, c, dt, haveRate); ok {
				add("net.rx_bps", name, rx)
				add("net.tx_bps", name, tx)
			}
		}
		s.prevNet = cur
	} else {
		note(err)
	}

	if b, err := s.h.proc("self/status"); err == nil {
		if rss, perr := parseStatusRSS(b); perr == nil {
			add("agent.rss_bytes", "", float64(rss))
		}
	} else {
		note(err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if haveRate && self >= s.prevSelf {
			add("agent.cpu_pct", "", 100*(self-s.prevSelf).Seconds()/dt)
		}
		s.prevSelf = self
	}
	s.prevT = now
	return out, errs
}

// rates turns two readings of a counter pair dt seconds apart into
// per-second rates; none when there is no earlier reading or a counter went
// backwards (reboot, wrap, device replaced).
func rates(prev map[string]ioCounters, key string, cur ioCounters, dt float64, haveRate bool) (r, w float64, ok bool) {
	p, seen := prev[key]
	if !seen || !haveRate || cur.Read < p.Read || cur.Write < p.Write {
		return 0, 0, false
	}
	return float64(cur.Read-p.Read) / dt, float64(cur.Write-p.Write) / dt, true
}

func pct(part, total uint64) float64 {
	if total == 0 {
		return 0
	}
	return clampPct(100 * float64(part) / float64(total))
}

func clampPct(v float64) float64 {
	switch {
	case v < 0 || v != v:
		return 0
	case v > 100:
		return 100
	}
	return v
}
