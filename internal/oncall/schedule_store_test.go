package oncall

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestScheduleStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := adminCtx()
		clock := &testClock{t: time.Date(2026, 3, 29, 7, 30, 0, 0, time.UTC)} // 09:30 CEST
		svc := NewService(db, Options{Now: clock.Now})
		ann, ben := mkUser(t, db, "ann"), mkUser(t, db, "ben")
		in := Schedule{Name: "Berlin ops", TimeZone: "Europe/Berlin", Layers: []Layer{
			{Name: "24x7", Rotation: RotationDaily, Handoff: "09:00", StartDate: "2026-03-28", Participants: []int64{ann, ben}}}}

		bad := in
		bad.Layers = []Layer{in.Layers[0]}
		bad.Layers[0].Participants = []int64{ann, 999}
		if _, err := svc.SaveSchedule(ctx, bad); err == nil || !strings.HasPrefix(err.Error(), "layers[0].participants: user 999") {
			t.Fatalf("unknown participant: %v", err)
		}
		sc, err := svc.SaveSchedule(ctx, in)
		if err != nil {
			t.Fatalf("save: %v", err)
		}
		if _, err := svc.SaveSchedule(ctx, in); err == nil || !strings.HasPrefix(err.Error(), "name:") {
			t.Fatalf("duplicate name: %v", err)
		}
		ids, err := svc.OnCallAt(ctx, sc.ID, clock.Now())
		if err != nil || len(ids) != 1 || ids[0] != ben {
			t.Fatalf("on call: %v %v, want ben", ids, err)
		}
		o, err := svc.AddOverride(ctx, Override{ScheduleID: sc.ID, UserID: ann, Start: clock.Now().Add(-time.Hour), End: clock.Now().Add(time.Hour), Note: "swap"})
		if err != nil {
			t.Fatalf("override: %v", err)
		}
		if ids, _ := svc.OnCallAt(ctx, sc.ID, clock.Now()); len(ids) != 1 || ids[0] != ann {
			t.Fatalf("on call with override: %v, want ann", ids)
		}
		now, err := svc.OnCallNow(ctx)
		if err != nil || len(now) != 1 || now[0].Current == nil || now[0].Current.UserID != ann || now[0].Next == nil || now[0].Next.UserID != ben ||
			!now[0].Next.Start.Equal(o.End) {
			t.Fatalf("on call now: %+v %v", now, err)
		}
		for _, c := range []struct {
			o     Override
			field string
		}{
			{Override{ScheduleID: sc.ID, UserID: ann, Start: clock.Now(), End: clock.Now()}, "end"},
			{Override{ScheduleID: sc.ID, UserID: 0, Start: clock.Now(), End: clock.Now().Add(time.Hour)}, "user_id"},
			{Override{ScheduleID: sc.ID, UserID: 999, Start: clock.Now(), End: clock.Now().Add(time.Hour)}, "user_id"},
			{Override{ScheduleID: sc.ID, UserID: ann, Start: clock.Now(), End: clock.Now().Add(400 * 24 * time.Hour)}, "end"},
		} {
			if _, err := svc.AddOverride(ctx, c.o); err == nil || !strings.HasPrefix(err.Error(), c.field+":") {
				t.Errorf("override %+v: %v, want error on %s", c.o, err, c.field)
			}
		}
		if _, err := svc.AddOverride(ctx, Override{ScheduleID: 12345, UserID: ann, Start: clock.Now(), End: clock.Now().Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("override on a missing schedule: %v", err)
		}
		if err := svc.DeleteOverride(ctx, sc.ID, o.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteOverride(ctx, sc.ID, o.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		shifts, err := svc.Shifts(ctx, sc.ID, clock.Now(), clock.Now().Add(48*time.Hour))
		if err != nil || len(shifts) != 3 {
			t.Fatalf("shifts: %v %v", shifts, err)
		}
		if _, err := svc.Shifts(ctx, sc.ID, clock.Now(), clock.Now().Add(400*24*time.Hour)); err == nil {
			t.Fatal("a 400-day window was accepted")
		}
		if err := svc.DeleteSchedule(ctx, sc.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Schedule(ctx, sc.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted schedule: %v", err)
		}
		var actions []string
		rows, err := db.R.QueryContext(context.Background(), `SELECT action FROM audit_log ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			_ = rows.Scan(&a)
			actions = append(actions, a)
		}
		if got := strings.Join(actions, ","); got != "schedule.create,override.create,override.delete,schedule.delete" {
			t.Fatalf("audit: %s", got)
		}
	})
}

func TestPolicyValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := adminCtx()
		svc := NewService(db, Options{})
		u := mkUser(t, db, "una")
		lv := func(d int, ts ...Target) Level { return Level{DelayMinutes: d, Targets: ts} }
		cases := []struct {
			p     Policy
			field string
		}{
			{Policy{Name: ""}, "name"},
			{Policy{Name: "p"}, "levels"},
			{Policy{Name: "p", Repeats: 10, Levels: []Level{lv(5, Target{TargetUser, u})}}, "repeats"},
			{Policy{Name: "p", Levels: []Level{lv(5, Target{TargetUser, u}), lv(5)}}, "levels[1].targets"},
			{Policy{Name: "p", Levels: []Level{lv(0, Target{TargetUser, u})}}, "levels[0].delay_minutes"},
			{Policy{Name: "p", Levels: []Level{lv(1441, Target{TargetUser, u})}}, "levels[0].delay_minutes"},
			{Policy{Name: "p", Levels: []Level{lv(5, Target{"team", u})}}, "levels[0].targets[0].type"},
			{Policy{Name: "p", Levels: []Level{lv(5, Target{TargetUser, u}, Target{TargetUser, 999})}}, "levels[0].targets[1].id"},
			{Policy{Name: "p", Levels: []Level{lv(5, Target{TargetSchedule, 999})}}, "levels[0].targets[0].id"},
		}
		for _, c := range cases {
			if _, err := svc.SavePolicy(ctx, c.p); err == nil || !strings.HasPrefix(err.Error(), c.field+":") {
				t.Errorf("SavePolicy(%+v) = %v, want an error on %s", c.p, err, c.field)
			}
		}
		p, err := svc.SavePolicy(ctx, Policy{Name: "p", Levels: []Level{lv(5, Target{TargetUser, u})}})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := svc.PolicyExists(ctx, p.ID); !ok || err != nil {
			t.Fatalf("exists: %v %v", ok, err)
		}
		if ok, err := svc.PolicyExists(ctx, p.ID+100); ok || err != nil {
			t.Fatalf("missing exists: %v %v", ok, err)
		}
	})
}
