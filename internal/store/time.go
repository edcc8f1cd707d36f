package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// NullTime scans a time that may be NULL, including from aggregates such as
// MIN(at) and MAX(at): SQLite returns those as text because an aggregate
// has no declared column type, so the driver cannot convert them itself.
type NullTime struct {
	Time  time.Time
	Valid bool
}

// sqliteTimeFormats are the layouts modernc's SQLite driver writes with
// _time_format=sqlite, and the plain ones SQLite's own functions return.
var sqliteTimeFormats = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// Scan implements sql.Scanner.
func (t *NullTime) Scan(v any) error {
	t.Valid = false
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		t.Time, t.Valid = x.UTC(), true
		return nil
	case []byte:
		return t.parse(string(x))
	case string:
		return t.parse(x)
	}
	return fmt.Errorf("store: cannot scan %T into a time", v)
}

func (t *NullTime) parse(s string) error {
	for _, f := range sqliteTimeFormats {
		if p, err := time.Parse(f, s); err == nil {
			t.Time, t.Valid = p.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("store: cannot parse time %q", s)
}

// Value implements driver.Valuer.
func (t NullTime) Value() (driver.Value, error) {
	if !t.Valid {
		return nil, nil
	}
	return t.Time.UTC(), nil
}
