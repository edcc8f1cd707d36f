package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/store"
)

func cmdBackup(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "backup", "backup --to FILE [flags]",
		"Writes an online, consistent backup of opsdeck's database to FILE (a .tar.gz with a manifest and SHA-256):\n"+
			"SQLite is copied with VACUUM INTO while opsdeck keeps running; PostgreSQL is dumped with pg_dump, which must be installed.")
	sf := addStoreFlags(fs)
	to := fs.String("to", "", "archive `file` to write (required)")
	uncompressed := fs.Bool("store", false, "write the archive uncompressed: much faster for large databases, about twice the size")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if *to == "" {
		fmt.Fprintln(c.stderr, "backup: name the archive with --to FILE")
		fs.Usage()
		return errUsage
	}
	dsn := cfg.DB
	if !cfg.IsPostgres() {
		dsn = cfg.SQLitePath()
		// Backing up must not create an empty database where none is.
		if _, err := os.Stat(dsn); err != nil {
			return fmt.Errorf("no database at %s: %w", dsn, err)
		}
	}
	// Opened without migrating: a backup records the database as it is.
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	began := time.Now()
	m, err := backup.CreateFile(ctx, db, *to, backup.CreateOptions{DSN: cfg.DB, Version: buildVersion(), Store: *uncompressed})
	if err != nil {
		return err
	}
	st, err := os.Stat(*to)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s (%d bytes) in %s: %s of %d bytes, sha256 %s, schema version %d\n",
		*to, st.Size(), time.Since(began).Round(time.Millisecond), m.File, m.Size, m.SHA256, m.SchemaVersion)
	return nil
}

func cmdRestore(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "restore", "restore --from FILE --data DIR [flags]",
		"Restores a backup archive into an empty (or new) data folder after checking it: manifest, size, SHA-256, and for\n"+
			"SQLite that the database opens and passes PRAGMA integrity_check. A bad archive changes nothing.")
	sf := addStoreFlags(fs)
	from := fs.String("from", "", "archive `file` to restore (required)")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if *from == "" {
		fmt.Fprintln(c.stderr, "restore: name the archive with --from FILE")
		fs.Usage()
		return errUsage
	}
	began := time.Now()
	res, err := backup.Restore(ctx, *from, cfg.DataDir)
	if err != nil {
		return err
	}
	m := res.Manifest
	fmt.Fprintf(c.stdout, "restored %s (opsdeck %s, schema version %d, taken %s) to %s in %s\n",
		*from, m.Version, m.SchemaVersion, m.CreatedAt.Format(time.RFC3339), res.Path, time.Since(began).Round(time.Millisecond))
	if m.Dialect == string(store.Postgres) {
		fmt.Fprintf(c.stdout, "this is a PostgreSQL dump: load it into an empty database with\n  pg_restore --no-owner --dbname=postgres://USER@HOST/DB %s\n", res.Path)
	}
	return nil
}
