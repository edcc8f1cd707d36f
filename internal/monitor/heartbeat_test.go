package monitor

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func TestNewHeartbeatValidates(t *testing.T) {
	for _, tc := range []struct{ js, field string }{
		{`{}`, "period"},
		{`{"period":"30s"}`, "period"},
		{`{"period":"soon"}`, "period"},
		{`{"period":"1h","cron":"0 3 * * *"}`, "cron"},
		{`{"cron":"61 * * * *"}`, "cron"},
		{`{"cron":"0 3 30 2 *"}`, "cron"},
		{`{"cron":"0 3 * * *","timezone":"Mars/Olympus"}`, "timezone"},
		{`{"cron":"TZ=UTC 0 3 * * *"}`, "cron"},
		{`{"period":"1h","timezone":"Europe/Berlin"}`, "timezone"},
		{`{"period":"1h","grace":"0s"}`, "grace"},
		{`{"period":"1h","every":"day"}`, "every"},
	} {
		_, err := NewHeartbeat(json.RawMessage(tc.js))
		if ve, ok := valid.As(err); !ok || ve.Field != tc.field {
			t.Errorf("%s: %v, want a field error on %s", tc.js, err, tc.field)
		}
	}
	if h, err := NewHeartbeat(json.RawMessage(`{"cron":"@daily","timezone":"Europe/Berlin","grace":"10m"}`)); err != nil || h.Grace != 10*time.Minute {
		t.Fatalf("valid cron: %+v %v", h, err)
	}
}

