package monitor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// runStats are the scheduler's own numbers, for /metrics and the load test.
type runStats struct {
	startDelay prometheus.Histogram
	checks     *prometheus.CounterVec
	skipped    prometheus.Counter
}

func newRunStats() *runStats {
	return &runStats{
		startDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "opsdeck_monitor_check_start_delay_seconds", Help: "How late checks start after their scheduled time.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsdeck_monitor_checks_total", Help: "Checks run, by result.",
		}, []string{"result"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "opsdeck_monitor_checks_skipped_total", Help: "Turns skipped because the previous check of the monitor was still running.",
		}),
	}
}

// Collectors returns the monitoring metrics for the server's registry: the
// scheduler's counters and, per monitor, up and latency gauges.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.stats.startDelay, s.stats.checks, s.stats.skipped, &monitorCollector{s: s}}
}

var (
	upDesc = prometheus.NewDesc("opsdeck_monitor_up",
		"1 when the monitor's state is up or degraded, 0 when down or unknown; absent when paused.", []string{"monitor", "type"}, nil)
	stateDesc = prometheus.NewDesc("opsdeck_monitor_state",
		"1 for the monitor's current state.", []string{"monitor", "type", "state"}, nil)
	latencyDesc = prometheus.NewDesc("opsdeck_monitor_latency_seconds",
		"Latency of the monitor's last check.", []string{"monitor", "type"}, nil)
)

// monitorCollector reads the scheduler's runtimes at scrape time, so there
// is no per-check gauge update on the hot path.
type monitorCollector struct{ s *Service }

func (c *monitorCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upDesc
	ch <- stateDesc
	ch <- latencyDesc
}

func (c *monitorCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.sched.each(func(rt *runtime) {
		rt.mu.Lock()
		name, typ, state, paused := rt.mon.Name, rt.mon.Type, rt.v.state, rt.mon.Paused
		lat, checked := rt.last.Latency, !rt.lastAt.IsZero()
		rt.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, 1, name, typ, string(state))
		if paused {
			return
		}
		up := 0.0
		if state == StateUp || state == StateDegraded {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up, name, typ)
		if checked {
			ch <- prometheus.MustNewConstMetric(latencyDesc, prometheus.GaugeValue, lat.Seconds(), name, typ)
		}
	})
}
