package agent

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// collectFacts gathers the host facts. Anything unreadable is left empty and
// its error returned in errs: an unprivileged agent cannot read everything
// (the DMI serial is root-only) and that is not a reason to stop.
func collectFacts(h host) (f wire.Facts, errs []error) {
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if b, err := h.proc("sys/kernel/hostname"); err == nil {
		f.Hostname = cleanLine(string(b))
	} else {
		note(err)
	}
	if f.Hostname == "" {
		f.Hostname, _ = os.Hostname()
		f.Hostname = cleanLine(f.Hostname)
	}
	f.FQDN = fqdn(h, f.Hostname)
	f.MachineID = machineID(h)

	if b, err := h.etc("os-release"); err == nil {
		m := parseOSRelease(b)
		f.OS = wire.OSInfo{Name: cleanLine(m["NAME"]), Version: cleanLine(m["VERSION"]), ID: cleanLine(m["ID"]), Pretty: cleanLine(m["PRETTY_NAME"])}
		if f.OS.Version == "" {
			f.OS.Version = cleanLine(m["VERSION_ID"])
		}
	} else {
		note(err)
	}
	if b, err := h.proc("sys/kernel/osrelease"); err == nil {
		f.Kernel = cleanLine(string(b))
	} else {
		note(err)
	}
	f.Arch = machineArch()

	if b, err := h.proc("cpuinfo"); err == nil {
		model, cores, threads := parseCPUInfo(b)
		f.CPU = wire.CPUInfo{Model: cleanLine(model), Cores: cores, Threads: threads}
	} else {
		note(err)
	}
	if f.CPU.Threads == 0 {
		f.CPU.Threads = runtime.NumCPU()
		f.CPU.Cores = f.CPU.Threads
	}
	if b, err := h.proc("meminfo"); err == nil {
		m, perr := parseMeminfo(b)
		note(perr)
		f.MemoryBytes, f.SwapBytes = m["MemTotal"], m["SwapTotal"]
	} else {
		note(err)
	}
	if b, err := h.proc("uptime"); err == nil {
		up, perr := parseUptime(b)
		note(perr)
		f.UptimeSeconds = uint64(up)
	} else {
		note(err)
	}
	if b, err := h.proc("stat"); err == nil {
		if _, btime, _ := parseStat(b); btime > 0 {
			f.BootTime = time.Unix(btime, 0).UTC()
		}
	} else {
		note(err)
	}
	f.Vendor = h.sysString("class/dmi/id/sys_vendor")
	f.Model = h.sysString("class/dmi/id/product_name")
	f.Serial = h.sysString("class/dmi/id/product_serial") // root-only on most systems

	disks, err := h.blockDevices()
	note(err)
	for _, d := range disks[:min(len(disks), wire.MaxDisks)] {
		sectors, _ := strconv.ParseUint(h.sysString(filepath.Join("block", d, "size")), 10, 64)
		f.Disks = append(f.Disks, wire.Disk{
			Device: d, Model: h.sysString(filepath.Join("block", d, "device", "model")), SizeBytes: sectors * 512,
		})
	}
	if b, err := h.proc("self/mounts"); err == nil {
		for _, m := range realFilesystems(parseMounts(b)) {
			fs := wire.Filesystem{Mount: cleanPath(m.Mount), Device: cleanPath(m.Device), FSType: cleanLine(m.FSType)}
			if u, err := statFS(m.Mount); err == nil {
				fs.SizeBytes = u.Total
			}
			if fs.Mount != "" && len(f.Filesystems) < wire.MaxDisks {
				f.Filesystems = append(f.Filesystems, fs)
			}
		}
	} else {
		note(err)
	}
	ifs, err := interfaces()
	note(err)
	f.Interfaces = ifs
	return f, errs
}

// cleanPath keeps a path that is valid UTF-8 without control characters;
// anything else becomes "" (a report carrying it would be refused).
func cleanPath(p string) string {
	if len(p) > 4096 || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfffd }) {
		return ""
	}
	return strings.ToValidUTF8(p, "")
}

// fqdn finds the host's fully qualified name without asking DNS (which may
// hang or be absent): the hostname itself when dotted, else the first dotted
// alias of it in /etc/hosts.
func fqdn(h host, name string) string {
	if strings.Contains(name, ".") || name == "" {
		return name
	}
	b, err := h.etc("hosts")
	if err != nil {
		return ""
	}
	found := ""
	lines(b, func(l string) {
		l, _, _ = strings.Cut(l, "#")
		f := strings.Fields(l)
		if found != "" || len(f) < 2 || !slices.Contains(f[1:], name) && !slices.ContainsFunc(f[1:], func(n string) bool { return strings.HasPrefix(n, name+".") }) {
			return
		}
		for _, n := range f[1:] {
			if strings.HasPrefix(n, name+".") {
				found = cleanLine(n)
				return
			}
		}
	})
	return found
}

// machineID reads /etc/machine-id (or the older D-Bus copy).
func machineID(h host) string {
	if b, err := h.etc("machine-id"); err == nil {
		return cleanLine(string(b))
	}
	if b, err := readCapped("/var/lib/dbus/machine-id"); err == nil && h.Etc == "/etc" {
		return cleanLine(string(b))
	}
	return ""
}

// machineArch is the kernel's machine name (x86_64, aarch64), as uname -m.
func machineArch() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return runtime.GOARCH
	}
	return cleanLine(unix.ByteSliceToString(u.Machine[:]))
}

// fsUsage is what statfs says about one filesystem, in bytes.
type fsUsage struct {
	Total, Used, Avail uint64
}

// statFS reads a filesystem's size the way df does: used counts the blocks
// not free; avail is what an unprivileged user may still write.
func statFS(path string) (fsUsage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fsUsage{}, err
	}
	bs := uint64(st.Bsize)
	u := fsUsage{Total: st.Blocks * bs, Avail: st.Bavail * bs}
	if st.Blocks >= st.Bfree {
		u.Used = (st.Blocks - st.Bfree) * bs
	}
	return u, nil
}

// interfaces lists the network interfaces with their MAC and CIDR addresses.
func interfaces() ([]wire.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]wire.Interface, 0, len(ifs))
	for _, in := range ifs {
		wi := wire.Interface{Name: cleanLine(in.Name), MAC: in.HardwareAddr.String(), MTU: in.MTU, Addrs: []string{}}
		if addrs, err := in.Addrs(); err == nil {
			for _, a := range addrs {
				if len(wi.Addrs) < wire.MaxAddrs {
					wi.Addrs = append(wi.Addrs, a.String())
				}
			}
		}
		sort.Strings(wi.Addrs)
		if wi.Name != "" && len(out) < wire.MaxInterfaces {
			out = append(out, wi)
		}
	}
	return out, nil
}
