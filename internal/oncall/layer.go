package oncall

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// The rotation kinds of a layer.
const (
	RotationDaily  = "daily"
	RotationWeekly = "weekly"
	RotationCustom = "custom"
)

// The units of a custom rotation's shift length.
const (
	UnitHours = "hours"
	UnitDays  = "days"
)

// Limits that keep one schedule's computation small.
const (
	MaxLayers       = 10
	MaxParticipants = 100
	MaxRestrictions = 14
)

// Layer is one rotation of a schedule: its participants take turns, in
// order, each for one shift; shifts hand off at Handoff (wall clock in the
// schedule's zone), the first one on StartDate. Restrictions, when given,
// limit the layer to those hours (a "business hours" layer); outside them
// the layer has nobody and lower layers show through.
type Layer struct {
	Name     string `json:"name"`
	Rotation string `json:"rotation"`
	// ShiftLength and ShiftUnit size a custom rotation's shift ("12 hours",
	// "3 days"); daily and weekly leave them empty.
	ShiftLength  int           `json:"shift_length,omitempty"`
	ShiftUnit    string        `json:"shift_unit,omitempty"`
	Handoff      string        `json:"handoff"`
	StartDate    string        `json:"start_date"`
	Participants []int64       `json:"participants"`
	Restrictions []Restriction `json:"restrictions"`

	handoff   Clock
	anchor    civil // StartDate at Handoff
	stepDays  int   // shift length in calendar days, or 0
	stepHours int   // shift length in wall-clock hours, or 0
	windows   []restrictionRule
}

// Restriction limits a layer to a time of day on some weekdays. Days holds
// "mon" … "sun" (empty means every day); End at or before Start runs past
// midnight into the next day ("18:00"–"09:00" is out of hours).
type Restriction struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
}

type restrictionRule struct {
	days       [7]bool
	start, end Clock
}

var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// WeekdayNames lists the day names a restriction accepts, Monday first.
func WeekdayNames() []string {
	return []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
}

// prepare validates the layer and fills its computed parts. field is the
// layer's name in error messages, such as "layers[0]".
func (l *Layer) prepare(field string) error {
	if err := valid.Text(field+".name", l.Name, false, 100, false); err != nil {
		return err
	}
	l.stepDays, l.stepHours = 0, 0
	switch l.Rotation {
	case RotationDaily:
		l.stepDays = 1
	case RotationWeekly:
		l.stepDays = 7
	case RotationCustom:
		switch l.ShiftUnit {
		case UnitHours:
			if l.ShiftLength < 1 || l.ShiftLength > 24*31 {
				return valid.Errorf(field+".shift_length", "must be 1 to 744 hours")
			}
			l.stepHours = l.ShiftLength
		case UnitDays:
			if l.ShiftLength < 1 || l.ShiftLength > 365 {
				return valid.Errorf(field+".shift_length", "must be 1 to 365 days")
			}
			l.stepDays = l.ShiftLength
		default:
			return valid.Errorf(field+".shift_unit", "must be hours or days")
		}
	default:
		return valid.Errorf(field+".rotation", "must be daily, weekly or custom")
	}
	if l.Rotation != RotationCustom && (l.ShiftLength != 0 || l.ShiftUnit != "") {
		return valid.Errorf(field+".shift_length", "only applies to a custom rotation")
	}
	c, err := ParseClock(l.Handoff, false)
	if err != nil {
		return valid.Errorf(field+".handoff", "%v", err)
	}
	l.handoff = c
	d, err := time.Parse(time.DateOnly, l.StartDate)
	if err != nil || d.Year() < 2000 || d.Year() > 2100 {
		return valid.Errorf(field+".start_date", "must be a date as YYYY-MM-DD between 2000 and 2100")
	}
	l.anchor = civilDate(d.Year(), d.Month(), d.Day(), c)
	if len(l.Participants) == 0 {
		return valid.Errorf(field+".participants", "name at least one user")
	}
	if len(l.Participants) > MaxParticipants {
		return valid.Errorf(field+".participants", "at most %d users", MaxParticipants)
	}
	for _, id := range l.Participants {
		if id <= 0 {
			return valid.Errorf(field+".participants", "user ids are positive numbers")
		}
	}
	if len(l.Restrictions) > MaxRestrictions {
		return valid.Errorf(field+".restrictions", "at most %d restrictions", MaxRestrictions)
	}
	if l.Restrictions == nil {
		l.Restrictions = []Restriction{}
	}
	l.windows = nil
	for i := range l.Restrictions {
		r := &l.Restrictions[i]
		rf := fmt.Sprintf("%s.restrictions[%d]", field, i)
		var rule restrictionRule
		if len(r.Days) == 0 {
			rule.days = [7]bool{true, true, true, true, true, true, true}
			r.Days = WeekdayNames()
		}
		for j, dn := range r.Days {
			k := slices.Index(weekdayNames[:], strings.ToLower(dn))
			if k < 0 {
				return valid.Errorf(rf+".days", "day %d must be one of mon, tue, wed, thu, fri, sat, sun", j+1)
			}
			r.Days[j] = weekdayNames[k]
			rule.days[k] = true
		}
		if rule.start, err = ParseClock(r.Start, false); err != nil {
			return valid.Errorf(rf+".start", "%v", err)
		}
		if rule.end, err = ParseClock(r.End, true); err != nil {
			return valid.Errorf(rf+".end", "%v", err)
		}
		if rule.start == rule.end || (rule.start == 0 && rule.end == 24*60) {
			return valid.Errorf(rf+".end", "must differ from start (leave out the restriction for all day)")
		}
		l.windows = append(l.windows, rule)
	}
	return nil
}

