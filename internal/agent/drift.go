package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// Limits of the drift watcher.
const (
	maxDiffInput   = 1 << 20 // files larger than this are hashed but not diffed (nor kept)
	maxDiffsReport = 4 << 20 // diff bytes in one report, so many changed files stay under the server's body cap
)

// fileState is what the watcher remembers of one file between checks and
// restarts (in <state>/files/<sha256 of path>.json, content beside it).
type fileState struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Mode   string `json:"mode"`
	Error  string `json:"error,omitempty"`
	// Stat is a cheap fingerprint (mtime, size, inode, mode) that lets a
	// check skip reading a file that did not change.
	Stat string `json:"stat"`
}

// driftWatcher reports changes of the watched files.
type driftWatcher struct {
	dir   string // <state>/files
	paths []string
	last  map[string]*fileState
}

func newDriftWatcher(stateDir string, paths []string) (*driftWatcher, error) {
	w := &driftWatcher{dir: filepath.Join(stateDir, "files"), last: map[string]*fileState{}}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("agent: watch %q: not an absolute path", p)
		}
		w.paths = append(w.paths, filepath.Clean(p))
	}
	if len(w.paths) > wire.MaxFiles {
		return nil, fmt.Errorf("agent: at most %d watched files", wire.MaxFiles)
	}
	if len(w.paths) == 0 {
		return w, nil
	}
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	for _, p := range w.paths {
		b, err := os.ReadFile(w.metaPath(p))
		if err != nil {
			continue // first sight
		}
		var st fileState
		if json.Unmarshal(b, &st) == nil && st.Path == p {
			w.last[p] = &st
		}
	}
	return w, nil
}

func (w *driftWatcher) name(p string) string {
	s := sha256.Sum256([]byte(p))
	return filepath.Join(w.dir, hex.EncodeToString(s[:16]))
}
func (w *driftWatcher) metaPath(p string) string    { return w.name(p) + ".json" }
func (w *driftWatcher) contentPath(p string) string { return w.name(p) + ".content" }

// driftUpdate is a checked file's new state, saved by commit once the
// report carrying its change is safely in the spool.
type driftUpdate struct {
	st      fileState
	content []byte // nil: not kept (too large, binary, unreadable or gone)
}

// check stats every watched file, reads the ones whose fingerprint moved and
// returns the changes and the state to commit after spooling them.
func (w *driftWatcher) check(now time.Time) ([]wire.FileChange, []driftUpdate) {
	var changes []wire.FileChange
	var updates []driftUpdate
	budget := maxDiffsReport
	for _, p := range w.paths {
		prev := w.last[p]
		cur, fi := statWatched(p)
		if prev != nil && prev.Stat == cur.Stat && prev.Error == "" && cur.Error == "" {
			continue // fingerprint unchanged: not even read
		}
		var content []byte
		if fi != nil {
			content = readWatched(&cur, fi)
		}
		if prev != nil && prev.SHA256 == cur.SHA256 && prev.Mode == cur.Mode && prev.Error == cur.Error {
			// touched but the same: remember the new fingerprint quietly
			updates = append(updates, driftUpdate{st: cur, content: content})
			continue
		}
		fc := wire.FileChange{Path: p, SHA256: cur.SHA256, Size: cur.Size, Mode: cur.Mode, Error: cur.Error, T: now.UTC()}
		if prev != nil {
			fc.Diff, fc.Truncated = w.diff(p, prev, content, cur, budget)
			budget -= len(fc.Diff)
		}
		changes = append(changes, fc)
		updates = append(updates, driftUpdate{st: cur, content: content})
	}
	return changes, updates
}

// diff compares the kept old content with the new one.
func (w *driftWatcher) diff(p string, prev *fileState, content []byte, cur fileState, budget int) (string, bool) {
	if prev.SHA256 == cur.SHA256 || cur.Error != "" || prev.Error != "" {
		return "", false // mode change only, or no content to compare
	}
	if prev.Size > maxDiffInput || cur.Size > maxDiffInput {
		return "", true // hashed only
	}
	oldText, newText := true, cur.SHA256 == "" || content != nil
	var old []byte
	if prev.SHA256 != "" {
		b, err := readLimited(w.contentPath(p), maxDiffInput)
		old, oldText = b, err == nil // not kept: it was binary
	}
	if !oldText || !newText {
		return "Binary files a" + p + " and b" + p + " differ\n", false
	}
	return unifiedDiff(p, string(old), string(content), min(wire.MaxDiffBytes, max0(budget)))
}

// commit saves the new states; called after the report is spooled, so a
// crash in between reports the change again rather than losing it.
func (w *driftWatcher) commit(updates []driftUpdate) error {
	var errs []error
	for _, u := range updates {
		p := u.st.Path
		if u.content != nil {
			errs = append(errs, writeFileAtomic(w.contentPath(p), u.content, 0o600))
		} else if err := os.Remove(w.contentPath(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		b, _ := json.Marshal(u.st)
		errs = append(errs, writeFileAtomic(w.metaPath(p), b, 0o600))
		st := u.st
		w.last[p] = &st
	}
	return errors.Join(errs...)
}

// statWatched stats a watched file; fi is nil when there is nothing to
// read (gone, unreadable or not a regular file, said in the state).
func statWatched(p string) (fileState, fs.FileInfo) {
	st := fileState{Path: p}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		st.Stat = "gone"
		return st, nil
	}
	if err != nil {
		st.Error = errorText(err)
		return st, nil
	}
	st.Mode = modeString(fi)
	if !fi.Mode().IsRegular() {
		st.Error = "not a regular file"
		return st, nil
	}
	st.Size, st.Stat = fi.Size(), fingerprint(fi)
	return st, fi
}

// readWatched hashes a watched file into st and returns its content when it
// is a text file of at most maxDiffInput bytes (nil otherwise).
func readWatched(st *fileState, fi fs.FileInfo) []byte {
	f, err := os.Open(st.Path)
	if err != nil {
		st.Error = errorText(err)
		return nil
	}
	defer f.Close()
	h := sha256.New()
	var content []byte
	if fi.Size() <= maxDiffInput {
		content, err = io.ReadAll(io.LimitReader(f, maxDiffInput+1))
		h.Write(content)
		if err == nil && len(content) > maxDiffInput { // grew since the stat
			_, err = io.Copy(h, f)
			content = nil
		}
	} else {
		_, err = io.Copy(h, f)
	}
	if err != nil {
		st.Error = errorText(err)
		return nil
	}
	st.SHA256 = hex.EncodeToString(h.Sum(nil))
	if content != nil {
		st.Size = int64(len(content))
	}
	if !isText(content) {
		return nil
	}
	return content
}

// errorText is an error as a one-line report field.
func errorText(err error) string {
	s := cleanLine(err.Error())
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}

// isText says whether b can appear in a diff: valid UTF-8 without control
// characters other than tab, CR and newline.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	return !strings.ContainsFunc(string(b), func(r rune) bool {
		return (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f
	})
}

func modeString(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%04o", st.Mode&0o7777)
	}
	return fmt.Sprintf("%04o", fi.Mode().Perm())
}

func fingerprint(fi fs.FileInfo) string {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprintf("%d/%d/%d/%s", fi.ModTime().UnixNano(), fi.Size(), ino, modeString(fi))
}
