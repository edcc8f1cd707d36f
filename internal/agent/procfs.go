package agent

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// The parsers in this file read the text of files under /proc and /etc.
// They take the bytes rather than a path so tests can feed fixtures and
// garbage; each returns what it could make sense of and an error only when
// nothing usable was found. Lines are capped at maxLine bytes.

const maxLine = 64 << 10

var errNoData = errors.New("no usable data")

// lines calls fn for each line of b.
func lines(b []byte, fn func(line string)) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		fn(sc.Text())
	}
}

// cpuTimes are the aggregate jiffies of the "cpu" line of /proc/stat.
type cpuTimes struct {
	Total, Idle, IOWait uint64
}

// parseStat reads the aggregate cpu line and btime from /proc/stat.
func parseStat(b []byte) (cpu cpuTimes, btime int64, err error) {
	found := false
	lines(b, func(l string) {
		f := strings.Fields(l)
		if len(f) == 0 {
			return
		}
		switch f[0] {
		case "cpu":
			// user nice system idle iowait irq softirq steal [guest guest_nice]:
			// guest time is already counted in user, so it is left out.
			var v [8]uint64
			n := 0
			for i := 1; i < len(f) && n < 8; i++ {
				x, perr := strconv.ParseUint(f[i], 10, 64)
				if perr != nil {
					return
				}
				v[n] = x
				n++
			}
			if n < 4 {
				return
			}
			var total uint64
			for _, x := range v[:n] {
				total += x
			}
			cpu = cpuTimes{Total: total, Idle: v[3], IOWait: v[4]}
			found = true
		case "btime":
			if len(f) == 2 {
				if x, perr := strconv.ParseInt(f[1], 10, 64); perr == nil && x > 0 {
					btime = x
				}
			}
		}
	})
	if !found {
		return cpu, btime, errNoData
	}
	return cpu, btime, nil
}

// parseMeminfo returns /proc/meminfo as bytes per key (the kB unit applied).
func parseMeminfo(b []byte) (map[string]uint64, error) {
	m := map[string]uint64{}
	lines(b, func(l string) {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return
		}
		f := strings.Fields(v)
		if len(f) == 0 || len(f) > 2 {
			return
		}
		x, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return
		}
		if len(f) == 2 {
			if f[1] != "kB" || x > 1<<53 {
				return
			}
			x *= 1024
		}
		m[strings.TrimSpace(k)] = x
	})
	if _, ok := m["MemTotal"]; !ok {
		return m, errNoData
	}
	return m, nil
}

// memUsage is the memory part of a metrics sample.
type memUsage struct {
	Total, Used, SwapTotal, SwapUsed uint64
}

func memFromInfo(m map[string]uint64) memUsage {
	u := memUsage{Total: m["MemTotal"], SwapTotal: m["SwapTotal"]}
	avail, ok := m["MemAvailable"]
	if !ok { // kernels before 3.14
		avail = m["MemFree"] + m["Buffers"] + m["Cached"]
	}
	if avail < u.Total {
		u.Used = u.Total - avail
	}
	if free := m["SwapFree"]; free < u.SwapTotal {
		u.SwapUsed = u.SwapTotal - free
	}
	return u
}

// parseLoadavg reads the three load averages from /proc/loadavg.
func parseLoadavg(b []byte) ([3]float64, error) {
	var l [3]float64
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return l, errNoData
	}
	for i := range 3 {
		x, err := strconv.ParseFloat(f[i], 64)
		if err != nil || x < 0 || x > 1e9 {
			return l, errNoData
		}
		l[i] = x
	}
	return l, nil
}

// parseUptime reads the seconds since boot from /proc/uptime.
func parseUptime(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, errNoData
	}
	x, err := strconv.ParseFloat(f[0], 64)
	if err != nil || x < 0 || x > 1e12 {
		return 0, errNoData
	}
	return x, nil
}

// parseCPUInfo reads the model name and counts cores and threads from
// /proc/cpuinfo. Cores are distinct (physical id, core id) pairs; where the
// kernel does not print them (some ARM and virtual machines) cores equal
// threads.
func parseCPUInfo(b []byte) (model string, cores, threads int) {
	seen := map[string]bool{}
	phys, core := "", ""
	flush := func() {
		if phys != "" || core != "" {
			seen[phys+"/"+core] = true
		}
		phys, core = "", ""
	}
	lines(b, func(l string) {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			if strings.TrimSpace(l) == "" {
				flush()
			}
			return
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			if _, err := strconv.Atoi(v); err == nil {
				threads++
			}
		case "model name", "Processor", "cpu model", "uarch":
			if model == "" {
				model = v
			}
		case "physical id":
			phys = v
		case "core id":
			core = v
		}
	})
	flush()
	cores = len(seen)
	if cores == 0 || cores > threads {
		cores = threads
	}
	return model, cores, threads
}

