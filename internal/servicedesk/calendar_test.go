package servicedesk

import (
	"testing"
	"time"
)

// Test calendars. Dates used below: 2026-12-02 is a Wednesday; Europe/Berlin
// springs forward on Sun 2026-03-29 (02:00→03:00) and falls back on Sun
// 2026-10-25 (03:00→02:00); America/New_York on Sun 2026-03-08 and Sun
// 2026-11-01; 2028-02-29 is a Tuesday.
var testCalendars = map[string]Calendar{
	"office": {TimeZone: "Europe/Berlin", Hours: weekdays("08:00-12:00", "13:00-17:00"),
		Holidays: []string{"2026-12-25", "2026-12-26", "2027-01-01"}},
	"ny":       {TimeZone: "America/New_York", Hours: weekdays("09:00-17:00")},
	"night":    {TimeZone: "Europe/Berlin", Hours: everyDay("22:00-06:00")},
	"nightwk":  {TimeZone: "Europe/Berlin", Hours: weekdays("22:00-06:00"), Holidays: []string{"2026-12-25"}},
	"wholeday": {TimeZone: "Europe/Berlin", Hours: everyDay("00:00-24:00")},
	"allday":   {TimeZone: "Europe/Berlin", AllDay: true},
	"dstsun":   {TimeZone: "Europe/Berlin", Hours: map[string][]string{"sun": {"01:00-04:00"}}},
}

func weekdays(spans ...string) map[string][]string {
	h := map[string][]string{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		h[d] = spans
	}
	return h
}

func everyDay(spans ...string) map[string][]string {
	h := weekdays(spans...)
	h["sat"], h["sun"] = spans, spans
	return h
}

func mustClock(t testing.TB, name string) *Clock {
	t.Helper()
	c := testCalendars[name]
	k, err := c.Compile()
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return k
}

// at reads "2006-01-02 15:04[:05]" in the clock's zone, or an RFC 3339 time
// when the text has a zone of its own (for instants a local time cannot
// name, such as the second 02:30 of a fall-back night).
func at(t testing.TB, k *Clock, s string) time.Time {
	t.Helper()
	if ts, err := time.Parse(time.RFC3339, s); err == nil {
		return ts
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if ts, err := time.ParseInLocation(layout, s, k.Location()); err == nil {
			return ts
		}
	}
	t.Fatalf("bad time %q", s)
	return time.Time{}
}

