package oncall

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// mustTime parses an RFC 3339 time with its offset, so expectations read as
// the wall clock people see.
func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return v
}

// shiftText renders shifts as "start→end user L<layer>" in the zone.
func shiftText(shifts []Shift, loc *time.Location) []string {
	out := make([]string, len(shifts))
	for i, s := range shifts {
		src := fmt.Sprintf("L%d", s.Layer)
		if s.OverrideID != 0 {
			src = fmt.Sprintf("O%d", s.OverrideID)
		}
		out[i] = s.Start.In(loc).Format(time.RFC3339) + "→" + s.End.In(loc).Format(time.RFC3339) + fmt.Sprintf(" u%d %s", s.UserID, src)
	}
	return out
}

func prepared(t testing.TB, zone string, layers ...Layer) *Schedule {
	t.Helper()
	s := &Schedule{Name: "test", TimeZone: zone, Layers: layers}
	if err := s.Prepare(); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return s
}

func TestResolveWallClock(t *testing.T) {
	cases := []struct {
		zone string
		wall string // local wall time, "2006-01-02 15:04"
		want string // RFC 3339 instant with the offset in force
	}{
		{"Europe/Berlin", "2026-03-28 09:00", "2026-03-28T09:00:00+01:00"},
		{"Europe/Berlin", "2026-03-29 09:00", "2026-03-29T09:00:00+02:00"},
		// 02:30 does not exist on spring-forward day: the jump itself.
		{"Europe/Berlin", "2026-03-29 02:30", "2026-03-29T03:00:00+02:00"},
		{"Europe/Berlin", "2026-03-29 02:00", "2026-03-29T03:00:00+02:00"},
		{"Europe/Berlin", "2026-03-29 03:00", "2026-03-29T03:00:00+02:00"},
		// 02:30 happens twice on fall-back night: the first one (summer time).
		{"Europe/Berlin", "2026-10-25 02:30", "2026-10-25T02:30:00+02:00"},
		{"Europe/Berlin", "2026-10-25 03:00", "2026-10-25T03:00:00+01:00"},
		{"America/New_York", "2026-03-08 02:30", "2026-03-08T03:00:00-04:00"},
		{"America/New_York", "2026-11-01 01:30", "2026-11-01T01:30:00-04:00"},
		{"Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-04T02:30:00+11:00"},
		{"Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-05T01:45:00+11:00"},
		{"Australia/Lord_Howe", "2026-04-05 02:00", "2026-04-05T02:00:00+10:30"},
		{"Asia/Kolkata", "2026-03-29 02:30", "2026-03-29T02:30:00+05:30"},
		{"UTC", "2026-03-29 02:30", "2026-03-29T02:30:00Z"},
	}
	for _, c := range cases {
		t.Run(c.zone+" "+c.wall, func(t *testing.T) {
			loc, err := time.LoadLocation(c.zone)
			if err != nil {
				t.Fatal(err)
			}
			w, err := time.Parse("2006-01-02 15:04", c.wall)
			if err != nil {
				t.Fatal(err)
			}
			got := resolve(w, loc)
			if want := mustTime(t, c.want); !got.Equal(want) {
				t.Fatalf("resolve(%s) = %s, want %s", c.wall, got.In(loc).Format(time.RFC3339), c.want)
			}
		})
	}
}

