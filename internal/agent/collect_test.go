package agent

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

func fixtureHost(t *testing.T) host {
	t.Helper()
	root, err := filepath.Abs("testdata/host1")
	if err != nil {
		t.Fatal(err)
	}
	return host{Proc: filepath.Join(root, "proc"), Sys: filepath.Join(root, "sys"), Etc: filepath.Join(root, "etc")}
}

func TestFactsRealHost(t *testing.T) {
	f, errs := collectFacts(realHost())
	for _, err := range errs {
		t.Logf("unreadable (not fatal): %v", err)
	}
	if f.Hostname == "" {
		t.Error("no hostname")
	}
	if want, _ := os.Hostname(); f.Hostname != want {
		t.Errorf("hostname %q, os.Hostname %q", f.Hostname, want)
	}
	if f.CPU.Threads < 1 || f.CPU.Cores < 1 || f.CPU.Cores > f.CPU.Threads {
		t.Errorf("cpu %+v", f.CPU)
	}
	if f.CPU.Threads != runtime.NumCPU() && f.CPU.Threads < runtime.NumCPU() {
		t.Errorf("threads %d < NumCPU %d", f.CPU.Threads, runtime.NumCPU())
	}
	if f.MemoryBytes < 64<<20 {
		t.Errorf("memory %d", f.MemoryBytes)
	}
	if f.Kernel == "" || f.Arch == "" {
		t.Errorf("kernel %q arch %q", f.Kernel, f.Arch)
	}
	if f.UptimeSeconds == 0 || f.BootTime.IsZero() || f.BootTime.After(time.Now()) {
		t.Errorf("uptime %d boot %v", f.UptimeSeconds, f.BootTime)
	}
	if _, err := os.Stat("/etc/os-release"); err == nil && f.OS.ID == "" {
		t.Error("os-release readable but no OS id")
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil && f.MachineID != strings.TrimSpace(string(b)) {
		t.Errorf("machine id %q", f.MachineID)
	}
	root := false
	for _, fs := range f.Filesystems {
		if fs.Mount == "/" && fs.SizeBytes > 0 {
			root = true
		}
		if pseudoFS[fs.FSType] {
			t.Errorf("pseudo filesystem reported: %+v", fs)
		}
	}
	if !root {
		t.Errorf("no root filesystem in %+v", f.Filesystems)
	}
	lo := false
	for _, in := range f.Interfaces {
		if in.Name == "lo" && len(in.Addrs) > 0 {
			lo = true
		}
	}
	if !lo {
		t.Errorf("no loopback interface with an address in %+v", f.Interfaces)
	}
	r := wire.Report{Seq: 1, SentAt: time.Now(), AgentVersion: "test", Facts: &f}
	if err := r.Validate(); err != nil {
		t.Fatalf("real facts do not validate: %v", err)
	}
}

func TestFactsFixture(t *testing.T) {
	f, errs := collectFacts(fixtureHost(t))
	for _, err := range errs {
		t.Logf("unreadable: %v", err)
	}
	want := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	want("hostname", f.Hostname, "web1")
	want("fqdn", f.FQDN, "web1.example.com")
	want("machine id", f.MachineID, "0123456789abcdef0123456789abcdef")
	want("os", f.OS, wire.OSInfo{Name: "Debian GNU/Linux", Version: "12 (bookworm)", ID: "debian", Pretty: "Debian GNU/Linux 12 (bookworm)"})
	want("kernel", f.Kernel, "6.1.0-28-amd64")
	want("cpu", f.CPU, wire.CPUInfo{Model: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", Cores: 2, Threads: 4})
	want("memory", f.MemoryBytes, uint64(16303428*1024))
	want("swap", f.SwapBytes, uint64(2097148*1024))
	want("uptime", f.UptimeSeconds, uint64(86400))
	want("boot", f.BootTime, time.Unix(1764662400, 0).UTC())
	want("vendor", f.Vendor, "QEMU")
	want("model", f.Model, "Standard PC (Q35 + ICH9, 2009)")
	want("serial", f.Serial, "")
	want("disks", len(f.Disks), 2) // loop0 left out
	want("disk0", f.Disks[1], wire.Disk{Device: "sda", Model: "QEMU HARDDISK", SizeBytes: 41943040 * 512})
	var mounts []string
	for _, fs := range f.Filesystems {
		mounts = append(mounts, fs.Mount+":"+fs.FSType)
	}
	want("filesystems", strings.Join(mounts, " "), "/:ext4 /srv/my data:xfs /mnt/nfs:nfs4")
}

func TestMetricsRealHost(t *testing.T) {
	s := newSampler(realHost())
	t0 := time.Now()
	first, errs := s.sample(t0)
	for _, err := range errs {
		t.Logf("unreadable: %v", err)
	}
	got := map[string]float64{}
	for _, x := range first {
		got[x.Name] = x.Value
	}
	for _, name := range []string{"cpu.used_pct", "diskio.read_bps", "net.rx_bps", "agent.cpu_pct"} {
		if _, ok := got[name]; ok {
			t.Errorf("first sample has the rate %s", name)
		}
	}
	if got["mem.total_bytes"] <= 0 || got["mem.used_bytes"] <= 0 || got["mem.used_pct"] <= 0 || got["mem.used_pct"] > 100 {
		t.Errorf("memory samples %v", got)
	}
	if got["agent.rss_bytes"] < 1<<20 {
		t.Errorf("own RSS %v", got["agent.rss_bytes"])
	}
	// Burn a little CPU so the agent's own CPU share is above zero.
	deadline := time.Now().Add(200 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	second, _ := s.sample(time.Now())
	got = map[string]float64{}
	keys := map[string][]string{}
	for _, x := range second {
		got[x.Name] = x.Value
		if x.Key != "" {
			keys[x.Name] = append(keys[x.Name], x.Key)
		}
		if x.Value < 0 {
			t.Errorf("negative %s{%s} = %v", x.Name, x.Key, x.Value)
		}
	}
	if v, ok := got["cpu.used_pct"]; !ok || v > 100 {
		t.Errorf("cpu.used_pct %v %v", v, ok)
	}
	if v := got["agent.cpu_pct"]; v <= 0 || v > 100*float64(runtime.NumCPU())+1 {
		t.Errorf("agent.cpu_pct %v", v)
	}
	if !contains(keys["disk.used_pct"], "/") {
		t.Errorf("no disk.used_pct for / in %v", keys)
	}
	if len(keys["net.rx_bps"]) == 0 || contains(keys["net.rx_bps"], "lo") {
		t.Errorf("net keys %v", keys["net.rx_bps"])
	}
	if len(keys["diskio.read_bps"]) == 0 {
		t.Errorf("no disk I/O rates (disks %v)", keys)
	}
	r := wire.Report{Seq: 1, SentAt: time.Now(), AgentVersion: "test", Metrics: second}
	if err := r.Validate(); err != nil {
		t.Fatalf("real metrics do not validate: %v", err)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestMetricsFixtureRates(t *testing.T) {
	h := fixtureHost(t)
	// Copy the fixture so the counters can move between two samples.
	dir := t.TempDir()
	copyTree(t, filepath.Dir(h.Proc), dir)
	h = host{Proc: filepath.Join(dir, "proc"), Sys: filepath.Join(dir, "sys"), Etc: filepath.Join(dir, "etc")}
	s := newSampler(h)
	t0 := time.Unix(1764700000, 0)
	s.sample(t0)
	write := func(rel, text string) {
		if err := os.WriteFile(filepath.Join(h.Proc, rel), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// 1000 jiffies later: 250 idle, 100 iowait -> 65 % used, 10 % iowait.
	write("stat", "cpu  10132803 290696 3084719 46828733 16783 0 25195 0 175628 0\nbtime 1764662400\n")
	// sda read 2000 more sectors (1,024,000 bytes) and wrote 4000 in 10 s.
	write("diskstats", "   8       0 sda 1000 0 4000 0 500 0 8000 0 0 0 0\n 259 0 nvme0n1 10 0 8 0 5 0 16 0 0 0 0\n")
	write("net/dev", "  eth0: 11000 0 0 0 0 0 0 0 7000 0 0 0 0 0 0 0\n")
	samples, _ := s.sample(t0.Add(10 * time.Second))
	got := map[string]float64{}
	for _, x := range samples {
		got[x.Name+"{"+x.Key+"}"] = x.Value
	}
	for k, want := range map[string]float64{
		"cpu.used_pct{}": 65, "cpu.iowait_pct{}": 10,
		"diskio.read_bps{sda}": 102400, "diskio.write_bps{sda}": 204800, "diskio.read_bps{nvme0n1}": 0,
		"net.rx_bps{eth0}": 1000, "net.tx_bps{eth0}": 500,
		"mem.total_bytes{}": 16303428 * 1024, "mem.used_bytes{}": (16303428 - 8151714) * 1024,
		"swap.used_pct{}": 100 * float64(2097148-1048574) / 2097148,
		"load.1{}":        0.52, "load.15{}": 0.59,
	} {
		if v, ok := got[k]; !ok || abs(v-want) > 1e-6 {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	if _, ok := got["diskio.read_bps{loop0}"]; ok {
		t.Error("loop device reported")
	}
	// A counter that went backwards (reboot, wrap) gives no rate, not a negative one.
	write("net/dev", "  eth0: 10 0 0 0 0 0 0 0 7 0 0 0 0 0 0 0\n")
	samples, _ = s.sample(t0.Add(20 * time.Second))
	for _, x := range samples {
		if x.Name == "net.rx_bps" {
			t.Errorf("rate after a counter reset: %+v", x)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSoftwareRealHost(t *testing.T) {
	if _, err := os.Stat(dpkgStatusPath); err != nil {
		t.Skip("no dpkg database on this host")
	}
	inv := newInventory()
	pkgs, hash, errs := inv.collect(context.Background(), time.Now())
	for _, err := range errs {
		t.Logf("error: %v", err)
	}
	n := 0
	for _, p := range pkgs {
		if p.Source == "dpkg" {
			n++
		}
	}
	if n < 100 {
		t.Fatalf("dpkg found %d packages, want > 100", n)
	}
	found := false
	for _, p := range pkgs {
		if p.Name == "dpkg" && p.Version != "" && p.Arch != "" {
			found = true
		}
	}
	if !found {
		t.Error("the dpkg package itself is not listed")
	}
	if hash != wire.Hash(pkgs) {
		t.Error("hash does not match")
	}
	// A second collect reads nothing new and returns the same list.
	again, hash2, _ := inv.collect(context.Background(), time.Now())
	if hash2 != hash || len(again) != len(pkgs) {
		t.Error("second collect differs")
	}
	r := wire.Report{Seq: 1, SentAt: time.Now(), AgentVersion: "t", Software: &wire.Software{Hash: hash, Packages: pkgs}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSoftwareFixtures(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	got := parseDpkgStatus(read("dpkg-status"))
	want := []wire.Package{
		{Name: "bash", Version: "5.2.15-2+b8", Arch: "amd64", Source: "dpkg"},
		{Name: "libc6", Version: "2.36-9+deb12u9", Arch: "amd64", Source: "dpkg"},
		{Name: "tzdata", Version: "2024a-0+deb12u1", Arch: "all", Source: "dpkg"},
	}
	if !equalPkgs(got, want) {
		t.Errorf("dpkg: %+v", got)
	}
	got = parseAPKInstalled(read("apk-installed"))
	want = []wire.Package{
		{Name: "musl", Version: "1.2.4-r2", Arch: "x86_64", Source: "apk"},
		{Name: "busybox", Version: "1.36.1-r5", Arch: "x86_64", Source: "apk"},
	}
	if !equalPkgs(got, want) {
		t.Errorf("apk: %+v", got)
	}
	got = parseRPMList(read("rpm-qa.txt"))
	want = []wire.Package{
		{Name: "bash", Version: "5.1.8-9.el9", Arch: "x86_64", Source: "rpm"},
		{Name: "openssl", Version: "1:3.0.7-27.el9", Arch: "x86_64", Source: "rpm"},
		{Name: "gpg-pubkey", Version: "8483c65d-5ccc5b19", Arch: "", Source: "rpm"},
	}
	if !equalPkgs(got, want) {
		t.Errorf("rpm: %+v", got)
	}

	// The inventory reads fixture databases and re-reads only on change.
	dir := t.TempDir()
	inv := newInventory()
	inv.dpkgPath = filepath.Join(dir, "status")
	inv.apkPath = filepath.Join(dir, "installed")
	inv.rpmDir = filepath.Join(dir, "no-rpm")
	if err := os.WriteFile(inv.dpkgPath, read("dpkg-status"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs, h1, errs := inv.collect(context.Background(), time.Now())
	if len(errs) != 0 || len(pkgs) != 3 {
		t.Fatalf("collect: %v %+v", errs, pkgs)
	}
	if err := os.WriteFile(inv.apkPath, read("apk-installed"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs, h2, _ := inv.collect(context.Background(), time.Now())
	if len(pkgs) != 5 || h1 == h2 || pkgs[0].Source != "apk" {
		t.Fatalf("after adding apk: %+v", pkgs)
	}
	os.Remove(inv.apkPath)
	_, h3, _ := inv.collect(context.Background(), time.Now())
	if h3 != h1 {
		t.Error("removing the apk database did not restore the hash")
	}
	// Unreadable database: an error, and the last good list is kept.
	os.Remove(inv.dpkgPath)
	if err := os.Mkdir(inv.dpkgPath, 0o755); err != nil {
		t.Fatal(err)
	}
	pkgs, _, errs = inv.collect(context.Background(), time.Now())
	if len(errs) == 0 || len(pkgs) != 3 {
		t.Errorf("unreadable database: errs %v, %d packages", errs, len(pkgs))
	}
}

func equalPkgs(a, b []wire.Package) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAptSimulation(t *testing.T) {
	b, err := os.ReadFile("testdata/apt-sim.txt")
	if err != nil {
		t.Fatal(err)
	}
	ups := parseAptSimulation(b)
	by := map[string]wire.Update{}
	for _, u := range ups {
		by[u.Name] = u
	}
	if u := by["libgcrypt20"]; u.Current != "1.10.1-3" || u.Candidate != "1.10.1-3+deb12u1" || !u.Security {
		t.Errorf("libgcrypt20: %+v", u)
	}
	if u := by["bash"]; u.Current != "5.2.15-2+b8" || u.Candidate != "5.2.15-2+b13" || u.Security {
		t.Errorf("bash: %+v", u)
	}
	if u, ok := by["newpkg"]; !ok || u.Current != "" || u.Candidate != "2.0-1" {
		t.Errorf("newpkg: %+v", u)
	}
	if !by["ubuntu-thing"].Security {
		t.Error("ubuntu -security origin not seen")
	}
	for _, bad := range []string{"broken", "oldpkg"} {
		if _, ok := by[bad]; ok {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestCheckUpdatesRealHost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs apt-get")
	}
	u, ok, err := checkUpdates(context.Background(), time.Now())
	if !ok {
		t.Skip("apt-get not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pending updates", len(u.Pending))
	r := wire.Report{Seq: 1, SentAt: time.Now(), AgentVersion: "t", Updates: u}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAptInputsStamp(t *testing.T) {
	if _, err := os.Stat("/var/lib/apt/lists"); err != nil {
		t.Skip("no apt here")
	}
	a, b := aptInputsStamp(), aptInputsStamp()
	if a == "" || a != b {
		t.Fatalf("stamps %q %q", a, b)
	}
}
