// Package storetest opens migrated test databases: SQLite always, and
// PostgreSQL when OPSDECK_TEST_POSTGRES holds a DSN, so every store test runs
// on both engines.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// EnvPostgres names the variable holding an admin DSN of a PostgreSQL server
// where tests may create and drop databases.
const EnvPostgres = "OPSDECK_TEST_POSTGRES"

// Each runs fn once per available engine, as subtests named "sqlite" and
// "postgres". Under CI=true a missing PostgreSQL DSN fails the test.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a migrated SQLite database in a temporary folder, closed
// when the test ends.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "opsdeck.db"))
}

// Postgres returns a migrated, freshly created PostgreSQL database, dropped
// when the test ends. It skips (fails under CI=true) without a DSN.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the PostgreSQL suite", EnvPostgres)
		}
		t.Skipf("PostgreSQL suite skipped: set %s=postgres://user@host:port/db to run it", EnvPostgres)
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	defer admin.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "opsdeck_t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	db := open(t, u.String())
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return db
}

func open(t testing.TB, dsn string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
