package oncall

import (
	"testing"
	"time"
)

var fuzzZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
	"America/Santiago", "Pacific/Chatham", "Europe/London", "Asia/Tokyo", "America/St_Johns"}

// FuzzLayerShifts checks the properties every layer must keep, in any zone
// and rotation: after its start date an unrestricted layer's shifts tile
// any window with no gap and no overlap, turns follow the participant order,
// and the final shifts never overlap and agree with OnCallAt.
func FuzzLayerShifts(f *testing.F) {
	f.Add(uint8(1), uint8(0), uint16(1), uint16(540), uint16(80), int64(0), uint32(60*24*30), int64(0), uint16(0))
	f.Add(uint8(3), uint8(2), uint16(12), uint16(135), uint16(270), int64(90000), uint32(60*24*90), int64(600), uint16(300))
	f.Add(uint8(2), uint8(1), uint16(1), uint16(150), uint16(60), int64(-5000), uint32(60*24*400), int64(12345), uint16(4000))
	f.Add(uint8(5), uint8(3), uint16(5), uint16(0), uint16(3), int64(777), uint32(999), int64(-100), uint16(77))
	f.Fuzz(func(t *testing.T, zone, kind uint8, length, handoff, startDay uint16, fromMin int64, windowMin uint32, ovMin int64, ovLen uint16) {
		l := Layer{Handoff: Clock(int(handoff) % 1440).String(), Participants: []int64{11, 12, 13}}
		switch kind % 4 {
		case 0:
			l.Rotation = RotationDaily
		case 1:
			l.Rotation = RotationWeekly
		case 2:
			l.Rotation, l.ShiftUnit, l.ShiftLength = RotationCustom, UnitHours, 1+int(length)%744
		default:
			l.Rotation, l.ShiftUnit, l.ShiftLength = RotationCustom, UnitDays, 1+int(length)%365
		}
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(startDay)%1500)
		l.StartDate = start.Format(time.DateOnly)
		s := &Schedule{Name: "f", TimeZone: fuzzZones[int(zone)%len(fuzzZones)], Layers: []Layer{l}}
		if err := s.Prepare(); err != nil {
			t.Fatalf("prepare: %v", err)
		}
		first := s.Layers[0].handoffAt(0, s.Location())
		from := first.Add(time.Duration(fromMin%(60*24*2000)) * time.Minute)
		if from.Before(first) {
			from = first
		}
		to := from.Add(time.Duration(1+windowMin%(60*24*400)) * time.Minute)
		shifts := s.LayerShifts(0, from, to)
		if len(shifts) == 0 || !shifts[0].Start.Equal(from) || !shifts[len(shifts)-1].End.Equal(to) {
			t.Fatalf("shifts do not cover [%s, %s): %v", from, to, shifts)
		}
		for i, sh := range shifts {
			if !sh.Start.Before(sh.End) {
				t.Fatalf("empty shift %d: %v", i, sh)
			}
			if i > 0 {
				if !shifts[i-1].End.Equal(sh.Start) {
					t.Fatalf("gap or overlap between shift %d and %d: %v / %v", i-1, i, shifts[i-1], sh)
				}
				// Consecutive turns go to the next participant, except where
				// a zero-length turn (a wall-clock hand-off inside a DST gap)
				// was skipped.
				if next := 11 + (shifts[i-1].UserID-11+1)%3; sh.UserID != next && s.Layers[0].stepHours == 0 {
					t.Fatalf("turn order broken at %d: %d after %d", i, sh.UserID, shifts[i-1].UserID)
				}
			}
		}
		// Final shifts with an override: ordered, no overlap, and OnCallAt
		// agrees at every boundary and in every middle.
		ovStart := from.Add(time.Duration(ovMin%(60*24*400)) * time.Minute)
		ovs := []Override{{ID: 1, UserID: 99, Start: ovStart, End: ovStart.Add(time.Duration(1+int(ovLen)) * time.Minute)}}
		final := s.Shifts(ovs, from, to)
		for i, sh := range final {
			if !sh.Start.Before(sh.End) || (i > 0 && sh.Start.Before(final[i-1].End)) {
				t.Fatalf("final shift %d overlaps or is empty: %v", i, final)
			}
		}
		for i, sh := range final {
			if i > 5 && i < len(final)-5 {
				continue // keep the check cheap on long windows
			}
			mid := sh.Start.Add(sh.End.Sub(sh.Start) / 2)
			for _, at := range []time.Time{sh.Start, mid} {
				got, ok := s.OnCallAt(ovs, at)
				if !ok || got.UserID != sh.UserID {
					t.Fatalf("OnCallAt(%s) = %v %v, final shift says %d", at, got.UserID, ok, sh.UserID)
				}
			}
		}
	})
}