func TestLayerShiftsAcrossDST(t *testing.T) {
	daily := func(handoff, start string, users ...int64) Layer {
		return Layer{Rotation: RotationDaily, Handoff: handoff, StartDate: start, Participants: users}
	}
	cases := []struct {
		name     string
		zone     string
		layer    Layer
		from, to string
		want     []string
	}{
		{
			name: "Berlin daily 09:00 over spring forward (23-hour day)",
			zone: "Europe/Berlin", layer: daily("09:00", "2026-03-27", 1, 2, 3),
			from: "2026-03-28T09:00:00+01:00", to: "2026-03-31T09:00:00+02:00",
			want: []string{
				"2026-03-28T09:00:00+01:00→2026-03-29T09:00:00+02:00 u2 L1",
				"2026-03-29T09:00:00+02:00→2026-03-30T09:00:00+02:00 u3 L1",
				"2026-03-30T09:00:00+02:00→2026-03-31T09:00:00+02:00 u1 L1",
			},
		},
		{
			name: "Berlin daily 09:00 over fall back (25-hour day)",
			zone: "Europe/Berlin", layer: daily("09:00", "2026-10-01", 1, 2),
			from: "2026-10-24T09:00:00+02:00", to: "2026-10-26T09:00:00+01:00",
			want: []string{
				"2026-10-24T09:00:00+02:00→2026-10-25T09:00:00+01:00 u2 L1",
				"2026-10-25T09:00:00+01:00→2026-10-26T09:00:00+01:00 u1 L1",
			},
		},
		{
			name: "Berlin hand-off at non-existent 02:30 on spring-forward day",
			zone: "Europe/Berlin", layer: daily("02:30", "2026-03-28", 1, 2, 3),
			from: "2026-03-28T02:30:00+01:00", to: "2026-03-30T02:30:00+02:00",
			want: []string{
				"2026-03-28T02:30:00+01:00→2026-03-29T03:00:00+02:00 u1 L1",
				"2026-03-29T03:00:00+02:00→2026-03-30T02:30:00+02:00 u2 L1",
			},
		},
		{
			name: "Berlin hand-off at ambiguous 02:30 on fall-back night takes the first",
			zone: "Europe/Berlin", layer: daily("02:30", "2026-10-24", 1, 2),
			from: "2026-10-24T02:30:00+02:00", to: "2026-10-26T02:30:00+01:00",
			want: []string{
				"2026-10-24T02:30:00+02:00→2026-10-25T02:30:00+02:00 u1 L1",
				"2026-10-25T02:30:00+02:00→2026-10-26T02:30:00+01:00 u2 L1",
			},
		},
		{
			name: "New York weekly Monday 09:00 across both changes",
			zone: "America/New_York",
			layer: Layer{Rotation: RotationWeekly, Handoff: "09:00", StartDate: "2026-03-02",
				Participants: []int64{7, 8}},
			from: "2026-03-02T09:00:00-05:00", to: "2026-03-16T09:00:00-04:00",
			want: []string{
				"2026-03-02T09:00:00-05:00→2026-03-09T09:00:00-04:00 u7 L1",
				"2026-03-09T09:00:00-04:00→2026-03-16T09:00:00-04:00 u8 L1",
			},
		},
		{
			name: "New York weekly over fall back",
			zone: "America/New_York",
			layer: Layer{Rotation: RotationWeekly, Handoff: "09:00", StartDate: "2026-10-26",
				Participants: []int64{7, 8}},
			from: "2026-10-28T00:00:00-04:00", to: "2026-11-03T00:00:00-05:00",
			want: []string{
				"2026-10-28T00:00:00-04:00→2026-11-02T09:00:00-05:00 u7 L1",
				"2026-11-02T09:00:00-05:00→2026-11-03T00:00:00-05:00 u8 L1",
			},
		},
		{
			name: "Lord Howe daily 09:00 over the 30-minute spring forward",
			zone: "Australia/Lord_Howe", layer: daily("09:00", "2026-10-01", 1, 2, 3),
			from: "2026-10-03T09:00:00+10:30", to: "2026-10-05T09:00:00+11:00",
			want: []string{
				"2026-10-03T09:00:00+10:30→2026-10-04T09:00:00+11:00 u3 L1",
				"2026-10-04T09:00:00+11:00→2026-10-05T09:00:00+11:00 u1 L1",
			},
		},
		{
			name: "Lord Howe hand-off at non-existent 02:15",
			zone: "Australia/Lord_Howe", layer: daily("02:15", "2026-10-03", 1, 2),
			from: "2026-10-03T02:15:00+10:30", to: "2026-10-05T02:15:00+11:00",
			want: []string{
				"2026-10-03T02:15:00+10:30→2026-10-04T02:30:00+11:00 u1 L1",
				"2026-10-04T02:30:00+11:00→2026-10-05T02:15:00+11:00 u2 L1",
			},
		},
		{
			name: "Lord Howe daily over the 30-minute fall back",
			zone: "Australia/Lord_Howe", layer: daily("09:00", "2026-04-01", 1, 2),
			from: "2026-04-04T09:00:00+11:00", to: "2026-04-06T09:00:00+10:30",
			want: []string{
				"2026-04-04T09:00:00+11:00→2026-04-05T09:00:00+10:30 u2 L1",
				"2026-04-05T09:00:00+10:30→2026-04-06T09:00:00+10:30 u1 L1",
			},
		},
		{
			name: "Tokyo has no DST",
			zone: "Asia/Tokyo", layer: daily("18:00", "2026-03-28", 4, 5),
			from: "2026-03-29T00:00:00+09:00", to: "2026-03-30T00:00:00+09:00",
			want: []string{
				"2026-03-29T00:00:00+09:00→2026-03-29T18:00:00+09:00 u4 L1",
				"2026-03-29T18:00:00+09:00→2026-03-30T00:00:00+09:00 u5 L1",
			},
		},
		{
			name: "Berlin custom 12 hours keeps 09:00 and 21:00 across spring forward",
			zone: "Europe/Berlin",
			layer: Layer{Rotation: RotationCustom, ShiftLength: 12, ShiftUnit: UnitHours, Handoff: "09:00",
				StartDate: "2026-03-28", Participants: []int64{1, 2}},
			from: "2026-03-28T21:00:00+01:00", to: "2026-03-29T21:00:00+02:00",
			want: []string{
				"2026-03-28T21:00:00+01:00→2026-03-29T09:00:00+02:00 u2 L1",
				"2026-03-29T09:00:00+02:00→2026-03-29T21:00:00+02:00 u1 L1",
			},
		},
		{
			name: "UTC custom 3 days",
			zone: "UTC",
			layer: Layer{Rotation: RotationCustom, ShiftLength: 3, ShiftUnit: UnitDays, Handoff: "00:00",
				StartDate: "2026-01-01", Participants: []int64{1, 2, 3}},
			from: "2026-01-05T00:00:00Z", to: "2026-01-11T00:00:00Z",
			want: []string{
				"2026-01-05T00:00:00Z→2026-01-07T00:00:00Z u2 L1",
				"2026-01-07T00:00:00Z→2026-01-10T00:00:00Z u3 L1",
				"2026-01-10T00:00:00Z→2026-01-11T00:00:00Z u1 L1",
			},
		},
		{
			name: "nobody before the start date",
			zone: "UTC", layer: daily("09:00", "2026-01-10", 1),
			from: "2026-01-09T00:00:00Z", to: "2026-01-11T00:00:00Z",
			want: []string{
				"2026-01-10T09:00:00Z→2026-01-11T00:00:00Z u1 L1",
			},
		},
		{
			name: "business hours restriction Mon-Fri 09-17 over a Berlin weekend and spring forward",
			zone: "Europe/Berlin",
			layer: Layer{Rotation: RotationWeekly, Handoff: "09:00", StartDate: "2026-03-23", Participants: []int64{1, 2},
				Restrictions: []Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}}},
			from: "2026-03-27T00:00:00+01:00", to: "2026-03-31T00:00:00+02:00",
			want: []string{
				"2026-03-27T09:00:00+01:00→2026-03-27T17:00:00+01:00 u1 L1",
				"2026-03-30T09:00:00+02:00→2026-03-30T17:00:00+02:00 u2 L1",
			},
		},
		{
			name: "out-of-hours restriction crossing midnight",
			zone: "UTC",
			layer: Layer{Rotation: RotationDaily, Handoff: "18:00", StartDate: "2026-01-01", Participants: []int64{1, 2},
				Restrictions: []Restriction{{Start: "18:00", End: "08:00"}}},
			from: "2026-01-01T00:00:00Z", to: "2026-01-02T12:00:00Z",
			want: []string{
				"2026-01-01T18:00:00Z→2026-01-02T08:00:00Z u1 L1",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := prepared(t, c.zone, c.layer)
			got := shiftText(s.Shifts(nil, mustTime(t, c.from), mustTime(t, c.to)), s.Location())
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("shifts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestLayersAndOverrides(t *testing.T) {
	// Layer 1: 24x7 weekly (u1, u2); layer 2: business hours daily (u3, u4);
	// overrides: u9 covers u3's Monday afternoon, then a newer one (u8)
	// overlapping the first for an hour.
	s := prepared(t, "Europe/Berlin",
		Layer{Rotation: RotationWeekly, Handoff: "09:00", StartDate: "2026-03-23", Participants: []int64{1, 2}},
		Layer{Rotation: RotationDaily, Handoff: "09:00", StartDate: "2026-03-30", Participants: []int64{3, 4},
			Restrictions: []Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}}},
	)
	ovs := []Override{
		{ID: 1, UserID: 9, Start: mustTime(t, "2026-03-30T13:00:00+02:00"), End: mustTime(t, "2026-03-30T20:00:00+02:00")},
		{ID: 2, UserID: 8, Start: mustTime(t, "2026-03-30T15:00:00+02:00"), End: mustTime(t, "2026-03-30T16:00:00+02:00")},
	}
	got := shiftText(s.Shifts(ovs, mustTime(t, "2026-03-30T00:00:00+02:00"), mustTime(t, "2026-03-31T12:00:00+02:00")), s.Location())
	want := []string{
		"2026-03-30T00:00:00+02:00→2026-03-30T09:00:00+02:00 u1 L1",
		"2026-03-30T09:00:00+02:00→2026-03-30T13:00:00+02:00 u3 L2",
		"2026-03-30T13:00:00+02:00→2026-03-30T15:00:00+02:00 u9 O1",
		"2026-03-30T15:00:00+02:00→2026-03-30T16:00:00+02:00 u8 O2",
		"2026-03-30T16:00:00+02:00→2026-03-30T20:00:00+02:00 u9 O1",
		"2026-03-30T20:00:00+02:00→2026-03-31T09:00:00+02:00 u2 L1",
		"2026-03-31T09:00:00+02:00→2026-03-31T12:00:00+02:00 u4 L2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("shifts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct {
		at   string
		user int64
	}{
		{"2026-03-30T08:59:59+02:00", 1}, {"2026-03-30T09:00:00+02:00", 3}, {"2026-03-30T15:30:00+02:00", 8},
		{"2026-03-30T19:00:00+02:00", 9}, {"2026-03-30T20:00:00+02:00", 2},
	} {
		sh, ok := s.OnCallAt(ovs, mustTime(t, c.at))
		if !ok || sh.UserID != c.user {
			t.Errorf("OnCallAt(%s) = %v %v, want u%d", c.at, sh.UserID, ok, c.user)
		}
	}
	if _, ok := prepared(t, "UTC").OnCallAt(nil, time.Now()); ok {
		t.Error("a schedule without layers has someone on call")
	}
}

func TestUnpreparedLayerHasNoShifts(t *testing.T) {
	// A stored schedule that no longer validates (its zone left the zone
	// database) is scanned without Prepare succeeding: it must compute
	// nothing rather than loop.
	s := Schedule{Name: "x", TimeZone: "Gone/Zone", Layers: []Layer{{Rotation: RotationDaily, Handoff: "09:00", StartDate: "2026-01-01", Participants: []int64{1}}}}
	if err := s.Prepare(); err == nil {
		t.Fatal("unknown zone accepted")
	}
	if got := s.Shifts(nil, time.Now(), time.Now().Add(48*time.Hour)); len(got) != 0 {
		t.Fatalf("shifts from an unprepared layer: %v", got)
	}
}

func TestSchedulePrepareNamesField(t *testing.T) {
	ok := Layer{Rotation: RotationDaily, Handoff: "09:00", StartDate: "2026-01-01", Participants: []int64{1}}
	mod := func(f func(l *Layer)) Layer { l := ok; l.Participants = []int64{1}; f(&l); return l }
	cases := []struct {
		s     Schedule
		field string
	}{
		{Schedule{Name: "", TimeZone: "UTC"}, "name"},
		{Schedule{Name: "x", TimeZone: ""}, "time_zone"},
		{Schedule{Name: "x", TimeZone: "Mars/Olympus"}, "time_zone"},
		{Schedule{Name: "x", TimeZone: "Local"}, "time_zone"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{mod(func(l *Layer) { l.Rotation = "hourly" })}}, "layers[0].rotation"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{ok, mod(func(l *Layer) { l.Handoff = "25:00" })}}, "layers[1].handoff"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{mod(func(l *Layer) { l.StartDate = "2026-02-30" })}}, "layers[0].start_date"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{mod(func(l *Layer) { l.Participants = nil })}}, "layers[0].participants"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{mod(func(l *Layer) { l.Rotation = RotationCustom; l.ShiftUnit = UnitHours })}}, "layers[0].shift_length"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{mod(func(l *Layer) { l.Rotation = RotationCustom; l.ShiftLength = 2 })}}, "layers[0].shift_unit"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{mod(func(l *Layer) { l.ShiftLength = 2 })}}, "layers[0].shift_length"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{mod(func(l *Layer) {
			l.Restrictions = []Restriction{{Days: []string{"monday"}, Start: "09:00", End: "17:00"}}
		})}}, "layers[0].restrictions[0].days"},
		{Schedule{Name: "x", TimeZone: "UTC", Layers: []Layer{mod(func(l *Layer) {
			l.Restrictions = []Restriction{{Start: "09:00", End: "09:00"}}
		})}}, "layers[0].restrictions[0].end"},
	}
	for _, c := range cases {
		err := c.s.Prepare()
		if err == nil || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("Prepare(%+v) = %v, want an error on %s", c.s, err, c.field)
		}
	}
}
