// Package servicedesk is opsdeck's service desk: tickets, their groups and
// priorities, business-hours calendars, SLA policies and the SLA clock.
package servicedesk

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Calendar is a business-hours calendar: the hours of each weekday in an
// IANA time zone, and holidays on which no business time passes. A calendar
// marked AllDay counts every minute (24×7) and ignores hours and holidays.
type Calendar struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
	AllDay   bool   `json:"all_day"`
	// Hours maps a weekday ("mon" … "sun") to its spans, such as
	// ["08:00-12:00", "13:00-17:00"]. A span whose end is not after its start
	// ("22:00-06:00") runs overnight into the next day.
	Hours map[string][]string `json:"hours"`
	// Holidays are local dates (YYYY-MM-DD). A holiday has no business time
	// at all, including the part of an overnight span that spills into it.
	Holidays  []string  `json:"holidays"`
	UpdatedAt time.Time `json:"updated_at"`
}

// weekdayKeys are the Hours keys in time.Weekday order.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// maxHolidays bounds a calendar's holiday list; it also bounds how far the
// clock may have to look for the next business minute.
const maxHolidays = 2000

// span is a half-open range of minutes of one local day, [start, end),
// with 0 ≤ start < end ≤ 1440.
type span struct{ start, end int }

// dateKey is a local date as a comparable number, yyyy*10000+mm*100+dd.
type dateKey int32

func keyOf(y int, m time.Month, d int) dateKey { return dateKey(y*10000 + int(m)*100 + d) }

// Clock is a compiled calendar: what the SLA arithmetic runs on. It is
// immutable and safe for concurrent use.
type Clock struct {
	loc      *time.Location
	allDay   bool
	week     [7][]span
	holidays map[dateKey]bool
	// weekMinutes is the business minutes of a week without holidays; zero
	// means the calendar never counts time.
	weekMinutes int
}

// AllDayClock is the 24×7 clock in UTC, for tickets without a calendar.
func AllDayClock() *Clock { return &Clock{loc: time.UTC, allDay: true, weekMinutes: 7 * 1440} }

// Compile checks the calendar and builds its Clock. Errors name the field.
func (c *Calendar) Compile() (*Clock, error) {
	if c.TimeZone == "" {
		return nil, valid.Errorf("time_zone", "is required (an IANA name such as Europe/Berlin or UTC)")
	}
	if strings.EqualFold(c.TimeZone, "local") {
		return nil, valid.Errorf("time_zone", "must be an IANA name such as Europe/Berlin, not Local")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, valid.Errorf("time_zone", "%q is not an IANA time zone name", c.TimeZone)
	}
	k := &Clock{loc: loc, allDay: c.AllDay, holidays: map[dateKey]bool{}}
	if c.AllDay {
		k.weekMinutes = 7 * 1440
		return k, nil
	}
	for day := range c.Hours {
		if !slices.Contains(weekdayKeys[:], day) {
			return nil, valid.Errorf("hours", "%q is not a weekday; use mon, tue, wed, thu, fri, sat or sun", day)
		}
	}
	for wd, day := range weekdayKeys {
		if len(c.Hours[day]) > 12 {
			return nil, valid.Errorf("hours."+day, "has more than 12 spans")
		}
		for _, txt := range c.Hours[day] {
			from, to, err := parseSpan(txt)
			if err != nil {
				return nil, valid.Errorf("hours."+day, "%q: %v", txt, err)
			}
			if to > from {
				k.week[wd] = append(k.week[wd], span{from, to})
				continue
			}
			// Overnight: the evening part today, the morning part tomorrow.
			k.week[wd] = append(k.week[wd], span{from, 1440})
			if to > 0 {
				k.week[(wd+1)%7] = append(k.week[(wd+1)%7], span{0, to})
			}
		}
	}
	for wd := range k.week {
		ss := k.week[wd]
		slices.SortFunc(ss, func(a, b span) int { return a.start - b.start })
		for i := 1; i < len(ss); i++ {
			if ss[i].start < ss[i-1].end {
				return nil, valid.Errorf("hours."+weekdayKeys[wd], "spans overlap (%s and %s)", fmtSpan(ss[i-1]), fmtSpan(ss[i]))
			}
		}
		// Touching spans are one span: fewer steps for the arithmetic.
		merged := ss[:0]
		for _, s := range ss {
			if n := len(merged); n > 0 && merged[n-1].end == s.start {
				merged[n-1].end = s.end
				continue
			}
			merged = append(merged, s)
		}
		k.week[wd] = merged
		for _, s := range merged {
			k.weekMinutes += s.end - s.start
		}
	}
	if k.weekMinutes == 0 {
		return nil, valid.Errorf("hours", "give business hours on at least one weekday, or make the calendar 24×7")
	}
	if len(c.Holidays) > maxHolidays {
		return nil, valid.Errorf("holidays", "has more than %d dates", maxHolidays)
	}
	for _, h := range c.Holidays {
		d, err := time.Parse(time.DateOnly, h)
		if err != nil {
			return nil, valid.Errorf("holidays", "%q is not a date like 2026-12-25", h)
		}
		k.holidays[keyOf(d.Date())] = true
	}
	return k, nil
}

