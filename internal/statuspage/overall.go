package statuspage

import "github.com/opsdeck/opsdeck/internal/monitor"

// Overall is the one-line verdict at the top of a page.
type Overall string

// The verdicts, from best to worst.
const (
	// Unknown: no monitor on the page has reported yet (or the page is empty).
	Unknown       Overall = "unknown"
	Operational   Overall = "operational"
	Maintenance   Overall = "maintenance"
	Degraded      Overall = "degraded"
	PartialOutage Overall = "partial_outage"
	MajorOutage   Overall = "major_outage"
)

// Text is the verdict in the words status pages use.
func (o Overall) Text() string {
	switch o {
	case Operational:
		return "All systems operational"
	case Maintenance:
		return "Under maintenance"
	case Degraded:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return "Status not yet known"
}

// OverallOf decides a page's verdict from its monitors' states. Paused
// monitors are left out: someone switched them off on purpose. Any monitor
// down is an outage, a major one when more than half of the page's
// monitors are down; then degraded, then maintenance. Monitors not yet checked neither help
// nor hurt, unless no monitor has reported at all.
func OverallOf(states []monitor.State) Overall {
	var active, down, degraded, maint, known int
	for _, st := range states {
		if st == monitor.StatePaused {
			continue
		}
		active++
		switch st {
		case monitor.StateDown:
			down++
		case monitor.StateDegraded:
			degraded++
		case monitor.StateMaintenance:
			maint++
		}
		if st != monitor.StateUnknown {
			known++
		}
	}
	switch {
	case down > 0 && down*2 > active:
		return MajorOutage
	case down > 0:
		return PartialOutage
	case degraded > 0:
		return Degraded
	case maint > 0:
		return Maintenance
	case known > 0:
		return Operational
	}
	return Unknown
}

// StateText is a monitor's state in words for people outside the team.
func StateText(st monitor.State) string {
	switch st {
	case monitor.StateUp:
		return "Operational"
	case monitor.StateDegraded:
		return "Degraded performance"
	case monitor.StateDown:
		return "Outage"
	case monitor.StateMaintenance:
		return "Under maintenance"
	case monitor.StatePaused:
		return "Not monitored"
	}
	return "No data yet"
}

// publicState keeps a stored state to the ones a page knows, so a state
// added to monitors later shows as "no data" rather than as itself.
func publicState(s string) monitor.State {
	switch st := monitor.State(s); st {
	case monitor.StateUp, monitor.StateDegraded, monitor.StateDown, monitor.StateMaintenance, monitor.StatePaused:
		return st
	}
	return monitor.StateUnknown
}
