package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// An opsdeck backup archive is a gzip'd tar holding exactly two entries:
// manifest.json first (what the archive is, which opsdeck and schema made
// it, and the SHA-256 and size of the data file), then the data file: a
// consistent SQLite copy (opsdeck.db) or a pg_dump custom-format dump
// (opsdeck.pgdump). Reading checks all of it before anything is written
// where it matters.

// Archive format identifiers.
const (
	ArchiveFormat  = "opsdeck-backup"
	archiveVersion = 1
	manifestName   = "manifest.json"
	sqliteFile     = "opsdeck.db"
	pgDumpFile     = "opsdeck.pgdump"
	maxManifest    = 64 << 10
	// maxDataFile bounds what a manifest may claim (1 TiB).
	maxDataFile = 1 << 40
)

// Manifest describes a backup archive.
type Manifest struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"format_version"`
	Version       string    `json:"opsdeck_version"`
	Dialect       string    `json:"dialect"`
	SchemaVersion int64     `json:"schema_version"`
	CreatedAt     time.Time `json:"created_at"`
	File          string    `json:"file"`
	Size          int64     `json:"size"`
	SHA256        string    `json:"sha256"`
}

// ErrBadArchive marks archives that are not whole opsdeck backups:
// corrupt, truncated, or from something else.
var ErrBadArchive = errors.New("not a whole opsdeck backup")

func badArchive(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, a...))
}

func (m *Manifest) check() error {
	switch {
	case m.Format != ArchiveFormat:
		return badArchive("the manifest is not an opsdeck backup manifest (format %q)", clip(m.Format, 40))
	case m.FormatVersion != archiveVersion:
		return badArchive("archive format version %d is not supported by this opsdeck (it reads version %d)", m.FormatVersion, archiveVersion)
	case !(m.Dialect == string(store.SQLite) && m.File == sqliteFile) && !(m.Dialect == string(store.Postgres) && m.File == pgDumpFile):
		return badArchive("the manifest names an unknown data file %q for dialect %q", clip(m.File, 40), clip(m.Dialect, 20))
	case m.Size < 0 || m.Size > maxDataFile:
		return badArchive("the manifest gives an impossible size %d", m.Size)
	case len(m.SHA256) != 64 || strings.Trim(m.SHA256, "0123456789abcdef") != "":
		return badArchive("the manifest's checksum is not a SHA-256 in hex")
	case m.SchemaVersion < 0:
		return badArchive("the manifest gives a negative schema version")
	}
	return nil
}

// ParseManifest reads and checks a manifest: strict JSON (no unknown
// fields, nothing after the object), a known format and version, a data
// file name from the fixed set, a plausible size and a hex SHA-256.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if len(b) > maxManifest {
		return m, badArchive("the manifest is larger than %d bytes", maxManifest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, badArchive("the manifest is not valid (%v)", err)
	}
	if dec.More() {
		return Manifest{}, badArchive("the manifest has data after its JSON object")
	}
	if err := m.check(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// CreateOptions says what to back up and where to work.
type CreateOptions struct {
	// DSN is the PostgreSQL connection string (pg_dump needs it; the
	// store's Location hides the password). Unused for SQLite.
	DSN string
	// Version is written into the manifest.
	Version string
	// PGDump is the pg_dump program (default: found on PATH).
	PGDump string
	// Store writes the archive without compression (still gzip framing
	// with its CRC): much faster on large databases, about twice the size.
	Store bool
}

// CreateFile writes a backup archive of db to path: first to a temporary
// file beside it, renamed into place only when complete, so a crash never
// leaves a half archive under the final name. It returns the manifest.
func CreateFile(ctx context.Context, db *store.DB, path string, o CreateOptions) (Manifest, error) {
	dir := filepath.Dir(path)
	work, err := os.MkdirTemp(dir, ".opsdeck-backup-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: work folder: %w", err)
	}
	defer os.RemoveAll(work)
	data, m, err := snapshot(ctx, db, work, o)
	if err != nil {
		return Manifest{}, err
	}
	tmp := filepath.Join(work, "archive.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	level := gzip.BestSpeed
	if o.Store {
		level = gzip.NoCompression
	}
	if err := writeArchive(f, m, data, level); err != nil {
		f.Close()
		return Manifest{}, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return Manifest{}, fmt.Errorf("backup: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return Manifest{}, fmt.Errorf("backup: move into place: %w", err)
	}
	return m, nil
}

// snapshot takes the consistent copy of the database into work and
// returns its path and the manifest describing it.
func snapshot(ctx context.Context, db *store.DB, work string, o CreateOptions) (string, Manifest, error) {
	cur, _, err := db.MigrationState(ctx)
	if err != nil {
		return "", Manifest{}, fmt.Errorf("backup: schema version: %w", err)
	}
	m := Manifest{Format: ArchiveFormat, FormatVersion: archiveVersion, Version: o.Version, Dialect: string(db.Dialect),
		SchemaVersion: cur, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	var data string
	switch db.Dialect {
	case store.SQLite:
		m.File = sqliteFile
		data = filepath.Join(work, sqliteFile)
		// VACUUM INTO reads in one transaction, so the copy is the database
		// as of one instant while writers go on (WAL lets them), and the
		// copy is compact and whole on its own (no -wal file).
		// It runs on a connection of its own: the store's readers are
		// query_only, which SQLite applies to VACUUM INTO's target too.
		if err := vacuumInto(ctx, db.Location, data); err != nil {
			return "", Manifest{}, err
		}
	case store.Postgres:
		m.File = pgDumpFile
		data = filepath.Join(work, pgDumpFile)
		prog := o.PGDump
		if prog == "" {
			p, err := exec.LookPath("pg_dump")
			if err != nil {
				return "", Manifest{}, errors.New("backup: pg_dump was not found on PATH; install the PostgreSQL client (Debian: postgresql-client) matching the server's major version")
			}
			prog = p
		}
		if o.DSN == "" {
			return "", Manifest{}, errors.New("backup: no PostgreSQL DSN to pass to pg_dump")
		}
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, prog, "--format=custom", "--no-owner", "--file="+data, "--dbname="+o.DSN)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return "", Manifest{}, fmt.Errorf("backup: pg_dump: %w: %s", err, clip(strings.TrimSpace(stderr.String()), 500))
		}
	default:
		return "", Manifest{}, fmt.Errorf("backup: unknown dialect %q", db.Dialect)
	}
	sum, size, err := fileSHA256(data)
	if err != nil {
		return "", Manifest{}, err
	}
	m.SHA256, m.Size = sum, size
	return data, m, nil
}

func vacuumInto(ctx context.Context, src, dst string) error {
	conn, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?_pragma=busy_timeout(10000)&_time_format=sqlite")
	if err != nil {
		return fmt.Errorf("backup: open the SQLite database: %w", err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, `VACUUM INTO $1`, dst); err != nil {
		return fmt.Errorf("backup: copy the SQLite database %s: %w", src, err)
	}
	return nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("backup: checksum: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func writeArchive(w io.Writer, m Manifest, data string, level int) error {
	zw, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tw := tar.NewWriter(zw)
	mb, _ := json.MarshalIndent(m, "", "  ")
	mb = append(mb, '\n')
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.CreatedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(manifestName, int64(len(mb)))); err != nil {
		return fmt.Errorf("backup: write archive: %w", err)
	}
	if _, err := tw.Write(mb); err != nil {
		return fmt.Errorf("backup: write archive: %w", err)
	}
	f, err := os.Open(data)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if err := tw.WriteHeader(hdr(m.File, m.Size)); err != nil {
		return fmt.Errorf("backup: write archive: %w", err)
	}
	if _, err := io.CopyN(tw, f, m.Size); err != nil {
		return fmt.Errorf("backup: write archive: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: write archive: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("backup: write archive: %w", err)
	}
	return nil
}

// Extract reads an archive from r, checks its manifest, writes its data
// file into dir and checks its size and SHA-256. It returns the manifest
// and the data file's path. Anything wrong is an ErrBadArchive saying
// what; dir may then hold a partial file, so callers extract into a
// staging folder.
func Extract(r io.Reader, dir string) (Manifest, string, error) {
	var m Manifest
	zr, err := gzip.NewReader(r)
	if err != nil {
		return m, "", badArchive("it is not gzip-compressed (%v)", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	if err != nil {
		return m, "", badArchive("the archive is empty or damaged (%v)", err)
	}
	if h.Name != manifestName || h.Typeflag != tar.TypeReg {
		return m, "", badArchive("the first entry is %q, not %s", clip(h.Name, 60), manifestName)
	}
	if h.Size > maxManifest {
		return m, "", badArchive("the manifest is larger than %d bytes", maxManifest)
	}
	mb, err := io.ReadAll(io.LimitReader(tr, maxManifest))
	if err != nil {
		return m, "", badArchive("the manifest is truncated (%v)", err)
	}
	if m, err = ParseManifest(mb); err != nil {
		return Manifest{}, "", err
	}
	h, err = tr.Next()
	if err != nil {
		return m, "", badArchive("the data file is missing: the archive is truncated (%v)", err)
	}
	if h.Name != m.File || h.Typeflag != tar.TypeReg {
		return m, "", badArchive("the second entry is %q, not the %s the manifest names", clip(h.Name, 60), m.File)
	}
	if h.Size != m.Size {
		return m, "", badArchive("the data file is %d bytes, the manifest says %d", h.Size, m.Size)
	}
	out := filepath.Join(dir, m.File)
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return m, "", fmt.Errorf("restore: %w", err)
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, hash), tr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return m, "", badArchive("the data file is truncated or damaged after %d bytes (%v)", n, err)
	}
	if n != m.Size {
		return m, "", badArchive("the data file is truncated: %d of %d bytes", n, m.Size)
	}
	if got := hex.EncodeToString(hash.Sum(nil)); got != m.SHA256 {
		return m, "", badArchive("the data file's checksum does not match the manifest: it is damaged")
	}
	if _, err := tr.Next(); err != io.EOF {
		return m, "", badArchive("unexpected data after the data file")
	}
	// Read to the end so gzip checks its own CRC and length trailer.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return m, "", badArchive("the archive's gzip trailer is damaged (%v)", err)
	}
	return m, out, nil
}
