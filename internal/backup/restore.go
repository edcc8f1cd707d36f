package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opsdeck/opsdeck/internal/store"
)

// RestoreResult says what Restore put where.
type RestoreResult struct {
	Manifest Manifest
	// Path is the restored file: the SQLite database, or the PostgreSQL
	// dump to load with pg_restore.
	Path string
}

// Restore restores the archive at from into dataDir, which must be empty
// or not exist. The archive is unpacked into a staging folder beside
// dataDir and checked there: manifest, size and checksum, and for SQLite
// that the database opens, passes PRAGMA integrity_check and has a schema
// this opsdeck knows. Only then is the file moved into dataDir; on any
// failure dataDir is left as it was.
func Restore(ctx context.Context, from, dataDir string) (RestoreResult, error) {
	var res RestoreResult
	if err := checkEmptyDir(dataDir); err != nil {
		return res, err
	}
	f, err := os.Open(from)
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	parent := filepath.Dir(filepath.Clean(dataDir))
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	stage, err := os.MkdirTemp(parent, ".opsdeck-restore-*")
	if err != nil {
		return res, fmt.Errorf("restore: staging folder: %w", err)
	}
	defer os.RemoveAll(stage)
	m, data, err := Extract(f, stage)
	if err != nil {
		return res, fmt.Errorf("restore %s: %w", from, err)
	}
	res.Manifest = m
	if m.Dialect == string(store.SQLite) {
		if err := verifySQLite(ctx, data, m); err != nil {
			return res, fmt.Errorf("restore %s: %w", from, err)
		}
	}
	// Checked again: something may have written into the folder meanwhile.
	if err := checkEmptyDir(dataDir); err != nil {
		return res, err
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	res.Path = filepath.Join(dataDir, m.File)
	if err := os.Rename(data, res.Path); err != nil {
		return res, fmt.Errorf("restore: move into place: %w", err)
	}
	return res, nil
}

// checkEmptyDir accepts a folder that does not exist or is empty.
func checkEmptyDir(dir string) error {
	if dir == "" {
		return errors.New("restore: name the data folder to restore into")
	}
	d, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer d.Close()
	st, err := d.Stat()
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("restore: %s is not a folder", dir)
	}
	if _, err := d.Readdirnames(1); err != io.EOF {
		if err == nil {
			return fmt.Errorf("restore: the data folder %s is not empty; restore only into an empty or new folder, so no data is overwritten", dir)
		}
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// verifySQLite opens the staged database and checks it is whole, is an
// opsdeck database of the manifest's schema version, and is not newer
// than this opsdeck.
func verifySQLite(ctx context.Context, path string, m Manifest) error {
	db, err := store.Open(ctx, path)
	if err != nil {
		return badArchive("the database does not open: %v", err)
	}
	defer db.Close()
	var res string
	if err := db.R.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&res); err != nil {
		return badArchive("the database is damaged: %v", err)
	}
	if res != "ok" {
		return badArchive("the database is damaged: integrity check says %q", clip(res, 200))
	}
	cur, latest, err := db.MigrationState(ctx)
	if err != nil {
		return badArchive("the database has no opsdeck schema: %v", err)
	}
	if cur != m.SchemaVersion {
		return badArchive("the database's schema version %d differs from the manifest's %d", cur, m.SchemaVersion)
	}
	if cur > latest {
		return fmt.Errorf("the backup is from a newer opsdeck (schema %d; this one knows up to %d): restore it with that version", cur, latest)
	}
	var n int
	if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return badArchive("the database lacks opsdeck's tables: %v", err)
	}
	return nil
}