// handoffAt is the instant of the k-th hand-off (k = 0 is the first shift's
// start). Hand-offs sit on the wall clock: a daily layer hands off at 09:00
// local whether the day had 23, 24 or 25 hours, and a 12-hour layer at
// 09:00 and 21:00.
func (l *Layer) handoffAt(k int64, loc *time.Location) time.Time {
	if l.stepHours > 0 {
		return resolve(l.anchor.Add(time.Duration(k*int64(l.stepHours))*time.Hour), loc)
	}
	return resolve(l.anchor.AddDate(0, 0, int(k)*l.stepDays), loc)
}

// firstTurn is a turn number whose hand-off is at or before from (or 0).
func (l *Layer) firstTurn(from time.Time, loc *time.Location) int64 {
	since := civilOf(from, loc).Sub(l.anchor)
	if since <= 0 {
		return 0
	}
	var k int64
	if l.stepHours > 0 {
		k = int64(since / (time.Duration(l.stepHours) * time.Hour))
	} else {
		k = int64(since/(24*time.Hour)) / int64(l.stepDays)
	}
	// A wall-clock estimate can be one turn ahead across a change of offset.
	return max(0, k-1)
}

// shifts returns the layer's own shifts overlapping [from, to), clipped to
// it, in order. layer is the layer's 1-based position for Shift.Layer.
func (l *Layer) shifts(loc *time.Location, layer int, from, to time.Time) []Shift {
	if len(l.Participants) == 0 || !from.Before(to) || (l.stepDays <= 0 && l.stepHours <= 0) {
		return nil // empty, or not prepared (a stored layer that no longer validates)
	}
	var out []Shift
	n := int64(len(l.Participants))
	k := l.firstTurn(from, loc)
	start := l.handoffAt(k, loc)
	for start.Before(to) {
		end := l.handoffAt(k+1, loc)
		if end.After(from) && end.After(start) {
			out = append(out, Shift{Start: maxTime(start, from), End: minTime(end, to), UserID: l.Participants[k%n], Layer: layer})
		}
		k++
		start = end
	}
	if len(l.windows) > 0 {
		out = clipTo(out, l.restrictionWindows(loc, from, to))
	}
	return out
}

// span is a half-open interval of time.
type span struct{ start, end time.Time }

// restrictionWindows lists the instants the layer's restrictions allow
// within [from, to), merged and in order.
func (l *Layer) restrictionWindows(loc *time.Location, from, to time.Time) []span {
	first := civilOf(from, loc).AddDate(0, 0, -1)
	last := civilOf(to, loc)
	var ws []span
	for d := civilDate(first.Year(), first.Month(), first.Day(), 0); !d.After(last); d = d.AddDate(0, 0, 1) {
		for _, r := range l.windows {
			if !r.days[d.Weekday()] {
				continue
			}
			endDay := d
			if r.end <= r.start {
				endDay = d.AddDate(0, 0, 1)
			}
			s := resolve(d.Add(time.Duration(r.start)*time.Minute), loc)
			e := resolve(endDay.Add(time.Duration(r.end)*time.Minute), loc)
			s, e = maxTime(s, from), minTime(e, to)
			if s.Before(e) {
				ws = append(ws, span{s, e})
			}
		}
	}
	slices.SortFunc(ws, func(a, b span) int { return a.start.Compare(b.start) })
	merged := ws[:0]
	for _, w := range ws {
		if n := len(merged); n > 0 && !w.start.After(merged[n-1].end) {
			merged[n-1].end = maxTime(merged[n-1].end, w.end)
			continue
		}
		merged = append(merged, w)
	}
	return merged
}

// clipTo keeps the parts of shifts inside windows; both are sorted and
// each is free of overlaps.
func clipTo(shifts []Shift, windows []span) []Shift {
	var out []Shift
	j := 0
	for _, sh := range shifts {
		for j < len(windows) && !windows[j].end.After(sh.Start) {
			j++
		}
		for i := j; i < len(windows) && windows[i].start.Before(sh.End); i++ {
			c := sh
			c.Start, c.End = maxTime(sh.Start, windows[i].start), minTime(sh.End, windows[i].end)
			if c.Start.Before(c.End) {
				out = append(out, c)
			}
		}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
