package servicedesk

import (
	"strings"
	"testing"
	"time"
)

// history reads "2026-12-02 09:00 new; 2026-12-02 10:00 pending; …" in the
// clock's zone.
func history(t *testing.T, k *Clock, s string) []StatusChange {
	t.Helper()
	var out []StatusChange
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		i := strings.LastIndexByte(part, ' ')
		out = append(out, StatusChange{At: at(t, k, part[:i]), Status: Status(part[i+1:])})
	}
	return out
}

func TestComputeSLA(t *testing.T) {
	const wed = "2026-12-02 09:00 new"
	cases := []struct {
		cal      string
		history  string
		response string // first public agent reply, "" for none
		now      string
		// wanted resolution timer (target 8h, warning at 80 %)
		elapsed time.Duration
		paused  time.Duration
		due     string // "" for none
		state   SLAState
		isPause bool
		why     string
	}{
		{"office", wed, "", "2026-12-02 10:00", time.Hour, 0, "2026-12-03 09:00", SLAOK, false,
			"a running clock: one business day later"},
		{"office", wed + "; 2026-12-02 10:00 pending; 2026-12-03 10:00 open", "", "2026-12-03 11:00", 2 * time.Hour, 24 * time.Hour, "2026-12-04 09:00", SLAOK, false,
			"a day pending moves the due time by the business time paused (8h), not by wall time"},
		{"office", wed + "; 2026-12-02 10:00 pending", "", "2026-12-04 10:00", time.Hour, 48 * time.Hour, "", SLAOK, true,
			"still pending: the clock stands at 1h, no due time"},
		{"office", "2026-12-04 16:00 new; 2026-12-04 16:30 pending; 2026-12-07 08:00 open", "", "2026-12-07 09:00", 90 * time.Minute, 63*time.Hour + 30*time.Minute, "2026-12-07 16:30", SLAOK, false,
			"pending over a weekend costs no business time, but its wall time is reported"},
		{"office", wed + "; 2026-12-02 18:00 pending; 2026-12-03 07:00 open", "", "2026-12-03 08:00", 7 * time.Hour, 13 * time.Hour, "2026-12-03 09:00", SLAWarning, false,
			"pending outside business hours changes nothing: due as if never paused"},
		{"office", wed + "; 2026-12-02 10:00 pending; 2026-12-02 11:00 open; 2026-12-02 14:00 pending; 2026-12-02 15:00 open", "", "2026-12-02 16:00", 4 * time.Hour, 2 * time.Hour, "2026-12-03 11:00", SLAOK, false,
			"two pauses: each is subtracted once"},
		{"office", wed, "", "2026-12-03 09:30", 8*time.Hour + 30*time.Minute, 0, "2026-12-03 09:00", SLABreached, false,
			"past due: breached, remaining negative"},
		{"office", wed, "", "2026-12-02 16:30", 6*time.Hour + 30*time.Minute, 0, "2026-12-03 09:00", SLAWarning, false,
			"past 80 % of 8h (6h24m): warning"},
		{"office", wed + "; 2026-12-02 15:00 resolved", "", "2026-12-09 09:00", 5 * time.Hour, 0, "", SLAMet, false,
			"resolved in time: met, and it stays met"},
		{"office", wed + "; 2026-12-03 10:00 resolved", "", "2026-12-03 11:00", 9 * time.Hour, 0, "", SLABreached, false,
			"resolved late: breached"},
		{"office", wed + "; 2026-12-02 11:00 resolved; 2026-12-03 09:00 open", "", "2026-12-03 10:00", 3 * time.Hour, 0, "2026-12-03 16:00", SLAOK, false,
			"reopened: the clock resumes where resolution stopped it"},
		{"office", wed + "; 2026-12-02 11:00 resolved; 2026-12-03 09:00 closed", "", "2026-12-10 10:00", 2 * time.Hour, 0, "", SLAMet, false,
			"closed after resolved stays met"},
		{"office", "2026-03-27 16:00 new; 2026-03-27 16:30 pending; 2026-03-30 08:00 open", "", "2026-03-30 08:30", time.Hour, 63*time.Hour + 30*time.Minute - time.Hour, "2026-03-30 16:30", SLAOK, false,
			"a pause over the spring-forward weekend: wall time paused is an hour shorter"},
		{"allday", "2026-12-02 00:00 new; 2026-12-02 01:00 pending; 2026-12-02 05:00 open", "", "2026-12-02 06:00", 2 * time.Hour, 4 * time.Hour, "2026-12-02 12:00", SLAOK, false,
			"24×7: the pause is subtracted exactly"},
		{"office", wed + "; 2026-12-02 09:00 open", "", "2026-12-02 10:00", time.Hour, 0, "2026-12-03 09:00", SLAOK, false,
			"new → open at once is one run, not two"},
		{"office", wed + "; 2026-12-02 10:00 pending; 2026-12-02 11:00 resolved; 2026-12-02 12:30 open", "", "2026-12-02 14:00", 2 * time.Hour, time.Hour, "2026-12-03 11:00", SLAOK, false,
			"pending then resolved then reopened: the resolved time counts neither as paused nor as running"},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			k := mustClock(t, c.cal)
			var fr time.Time
			if c.response != "" {
				fr = at(t, k, c.response)
			}
			st := ComputeSLA(SLATargets{Clock: k, Response: time.Hour, Resolution: 8 * time.Hour, WarnPct: 80}, history(t, k, c.history), fr, at(t, k, c.now))
			r := st.Resolution
			if r.Elapsed != c.elapsed || r.PausedFor != c.paused || r.State != c.state || r.Paused != c.isPause {
				t.Fatalf("elapsed %s paused %s state %s pausedNow %v; want %s %s %s %v", r.Elapsed, r.PausedFor, r.State, r.Paused, c.elapsed, c.paused, c.state, c.isPause)
			}
			if r.Remaining != 8*time.Hour-c.elapsed {
				t.Fatalf("remaining %s", r.Remaining)
			}
			switch {
			case c.due == "" && r.Due != nil:
				t.Fatalf("due %s, want none", r.Due)
			case c.due != "" && (r.Due == nil || !r.Due.Equal(at(t, k, c.due))):
				t.Fatalf("due %v, want %s", r.Due, c.due)
			}
		})
	}
}

