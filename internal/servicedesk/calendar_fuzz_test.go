package servicedesk

import (
	"github.com/opsdeck/opsdeck/internal/valid"
	"slices"
	"testing"
	"time"
)

var fuzzCalendars = []string{"office", "ny", "night", "nightwk", "wholeday", "allday", "dstsun"}

// checkClockLaws asserts what every calendar must obey, for a start instant
// and two amounts: adding then counting returns the amount; adding more
// never lands earlier; counting splits at any point; counting never exceeds
// elapsed time; a result of Add is inside business time or at its end.
func checkClockLaws(t *testing.T, k *Clock, start time.Time, d1, d2 time.Duration) {
	t.Helper()
	if d1 > d2 {
		d1, d2 = d2, d1
	}
	e1, e2 := k.Add(start, d1), k.Add(start, d2)
	if got := k.Between(start, e1); got != d1 {
		t.Fatalf("Between(%s, Add(+%s)=%s) = %s", start, d1, e1, got)
	}
	if got := k.Between(start, e2); got != d2 {
		t.Fatalf("Between(%s, Add(+%s)=%s) = %s", start, d2, e2, got)
	}
	if e2.Before(e1) {
		t.Fatalf("not monotonic: +%s → %s, +%s → %s", d1, e1, d2, e2)
	}
	if k.Between(start, e1)+k.Between(e1, e2) != k.Between(start, e2) {
		t.Fatalf("Between does not split at %s", e1)
	}
	if b := k.Between(start, e2); b > e2.Sub(start) {
		t.Fatalf("Between %s exceeds elapsed %s", b, e2.Sub(start))
	}
	if d1 > 0 && !k.InBusiness(e1.Add(-time.Second)) {
		t.Fatalf("the second before Add's result %s is not business time", e1)
	}
	// Adding in two steps equals adding once.
	if two := k.Add(k.Add(start, d1), d2-d1); d1 > 0 && !two.Equal(e2) {
		t.Fatalf("Add(Add(+%s), +%s) = %s, Add(+%s) = %s", d1, d2-d1, two, d2, e2)
	}
}

// TestClockLawsSweep walks starts every 37 minutes over the DST weeks of
// 2026 and the leap week of 2028 for every calendar: thousands of cases
// around the places arithmetic goes wrong.
func TestClockLawsSweep(t *testing.T) {
	windows := []time.Time{
		time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 22, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 22, 0, 0, 0, 0, time.UTC),
		time.Date(2028, 2, 26, 0, 0, 0, 0, time.UTC),
	}
	amounts := []time.Duration{time.Second, time.Minute, 59 * time.Minute, 4 * time.Hour, 9*time.Hour + 7*time.Minute, 41 * time.Hour}
	for _, name := range fuzzCalendars {
		k := mustClock(t, name)
		for _, w := range windows {
			for start := w; start.Before(w.Add(4 * 24 * time.Hour)); start = start.Add(37 * time.Minute) {
				for i := range amounts {
					checkClockLaws(t, k, start, amounts[i], amounts[(i+2)%len(amounts)])
				}
			}
		}
	}
}

// FuzzClock checks the clock laws for any start, amounts and calendar.
func FuzzClock(f *testing.F) {
	f.Add(uint8(0), int64(1774569600), uint32(120), uint32(600))
	f.Add(uint8(2), int64(1774735200), uint32(420), uint32(480))
	f.Add(uint8(6), int64(1792879200), uint32(150), uint32(240))
	f.Fuzz(func(t *testing.T, cal uint8, unix int64, m1, m2 uint32) {
		k := mustClock(t, fuzzCalendars[int(cal)%len(fuzzCalendars)])
		// Starts between 2000 and 2060; amounts up to about 6 months of
		// business time.
		start := time.Unix(946684800+(unix%(60*365*86400)+60*365*86400)%(60*365*86400), 0)
		d1 := time.Duration(m1%(180*24*60)) * time.Minute
		d2 := time.Duration(m2%(180*24*60)) * time.Minute
		checkClockLaws(t, k, start, d1, d2)
	})
}

// TestClockAddIsSmallest checks Add against a brute-force minute walk:
// the result is the first instant at which the amount has passed.
func TestClockAddIsSmallest(t *testing.T) {
	for _, name := range fuzzCalendars {
		k := mustClock(t, name)
		start := time.Date(2026, 3, 27, 15, 17, 0, 0, time.UTC)
		var marks []time.Time
		var sum time.Duration
		for m := start; len(marks) < 600; m = m.Add(time.Minute) {
			if k.InBusiness(m) {
				sum += time.Minute
				marks = append(marks, m.Add(time.Minute))
			}
		}
		for i, want := range marks {
			if got := k.Add(start, time.Duration(i+1)*time.Minute); !got.Equal(want) {
				t.Fatalf("%s: Add(+%dm) = %s, brute force %s", name, i+1, got, want)
			}
		}
		if !slices.IsSortedFunc(marks, func(a, b time.Time) int { return a.Compare(b) }) || sum != 600*time.Minute {
			t.Fatal("brute force walk is broken")
		}
	}
}

// FuzzCalendarCompile feeds outside text (a time zone, a weekday's spans, a
// holiday) to the calendar parser: it never panics, refusals name a field,
// and whatever compiles obeys the clock laws.
func FuzzCalendarCompile(f *testing.F) {
	f.Add("Europe/Berlin", "08:00-12:00", "13:00-17:00", "2026-12-25")
	f.Add("UTC", "22:00-06:00", "", "")
	f.Add("America/New_York", "00:00-24:00", "24:00-01:00", "2028-02-29")
	f.Add("Local", "8-5", "x", "25/12")
	f.Fuzz(func(t *testing.T, tz, span1, span2, holiday string) {
		c := Calendar{TimeZone: tz, Hours: map[string][]string{"mon": {span1}, "thu": {span1, span2}}, Holidays: []string{holiday}}
		k, err := c.Compile()
		if err != nil {
			if _, ok := valid.As(err); !ok {
				t.Fatalf("refusal without a field: %v", err)
			}
			return
		}
		checkClockLaws(t, k, time.Date(2026, 3, 27, 11, 0, 0, 0, time.UTC), 3*time.Hour, 31*time.Hour)
	})
}
