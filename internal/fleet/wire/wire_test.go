package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

func goodReport() Report {
	pkgs := []Package{
		{Name: "openssl", Version: "3.0.11-1", Arch: "amd64", Source: "dpkg"},
		{Name: "bash", Version: "5.2.15-2", Arch: "amd64", Source: "dpkg"},
	}
	t := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	return Report{
		Seq: 1, SentAt: t, AgentVersion: "v1.0.0",
		Facts: &Facts{
			Hostname: "web1", MachineID: "3d1219c7", OS: OSInfo{Name: "Debian GNU/Linux", ID: "debian"},
			CPU:         CPUInfo{Model: "Xeon", Cores: 2, Threads: 4},
			Disks:       []Disk{{Device: "vda", SizeBytes: 1 << 30}},
			Filesystems: []Filesystem{{Mount: "/", Device: "/dev/vda", FSType: "ext4", SizeBytes: 1 << 30}},
			Interfaces:  []Interface{{Name: "eth0", MAC: "02:00:00:00:00:01", MTU: 1500, Addrs: []string{"10.0.0.2/24"}}},
		},
		Software: &Software{Hash: Hash(pkgs), Packages: pkgs},
		Updates:  &Updates{CheckedAt: t, Pending: []Update{{Name: "openssl", Current: "3.0.11-1", Candidate: "3.0.11-2", Security: true}}},
		Metrics: []Sample{
			{T: t.Unix(), Name: "cpu.used_pct", Value: 12.5},
			{T: t.Unix(), Name: "disk.used_pct", Key: "/", Value: 40},
		},
		Files: []FileChange{{Path: "/etc/ssh/sshd_config", SHA256: strings.Repeat("a", 64), Size: 10, Mode: "0644", Diff: "--- a\n+++ b\n", T: t}},
	}
}

func TestHashIgnoresOrder(t *testing.T) {
	a := []Package{{"a", "1", "amd64", "dpkg"}, {"b", "2", "all", "rpm"}}
	b := []Package{a[1], a[0]}
	if Hash(a) != Hash(b) {
		t.Fatal("hash depends on order")
	}
	if Hash(a) == Hash(a[:1]) {
		t.Fatal("hash ignores a package")
	}
	// The documented line format, checked against an independent computation.
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if Hash(nil) != empty {
		t.Fatalf("Hash(nil) = %s", Hash(nil))
	}
	// Moving a field across the tab must change the hash.
	if Hash([]Package{{"ab", "1", "", "dpkg"}}) == Hash([]Package{{"a", "b1", "", "dpkg"}}) {
		t.Fatal("fields are not separated")
	}
}

