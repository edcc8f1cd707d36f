package servicedesk

import (
	"encoding/json"
	"time"
)

// SLAState is how a ticket stands against one SLA target.
type SLAState string

// The SLA states. A paused clock keeps its state (ok or warning) and sets
// Paused; the list's badge says "paused".
const (
	SLANone     SLAState = ""         // no policy applies
	SLAOK       SLAState = "ok"       // running, below the warning threshold
	SLAWarning  SLAState = "warning"  // running, past the warning threshold
	SLABreached SLAState = "breached" // the target's business time has run out
	SLAMet      SLAState = "met"      // stopped within the target
)

// severity orders states so a ticket shows its worst target.
func (s SLAState) severity() int {
	switch s {
	case SLABreached:
		return 4
	case SLAWarning:
		return 3
	case SLAOK:
		return 2
	case SLAMet:
		return 1
	}
	return 0
}

// StatusChange is one entry of a ticket's status history.
type StatusChange struct {
	At     time.Time
	Status Status
}

// SLATimer is a ticket's standing against one target (first response or
// resolution), computed from its status history and nothing else, so it
// can always be recomputed.
type SLATimer struct {
	// Target is the business time allowed.
	Target time.Duration `json:"target_seconds"`
	// Elapsed is the business time the clock has run so far.
	Elapsed time.Duration `json:"elapsed_seconds"`
	// Remaining is Target - Elapsed; negative once breached.
	Remaining time.Duration `json:"remaining_seconds"`
	// PausedFor is the wall time the clock stood still while the ticket
	// was pending.
	PausedFor time.Duration `json:"paused_seconds"`
	Paused    bool          `json:"paused"`
	Stopped   bool          `json:"stopped"`
	// Due is when the target runs out if the clock keeps running; nil
	// while paused or stopped.
	Due *time.Time `json:"due_at,omitempty"`
	// WarnAt is when the warning threshold is (or was) crossed if the clock
	// keeps running; nil while paused or stopped.
	WarnAt *time.Time `json:"warn_at,omitempty"`
	State  SLAState   `json:"state"`
}

// MarshalJSON writes durations as whole seconds, which is what API clients
// compute with.
func (t SLATimer) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Target    int64      `json:"target_seconds"`
		Elapsed   int64      `json:"elapsed_seconds"`
		Remaining int64      `json:"remaining_seconds"`
		PausedFor int64      `json:"paused_seconds"`
		Paused    bool       `json:"paused"`
		Stopped   bool       `json:"stopped"`
		Due       *time.Time `json:"due_at,omitempty"`
		WarnAt    *time.Time `json:"warn_at,omitempty"`
		State     SLAState   `json:"state"`
	}{int64(t.Target.Seconds()), int64(t.Elapsed.Seconds()), int64(t.Remaining.Seconds()), int64(t.PausedFor.Seconds()),
		t.Paused, t.Stopped, t.Due, t.WarnAt, t.State})
}

// clockRuns turns a status history into the intervals in which a clock
// runs. The clock runs while the ticket is new or open; pending pauses it
// (PausedFor counts that time); resolved and closed stop it, and a reopen
// resumes it where it stopped. A non-zero stop (the first response) ends
// every run at that instant. The last run may be open, ending at now.
func clockRuns(history []StatusChange, stop, now time.Time) (runs [][2]time.Time, pausedFor time.Duration, paused, stopped bool) {
	end := now
	if !stop.IsZero() && stop.Before(end) {
		end = stop
	}
	for i, h := range history {
		if h.At.After(end) {
			break
		}
		until := end
		if i+1 < len(history) && history[i+1].At.Before(end) {
			until = history[i+1].At
		}
		switch h.Status {
		case StatusNew, StatusOpen:
			if n := len(runs); n > 0 && runs[n-1][1].Equal(h.At) {
				runs[n-1][1] = until // new → open: one run
			} else {
				runs = append(runs, [2]time.Time{h.At, until})
			}
		case StatusPending:
			pausedFor += until.Sub(h.At)
		}
	}
	if !stop.IsZero() && !stop.After(now) {
		return runs, pausedFor, false, true
	}
	if n := len(history); n > 0 {
		last := history[n-1].Status
		paused = last == StatusPending
		stopped = last == StatusResolved || last == StatusClosed
	}
	return runs, pausedFor, paused, stopped
}