// parseOSRelease reads NAME, VERSION, ID and PRETTY_NAME from os-release.
func parseOSRelease(b []byte) map[string]string {
	m := map[string]string{}
	lines(b, func(l string) {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			return
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
		}
		m[k] = v
	})
	return m
}

// mount is one line of /proc/self/mounts.
type mount struct {
	Device, Mount, FSType string
}

// unescapeMount undoes the octal escapes (\040 for space) of mount fields.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if x, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(x))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseMounts reads /proc/self/mounts.
func parseMounts(b []byte) []mount {
	var ms []mount
	lines(b, func(l string) {
		f := strings.Fields(l)
		if len(f) < 3 {
			return
		}
		ms = append(ms, mount{Device: unescapeMount(f[0]), Mount: unescapeMount(f[1]), FSType: f[2]})
	})
	return ms
}

// pseudoFS are filesystem types that hold no disk space worth watching.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "tmpfs": true, "cgroup": true,
	"cgroup2": true, "securityfs": true, "pstore": true, "bpf": true, "debugfs": true, "tracefs": true,
	"configfs": true, "fusectl": true, "mqueue": true, "hugetlbfs": true, "autofs": true, "binfmt_misc": true,
	"rpc_pipefs": true, "nsfs": true, "efivarfs": true, "ramfs": true, "squashfs": true, "overlay": true,
	"fuse.lxcfs": true, "fuse.gvfsd-fuse": true, "fuse.portal": true, "selinuxfs": true, "iso9660": true,
	"nfsd": true, "devfs": true, "none": true,
}

// realFilesystems keeps the mounts backed by storage: a device path (or a
// network or ZFS source) and a type not in pseudoFS. Bind mounts of the same
// device keep only the first (usually shortest) mount point.
func realFilesystems(ms []mount) []mount {
	var out []mount
	seen := map[string]bool{}
	for _, m := range ms {
		if pseudoFS[m.FSType] || !strings.HasPrefix(m.Mount, "/") {
			continue
		}
		switch {
		case strings.HasPrefix(m.Device, "/dev/"):
		case m.FSType == "zfs" || m.FSType == "btrfs":
		case strings.HasPrefix(m.FSType, "nfs") || m.FSType == "cifs" || m.FSType == "smb3":
		default:
			continue
		}
		key := m.Device
		if m.FSType == "btrfs" || m.FSType == "zfs" {
			key = m.Device + "\x00" + m.Mount // subvolumes/datasets share a source name rarely; keep each
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, m)
	}
	return out
}

// ioCounters are the cumulative byte counters of a disk or an interface.
type ioCounters struct {
	Read, Write uint64 // bytes read and written, or received and sent
}

// parseDiskstats reads the sectors read and written per device from
// /proc/diskstats (sectors are always 512 bytes there).
func parseDiskstats(b []byte) map[string]ioCounters {
	m := map[string]ioCounters{}
	lines(b, func(l string) {
		f := strings.Fields(l)
		if len(f) < 10 {
			return
		}
		rd, err1 := strconv.ParseUint(f[5], 10, 64)
		wr, err2 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil || rd > 1<<54 || wr > 1<<54 {
			return
		}
		m[f[2]] = ioCounters{Read: rd * 512, Write: wr * 512}
	})
	return m
}

// parseNetDev reads the received and sent bytes per interface from
// /proc/net/dev.
func parseNetDev(b []byte) map[string]ioCounters {
	m := map[string]ioCounters{}
	lines(b, func(l string) {
		name, rest, ok := strings.Cut(l, ":")
		if !ok {
			return
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if name == "" || strings.ContainsAny(name, " |") || len(f) < 9 {
			return
		}
		rx, err1 := strconv.ParseUint(f[0], 10, 64)
		tx, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return
		}
		m[name] = ioCounters{Read: rx, Write: tx}
	})
	return m
}

// parseStatusRSS reads VmRSS from /proc/<pid>/status in bytes.
func parseStatusRSS(b []byte) (uint64, error) {
	m, _ := parseMeminfo(b)
	v, ok := m["VmRSS"]
	if !ok {
		return 0, errNoData
	}
	return v, nil
}
