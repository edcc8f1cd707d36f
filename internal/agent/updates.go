package agent

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// parseAptSimulation reads the "Inst" lines of `apt-get -s dist-upgrade`:
//
//	Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
//	Inst newdep (1.2-1 Debian:12.5/stable [amd64])
//
// The bracketed current version is absent for packages new to the host. An
// update is a security update when one of its origins names a "-security"
// suite. Lines that do not have this shape are skipped.
func parseAptSimulation(b []byte) []wire.Update {
	var out []wire.Update
	lines(b, func(l string) {
		rest, ok := strings.CutPrefix(l, "Inst ")
		if !ok {
			return
		}
		name, rest, ok := strings.Cut(strings.TrimSpace(rest), " ")
		if !ok || name == "" {
			return
		}
		u := wire.Update{Name: name}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return
			}
			u.Current = rest[1:end]
			rest = strings.TrimSpace(rest[end+1:])
		}
		if !strings.HasPrefix(rest, "(") {
			return
		}
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return
		}
		inner := strings.Fields(rest[1:end])
		if len(inner) == 0 {
			return
		}
		u.Candidate = inner[0]
		for _, origin := range inner[1:] {
			if strings.HasPrefix(origin, "[") {
				break // the architecture closes the origin list
			}
			if strings.Contains(origin, "-security") {
				u.Security = true
			}
		}
		if cleanLine(u.Name) != u.Name || cleanLine(u.Current) != u.Current || cleanLine(u.Candidate) != u.Candidate {
			return
		}
		if len(out) < wire.MaxUpdates {
			out = append(out, u)
		}
	})
	return out
}

// checkUpdates simulates a dist-upgrade with the package lists apt already
// has. The simulation needs no root and changes nothing; the lists are as
// fresh as the host's own apt timer keeps them (the agent does not run
// apt-get update: that needs root). ok is false when apt-get is not here.
func checkUpdates(ctx context.Context, now time.Time) (u *wire.Updates, ok bool, err error) {
	apt, lerr := exec.LookPath("apt-get")
	if lerr != nil {
		return nil, false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, apt, "-s", "-q", "-o", "Debug::NoLocking=true", "dist-upgrade")
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		return nil, true, fmt.Errorf("agent: apt-get -s dist-upgrade: %w", err)
	}
	return &wire.Updates{CheckedAt: now.UTC(), Pending: parseAptSimulation(out)}, true, nil
}

// aptInputs are what the answer of the update simulation depends on.
var aptInputs = []string{"/var/lib/apt/lists", "/var/lib/dpkg/status", "/etc/apt/sources.list", "/etc/apt/sources.list.d", "/etc/apt/preferences.d"}

// aptInputsStamp fingerprints aptInputs by modification time and size
// (apt-get update renames new lists into the folder, which moves its
// mtime). "" when apt's lists are not there.
func aptInputsStamp() string {
	var b strings.Builder
	for i, p := range aptInputs {
		st, err := fileStamp(p)
		if err != nil && i == 0 {
			return ""
		}
		b.WriteString(st + ";")
	}
	return b.String()
}