// measure computes a timer for a target of business time with a warning
// at warnPct percent, over the clock's runs.
func measure(k *Clock, target time.Duration, warnPct int, runs [][2]time.Time, pausedFor time.Duration, paused, stopped bool, now time.Time) SLATimer {
	t := SLATimer{Target: target, PausedFor: pausedFor, Paused: paused, Stopped: stopped}
	warnAfter := target * time.Duration(warnPct) / 100
	var before time.Duration // elapsed before the last run
	for i, r := range runs {
		d := k.Between(r[0], r[1])
		if i < len(runs)-1 {
			before += d
		}
		t.Elapsed += d
	}
	t.Remaining = target - t.Elapsed
	switch {
	case stopped && t.Elapsed <= target:
		t.State = SLAMet
	case t.Elapsed >= target && target > 0:
		t.State = SLABreached
	case t.Elapsed >= warnAfter && warnPct > 0:
		t.State = SLAWarning
	default:
		t.State = SLAOK
	}
	if stopped || paused || len(runs) == 0 {
		return t
	}
	// Running: the last run is open until now, so due and warning times
	// follow from where it started.
	start := runs[len(runs)-1][0]
	due := k.Add(start, target-before)
	if target-before <= 0 {
		due = start
	}
	t.Due = &due
	if warnPct > 0 {
		w := k.Add(start, max(warnAfter-before, 0))
		t.WarnAt = &w
	}
	return t
}

// SLATargets is what a policy asks of one ticket, snapshotted on the ticket
// when the policy is chosen.
type SLATargets struct {
	PolicyID   int64
	Clock      *Clock
	Response   time.Duration
	Resolution time.Duration
	WarnPct    int
}

// SLAStatus is a ticket's SLA state: both timers, and the worst of them.
type SLAStatus struct {
	PolicyID   int64    `json:"policy_id,omitempty"`
	Response   SLATimer `json:"first_response"`
	Resolution SLATimer `json:"resolution"`
	State      SLAState `json:"state"`
	Paused     bool     `json:"paused"`
}

// ComputeSLA measures a ticket against its targets from its status history
// (oldest first; the first entry is its creation) and the time of its first
// public reply by an agent (zero when none yet).
func ComputeSLA(tg SLATargets, history []StatusChange, firstResponse, now time.Time) SLAStatus {
	if tg.Clock == nil {
		return SLAStatus{}
	}
	st := SLAStatus{PolicyID: tg.PolicyID}
	runs, paused, isPaused, stopped := clockRuns(history, firstResponse, now)
	st.Response = measure(tg.Clock, tg.Response, tg.WarnPct, runs, paused, isPaused, stopped, now)
	runs, paused, isPaused, stopped = clockRuns(history, time.Time{}, now)
	st.Resolution = measure(tg.Clock, tg.Resolution, tg.WarnPct, runs, paused, isPaused, stopped, now)
	st.State = st.Response.State
	if st.Resolution.State.severity() > st.State.severity() {
		st.State = st.Resolution.State
	}
	st.Paused = st.Resolution.Paused
	return st
}

// nextDue is the earliest due time of a running timer (nil when none runs);
// the queue sorts by it.
func (s SLAStatus) nextDue() *time.Time {
	var out *time.Time
	for _, t := range []SLATimer{s.Response, s.Resolution} {
		if t.Due != nil && (out == nil || t.Due.Before(*out)) {
			out = t.Due
		}
	}
	return out
}

// nextCheck is the earliest future instant at which a timer changes state
// (crosses its warning threshold or runs out); nil when none will.
func (s SLAStatus) nextCheck(now time.Time) *time.Time {
	var out *time.Time
	for _, t := range []SLATimer{s.Response, s.Resolution} {
		for _, at := range []*time.Time{t.WarnAt, t.Due} {
			if at != nil && at.After(now) && (out == nil || at.Before(*out)) {
				out = at
			}
		}
	}
	return out
}
