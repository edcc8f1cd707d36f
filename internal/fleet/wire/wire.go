// Package wire is the agent protocol shared by the agent (internal/agent)
// and the server (internal/fleet): the report an agent sends, its parts, the
// enrollment exchange and the answers. It follows docs/agent.md and the wire
// contract exactly; both sides import it so they cannot drift apart.
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Prefixes of the secrets the protocol carries, so people and secret
// scanners recognise them.
const (
	EnrollTokenPrefix = "odenr_"
	CredentialPrefix  = "odagt_"
)

// Size limits of a report on the wire.
const (
	MaxCompressedBytes   = 2 << 20 // 2 MiB as sent
	MaxDecompressedBytes = 8 << 20 // 8 MiB after gunzip
	MaxDiffBytes         = 64 << 10
)

// Caps on the number of entries of a report's lists; a real host is far
// below each.
const (
	MaxPackages   = 100000
	MaxUpdates    = 20000
	MaxSamples    = 20000
	MaxFiles      = 1000
	MaxDisks      = 256
	MaxInterfaces = 1024
	MaxAddrs      = 256
)

// EnrollRequest is what an agent sends to POST /api/v1/agent/enroll.
type EnrollRequest struct {
	Token        string `json:"token"`
	Hostname     string `json:"hostname"`
	MachineID    string `json:"machine_id"`
	AgentVersion string `json:"agent_version"`
}

// EnrollResponse is the 201 answer to an enrollment: the agent's id and its
// credential, shown this once.
type EnrollResponse struct {
	AgentID    int64  `json:"agent_id"`
	Credential string `json:"credential"`
}

// ReportResponse is the 200 answer to a report (and, with AcceptedSeq
// only, part of the 409 replay answer).
type ReportResponse struct {
	AcceptedSeq     uint64 `json:"accepted_seq"`
	NeedSoftware    bool   `json:"need_software"`
	IntervalSeconds int    `json:"interval_seconds"`
}

// Report is one agent report. The agent is named only by its credential.
type Report struct {
	Seq          uint64       `json:"seq"`     // strictly increasing per agent, from 1; persisted by the agent
	SentAt       time.Time    `json:"sent_at"` // when this report was built (not when it was sent)
	AgentVersion string       `json:"agent_version"`
	Facts        *Facts       `json:"facts,omitempty"`    // on start and whenever they change
	Software     *Software    `json:"software,omitempty"` // packages only when changed or asked for
	Updates      *Updates     `json:"updates,omitempty"`  // pending package updates, at most hourly
	Metrics      []Sample     `json:"metrics,omitempty"`
	Files        []FileChange `json:"files,omitempty"` // configuration drift
}

// Facts describe the host.
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

// OSInfo is read from /etc/os-release.
type OSInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	ID      string `json:"id"`
	Pretty  string `json:"pretty"`
}

// CPUInfo describes the processors.
type CPUInfo struct {
	Model   string `json:"model"`
	Cores   int    `json:"cores"`
	Threads int    `json:"threads"`
}

// Disk is a block device.
type Disk struct {
	Device    string `json:"device"`
	Model     string `json:"model"`
	SizeBytes uint64 `json:"size_bytes"`
}

// Filesystem is a mounted file system.
type Filesystem struct {
	Mount     string `json:"mount"`
	Device    string `json:"device"`
	FSType    string `json:"fs_type"`
	SizeBytes uint64 `json:"size_bytes"`
}

// Interface is a network interface; Addrs are in CIDR form.
type Interface struct {
	Name  string   `json:"name"`
	MAC   string   `json:"mac"`
	MTU   int      `json:"mtu"`
	Addrs []string `json:"addrs"`
}

// Software is the package inventory: its hash always, the packages only
// when they changed since the last accepted report or the server asked.
type Software struct {
	Hash     string    `json:"hash"`               // hex SHA-256 of the sorted "source\tname\tversion\tarch\n" lines
	Packages []Package `json:"packages,omitempty"` // omitted when unchanged since the last ACCEPTED report
}

// Package is one installed package; Source is dpkg, rpm or apk.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Source  string `json:"source"`
}

// Updates are the pending package updates, as of CheckedAt.
type Updates struct {
	CheckedAt time.Time `json:"checked_at"`
	Pending   []Update  `json:"pending"`
}

// Update is one package with a newer version available.
type Update struct {
	Name      string `json:"name"`
	Current   string `json:"current"`
	Candidate string `json:"candidate"`
	Security  bool   `json:"security"`
}

// Sample is one metric value; Key is the mount point, device or interface.
type Sample struct {
	T     int64   `json:"t"` // unix seconds
	Name  string  `json:"n"`
	Key   string  `json:"k,omitempty"`
	Value float64 `json:"v"`
}

// FileChange is one watched file's new state (configuration drift).
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