// parseSpan reads "HH:MM-HH:MM"; 24:00 is allowed as an end.
func parseSpan(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("write a span as HH:MM-HH:MM")
	}
	if from, err = parseHM(strings.TrimSpace(a)); err != nil {
		return 0, 0, err
	}
	if to, err = parseHM(strings.TrimSpace(b)); err != nil {
		return 0, 0, err
	}
	if from == 1440 {
		return 0, 0, fmt.Errorf("a span cannot start at 24:00")
	}
	if from == to {
		return 0, 0, fmt.Errorf("a span needs a length; for a whole day write 00:00-24:00")
	}
	return from, to, nil
}

func parseHM(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time like 08:30", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time like 08:30", s)
	}
	return hh*60 + mm, nil
}

func fmtSpan(s span) string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", s.start/60, s.start%60, s.end/60, s.end%60)
}

// Location is the calendar's time zone.
func (k *Clock) Location() *time.Location { return k.loc }

// WeekMinutes is the business minutes of a week without holidays.
func (k *Clock) WeekMinutes() int { return k.weekMinutes }

// maxScanDays bounds every walk over days: holidays are at most
// maxHolidays dates and every week has business time, so a walk that finds
// none in this many days has a bug, not a calendar, behind it.
const maxScanDays = maxHolidays + 14

// instant turns a local wall time (a date and minutes since its midnight,
// 1440 being the next midnight) into an instant: the earliest instant whose
// local clock reads that time or later. In a spring-forward gap that is the
// transition itself (a span 00:00-06:00 that night lasts five real hours);
// in a fall-back overlap it is the first occurrence (the same span lasts
// seven). The mapping never goes backwards as the wall time moves forwards,
// so spans of one day never overlap and touching spans tile exactly.
func (k *Clock) instant(y int, m time.Month, d, minute int) time.Time {
	wall := time.Date(y, m, d, 0, minute, 0, 0, time.UTC).Unix()
	if k.loc == time.UTC {
		return time.Unix(wall, 0).UTC()
	}
	// The offsets in force half a day either side of the wall time, taken as
	// if it were UTC, cover any transition near it.
	_, o1 := time.Unix(wall-12*3600, 0).In(k.loc).Zone()
	_, o2 := time.Unix(wall+12*3600, 0).In(k.loc).Zone()
	var best time.Time
	for _, off := range [2]int{o1, o2} {
		t := time.Unix(wall-int64(off), 0)
		if _, got := t.In(k.loc).Zone(); got == off {
			if best.IsZero() || t.Before(best) {
				best = t
			}
		}
	}
	if !best.IsZero() {
		return best.UTC()
	}
	// In a gap: neither offset reads this wall time. The clock jumps over
	// it at the transition, which ends the zone in force before the gap.
	before := time.Unix(wall-int64(max(o1, o2)), 0).In(k.loc)
	_, end := before.ZoneBounds()
	if end.IsZero() {
		return before.UTC()
	}
	return end.UTC()
}

// dayStart is the first local date to look at for an instant t: the day of
// t in the calendar's zone.
func (k *Clock) day(t time.Time) (int, time.Month, int) { return t.In(k.loc).Date() }

// spansOn returns the business spans of a local date as instants, calling
// fn for each until it returns false.
func (k *Clock) spansOn(y int, m time.Month, d int, fn func(from, to time.Time) bool) bool {
	if k.holidays[keyOf(y, m, d)] {
		return true
	}
	wd := time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()
	for _, s := range k.week[wd] {
		if !fn(k.instant(y, m, d, s.start), k.instant(y, m, d, s.end)) {
			return false
		}
	}
	return true
}

// Add returns the instant at which d of business time has passed after t.
// Add(t, 0) is t. The result ends inside business time: adding the last
// hour of a Friday ending 17:00 gives Friday 17:00, not Monday's opening.
func (k *Clock) Add(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	if k.allDay {
		return t.Add(d)
	}
	// Whole weeks without holidays cannot be skipped safely (DST changes a
	// week's length); days are walked, which is cheap enough (see bench).
	left := d
	y, m, dd := k.day(t)
	var out time.Time
	for i := 0; ; i++ {
		if i > maxScanDays && left == d {
			// No business time found at all: cannot happen for a compiled
			// calendar; refuse to spin.
			return time.Time{}
		}
		done := !k.spansOn(y, m, dd, func(from, to time.Time) bool {
			if !to.After(t) {
				return true
			}
			if from.Before(t) {
				from = t
			}
			avail := to.Sub(from)
			if left <= avail {
				out = from.Add(left)
				return false
			}
			left -= avail
			return true
		})
		if done {
			return out
		}
		y, m, dd = time.Date(y, m, dd+1, 0, 0, 0, 0, time.UTC).Date()
	}
}

// Between returns the business time from a to b; zero when b is not after a.
func (k *Clock) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if k.allDay {
		return b.Sub(a)
	}
	var total time.Duration
	y, m, dd := k.day(a)
	for {
		first := k.instant(y, m, dd, 0)
		if !first.Before(b) {
			return total
		}
		k.spansOn(y, m, dd, func(from, to time.Time) bool {
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				total += to.Sub(from)
			}
			return true
		})
		y, m, dd = time.Date(y, m, dd+1, 0, 0, 0, 0, time.UTC).Date()
	}
}

// InBusiness reports whether t falls inside business time.
func (k *Clock) InBusiness(t time.Time) bool {
	if k.allDay {
		return true
	}
	in := false
	y, m, d := k.day(t)
	k.spansOn(y, m, d, func(from, to time.Time) bool {
		if !t.Before(from) && t.Before(to) {
			in = true
			return false
		}
		return true
	})
	return in
}
