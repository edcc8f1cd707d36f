// Package probe runs one check of one monitor: an HTTP request, a TCP
// connect, an ICMP echo, a DNS query, a TLS handshake, a Nagios plugin or an
// SNMP GET. It knows nothing of schedules, storage or alerting; the monitor
// package calls Probe on a schedule and keeps the results.
package probe

import (
	"context"
	"time"
)

// Status is the verdict of one check.
type Status string

// The verdicts a check can reach. Paused and maintenance are monitor states,
// not check results, so they are not here.
const (
	StatusUp       Status = "up"
	StatusDegraded Status = "degraded"
	StatusDown     Status = "down"
	StatusUnknown  Status = "unknown"
)

// Result is what one check found.
type Result struct {
	Status Status
	// Latency is the whole check's duration as the user understands it
	// (request to last byte, connect time, round-trip time, plugin run time).
	Latency time.Duration
	// Message says in one line why the status is what it is, e.g.
	// "HTTP 503 (want 200-399)" or "certificate expires in 5 days".
	Message string
	// Phases splits Latency where the protocol allows: dns, connect, tls,
	// first_byte. Missing phases are zero.
	Phases Phases
	// Metrics are numeric observations worth keeping as series: Nagios
	// perfdata, packet loss, days to certificate expiry, SNMP values.
	Metrics []Metric
	// Output is longer text kept for the user to read (plugin output, a
	// response body excerpt); capped by the prober.
	Output string
}

// Phases are the parts of a network check's latency.
type Phases struct {
	DNS       time.Duration
	Connect   time.Duration
	TLS       time.Duration
	FirstByte time.Duration
}

// Metric is one named numeric value, with Nagios-style thresholds when the
// source gives them.
type Metric struct {
	Name  string
	Value float64
	Unit  string
	// Warn and Crit are the raw threshold ranges as given ("10", "@5:10",
	// "~:20"); Min and Max bound the value when known.
	Warn, Crit string
	Min, Max   *float64
}

// Prober runs a check. Implementations honour ctx's deadline (the monitor's
// timeout) and never return a Result slower than it by more than a moment.
type Prober interface {
	Probe(ctx context.Context) Result
}

// Check is one configured check: the type-specific settings of a monitor,
// validated, ready to probe. Each check type lives in its own file with its
// settings struct (JSON field names are the API's and the YAML's) and a
// constructor that decodes and validates them.
type Check interface {
	// Probe runs the check once.
	Prober
	// Target names what is checked, for lists: a URL, host:port, a command.
	Target() string
}
