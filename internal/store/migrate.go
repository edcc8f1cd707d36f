package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/pressly/goose/v3"
)

// migrationFS holds every schema version. A file named NNNNN_x.sql runs on
// both engines; NNNNN_x.sqlite.sql and NNNNN_x.postgres.sql are twins with the
// same version for DDL the engines spell differently (identity columns, time
// and blob types). goose records applied versions in goose_db_version.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	other := ".postgres.sql"
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		other, dialect = ".sqlite.sql", goose.DialectPostgres
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var exclude []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), other) {
			exclude = append(exclude, e.Name())
		}
	}
	// Out-of-order versions are applied rather than refused: domains add
	// migrations in parallel, and one landing after a higher number must
	// still run on databases that already have the higher one.
	p, err := goose.NewProvider(dialect, db.W, fsys, goose.WithExcludeNames(exclude), goose.WithAllowOutofOrder(true))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration, each in its own transaction, and
// returns the number applied.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("store: migrate: %w", err)
	}
	return len(res), nil
}

// MigrationState reports the applied and the newest embedded schema version.
// The server is ready only when they are equal.
func (db *DB) MigrationState(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		latest = srcs[len(srcs)-1].Version
	}
	return current, latest, nil
}
