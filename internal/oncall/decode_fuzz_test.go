package oncall

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzSchedulePrepare feeds schedule JSON as the API receives it: Prepare
// never panics, and a schedule it accepts computes a week of shifts and an
// on-call answer without panicking or producing overlapping shifts.
func FuzzSchedulePrepare(f *testing.F) {
	f.Add(`{"name":"a","time_zone":"Europe/Berlin","layers":[{"rotation":"daily","handoff":"02:30","start_date":"2026-03-28","participants":[1,2]}]}`)
	f.Add(`{"name":"b","time_zone":"Australia/Lord_Howe","layers":[{"rotation":"custom","shift_length":7,"shift_unit":"hours","handoff":"23:59","start_date":"2000-01-01","participants":[5],"restrictions":[{"days":["sun"],"start":"23:00","end":"01:00"}]}]}`)
	f.Add(`{"name":"c","time_zone":"UTC","layers":[{"rotation":"weekly","handoff":"24:00","start_date":"2100-12-31","participants":[-1]}]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var s Schedule
		if json.Unmarshal([]byte(raw), &s) != nil || s.Prepare() != nil {
			return
		}
		from := time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)
		shifts := s.Shifts(nil, from, from.AddDate(0, 0, 7))
		for i := 1; i < len(shifts); i++ {
			if shifts[i].Start.Before(shifts[i-1].End) {
				t.Fatalf("overlap: %v", shifts)
			}
		}
		s.OnCallAt(nil, from.Add(36*time.Hour))
	})
}
