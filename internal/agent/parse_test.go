package agent

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// garbage is input no parser may choke on: empty, binary, huge lines,
// truncated records, numbers out of range.
var garbage = []string{
	"",
	"\x00\x01\x02\xff\xfe",
	strings.Repeat("x", maxLine+10),
	strings.Repeat("cpu 1 2 3\n", 1000),
	"cpu  -1 -2 -3 -4 -5\n",
	"cpu  99999999999999999999999 1 1 1\n",
	"MemTotal: 18446744073709551615 kB\n",
	"MemTotal: abc kB\nMemAvailable:\n:\n",
	"Package: x\nStatus: install ok installed\n",
	"Package:\nStatus:\nVersion:\n\n\n",
	"Inst \nInst x\nInst x [\nInst x [1] (\nInst x (\nInst x ()\n",
	"P:\x00name\nV:1\n\n",
	"   8 0 sda 1 2\n",
	"eth0: 1 2 3\nlo:\n:::\n",
	"/dev/sda / \n/dev/sda\n\\\\\\ \\0 \\777 ext4\n",
	"processor : x\nphysical id : 9\ncore id : 9\n",
	"NAME=\"unterminated\nID='x'\n=\n",
}

func TestParsersGarbage(t *testing.T) {
	for i, g := range garbage {
		b := []byte(g)
		_, _, _ = parseStat(b)
		m, _ := parseMeminfo(b)
		_ = memFromInfo(m)
		_, _ = parseLoadavg(b)
		_, _ = parseUptime(b)
		_, cores, threads := parseCPUInfo(b)
		if cores > threads {
			t.Errorf("garbage %d: cores %d > threads %d", i, cores, threads)
		}
		_ = parseOSRelease(b)
		_ = realFilesystems(parseMounts(b))
		_ = parseDiskstats(b)
		_ = parseNetDev(b)
		_, _ = parseStatusRSS(b)
		checkPkgs(t, parseDpkgStatus(b))
		checkPkgs(t, parseAPKInstalled(b))
		checkPkgs(t, parseRPMList(b))
		checkUpdatesValid(t, parseAptSimulation(b))
	}
}

func TestParseStatTable(t *testing.T) {
	cases := []struct {
		in      string
		total   uint64
		idle    uint64
		btime   int64
		wantErr bool
	}{
		{"cpu  1 2 3 4 5 6 7 8 9 10\nbtime 100\n", 36, 4, 100, false},
		{"cpu 1 1 1 1\n", 4, 1, 0, false}, // old kernels: four fields
		{"cpu 1 1 1\n", 0, 0, 0, true},
		{"cpu0 1 1 1 1\n", 0, 0, 0, true},
		{"cpu 1 x 1 1\n", 0, 0, 0, true},
		{"btime -5\ncpu 1 1 1 1\n", 4, 1, 0, false},
	}
	for _, c := range cases {
		cpu, btime, err := parseStat([]byte(c.in))
		if (err != nil) != c.wantErr || cpu.Total != c.total || cpu.Idle != c.idle || btime != c.btime {
			t.Errorf("%q: %+v %d %v", c.in, cpu, btime, err)
		}
	}
}

func TestParseMeminfoTable(t *testing.T) {
	m, err := parseMeminfo([]byte("MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\nCached: 5 kB\nHugePages_Total: 3\nBad: 1 MB\n"))
	if err != nil || m["MemTotal"] != 102400 || m["HugePages_Total"] != 3 {
		t.Fatalf("%v %v", m, err)
	}
	if _, ok := m["Bad"]; ok {
		t.Error("unknown unit accepted")
	}
	u := memFromInfo(m) // no MemAvailable: free+buffers+cached
	if u.Used != 80*1024 {
		t.Errorf("used %d", u.Used)
	}
	if u := memFromInfo(map[string]uint64{"MemTotal": 10, "MemAvailable": 20, "SwapTotal": 5, "SwapFree": 9}); u.Used != 0 || u.SwapUsed != 0 {
		t.Errorf("underflow: %+v", u)
	}
	if _, err := parseMeminfo([]byte("MemFree: 1 kB\n")); err == nil {
		t.Error("no MemTotal accepted")
	}
}

func TestParseMountsEscapes(t *testing.T) {
	ms := parseMounts([]byte("/dev/sdb1 /mnt/a\\040b\\011c ext4 rw 0 0\n/dev/sdb2 /x\\ y ext4 rw\n/dev/sdb3 /z\\04 ext4 rw\n"))
	if len(ms) != 3 || ms[0].Mount != "/mnt/a b\tc" || ms[1].Mount != "/x\\" || ms[2].Mount != "/z\\04" {
		t.Fatalf("%q", ms)
	}
	// A mount point with a control character stays out of reports.
	if cleanPath(ms[0].Mount) != "" {
		t.Error("tab in a mount point kept")
	}
}

