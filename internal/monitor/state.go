package monitor

import (
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
)

// verdict is the state machine's memory for one monitor.
type verdict struct {
	state      State
	since      time.Time
	failStreak int
	okStreak   int
	// shown is what the monitor shows: the verdict, or maintenance while a
	// window covers it. State-change events are changes of shown.
	shown      State
	shownSince time.Time
}

// restored rebuilds a verdict from a stored status row.
func restored(st Status) verdict {
	v := verdict{state: st.Verdict, since: st.Since, failStreak: st.FailStreak, okStreak: st.OKStreak, shown: st.State, shownSince: st.Since}
	if v.state == "" || v.state == StateMaintenance {
		v.state = st.State
	}
	if v.state == StateMaintenance {
		v.state = StateUnknown
	}
	return v
}

// fresh is the verdict of a new, resumed or reset monitor.
func fresh(s State, at time.Time) verdict {
	return verdict{state: s, since: at, shown: s, shownSince: at}
}

// apply folds one check result into the verdict and reports whether the state
// changed. Thresholds keep flapping out of alerts: a monitor goes up only
// after successThreshold results in a row are up, and leaves up only after
// failureThreshold results in a row are not. Once failing, it follows the
// latest failing result (down ↔ degraded ↔ unknown) at once.
func (v *verdict) apply(r probe.Status, at time.Time, failureThreshold, successThreshold int) (from State, changed bool) {
	from = v.state
	var target State
	if r == probe.StatusUp {
		v.okStreak++
		v.failStreak = 0
		if v.okStreak >= successThreshold || v.state == StateUp {
			target = StateUp
		}
	} else {
		v.failStreak++
		v.okStreak = 0
		if v.failStreak >= failureThreshold || (v.state != StateUp && v.state != StateUnknown) {
			target = State(r)
		}
	}
	if target == "" || target == v.state {
		return from, false
	}
	v.state, v.since = target, at
	return from, true
}
