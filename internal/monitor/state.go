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