func TestValidate(t *testing.T) {
	r := goodReport()
	if err := r.Validate(); err != nil {
		t.Fatalf("good report: %v", err)
	}
	cases := []struct {
		field string
		mut   func(r *Report)
	}{
		{"seq", func(r *Report) { r.Seq = 0 }},
		{"sent_at", func(r *Report) { r.SentAt = time.Time{} }},
		{"agent_version", func(r *Report) { r.AgentVersion = "" }},
		{"agent_version", func(r *Report) { r.AgentVersion = strings.Repeat("v", 65) }},
		{"facts.hostname", func(r *Report) { r.Facts.Hostname = "" }},
		{"facts.hostname", func(r *Report) { r.Facts.Hostname = "a\x00b" }},
		{"facts.os.pretty", func(r *Report) { r.Facts.OS.Pretty = "\xff\xfe" }},
		{"facts.cpu.cores", func(r *Report) { r.Facts.CPU.Cores = -1 }},
		{"facts.disks[0].device", func(r *Report) { r.Facts.Disks[0].Device = "" }},
		{"facts.filesystems[0].mount", func(r *Report) { r.Facts.Filesystems[0].Mount = "" }},
		{"facts.interfaces[0].mtu", func(r *Report) { r.Facts.Interfaces[0].MTU = -5 }},
		{"facts.interfaces[0].addrs", func(r *Report) { r.Facts.Interfaces[0].Addrs = make([]string, MaxAddrs+1) }},
		{"facts.disks", func(r *Report) { r.Facts.Disks = make([]Disk, MaxListItems+1) }},
		{"software.hash", func(r *Report) { r.Software.Hash = "xyz" }},
		{"software.hash", func(r *Report) { r.Software.Hash = strings.Repeat("A", 64) }},
		{"software.hash", func(r *Report) { r.Software.Packages[0].Version = "9" }},
		{"software.packages[1].source", func(r *Report) { r.Software.Packages[1].Source = "pip" }},
		{"software.packages[0].name", func(r *Report) { r.Software.Packages[0].Name = "" }},
		{"software.packages", func(r *Report) { r.Software.Packages = make([]Package, MaxPackages+1) }},
		{"updates.checked_at", func(r *Report) { r.Updates.CheckedAt = time.Time{} }},
		{"updates.pending[0].candidate", func(r *Report) { r.Updates.Pending[0].Candidate = "" }},
		{"metrics[0].n", func(r *Report) { r.Metrics[0].Name = "cpu.bogus" }},
		{"metrics[0].k", func(r *Report) { r.Metrics[0].Key = "/" }},
		{"metrics[1].k", func(r *Report) { r.Metrics[1].Key = "" }},
		{"metrics[0].t", func(r *Report) { r.Metrics[0].T = 0 }},
		{"metrics", func(r *Report) { r.Metrics = make([]Sample, MaxSamples+1) }},
		{"files[0].path", func(r *Report) { r.Files[0].Path = "etc/passwd" }},
		{"files[0].path", func(r *Report) { r.Files[0].Path = "/etc/../etc/passwd" }},
		{"files[0].sha256", func(r *Report) { r.Files[0].SHA256 = "abc" }},
		{"files[0].size", func(r *Report) { r.Files[0].Size = -1 }},
		{"files[0].diff", func(r *Report) { r.Files[0].Diff = strings.Repeat("x", MaxDiff+1) }},
		{"files[0].diff", func(r *Report) { r.Files[0].Diff = "a\x1bb" }},
		{"files[0].t", func(r *Report) { r.Files[0].T = time.Time{} }},
		{"files", func(r *Report) { r.Files = make([]FileChange, MaxFiles+1) }},
	}
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			r := goodReport()
			c.mut(&r)
			err := r.Validate()
			ve, ok := valid.As(err)
			if !ok {
				t.Fatalf("err = %v, want a valid.Error", err)
			}
			if ve.Field != c.field {
				t.Fatalf("field = %q (%v), want %q", ve.Field, err, c.field)
			}
		})
	}
}

func TestSoftwareHashOnly(t *testing.T) {
	r := goodReport()
	r.Software.Packages = nil
	if err := r.Validate(); err != nil {
		t.Fatalf("hash-only software: %v", err)
	}
}

func TestJSONNames(t *testing.T) {
	r := goodReport()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"sent_at"`, `"agent_version"`, `"machine_id"`, `"memory_bytes"`,
		`"os":{"name"`, `"size_bytes"`, `"fs_type"`, `"uptime_seconds"`, `"boot_time"`, `"checked_at"`,
		`"n":"cpu.used_pct"`, `"k":"/"`, `"sha256"`, `"truncated"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
}

// FuzzReport decodes arbitrary bytes as a Report and validates it: neither
// may panic, and a report that validates must survive a JSON round trip and
// still validate.
func FuzzReport(f *testing.F) {
	r := goodReport()
	b, _ := json.Marshal(r)
	f.Add(b)
	f.Add([]byte(`{"seq":1,"sent_at":"2026-12-02T10:00:00Z","agent_version":"x"}`))
	f.Add([]byte(`{"seq":-1}`))
	f.Add([]byte(`{"seq":18446744073709551615,"metrics":[{"n":"load.1","t":1,"v":1e308}]}`))
	f.Add([]byte(`{"files":[{"path":"/../x"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Report
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			if _, ok := valid.As(err); !ok {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("valid report does not marshal: %v", err)
		}
		var back Report
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("round trip broke validity: %v", err)
		}
	})
}
