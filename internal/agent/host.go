package agent

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxProcFile caps what the agent reads of any one /proc, /sys or /etc file;
// the largest it needs (/proc/cpuinfo on a big machine) stays well below.
const maxProcFile = 8 << 20

// host names the roots the collectors read, so tests can point them at
// fixtures. The zero value is not useful; see realHost.
type host struct {
	Proc, Sys, Etc string
}

func realHost() host { return host{Proc: "/proc", Sys: "/sys", Etc: "/etc"} }

// readCapped reads a file of at most maxProcFile bytes.
func readCapped(path string) ([]byte, error) { return readLimited(path, maxProcFile) }

// readLimited reads a file, refusing one larger than limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("agent: read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("agent: read %s: larger than %d bytes", path, limit)
	}
	return b, nil
}

func (h host) proc(rel string) ([]byte, error) { return readCapped(filepath.Join(h.Proc, rel)) }
func (h host) sys(rel string) ([]byte, error)  { return readCapped(filepath.Join(h.Sys, rel)) }
func (h host) etc(rel string) ([]byte, error)  { return readCapped(filepath.Join(h.Etc, rel)) }

// sysString reads a one-line /sys attribute, "" when unreadable.
func (h host) sysString(rel string) string {
	b, err := h.sys(rel)
	if err != nil {
		return ""
	}
	return cleanLine(string(b))
}

// cleanLine trims s and keeps only its printable first line, capped at 255
// bytes, so odd firmware strings cannot make a report invalid.
func cleanLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(s)
	for len(s) > 255 {
		r := []rune(s)
		s = string(r[:len(r)-1])
	}
	return s
}

// blockDevices lists the whole disks in /sys/block, leaving out loop, ram
// and zram devices that are not storage.
func (h host) blockDevices() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(h.Sys, "block"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		out = append(out, n)
	}
	return out, nil
}
