package oncall

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is a wall-clock time of day, in minutes after midnight (0–1439),
// written "HH:MM". Hand-offs and restrictions are given as Clocks in the
// schedule's time zone.
type Clock int

// ParseClock reads "HH:MM" (24-hour). "24:00" is accepted as the end of a
// day only when allowEnd is set.
func ParseClock(s string, allowEnd bool) (Clock, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("must be a time of day as HH:MM, such as 09:00")
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !allowEnd)) {
		return 0, fmt.Errorf("must be a time of day as HH:MM, such as 09:00")
	}
	return Clock(hh*60 + mm), nil
}

// String writes the clock as "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// civil is a wall-clock date and time with no zone, kept as a time.Time in
// UTC so calendar arithmetic (AddDate, Add) is plain and exact.
type civil = time.Time

// civilOf is the wall clock t shows in loc.
func civilOf(t time.Time, loc *time.Location) civil {
	l := t.In(loc)
	y, mo, d := l.Date()
	return time.Date(y, mo, d, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// civilDate is midnight of a calendar date plus a clock.
func civilDate(y int, m time.Month, d int, c Clock) civil {
	return time.Date(y, m, d, 0, int(c), 0, 0, time.UTC)
}

// resolve turns a wall-clock time in loc into an instant, with the rules
// the on-call guide documents:
//   - a wall time that happens twice (clocks go back) means its first
//     occurrence, so a 01:30 hand-off on the fall-back night happens once,
//     before the change;
//   - a wall time that never happens (clocks jump forward over it) means the
//     instant the clocks jump, so a 02:30 hand-off on the spring-forward day
//     happens at 03:00 new time: the earliest moment at or after the wanted
//     wall time.
//
// time.Date leaves both cases unspecified, which is why this exists.
func resolve(w civil, loc *time.Location) time.Time {
	secs := w.Unix() // the wall time's seconds as if it were UTC
	var best time.Time
	found := false
	// The offsets in force around the wanted time: transitions are far more
	// than a day apart in every real zone.
	for _, probe := range [...]int64{secs - 36*3600, secs, secs + 36*3600} {
		_, off := time.Unix(probe, 0).In(loc).Zone()
		c := time.Unix(secs-int64(off), int64(w.Nanosecond())).In(loc)
		if civilOf(c, loc).Equal(w) && (!found || c.Before(best)) {
			best, found = c, true
		}
	}
	if found {
		return best
	}
	// In a gap: with the offset from before the jump, the candidate lands
	// after the transition; that zone period's start is the jump itself.
	_, before := time.Unix(secs-36*3600, 0).In(loc).Zone()
	c := time.Unix(secs-int64(before), 0).In(loc)
	start, _ := c.ZoneBounds()
	if start.IsZero() || start.After(c) {
		return c
	}
	return start.In(loc)
}

// StartOfDay is the first instant of a calendar date in loc: midnight, or
// when midnight is skipped by a DST change (as in America/Santiago), the
// instant the clocks jump to.
func StartOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	return resolve(civilDate(y, m, d, 0), loc)
}

// InZone reads the wall-clock fields of wall (its own zone ignored) as a
// time in loc, with the hand-off rules: a skipped time means the instant
// the clocks jump, a repeated one its first occurrence. Forms that take a
// local date and time use it.
func InZone(wall time.Time, loc *time.Location) time.Time {
	y, m, d := wall.Date()
	return resolve(time.Date(y, m, d, wall.Hour(), wall.Minute(), wall.Second(), 0, time.UTC), loc)
}