func TestClockAdd(t *testing.T) {
	cases := []struct {
		cal, start string
		add        time.Duration
		want       string
		why        string
	}{
		{"office", "2026-12-02 09:00", time.Hour, "2026-12-02 10:00", "plain hour inside the morning span"},
		{"office", "2026-12-02 11:30", time.Hour, "2026-12-02 13:30", "the lunch gap 12:00-13:00 does not count"},
		{"office", "2026-12-02 16:00", time.Hour, "2026-12-02 17:00", "ends at closing, not at the next opening"},
		{"office", "2026-12-02 16:30", time.Hour, "2026-12-03 08:30", "half an hour today, half tomorrow morning"},
		{"office", "2026-12-04 16:00", 2 * time.Hour, "2026-12-07 09:00", "Friday afternoon rolls over the weekend to Monday"},
		{"office", "2026-12-05 10:00", 30 * time.Minute, "2026-12-07 08:30", "a ticket opened on Saturday starts counting Monday 08:00"},
		{"office", "2026-12-02 06:00", 30 * time.Minute, "2026-12-02 08:30", "before opening: counting starts at 08:00"},
		{"office", "2026-12-02 12:30", 30 * time.Minute, "2026-12-02 13:30", "opened in the lunch break: counting starts at 13:00"},
		{"office", "2026-12-02 18:00", 30 * time.Minute, "2026-12-03 08:30", "opened after closing: counting starts next morning"},
		{"office", "2026-12-05 10:00", 0, "2026-12-05 10:00", "adding nothing returns the start, even outside hours"},
		{"office", "2026-12-24 16:00", 2 * time.Hour, "2026-12-28 09:00", "Christmas Day (holiday) and the weekend are skipped"},
		{"office", "2026-12-31 16:00", 2 * time.Hour, "2027-01-04 09:00", "New Year's Day holiday on a Friday, then the weekend"},
		{"office", "2026-12-07 08:00", 40 * time.Hour, "2026-12-11 17:00", "a whole business week is 40 hours"},
		{"office", "2026-12-07 08:00", 40*time.Hour + time.Minute, "2026-12-14 08:01", "one minute past a whole week lands on next Monday"},
		{"office", "2026-03-27 16:00", 2 * time.Hour, "2026-03-30 09:00", "across spring-forward weekend: wall-clock hours, not UTC hours"},
		{"office", "2026-10-23 16:00", 2 * time.Hour, "2026-10-26 09:00", "across fall-back weekend: Monday 09:00 in CET"},
		{"office", "2028-02-28 16:00", 2 * time.Hour, "2028-02-29 09:00", "leap day is an ordinary Tuesday"},
		{"office", "2028-02-29 08:00", 8 * time.Hour, "2028-02-29 17:00", "the whole leap day counts"},
		{"office", "2028-02-29 08:00", 8*time.Hour + time.Minute, "2028-03-01 08:01", "from the leap day into March"},
		{"office", "2026-12-02 09:00:30", 90 * time.Second, "2026-12-02 09:02:00", "seconds are kept, not rounded to minutes"},
		{"office", "2026-12-02 17:00", time.Minute, "2026-12-03 08:01", "starting exactly at closing counts from the next opening"},
		{"office", "2026-12-02 12:00", time.Minute, "2026-12-02 13:01", "starting exactly at the lunch break"},
		{"office", "2026-12-02 08:00", time.Minute, "2026-12-02 08:01", "starting exactly at opening"},
		{"ny", "2026-03-06 16:00", 2 * time.Hour, "2026-03-09 10:00", "New York spring forward between Friday and Monday"},
		{"ny", "2026-10-30 16:00", 2 * time.Hour, "2026-11-02 10:00", "New York fall back between Friday and Monday"},
		{"ny", "2026-03-07 12:00", time.Minute, "2026-03-09 09:01", "Saturday in New York: Monday 09:00 EDT"},
		{"ny", "2026-12-02T13:00:00Z", time.Hour, "2026-12-02 10:00", "an instant given in UTC (08:00 EST) waits for 09:00 EST, then counts"},
		{"night", "2026-12-02 23:00", time.Hour, "2026-12-03 00:00", "overnight span continues across midnight"},
		{"night", "2026-12-02 05:00", 2 * time.Hour, "2026-12-02 23:00", "end of the night shift, then the next evening"},
		{"night", "2026-12-02 12:00", 30 * time.Minute, "2026-12-02 22:30", "daytime is outside the night shift"},
		{"night", "2026-03-28 22:00", 7 * time.Hour, "2026-03-29 06:00", "the spring-forward night is 7 real hours long"},
		{"night", "2026-03-28 22:00", 8 * time.Hour, "2026-03-29 23:00", "so an 8-hour target needs an hour of the next night"},
		{"night", "2026-10-24 22:00", 9 * time.Hour, "2026-10-25 06:00", "the fall-back night is 9 real hours long"},
		{"night", "2026-10-24 22:00", 8 * time.Hour, "2026-10-25 05:00", "8 real hours after 22:00 CEST is 05:00 CET"},
		{"nightwk", "2026-12-04 23:00", 7 * time.Hour, "2026-12-05 06:00", "Friday's night shift spills into Saturday morning"},
		{"nightwk", "2026-12-04 23:00", 7*time.Hour + time.Minute, "2026-12-07 22:01", "no Sunday night shift, so Monday morning is free too"},
		{"nightwk", "2026-12-24 22:00", 3 * time.Hour, "2026-12-26 01:00", "holiday 25th loses its morning and evening; Saturday keeps Friday's spill"},
		{"wholeday", "2026-03-28 12:00", 24 * time.Hour, "2026-03-29 13:00", "a 24-hour day calendar counts real time: Sunday has 23 hours"},
		{"wholeday", "2026-10-24 12:00", 24 * time.Hour, "2026-10-25 11:00", "and the fall-back Sunday has 25"},
		{"allday", "2026-03-27 16:00", 48 * time.Hour, "2026-03-29 17:00", "24×7 is plain elapsed time across DST"},
		{"allday", "2026-12-25 10:00", time.Hour, "2026-12-25 11:00", "24×7 ignores holidays and weekends"},
		{"dstsun", "2026-03-29 00:00", 61 * time.Minute, "2026-03-29 03:01", "01:00-04:00 on the spring-forward night: 02:01 CET does not exist, it is 03:01 CEST"},
		{"dstsun", "2026-03-29 00:00", 2 * time.Hour, "2026-03-29 04:00", "that span is 2 real hours long"},
		{"dstsun", "2026-10-25 00:00", 150 * time.Minute, "2026-10-25T01:30:00Z", "on the fall-back night the span is 4 hours; 2.5 hours in is the second 02:30"},
		{"dstsun", "2026-10-25 00:00", 4 * time.Hour, "2026-10-25 04:00", "all four hours of the fall-back span"},
		{"dstsun", "2026-10-25T00:30:00Z", 30 * time.Minute, "2026-10-25T01:00:00Z", "starting in the first 02:30 counts straight through the repeated hour"},
	}
	for _, c := range cases {
		t.Run(c.cal+" "+c.start+" +"+c.add.String(), func(t *testing.T) {
			k := mustClock(t, c.cal)
			start, want := at(t, k, c.start), at(t, k, c.want)
			got := k.Add(start, c.add)
			if !got.Equal(want) {
				t.Fatalf("%s: Add = %s, want %s", c.why, got.In(k.Location()), want.In(k.Location()))
			}
			if back := k.Between(start, got); back != c.add {
				t.Fatalf("%s: Between(start, Add) = %s, want %s", c.why, back, c.add)
			}
		})
	}
}

