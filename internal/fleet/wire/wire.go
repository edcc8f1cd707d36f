// Package wire holds the JSON types an opsdeck host agent sends to the
// server and the checks both sides apply to them (docs/agent.md, the agent
// wire contract). The agent builds Reports; the server decodes them with
// DecodeReport limits of its own and calls Validate before applying anything.
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Report is one agent report. The agent id comes only from the credential:
// nothing in the body names a host.
type Report struct {
	Seq          uint64       `json:"seq"`     // strictly increasing per agent, from 1; persisted by the agent
	SentAt       time.Time    `json:"sent_at"` // when this report was built (not when it was sent)
	AgentVersion string       `json:"agent_version"`
	Facts        *Facts       `json:"facts,omitempty"`    // on start and whenever they change
	Software     *Software    `json:"software,omitempty"` // hash always, packages when changed or asked for
	Updates      *Updates     `json:"updates,omitempty"`  // pending package updates, at most hourly
	Metrics      []Sample     `json:"metrics,omitempty"`
	Files        []FileChange `json:"files,omitempty"` // configuration drift
}

// Facts describe the host: what it is rather than how it is doing.
type Facts struct {
	Hostname      string       `json:"hostname"`
	FQDN          string       `json:"fqdn"`
	MachineID     string       `json:"machine_id"`
	OS            OSInfo       `json:"os"`
	Kernel        string       `json:"kernel"`
	Arch          string       `json:"arch"`
	CPU           CPUInfo      `json:"cpu"`
	MemoryBytes   uint64       `json:"memory_bytes"`
	SwapBytes     uint64       `json:"swap_bytes"`
	UptimeSeconds uint64       `json:"uptime_seconds"`
	BootTime      time.Time    `json:"boot_time"`
	Vendor        string       `json:"vendor"` // /sys/class/dmi/id where readable, else ""
	Model         string       `json:"model"`
	Serial        string       `json:"serial"`
	Disks         []Disk       `json:"disks"`
	Filesystems   []Filesystem `json:"filesystems"`
	Interfaces    []Interface  `json:"interfaces"`
}

// OSInfo comes from /etc/os-release.
type OSInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	ID      string `json:"id"`
	Pretty  string `json:"pretty"`
}

// CPUInfo is the processor model and its core and thread counts.
type CPUInfo struct {
	Model   string `json:"model"`
	Cores   int    `json:"cores"`
	Threads int    `json:"threads"`
}

// Disk is a block device from /sys/block.
type Disk struct {
	Device    string `json:"device"`
	Model     string `json:"model"`
	SizeBytes uint64 `json:"size_bytes"`
}

// Filesystem is a mounted real filesystem.
type Filesystem struct {
	Mount     string `json:"mount"`
	Device    string `json:"device"`
	FSType    string `json:"fs_type"`
	SizeBytes uint64 `json:"size_bytes"`
}

// Interface is a network interface with its addresses in CIDR form.
type Interface struct {
	Name  string   `json:"name"`
	MAC   string   `json:"mac"`
	MTU   int      `json:"mtu"`
	Addrs []string `json:"addrs"`
}

// Software is the installed package inventory.
type Software struct {
	Hash     string    `json:"hash"`               // hex SHA-256 of the sorted "source\tname\tversion\tarch\n" lines
	Packages []Package `json:"packages,omitempty"` // omitted when unchanged since the last ACCEPTED report
}

// Package is one installed package; Source is "dpkg", "rpm" or "apk".
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Source  string `json:"source"`
}

// Updates are the pending package updates found at CheckedAt.
type Updates struct {
	CheckedAt time.Time `json:"checked_at"`
	Pending   []Update  `json:"pending"`
}

// Update is one package with a newer candidate version.
type Update struct {
	Name      string `json:"name"`
	Current   string `json:"current"`
	Candidate string `json:"candidate"`
	Security  bool   `json:"security"`
}

// Sample is one metric value; Key names the mount point, device or
// interface for the metrics that have one.
type Sample struct {
	T     int64   `json:"t"`           // unix seconds
	Name  string  `json:"n"`           // metric name, see Metrics
	Key   string  `json:"k,omitempty"` // mount point, device or interface
	Value float64 `json:"v"`
}

// FileChange is the state of a watched file after it changed (or on first
// sight, with an empty Diff).
type FileChange struct {
	Path      string    `json:"path"`
	SHA256    string    `json:"sha256"` // "" when the file is gone
	Size      int64     `json:"size"`
	Mode      string    `json:"mode"`
	Diff      string    `json:"diff"` // unified diff vs the previous content, capped (64 KiB); "" on first sight
	Truncated bool      `json:"truncated"`
	Error     string    `json:"error,omitempty"` // unreadable file, e.g. permission denied
	T         time.Time `json:"t"`
}

