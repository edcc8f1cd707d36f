package monitor

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// TestBatchedUptimeMatchesSingle seeds three monitors with different
// histories (three days of rolled-up results and a raw tail, a raw tail
// only, nothing at all), and checks that the batched reads answer exactly
// what the per-monitor ones do.
func TestBatchedUptimeMatchesSingle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 10, 12, 40, 0, 0, time.UTC)
		f := &factory{}
		s := NewService(db, Options{Checks: f.build, Now: func() time.Time { return now }})
		var ids []int64
		for _, name := range []string{"a", "b", "c"} {
			w, err := s.Create(ctx, def(t, fmt.Sprintf(`{"name":%q,"type":"scripted","key":%q,"interval":"10s"}`, name, name)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, w.ID)
		}
		// a: one result a minute from 2026-03-08 00:00 to now, every 7th
		// down and every 11th degraded, latency varying; b: the last 30
		// minutes only, all up; c: nothing.
		var rows [][]any
		start := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
		for i := 0; start.Add(time.Duration(i) * time.Minute).Before(now); i++ {
			st := "up"
			switch {
			case i%7 == 0:
				st = "down"
			case i%11 == 0:
				st = "degraded"
			}
			rows = append(rows, []any{ids[0], start.Add(time.Duration(i)*time.Minute + 5*time.Second), st, int64(1000 + i%97*1000), ""})
		}
		for i := range 30 {
			rows = append(rows, []any{ids[1], now.Add(-time.Duration(i+1) * time.Minute), "up", int64(2000), ""})
		}
		if err := db.InsertMany(ctx, db.W, "check_results", []string{"monitor_id", "at", "status", "latency_us", "message"}, rows); err != nil {
			t.Fatal(err)
		}
		// RollUp catches up at most a day of minutes per call.
		for range 4 {
			if err := s.RollUp(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// Ask for one id twice and one that does not exist: both harmless.
		ask := append(append([]int64{}, ids...), 999999)

		daily, err := s.DailyUptimeMany(ctx, ask, 90, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			want, err := s.DailyUptime(ctx, id, 90, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(daily[id], want) {
				t.Errorf("monitor %d: daily uptime batched differs:\n got %v\nwant %v", id, summary(daily[id]), summary(want))
			}
		}
		if got := daily[ids[0]]; got[87].Total == 0 || got[88].Total == 0 || got[89].Total == 0 || got[86].Total != 0 {
			t.Errorf("monitor a should have checks on the last three days only: %v", summary(got[85:]))
		}
		if len(daily[999999]) != 90 || daily[999999][89].Percent != nil {
			t.Errorf("unknown id: %v", summary(daily[999999]))
		}

		for _, d := range []time.Duration{time.Hour, 24 * time.Hour, 90 * 24 * time.Hour} {
			many, err := s.UptimeMany(ctx, ask, now.Add(-d), now)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				want, err := s.Uptime(ctx, id, now.Add(-d), now)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(many[id], want) {
					t.Errorf("monitor %d over %s: batched %+v, single %+v", id, d, many[id], want)
				}
			}
		}

		lat, err := s.HourlyLatencyMany(ctx, ask, now.Add(-24*time.Hour), now)
		if err != nil {
			t.Fatal(err)
		}
		// a: hours 12:00 on 03-09 .. 11:00 from hourly rollups (fully inside
		// the range), then 12:00-12:39 folded from minutes.
		pa := lat[ids[0]]
		if len(pa) != 24 {
			t.Fatalf("monitor a: %d hourly points, want 24: %+v", len(pa), pa)
		}
		if last := pa[23]; !last.At.Equal(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)) || last.Count != 39 {
			t.Errorf("monitor a, current hour: %+v (want 12:00 with 39 checks)", last)
		}
		minutes, err := s.Latency(ctx, ids[0], time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		var sum, p95 float64
		for _, m := range minutes {
			n += m.Count
			sum += m.AvgMS * float64(m.Count)
			p95 = max(p95, m.P95MS)
		}
		// The hourly rollup keeps whole microseconds; the minutes' sum does not.
		if h := pa[22]; h.Count != n || math.Abs(h.AvgMS-sum/float64(n)) > 0.001 || h.P95MS > p95 {
			t.Errorf("monitor a, 11:00: %+v; minutes say %d checks, avg %v, p95 at most %v", h, n, sum/float64(n), p95)
		}
		// b's newest result is in the minute still open, not rolled up yet.
		if pb := lat[ids[1]]; len(pb) != 1 || pb[0].Count != 29 || pb[0].AvgMS != 2 {
			t.Errorf("monitor b: %+v", pb)
		}
		if len(lat[ids[2]]) != 0 {
			t.Errorf("monitor c has points: %+v", lat[ids[2]])
		}

		if _, err := s.SetPaused(ctx, ids[2], true); err != nil {
			t.Fatal(err)
		}
		counts, err := s.StateCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[StateUnknown] != 2 || counts[StatePaused] != 1 || len(counts) != 2 {
			t.Errorf("state counts %v", counts)
		}
		if got, err := s.DailyUptimeMany(ctx, nil, 90, now); err != nil || len(got) != 0 {
			t.Errorf("no ids: %v %v", got, err)
		}
	})
}

func summary(us []Uptime) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = fmt.Sprintf("%s:%d/%d/%d/%d", u.From.Format("01-02"), u.Total, u.Up, u.Degraded, u.Down)
	}
	return out
}