func TestComputeSLAFirstResponse(t *testing.T) {
	k := mustClock(t, "office")
	tg := SLATargets{Clock: k, Response: time.Hour, Resolution: 8 * time.Hour, WarnPct: 80}
	h := history(t, k, "2026-12-02 09:00 new; 2026-12-02 09:10 open")
	// Answered after 40 minutes: met, and it stays met while the
	// resolution clock runs on.
	st := ComputeSLA(tg, h, at(t, k, "2026-12-02 09:40"), at(t, k, "2026-12-02 15:00"))
	if st.Response.State != SLAMet || st.Response.Elapsed != 40*time.Minute || st.Response.Due != nil {
		t.Fatalf("response %+v", st.Response)
	}
	if st.State != SLAOK || st.Resolution.Elapsed != 5*time.Hour {
		t.Fatalf("overall %s, resolution %+v", st.State, st.Resolution)
	}
	// Not answered after 1h30: the response timer is breached and the
	// ticket shows its worst timer.
	st = ComputeSLA(tg, h, time.Time{}, at(t, k, "2026-12-02 10:30"))
	if st.Response.State != SLABreached || st.State != SLABreached || st.Resolution.State != SLAOK {
		t.Fatalf("response %s overall %s", st.Response.State, st.State)
	}
	// Pending before any answer pauses the response clock too.
	h = history(t, k, "2026-12-02 09:00 new; 2026-12-02 09:30 pending")
	st = ComputeSLA(tg, h, time.Time{}, at(t, k, "2026-12-02 16:00"))
	if !st.Response.Paused || st.Response.Elapsed != 30*time.Minute || st.Response.State != SLAOK || !st.Paused {
		t.Fatalf("response %+v", st.Response)
	}
	// A reply sent while pending stops the response clock where it stood.
	st = ComputeSLA(tg, h, at(t, k, "2026-12-02 11:00"), at(t, k, "2026-12-02 16:00"))
	if st.Response.State != SLAMet || st.Response.Elapsed != 30*time.Minute || st.Response.PausedFor != 90*time.Minute {
		t.Fatalf("response %+v", st.Response)
	}
	// No policy: no state.
	if st := ComputeSLA(SLATargets{}, h, time.Time{}, at(t, k, "2026-12-02 16:00")); st.State != SLANone {
		t.Fatalf("state %s without a clock", st.State)
	}
}

