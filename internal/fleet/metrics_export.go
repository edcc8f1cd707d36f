package fleet

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors are the fleet's Prometheus counters, read at scrape time.
func (s *Service) Collectors() []prometheus.Collector {
	c := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	return []prometheus.Collector{
		c("opsdeck_agent_reports_total", "Agent reports accepted and committed.", &s.stats.Reports),
		c("opsdeck_agent_replays_total", "Agent reports refused as replays (seq not above the accepted one).", &s.stats.Replays),
		c("opsdeck_agent_refused_total", "Agent requests refused as malformed or too large.", &s.stats.Refused),
		c("opsdeck_agent_auth_failures_total", "Agent reports with a wrong or revoked credential.", &s.stats.AuthFailures),
		c("opsdeck_agent_enroll_failures_total", "Enrollments with a wrong, used, revoked or expired token.", &s.stats.EnrollFailures),
		c("opsdeck_agent_software_changes_total", "Software inventories accepted with a changed hash.", &s.stats.SoftwareWrites),
		c("opsdeck_agent_software_sets_total", "Distinct software inventories stored (the others shared an existing one).", &s.stats.SoftwareSetsWritten),
	}
}
