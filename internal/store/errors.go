package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors every domain checks with errors.Is, whatever the engine.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique constraint refused the write.
	ErrConflict = errors.New("already exists")
	// ErrReference means a foreign key refused the write (a referenced row is
	// missing, or a row still referenced cannot be removed).
	ErrReference = errors.New("referenced row missing or still in use")
)

// MapError turns driver errors into the package sentinels, wrapping the
// original so its text still reaches the log. Errors it does not know pass
// through unchanged.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case "23503":
			return fmt.Errorf("%w: %w", ErrReference, err)
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", ErrReference, err)
		}
		// Some builds report the primary code only; fall back to the text.
		if sqErr.Code()&0xff == sqlite3.SQLITE_CONSTRAINT && strings.Contains(sqErr.Error(), "UNIQUE") {
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
	}
	return err
}