func TestHeartbeatEvaluate(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(s string) time.Time {
		t0, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			panic(err)
		}
		return t0
	}
	hourly, _ := NewHeartbeat(json.RawMessage(`{"period":"1h","grace":"5m"}`))
	nightly, _ := NewHeartbeat(json.RawMessage(`{"cron":"30 2 * * *","timezone":"Europe/Berlin","grace":"15m"}`))
	code := 3
	for _, tc := range []struct {
		name  string
		h     *Heartbeat
		pings []Ping
		since time.Time
		now   time.Time
		want  probe.Status
	}{
		{"new, within period", hourly, nil, at("2026-03-01 10:00"), at("2026-03-01 11:04"), probe.StatusUp},
		{"new, never pinged past grace", hourly, nil, at("2026-03-01 10:00"), at("2026-03-01 11:06"), probe.StatusDown},
		{"pinged in time", hourly, []Ping{{At: at("2026-03-01 11:00"), Kind: PingSuccess}}, at("2026-03-01 10:00"), at("2026-03-01 12:04"), probe.StatusUp},
		{"ping late beyond grace", hourly, []Ping{{At: at("2026-03-01 11:00"), Kind: PingSuccess}}, at("2026-03-01 10:00"), at("2026-03-01 12:06"), probe.StatusDown},
		{"failure reported", hourly, []Ping{{At: at("2026-03-01 11:00"), Kind: PingSuccess}, {At: at("2026-03-01 11:30"), Kind: PingFail, ExitCode: &code}}, at("2026-03-01 10:00"), at("2026-03-01 11:31"), probe.StatusDown},
		{"success after failure", hourly, []Ping{{At: at("2026-03-01 11:30"), Kind: PingFail}, {At: at("2026-03-01 11:40"), Kind: PingSuccess}}, at("2026-03-01 10:00"), at("2026-03-01 11:41"), probe.StatusUp},
		{"started, still within grace", hourly, []Ping{{At: at("2026-03-01 11:00"), Kind: PingStart, RunID: "a"}}, at("2026-03-01 10:00"), at("2026-03-01 11:04"), probe.StatusUp},
		{"started, never finished", hourly, []Ping{{At: at("2026-03-01 11:00"), Kind: PingStart, RunID: "a"}}, at("2026-03-01 10:00"), at("2026-03-01 11:06"), probe.StatusDown},
		{"rid pairs start and finish", hourly, []Ping{{At: at("2026-03-01 11:00"), Kind: PingStart, RunID: "a"}, {At: at("2026-03-01 11:00"), Kind: PingStart, RunID: "b"}, {At: at("2026-03-01 11:02"), Kind: PingSuccess, RunID: "b"}}, at("2026-03-01 10:00"), at("2026-03-01 11:06"), probe.StatusDown},
		{"both runs finished", hourly, []Ping{{At: at("2026-03-01 11:00"), Kind: PingStart, RunID: "a"}, {At: at("2026-03-01 11:01"), Kind: PingSuccess, RunID: "a"}}, at("2026-03-01 10:00"), at("2026-03-01 11:30"), probe.StatusUp},
		// Nightly at 02:30 Berlin. 29 March 2026 skips 02:00-03:00 (DST), so
		// that night has no 02:30: no run is expected (robfig/cron's rule;
		// Debian's cron would run it at 03:00), and none is reported missing.
		{"cron: ran last night", nightly, []Ping{{At: at("2026-03-27 02:31"), Kind: PingSuccess}}, at("2026-03-01 00:00"), at("2026-03-28 02:44"), probe.StatusUp},
		{"cron: missed tonight", nightly, []Ping{{At: at("2026-03-27 02:31"), Kind: PingSuccess}}, at("2026-03-01 00:00"), at("2026-03-28 02:46"), probe.StatusDown},
		{"cron: across DST, waits for the shifted run", nightly, []Ping{{At: at("2026-03-28 02:31"), Kind: PingSuccess}}, at("2026-03-01 00:00"), at("2026-03-29 03:10"), probe.StatusUp},
		{"cron: skipped night expects nothing", nightly, []Ping{{At: at("2026-03-28 02:31"), Kind: PingSuccess}}, at("2026-03-01 00:00"), at("2026-03-29 04:00"), probe.StatusUp},
		{"cron: next night after DST missed", nightly, []Ping{{At: at("2026-03-28 02:31"), Kind: PingSuccess}}, at("2026-03-01 00:00"), at("2026-03-30 02:46"), probe.StatusDown},
		{"cron: autumn, 02:30 happens twice, one ping is enough", nightly, []Ping{{At: at("2026-10-25 02:31"), Kind: PingSuccess}}, at("2026-10-01 00:00"), at("2026-10-25 03:40"), probe.StatusUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBeatBook()
			for _, p := range tc.pings {
				b.apply(1, p)
			}
			st := b.snapshot(1)
			got := tc.h.evaluate(&st, tc.since, tc.now)
			if got.Status != tc.want {
				t.Fatalf("status %s (%s), want %s", got.Status, got.Message, tc.want)
			}
		})
	}
}

func TestOpenRunsAreBounded(t *testing.T) {
	b := newBeatBook()
	base := time.Now()
	for i := range 1000 {
		b.apply(1, Ping{At: base.Add(time.Duration(i) * time.Second), Kind: PingStart, RunID: string(rune('a'+i%26)) + time.Duration(i).String()})
	}
	if n := len(b.snapshot(1).open); n > maxOpenRuns {
		t.Fatalf("%d open runs kept", n)
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 3 * * *", "*/5 * * * *", "@daily", "@every 1h", "0 0 31 2 *", "1-5/2 0,12 * JAN-MAR MON", "", "* * * * * *", "61 * * * *"} {
		f.Add(s, "Europe/Berlin")
	}
	f.Fuzz(func(t *testing.T, expr, tz string) {
		sched, loc, err := ParseCron(expr, tz)
		if err != nil {
			if _, ok := valid.As(err); !ok {
				t.Fatalf("ParseCron(%q, %q): %v is not a field error", expr, tz, err)
			}
			return
		}
		if next := sched.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, loc)); next.IsZero() {
			t.Fatalf("accepted %q which never fires", expr)
		}
	})
}