// Metrics maps every metric name an agent may send to whether it carries a
// key (mount point, device or interface).
var Metrics = map[string]bool{
	"cpu.used_pct": false, "cpu.iowait_pct": false,
	"mem.used_pct": false, "mem.used_bytes": false, "mem.total_bytes": false,
	"swap.used_pct": false,
	"load.1":        false, "load.5": false, "load.15": false,
	"disk.used_pct": true, "disk.used_bytes": true, "disk.free_bytes": true,
	"diskio.read_bps": true, "diskio.write_bps": true,
	"net.rx_bps": true, "net.tx_bps": true,
	"agent.rss_bytes": false, "agent.cpu_pct": false,
}

// Limits of a valid report. They bound what one report may make the server
// store; an honest agent stays far below them.
const (
	MaxDiff         = 64 << 10 // bytes of one FileChange.Diff
	MaxPackages     = 100000
	MaxUpdates      = 20000
	MaxSamples      = 20000
	MaxFiles        = 1000
	MaxListItems    = 4096 // disks, filesystems, interfaces
	MaxAddrs        = 256  // addresses of one interface
	maxShort        = 255  // hostnames, names, versions, models
	maxPath         = 4096
	maxErrorText    = 1024
	sourceDpkg      = "dpkg"
	sourceRPM       = "rpm"
	sourceAPK       = "apk"
	hashHexLen      = 2 * sha256.Size
	maxAgentVersion = 64
)