func TestSLANextCheck(t *testing.T) {
	k := mustClock(t, "office")
	tg := SLATargets{Clock: k, Response: time.Hour, Resolution: 8 * time.Hour, WarnPct: 80}
	h := history(t, k, "2026-12-02 09:00 new")
	st := ComputeSLA(tg, h, time.Time{}, at(t, k, "2026-12-02 09:10"))
	// Response warns at 80 % of 1h: 09:48.
	if n := st.nextCheck(at(t, k, "2026-12-02 09:10")); n == nil || !n.Equal(at(t, k, "2026-12-02 09:48")) {
		t.Fatalf("next check %v", n)
	}
	if d := st.nextDue(); d == nil || !d.Equal(at(t, k, "2026-12-02 10:00")) {
		t.Fatalf("next due %v", d)
	}
	// Answered at 09:20: next is the resolution warning, 6h24m in: 16:24.
	st = ComputeSLA(tg, h, at(t, k, "2026-12-02 09:20"), at(t, k, "2026-12-02 09:30"))
	if n := st.nextCheck(at(t, k, "2026-12-02 09:30")); n == nil || !n.Equal(at(t, k, "2026-12-02 16:24")) {
		t.Fatalf("next check %v", n)
	}
	if st.Resolution.WarnAt == nil || !st.Resolution.WarnAt.Equal(at(t, k, "2026-12-02 16:24")) {
		t.Fatalf("warn at %v", st.Resolution.WarnAt)
	}
}

// TestPauseLaw checks, for pauses starting and ending at many points of
// several calendars, the rule GLPI gets wrong: a pause moves the due time
// by exactly the business time it covered, never by its wall time.
func TestPauseLaw(t *testing.T) {
	for _, name := range fuzzCalendars {
		k := mustClock(t, name)
		created := time.Date(2026, 3, 26, 7, 13, 0, 0, time.UTC)
		target := 9 * time.Hour
		tg := SLATargets{Clock: k, Response: time.Hour, Resolution: target, WarnPct: 80}
		for p := created.Add(23 * time.Minute); p.Before(created.Add(5 * 24 * time.Hour)); p = p.Add(197 * time.Minute) {
			if k.Between(created, p) >= target {
				break // the pause must start before the target runs out
			}
			resume := p.Add(31*time.Hour + 11*time.Minute)
			h := []StatusChange{{created, StatusNew}, {p, StatusPending}, {resume, StatusOpen}}
			st := ComputeSLA(tg, h, time.Time{}, resume.Add(time.Minute))
			want := k.Add(created, target+k.Between(p, resume))
			if st.Resolution.Due == nil || !st.Resolution.Due.Equal(want) {
				t.Fatalf("%s: pause %s–%s: due %v, want %s", name, p, resume, st.Resolution.Due, want)
			}
			if st.Resolution.PausedFor != resume.Sub(p) {
				t.Fatalf("%s: paused for %s", name, st.Resolution.PausedFor)
			}
		}
	}
}