// Metric names the agent sends (units in the name); keyed ones carry a
// mount point, device or interface in Key.
var MetricNames = []string{
	"cpu.used_pct", "cpu.iowait_pct", "mem.used_pct", "mem.used_bytes", "mem.total_bytes", "swap.used_pct",
	"load.1", "load.5", "load.15", "disk.used_pct", "disk.used_bytes", "disk.free_bytes",
	"diskio.read_bps", "diskio.write_bps", "net.rx_bps", "net.tx_bps", "agent.rss_bytes", "agent.cpu_pct",
}

// PackageSources are the package managers an inventory may come from.
var PackageSources = []string{"dpkg", "rpm", "apk"}

// Hash is the inventory hash of pkgs: hex SHA-256 of the sorted
// "source\tname\tversion\tarch\n" lines.
func Hash(pkgs []Package) string {
	lines := make([]string, len(pkgs))
	for i, p := range pkgs {
		lines[i] = p.Source + "\t" + p.Name + "\t" + p.Version + "\t" + p.Arch + "\n"
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Validate checks an enrollment request, naming the first bad field.
func (e *EnrollRequest) Validate() error {
	if !strings.HasPrefix(e.Token, EnrollTokenPrefix) || len(e.Token) > 128 {
		return valid.Errorf("token", "must be an enrollment token (%s…)", EnrollTokenPrefix)
	}
	if err := text("hostname", e.Hostname, true, 253); err != nil {
		return err
	}
	if err := text("machine_id", e.MachineID, false, 128); err != nil {
		return err
	}
	return text("agent_version", e.AgentVersion, false, 64)
}

// Validate checks a report, naming the first bad field, e.g.
// "metrics[3].v" or "software.packages[12].source".
func (r *Report) Validate() error {
	if r.Seq == 0 || r.Seq > math.MaxInt64 {
		return valid.Errorf("seq", "must be a number from 1 (strictly increasing per agent)")
	}
	if r.SentAt.IsZero() {
		return valid.Errorf("sent_at", "is required")
	}
	if err := text("agent_version", r.AgentVersion, false, 64); err != nil {
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
		return valid.Errorf("metrics", "has %d samples; at most %d", len(r.Metrics), MaxSamples)
	}
	for i, s := range r.Metrics {
		if err := s.validate(fmt.Sprintf("metrics[%d]", i)); err != nil {
			return err
		}
	}
	if len(r.Files) > MaxFiles {
		return valid.Errorf("files", "has %d entries; at most %d", len(r.Files), MaxFiles)
	}
	for i, f := range r.Files {
		if err := f.validate(fmt.Sprintf("files[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func (f *Facts) validate(p string) error {
	for _, t := range []struct {
		name, v  string
		required bool
		max      int
	}{{"hostname", f.Hostname, true, 253}, {"fqdn", f.FQDN, false, 253}, {"machine_id", f.MachineID, false, 128},
		{"os.name", f.OS.Name, false, 200}, {"os.version", f.OS.Version, false, 200}, {"os.id", f.OS.ID, false, 64},
		{"os.pretty", f.OS.Pretty, false, 200}, {"kernel", f.Kernel, false, 200}, {"arch", f.Arch, false, 64},
		{"cpu.model", f.CPU.Model, false, 200}, {"vendor", f.Vendor, false, 200}, {"model", f.Model, false, 200},
		{"serial", f.Serial, false, 128}} {
		if err := text(p+"."+t.name, t.v, t.required, t.max); err != nil {
			return err
		}
	}
	if f.CPU.Cores < 0 || f.CPU.Cores > 1<<20 {
		return valid.Errorf(p+".cpu.cores", "must be a number of cores")
	}
	if f.CPU.Threads < 0 || f.CPU.Threads > 1<<20 {
		return valid.Errorf(p+".cpu.threads", "must be a number of threads")
	}
	if len(f.Disks) > MaxDisks {
		return valid.Errorf(p+".disks", "at most %d", MaxDisks)
	}
	for i, d := range f.Disks {
		q := fmt.Sprintf("%s.disks[%d]", p, i)
		if err := text(q+".device", d.Device, true, 256); err != nil {
			return err
		}
		if err := text(q+".model", d.Model, false, 200); err != nil {
			return err
		}
	}
	if len(f.Filesystems) > MaxDisks {
		return valid.Errorf(p+".filesystems", "at most %d", MaxDisks)
	}
	for i, fs := range f.Filesystems {
		q := fmt.Sprintf("%s.filesystems[%d]", p, i)
		if err := text(q+".mount", fs.Mount, true, 1024); err != nil {
			return err
		}
		if err := text(q+".device", fs.Device, false, 1024); err != nil {
			return err
		}
		if err := text(q+".fs_type", fs.FSType, false, 64); err != nil {
			return err
		}
	}
	if len(f.Interfaces) > MaxInterfaces {
		return valid.Errorf(p+".interfaces", "at most %d", MaxInterfaces)
	}
	for i, n := range f.Interfaces {
		q := fmt.Sprintf("%s.interfaces[%d]", p, i)
		if err := text(q+".name", n.Name, true, 64); err != nil {
			return err
		}
		if err := text(q+".mac", n.MAC, false, 64); err != nil {
			return err
		}
		if n.MTU < 0 || n.MTU > 1<<20 {
			return valid.Errorf(q+".mtu", "must be a size in bytes")
		}
		if len(n.Addrs) > MaxAddrs {
			return valid.Errorf(q+".addrs", "at most %d", MaxAddrs)
		}
		for j, a := range n.Addrs {
			if err := text(fmt.Sprintf("%s.addrs[%d]", q, j), a, true, 64); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Software) validate(p string) error {
	if !isHex(s.Hash, 64) {
		return valid.Errorf(p+".hash", "must be a hex SHA-256")
	}
	if len(s.Packages) > MaxPackages {
		return valid.Errorf(p+".packages", "has %d packages; at most %d", len(s.Packages), MaxPackages)
	}
	for i, pk := range s.Packages {
		q := fmt.Sprintf("%s.packages[%d]", p, i)
		if err := text(q+".name", pk.Name, true, 256); err != nil {
			return err
		}
		if err := text(q+".version", pk.Version, false, 256); err != nil {
			return err
		}
		if err := text(q+".arch", pk.Arch, false, 64); err != nil {
			return err
		}
		if !slices.Contains(PackageSources, pk.Source) {
			return valid.Errorf(q+".source", "must be one of dpkg, rpm, apk")
		}
	}
	if len(s.Packages) > 0 && Hash(s.Packages) != s.Hash {
		return valid.Errorf(p+".hash", "does not match the packages sent")
	}
	return nil
}

func (u *Updates) validate(p string) error {
	if u.CheckedAt.IsZero() {
		return valid.Errorf(p+".checked_at", "is required")
	}
	if len(u.Pending) > MaxUpdates {
		return valid.Errorf(p+".pending", "at most %d", MaxUpdates)
	}
	for i, x := range u.Pending {
		q := fmt.Sprintf("%s.pending[%d]", p, i)
		if err := text(q+".name", x.Name, true, 256); err != nil {
			return err
		}
		if err := text(q+".current", x.Current, false, 256); err != nil {
			return err
		}
		if err := text(q+".candidate", x.Candidate, false, 256); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sample) validate(p string) error {
	// Between 2000 and 2200: a clock far off would put points nowhere useful.
	if s.T < 946684800 || s.T > 7258118400 {
		return valid.Errorf(p+".t", "must be a unix time in seconds")
	}
	if len(s.Name) == 0 || len(s.Name) > 64 || !metricName(s.Name) {
		return valid.Errorf(p+".n", "must be a metric name such as cpu.used_pct")
	}
	if err := text(p+".k", s.Key, false, 256); err != nil {
		return err
	}
	if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
		return valid.Errorf(p+".v", "must be a finite number")
	}
	return nil
}

func (f *FileChange) validate(p string) error {
	if err := text(p+".path", f.Path, true, 4096); err != nil {
		return err
	}
	if !path.IsAbs(f.Path) {
		return valid.Errorf(p+".path", "must be an absolute path")
	}
	if f.SHA256 != "" && !isHex(f.SHA256, 64) {
		return valid.Errorf(p+".sha256", "must be a hex SHA-256 or empty")
	}
	if f.Size < 0 {
		return valid.Errorf(p+".size", "must not be negative")
	}
	if err := text(p+".mode", f.Mode, false, 32); err != nil {
		return err
	}
	if len(f.Diff) > MaxDiffBytes+4096 {
		return valid.Errorf(p+".diff", "is over %d bytes", MaxDiffBytes)
	}
	if !utf8.ValidString(f.Diff) || strings.ContainsRune(f.Diff, 0) {
		return valid.Errorf(p+".diff", "must be UTF-8 text")
	}
	if err := text(p+".error", f.Error, false, 1000); err != nil {
		return err
	}
	if f.T.IsZero() {
		return valid.Errorf(p+".t", "is required")
	}
	return nil
}

// text checks a one-line string: valid UTF-8, no control characters, at
// most max bytes.
func text(field, s string, required bool, max int) error {
	if required && strings.TrimSpace(s) == "" {
		return valid.Errorf(field, "is required")
	}
	if len(s) > max {
		return valid.Errorf(field, "is longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return valid.Errorf(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return valid.Errorf(field, "contains a control character")
		}
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func metricName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return 'a' <= s[0] && s[0] <= 'z'
}