// Hash is the software hash of pkgs: the hex SHA-256 of the sorted
// "source\tname\tversion\tarch\n" lines. Order of pkgs does not matter.
func Hash(pkgs []Package) string {
	lines := make([]string, len(pkgs))
	for i, p := range pkgs {
		lines[i] = p.Source + "\t" + p.Name + "\t" + p.Version + "\t" + p.Arch + "\n"
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Validate checks r and returns a *valid.Error naming the first bad field
// (e.g. "metrics[3].n"). It checks shape and bounds only; whether Seq is new
// is the server's business.
func (r *Report) Validate() error {
	if r.Seq == 0 {
		return valid.Errorf("seq", "must be at least 1")
	}
	if r.SentAt.IsZero() {
		return valid.Errorf("sent_at", "is required")
	}
	if err := valid.Text("agent_version", r.AgentVersion, true, maxAgentVersion, false); err != nil {
		return err
	}
	if r.Facts != nil {
		if err := r.Facts.validate("facts"); err != nil {
			return err
		}
	}
	if r.Software != nil {
		if err := r.Software.validate("software"); err != nil {
			return err
		}
	}
	if r.Updates != nil {
		if err := r.Updates.validate("updates"); err != nil {
			return err
		}
	}
	if len(r.Metrics) > MaxSamples {
		return valid.Errorf("metrics", "has %d samples, at most %d", len(r.Metrics), MaxSamples)
	}
	for i, s := range r.Metrics {
		if err := s.validate(index("metrics", i)); err != nil {
			return err
		}
	}
	if len(r.Files) > MaxFiles {
		return valid.Errorf("files", "has %d entries, at most %d", len(r.Files), MaxFiles)
	}
	for i, f := range r.Files {
		if err := f.validate(index("files", i)); err != nil {
			return err
		}
	}
	return nil
}

func index(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// short checks a one-line text field of at most maxShort characters.
func short(field, s string, required bool) error {
	return valid.Text(field, s, required, maxShort, false)
}

func (f *Facts) validate(p string) error {
	checks := []struct {
		field, value string
		required     bool
	}{
		{"hostname", f.Hostname, true}, {"fqdn", f.FQDN, false}, {"machine_id", f.MachineID, false},
		{"os.name", f.OS.Name, false}, {"os.version", f.OS.Version, false}, {"os.id", f.OS.ID, false},
		{"os.pretty", f.OS.Pretty, false}, {"kernel", f.Kernel, false}, {"arch", f.Arch, false},
		{"cpu.model", f.CPU.Model, false}, {"vendor", f.Vendor, false}, {"model", f.Model, false},
		{"serial", f.Serial, false},
	}
	for _, c := range checks {
		if err := short(p+"."+c.field, c.value, c.required); err != nil {
			return err
		}
	}
	if f.CPU.Cores < 0 || f.CPU.Cores > 1<<20 {
		return valid.Errorf(p+".cpu.cores", "is out of range")
	}
	if f.CPU.Threads < 0 || f.CPU.Threads > 1<<20 {
		return valid.Errorf(p+".cpu.threads", "is out of range")
	}
	if len(f.Disks) > MaxListItems {
		return valid.Errorf(p+".disks", "has %d entries, at most %d", len(f.Disks), MaxListItems)
	}
	for i, d := range f.Disks {
		if err := short(index(p+".disks", i)+".device", d.Device, true); err != nil {
			return err
		}
		if err := short(index(p+".disks", i)+".model", d.Model, false); err != nil {
			return err
		}
	}
	if len(f.Filesystems) > MaxListItems {
		return valid.Errorf(p+".filesystems", "has %d entries, at most %d", len(f.Filesystems), MaxListItems)
	}
	for i, fs := range f.Filesystems {
		q := index(p+".filesystems", i)
		if err := valid.Text(q+".mount", fs.Mount, true, maxPath, false); err != nil {
			return err
		}
		if err := valid.Text(q+".device", fs.Device, false, maxPath, false); err != nil {
			return err
		}
		if err := short(q+".fs_type", fs.FSType, false); err != nil {
			return err
		}
	}
	if len(f.Interfaces) > MaxListItems {
		return valid.Errorf(p+".interfaces", "has %d entries, at most %d", len(f.Interfaces), MaxListItems)
	}
	for i, in := range f.Interfaces {
		q := index(p+".interfaces", i)
		if err := short(q+".name", in.Name, true); err != nil {
			return err
		}
		if err := short(q+".mac", in.MAC, false); err != nil {
			return err
		}
		if in.MTU < 0 || in.MTU > 1<<20 {
			return valid.Errorf(q+".mtu", "is out of range")
		}
		if len(in.Addrs) > MaxAddrs {
			return valid.Errorf(q+".addrs", "has %d entries, at most %d", len(in.Addrs), MaxAddrs)
		}
		for j, a := range in.Addrs {
			if err := short(index(q+".addrs", j), a, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Software) validate(p string) error {
	if !isHex(s.Hash, hashHexLen) {
		return valid.Errorf(p+".hash", "must be %d lower-case hex digits", hashHexLen)
	}
	if len(s.Packages) > MaxPackages {
		return valid.Errorf(p+".packages", "has %d entries, at most %d", len(s.Packages), MaxPackages)
	}
	if len(s.Packages) == 0 {
		return nil
	}
	for i, pk := range s.Packages {
		q := index(p+".packages", i)
		if err := short(q+".name", pk.Name, true); err != nil {
			return err
		}
		if err := short(q+".version", pk.Version, false); err != nil {
			return err
		}
		if err := short(q+".arch", pk.Arch, false); err != nil {
			return err
		}
		switch pk.Source {
		case sourceDpkg, sourceRPM, sourceAPK:
		default:
			return valid.Errorf(q+".source", "must be dpkg, rpm or apk")
		}
	}
	if Hash(s.Packages) != s.Hash {
		return valid.Errorf(p+".hash", "does not match the packages")
	}
	return nil
}

func (u *Updates) validate(p string) error {
	if u.CheckedAt.IsZero() {
		return valid.Errorf(p+".checked_at", "is required")
	}
	if len(u.Pending) > MaxUpdates {
		return valid.Errorf(p+".pending", "has %d entries, at most %d", len(u.Pending), MaxUpdates)
	}
	for i, up := range u.Pending {
		q := index(p+".pending", i)
		if err := short(q+".name", up.Name, true); err != nil {
			return err
		}
		if err := short(q+".current", up.Current, false); err != nil {
			return err
		}
		if err := short(q+".candidate", up.Candidate, true); err != nil {
			return err
		}
	}
	return nil
}

func (s Sample) validate(p string) error {
	keyed, ok := Metrics[s.Name]
	if !ok {
		return valid.Errorf(p+".n", "is not a known metric name")
	}
	if s.T <= 0 {
		return valid.Errorf(p+".t", "must be a positive unix time")
	}
	if keyed {
		if err := valid.Text(p+".k", s.Key, true, maxPath, false); err != nil {
			return err
		}
	} else if s.Key != "" {
		return valid.Errorf(p+".k", "must be empty for %s", s.Name)
	}
	if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
		return valid.Errorf(p+".v", "must be a finite number")
	}
	return nil
}

func (f FileChange) validate(p string) error {
	if err := valid.Text(p+".path", f.Path, true, maxPath, false); err != nil {
		return err
	}
	if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
		return valid.Errorf(p+".path", "must be a clean absolute path")
	}
	if f.SHA256 != "" && !isHex(f.SHA256, hashHexLen) {
		return valid.Errorf(p+".sha256", "must be empty or %d lower-case hex digits", hashHexLen)
	}
	if f.Size < 0 {
		return valid.Errorf(p+".size", "must not be negative")
	}
	if err := short(p+".mode", f.Mode, false); err != nil {
		return err
	}
	if len(f.Diff) > MaxDiff {
		return valid.Errorf(p+".diff", "is longer than %d bytes", MaxDiff)
	}
	if err := valid.Text(p+".diff", f.Diff, false, MaxDiff, true); err != nil {
		return err
	}
	if err := valid.Text(p+".error", f.Error, false, maxErrorText, false); err != nil {
		return err
	}
	if f.T.IsZero() {
		return valid.Errorf(p+".t", "is required")
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f')
	}) < 0
}
