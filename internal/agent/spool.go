package agent

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// The spool keeps every report on disk until the server has it: one
// gzip'd JSON file per report, named by its zero-padded sequence number so
// the name order is the send order. A file is written to a temporary name,
// fsync'd and renamed, so after a crash a spooled report is either whole or
// absent. The spool is bounded: past max bytes the oldest reports go.

const spoolSuffix = ".json.gz"

type spoolEntry struct {
	seq  uint64
	size int64
}

// spool is safe for one writer (the collector) and one reader (the sender).
type spool struct {
	dir string
	max int64

	mu      sync.Mutex
	entries []spoolEntry // ascending seq
	total   int64
	dropped uint64 // reports dropped to keep under max, since start
}

func openSpool(dir string, max int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: spool: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("agent: spool: %w", err)
	}
	s := &spool{dir: dir, max: max}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") { // an interrupted write
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		seq, ok := parseSpoolName(name)
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		s.entries = append(s.entries, spoolEntry{seq: seq, size: info.Size()})
		s.total += info.Size()
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].seq < s.entries[j].seq })
	return s, nil
}

func spoolName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, spoolSuffix) }

func parseSpoolName(name string) (uint64, bool) {
	num, ok := strings.CutSuffix(name, spoolSuffix)
	if !ok || len(num) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	return seq, err == nil && seq > 0
}

// encodeReport is the request body of a report: gzip'd JSON. zw, when
// not nil, is reused (a new flate compressor allocates about 1 MB).
func encodeReport(zw *gzip.Writer, r *wire.Report) ([]byte, int, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	if zw == nil {
		zw = gzip.NewWriter(&buf)
	} else {
		zw.Reset(&buf)
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, 0, err
	}
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), len(raw), nil
}

// add stores an encoded report and then drops the oldest reports while the
// spool is over its cap (never the one just added). It returns how many
// were dropped.
func (s *spool) add(seq uint64, body []byte) (int, error) {
	if err := writeFileAtomic(filepath.Join(s.dir, spoolName(seq)), body, 0o600); err != nil {
		return 0, fmt.Errorf("agent: spool: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, spoolEntry{seq: seq, size: int64(len(body))})
	s.total += int64(len(body))
	dropped := 0
	for s.total > s.max && len(s.entries) > 1 {
		s.removeLocked(0)
		dropped++
	}
	s.dropped += uint64(dropped)
	return dropped, nil
}

// oldest returns the first spooled report.
func (s *spool) oldest() (seq uint64, body []byte, ok bool, err error) {
	s.mu.Lock()
	if len(s.entries) == 0 {
		s.mu.Unlock()
		return 0, nil, false, nil
	}
	seq = s.entries[0].seq
	s.mu.Unlock()
	body, err = os.ReadFile(filepath.Join(s.dir, spoolName(seq)))
	return seq, body, true, err
}

// remove deletes the report seq.
func (s *spool) remove(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.entries {
		if e.seq == seq {
			s.removeLocked(i)
			return
		}
	}
}

// removeThrough deletes every report with a seq of at most seq and returns
// how many went.
func (s *spool) removeThrough(seq uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for len(s.entries) > 0 && s.entries[0].seq <= seq {
		s.removeLocked(0)
		n++
	}
	return n
}

func (s *spool) removeLocked(i int) {
	e := s.entries[i]
	// A file that cannot be removed is found again at the next start and
	// sent; the server answers 409 if it already has it, so that is harmless.
	_ = os.Remove(filepath.Join(s.dir, spoolName(e.seq)))
	s.entries = append(s.entries[:i], s.entries[i+1:]...)
	s.total -= e.size
}

// stats returns the number of spooled reports, their bytes, the highest
// seq and the reports dropped for space since start.
func (s *spool) stats() (n int, bytes int64, last uint64, dropped uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) > 0 {
		last = s.entries[len(s.entries)-1].seq
	}
	return len(s.entries), s.total, last, s.dropped
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder: written, fsync'd, renamed, and the folder fsync'd, so a reader (or
// a restart after a crash) sees the old file or the whole new one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
