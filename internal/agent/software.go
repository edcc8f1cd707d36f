package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// Package databases the agent reads. dpkg and apk keep plain text it parses
// itself; rpm's database is binary, so the rpm program lists it.
const (
	dpkgStatusPath   = "/var/lib/dpkg/status"
	apkInstalledPath = "/lib/apk/db/installed"
	rpmDBDir         = "/var/lib/rpm"
	maxPackageDB     = 64 << 20
)

// parseDpkgStatus reads the installed packages from a dpkg status file:
// stanzas of "Field: value" lines, continuation lines starting with a space,
// separated by blank lines. Only packages whose Status ends in "installed"
// count (not config-files, half-installed or not-installed).
func parseDpkgStatus(b []byte) []wire.Package {
	var out []wire.Package
	var cur wire.Package
	installed := false
	flush := func() {
		if installed && validPkg(cur) {
			cur.Source = "dpkg"
			out = append(out, cur)
		}
		cur, installed = wire.Package{}, false
	}
	lines(b, func(l string) {
		if strings.TrimSpace(l) == "" {
			flush()
			return
		}
		if l[0] == ' ' || l[0] == '\t' {
			return // continuation of a multi-line field (Description, Conffiles)
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			cur.Name = v
		case "Version":
			cur.Version = v
		case "Architecture":
			cur.Arch = v
		case "Status":
			f := strings.Fields(v)
			installed = len(f) == 3 && f[2] == "installed"
		}
	})
	flush()
	return out
}

// parseAPKInstalled reads an apk database: stanzas of "X:value" lines where
// P is the name, V the version and A the architecture.
func parseAPKInstalled(b []byte) []wire.Package {
	var out []wire.Package
	var cur wire.Package
	flush := func() {
		if validPkg(cur) {
			cur.Source = "apk"
			out = append(out, cur)
		}
		cur = wire.Package{}
	}
	lines(b, func(l string) {
		if strings.TrimSpace(l) == "" {
			flush()
			return
		}
		if len(l) < 2 || l[1] != ':' {
			return
		}
		switch l[0] {
		case 'P':
			cur.Name = strings.TrimSpace(l[2:])
		case 'V':
			cur.Version = strings.TrimSpace(l[2:])
		case 'A':
			cur.Arch = strings.TrimSpace(l[2:])
		}
	})
	flush()
	return out
}

// rpmQueryFormat prints one "name\tversion\tarch" line per package, with
// the epoch in front of the version when there is one.
const rpmQueryFormat = `%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\n`

// parseRPMList reads the output of rpm -qa --qf rpmQueryFormat.
func parseRPMList(b []byte) []wire.Package {
	var out []wire.Package
	lines(b, func(l string) {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			return
		}
		p := wire.Package{Name: strings.TrimSpace(f[0]), Version: strings.TrimSpace(f[1]), Arch: strings.TrimSpace(f[2])}
		if p.Arch == "(none)" {
			p.Arch = "" // gpg-pubkey pseudo-packages
		}
		if validPkg(p) {
			p.Source = "rpm"
			out = append(out, p)
		}
	})
	return out
}

// validPkg keeps packages whose fields would pass wire validation, so one
// odd database entry cannot make every report be refused.
func validPkg(p wire.Package) bool {
	return p.Name != "" && cleanLine(p.Name) == p.Name && cleanLine(p.Version) == p.Version && cleanLine(p.Arch) == p.Arch
}

// inventory reads the installed software, re-reading a package database
// only when its modification time or size changed (rpm at most every
// rpmEvery), so a short metrics interval costs little.
type inventory struct {
	dpkgPath, apkPath, rpmDir string
	rpmEvery                  time.Duration

	stamps   map[string]string // source -> mtime/size stamp of its database
	bySource map[string][]wire.Package
	rpmAt    time.Time

	// all and hash are the last merged list, rebuilt only when a source changed.
	all   []wire.Package
	hash  string
	dirty bool
}

func newInventory() *inventory {
	return &inventory{
		dpkgPath: dpkgStatusPath, apkPath: apkInstalledPath, rpmDir: rpmDBDir, rpmEvery: 10 * time.Minute,
		stamps: map[string]string{}, bySource: map[string][]wire.Package{}, dirty: true,
	}
}

func fileStamp(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%d", st.ModTime().UnixNano(), st.Size()), nil
}

// collect returns the sorted package list and its hash. Sources that do not
// exist on this host are skipped silently; unreadable ones return an error
// alongside the packages of the others (and keep their last good list).
func (inv *inventory) collect(ctx context.Context, now time.Time) ([]wire.Package, string, []error) {
	var errs []error
	text := func(source, path string, parse func([]byte) []wire.Package) {
		stamp, err := fileStamp(path)
		if errors.Is(err, fs.ErrNotExist) {
			if _, ok := inv.bySource[source]; ok {
				delete(inv.bySource, source)
				delete(inv.stamps, source)
				inv.dirty = true
			}
			return
		}
		if err != nil {
			errs = append(errs, err)
			return
		}
		if inv.stamps[source] == stamp {
			return
		}
		b, err := readPackageDB(path)
		if err != nil {
			errs = append(errs, err)
			return
		}
		inv.bySource[source] = parse(b)
		inv.stamps[source] = stamp
		inv.dirty = true
	}
	text("dpkg", inv.dpkgPath, parseDpkgStatus)
	text("apk", inv.apkPath, parseAPKInstalled)
	if rpm, err := exec.LookPath("rpm"); err == nil && dirExists(inv.rpmDir) {
		stamp, _ := fileStamp(inv.rpmDir)
		if inv.stamps["rpm"] != stamp || now.Sub(inv.rpmAt) >= inv.rpmEvery {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			out, err := exec.CommandContext(cctx, rpm, "-qa", "--qf", rpmQueryFormat).Output()
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("agent: rpm -qa: %w", err))
			} else {
				inv.bySource["rpm"] = parseRPMList(out)
				inv.stamps["rpm"] = stamp
				inv.rpmAt = now
				inv.dirty = true
			}
		}
	}
	if !inv.dirty {
		return inv.all, inv.hash, errs
	}
	var all []wire.Package
	for _, src := range []string{"apk", "dpkg", "rpm"} {
		all = append(all, inv.bySource[src]...)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	if len(all) > wire.MaxPackages {
		all = all[:wire.MaxPackages]
	}
	inv.all, inv.hash, inv.dirty = all, wire.Hash(all), false
	return inv.all, inv.hash, errs
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func readPackageDB(path string) ([]byte, error) { return readLimited(path, maxPackageDB) }