func TestClockBetween(t *testing.T) {
	cases := []struct {
		cal, from, to string
		want          time.Duration
		why           string
	}{
		{"office", "2026-12-04 17:00", "2026-12-07 08:00", 0, "closing Friday to opening Monday is no business time"},
		{"office", "2026-12-02 10:00", "2026-12-02 10:00", 0, "an empty range"},
		{"office", "2026-12-02 11:00", "2026-12-02 10:00", 0, "a reversed range is zero, never negative"},
		{"office", "2026-12-07 00:00", "2026-12-14 00:00", 40 * time.Hour, "one plain week"},
		{"office", "2026-12-21 00:00", "2027-01-04 00:00", 64 * time.Hour, "two weeks less Christmas Day and New Year's Day"},
		{"office", "2026-12-02 11:59", "2026-12-02 13:01", 2 * time.Minute, "a range over lunch counts only its edges"},
		{"office", "2026-03-23 00:00", "2026-04-06 00:00", 80 * time.Hour, "two weeks across spring forward are 80 hours"},
		{"office", "2026-10-19 00:00", "2026-11-02 00:00", 80 * time.Hour, "two weeks across fall back are 80 hours"},
		{"office", "2028-02-01 00:00", "2028-03-01 00:00", 21 * 8 * time.Hour, "February 2028 has 21 weekdays thanks to the leap day"},
		{"wholeday", "2026-03-29 00:00", "2026-03-30 00:00", 23 * time.Hour, "the spring-forward day is 23 hours"},
		{"wholeday", "2026-10-25 00:00", "2026-10-26 00:00", 25 * time.Hour, "the fall-back day is 25 hours"},
		{"night", "2026-12-07 00:00", "2026-12-14 00:00", 56 * time.Hour, "seven nights of eight hours"},
		{"night", "2026-03-28 12:00", "2026-03-29 12:00", 7 * time.Hour, "the night of the spring change"},
		{"ny", "2026-11-01 00:00", "2026-11-08 00:00", 40 * time.Hour, "the New York week after fall back"},
		{"allday", "2026-10-25 00:00", "2026-10-26 00:00", 25 * time.Hour, "24×7 is real elapsed time"},
		{"dstsun", "2026-03-29 00:00", "2026-03-30 00:00", 2 * time.Hour, "01:00-04:00 loses an hour to the spring change"},
		{"dstsun", "2026-10-25 00:00", "2026-10-26 00:00", 4 * time.Hour, "and gains one at the fall change"},
	}
	for _, c := range cases {
		t.Run(c.cal+" "+c.from+" → "+c.to, func(t *testing.T) {
			k := mustClock(t, c.cal)
			if got := k.Between(at(t, k, c.from), at(t, k, c.to)); got != c.want {
				t.Fatalf("%s: Between = %s, want %s", c.why, got, c.want)
			}
		})
	}
}

