package oncall

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// benchSchedule is three layers over 20 participants in Europe/Berlin: a
// weekly 24x7 layer, a daily business-hours layer, and a 12-hour
// follow-the-sun layer on weekends, plus 10 overrides in the window.
func benchSchedule(b *testing.B) (*Schedule, []Override, time.Time) {
	users := make([]int64, 20)
	for i := range users {
		users[i] = int64(i + 1)
	}
	s := prepared(b, "Europe/Berlin",
		Layer{Rotation: RotationWeekly, Handoff: "09:00", StartDate: "2025-01-06", Participants: users},
		Layer{Rotation: RotationDaily, Handoff: "09:00", StartDate: "2025-01-06", Participants: users[:10],
			Restrictions: []Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}}},
		Layer{Rotation: RotationCustom, ShiftLength: 12, ShiftUnit: UnitHours, Handoff: "08:00", StartDate: "2025-01-04", Participants: users[10:],
			Restrictions: []Restriction{{Days: []string{"sat", "sun"}, Start: "08:00", End: "20:00"}}},
	)
	from := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC) // spans the March DST change
	var ovs []Override
	for i := range 10 {
		st := from.Add(time.Duration(i*3*24+5) * time.Hour)
		ovs = append(ovs, Override{ID: int64(i + 1), UserID: int64(i%20 + 1), Start: st, End: st.Add(6 * time.Hour)})
	}
	return s, ovs, from
}

func BenchmarkShifts30Days(b *testing.B) {
	s, ovs, from := benchSchedule(b)
	to := from.AddDate(0, 0, 30)
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Shifts(ovs, from, to)) == 0 {
			b.Fatal("no shifts")
		}
	}
}

func BenchmarkOnCallAt(b *testing.B) {
	s, ovs, from := benchSchedule(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := from.Add(time.Duration(i%(30*24*60)) * time.Minute)
		if _, ok := s.OnCallAt(ovs, at); !ok {
			b.Fatalf("nobody on call at %s", at)
		}
		i += 37
	}
}

// BenchmarkServiceOnCallAt is OnCallAt as the escalation engine calls it:
// loading the schedule and the overrides from SQLite first.
func BenchmarkServiceOnCallAt(b *testing.B) {
	db := storetest.SQLite(b)
	for i := range 20 {
		mkUser(b, db, "u"+string(rune('a'+i)))
	}
	s, _, from := benchSchedule(b)
	svc := NewService(db, Options{})
	sc, err := svc.SaveSchedule(adminCtx(), Schedule{Name: "bench", TimeZone: s.TimeZone, Layers: s.Layers})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if ids, err := svc.OnCallAt(ctx, sc.ID, from); err != nil || len(ids) != 1 {
			b.Fatalf("%v %v", ids, err)
		}
	}
}

// BenchmarkEscalateDue measures the engine's throughput: each iteration
// starts 100 incidents and takes their first step (claim, resolve a
// schedule target, page, commit), one transaction per step.
func BenchmarkEscalateDue(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchEscalateDue(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchEscalateDue(b, storetest.Postgres(b)) })
}

func benchEscalateDue(b *testing.B, db *store.DB) {
	for i := range 20 {
		mkUser(b, db, "u"+string(rune('a'+i)))
	}
	s, _, _ := benchSchedule(b)
	clock := &testClock{t: time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)}
	pager := &recordPager{}
	svc := NewService(db, Options{Now: clock.Now, Pager: pager})
	ctx := adminCtx()
	sc, err := svc.SaveSchedule(ctx, Schedule{Name: "bench", TimeZone: s.TimeZone, Layers: s.Layers})
	if err != nil {
		b.Fatal(err)
	}
	p, err := svc.SavePolicy(ctx, Policy{Name: "bench", Levels: []Level{{DelayMinutes: 5, Targets: []Target{{TargetSchedule, sc.ID}, {TargetUser, 1}}}}})
	if err != nil {
		b.Fatal(err)
	}
	next := int64(1)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			for range 100 {
				if err := svc.Start(ctx, tx, next, p.ID); err != nil {
					return err
				}
				next++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if n, err := svc.EscalateDue(ctx); err != nil || n != 100 {
			b.Fatalf("paged %d: %v", n, err)
		}
		pager.take()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*100), "µs/step")
}