func TestParseCPUInfoARM(t *testing.T) {
	in := "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\n\nHardware\t: BCM2835\n"
	model, cores, threads := parseCPUInfo([]byte(in))
	if model != "" || cores != 2 || threads != 2 {
		t.Errorf("%q %d %d", model, cores, threads)
	}
}

func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"  QEMU  \n": "QEMU", "a\x00b": "ab", "\xffok": "ok", "one\ntwo": "one",
		strings.Repeat("é", 300): strings.Repeat("é", 127),
	} {
		if got := cleanLine(in); got != want {
			t.Errorf("cleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func checkPkgs(t *testing.T, pkgs []wire.Package) {
	t.Helper()
	if len(pkgs) == 0 {
		return
	}
	r := wire.Report{Seq: 1, SentAt: testTime, AgentVersion: "t", Software: &wire.Software{Hash: wire.Hash(pkgs), Packages: pkgs}}
	if err := r.Validate(); err != nil {
		t.Fatalf("parsed packages do not validate: %v", err)
	}
}

func checkUpdatesValid(t *testing.T, ups []wire.Update) {
	t.Helper()
	r := wire.Report{Seq: 1, SentAt: testTime, AgentVersion: "t", Updates: &wire.Updates{CheckedAt: testTime, Pending: ups}}
	if err := r.Validate(); err != nil {
		t.Fatalf("parsed updates do not validate: %v", err)
	}
}

// FuzzProcParsers feeds the same bytes to every /proc and /etc parser: none
// may panic, loop, or return values out of range.
func FuzzProcParsers(f *testing.F) {
	for _, g := range garbage {
		f.Add([]byte(g))
	}
	for _, name := range []string{"stat", "meminfo", "cpuinfo", "loadavg", "uptime", "self/mounts", "diskstats", "net/dev"} {
		if b, err := readCapped("testdata/host1/proc/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cpu, _, err := parseStat(b)
		if err == nil && cpu.Idle > cpu.Total {
			t.Fatalf("idle %d > total %d", cpu.Idle, cpu.Total)
		}
		m, _ := parseMeminfo(b)
		u := memFromInfo(m)
		if u.Used > u.Total || u.SwapUsed > u.SwapTotal {
			t.Fatalf("used above total: %+v", u)
		}
		if l, err := parseLoadavg(b); err == nil && (l[0] < 0 || l[2] < 0) {
			t.Fatal("negative load")
		}
		_, cores, threads := parseCPUInfo(b)
		if cores > threads || cores < 0 {
			t.Fatalf("cores %d threads %d", cores, threads)
		}
		for _, v := range parseOSRelease(b) {
			_ = cleanLine(v)
		}
		for _, m := range realFilesystems(parseMounts(b)) {
			if !strings.HasPrefix(m.Mount, "/") {
				t.Fatalf("relative mount %q", m.Mount)
			}
		}
		parseDiskstats(b)
		for name := range parseNetDev(b) {
			if strings.ContainsAny(name, " |") {
				t.Fatalf("interface name %q", name)
			}
		}
	})
}

// FuzzPackageParsers checks that whatever a package database holds, the
// parsed packages and updates pass wire validation (one odd entry must not
// get every report refused).
func FuzzPackageParsers(f *testing.F) {
	for _, g := range garbage {
		f.Add([]byte(g))
	}
	for _, name := range []string{"dpkg-status", "apk-installed", "rpm-qa.txt", "apt-sim.txt"} {
		if b, err := readCapped("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkPkgs(t, parseDpkgStatus(b))
		checkPkgs(t, parseAPKInstalled(b))
		checkPkgs(t, parseRPMList(b))
		checkUpdatesValid(t, parseAptSimulation(b))
	})
}

// FuzzUnifiedDiff checks the diff is a correct edit script for any two
// texts: applying it to the old text gives the new one, and it never
// exceeds its cap.
func FuzzUnifiedDiff(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n", 4096)
	f.Add("", "x", 100)
	f.Add("x\ny", "x\ny\n", 100)
	f.Add(strings.Repeat("l\n", 50), strings.Repeat("l\n", 20)+"m\n"+strings.Repeat("l\n", 29), 30)
	f.Fuzz(func(t *testing.T, old, new string, max int) {
		if max < 0 || max > 1<<20 || !utf8.ValidString(old) || !utf8.ValidString(new) {
			return
		}
		d, truncated := unifiedDiff("/etc/x", old, new, max)
		if len(d) > max {
			t.Fatalf("diff of %d bytes over cap %d", len(d), max)
		}
		if truncated {
			return
		}
		if (old == new) != (d == "") {
			t.Fatalf("old==new %v but diff %q", old == new, d)
		}
		if d == "" {
			return
		}
		got, err := applyUnified(old, d)
		if err != nil {
			t.Fatalf("apply: %v\n%s", err, d)
		}
		if got != new {
			t.Fatalf("apply gave %q, want %q\n%s", got, new, d)
		}
	})
}