func TestCalendarCompileRefuses(t *testing.T) {
	cases := []struct {
		cal   Calendar
		field string
	}{
		{Calendar{}, "time_zone"},
		{Calendar{TimeZone: "Mars/Olympus"}, "time_zone"},
		{Calendar{TimeZone: "Local", AllDay: true}, "time_zone"},
		{Calendar{TimeZone: "UTC"}, "hours"},
		{Calendar{TimeZone: "UTC", Hours: map[string][]string{"monday": {"08:00-17:00"}}}, "hours"},
		{Calendar{TimeZone: "UTC", Hours: map[string][]string{"mon": {"8-17"}}}, "hours.mon"},
		{Calendar{TimeZone: "UTC", Hours: map[string][]string{"mon": {"08:00-25:00"}}}, "hours.mon"},
		{Calendar{TimeZone: "UTC", Hours: map[string][]string{"mon": {"08:00-08:00"}}}, "hours.mon"},
		{Calendar{TimeZone: "UTC", Hours: map[string][]string{"mon": {"24:00-08:00"}}}, "hours.mon"},
		{Calendar{TimeZone: "UTC", Hours: map[string][]string{"mon": {"08:00-12:00", "11:00-13:00"}}}, "hours.mon"},
		// Sunday's overnight span runs into Monday 00:00-02:00, which overlaps.
		{Calendar{TimeZone: "UTC", Hours: map[string][]string{"sun": {"22:00-02:00"}, "mon": {"01:00-03:00"}}}, "hours.mon"},
		{Calendar{TimeZone: "UTC", Hours: weekdays("08:00-17:00"), Holidays: []string{"25/12/2026"}}, "holidays"},
	}
	for _, c := range cases {
		_, err := c.cal.Compile()
		assertField(t, err, c.field)
	}
}

func TestCalendarTouchingSpansMerge(t *testing.T) {
	c := Calendar{TimeZone: "UTC", Hours: map[string][]string{"mon": {"08:00-12:00", "12:00-17:00"}, "sun": {"20:00-00:00"}}}
	k, err := c.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if len(k.week[time.Monday]) != 1 || k.WeekMinutes() != 13*60 {
		t.Fatalf("monday spans %v, week %d min", k.week[time.Monday], k.WeekMinutes())
	}
	// Sunday 20:00-00:00 ends at midnight: no Monday part.
	mon := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	if k.InBusiness(mon) {
		t.Fatal("Monday 00:00 counted")
	}
	if !k.InBusiness(mon.Add(-time.Minute)) || !k.InBusiness(mon.Add(8*time.Hour)) || k.InBusiness(mon.Add(17*time.Hour)) {
		t.Fatal("InBusiness wrong at span edges")
	}
}
