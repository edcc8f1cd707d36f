package notify

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// stats are the outbox's numbers for /metrics.
type stats struct {
	queued      *prometheus.CounterVec
	outcomes    *prometheus.CounterVec
	sendSeconds *prometheus.HistogramVec
	delay       *prometheus.HistogramVec
	outbox      *outboxCollector
}

func newStats(s *Service) *stats {
	return &stats{
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsdeck_notify_queued_total", Help: "Notifications queued in the outbox, by channel kind.",
		}, []string{"kind"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsdeck_notify_attempts_total", Help: "Delivery attempts by channel kind and outcome (delivered, failed, given_up); alert on given_up.",
		}, []string{"kind", "outcome"}),
		sendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "opsdeck_notify_send_seconds", Help: "Time one send to a receiver took.",
			Buckets: []float64{.005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
		}, []string{"kind"}),
		delay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "opsdeck_notify_delivery_delay_seconds", Help: "Time from a notification becoming due to its delivery, retries included.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 5, 30, 60, 300, 900, 3600},
		}, []string{"kind"}),
		outbox: &outboxCollector{s: s},
	}
}

// Collectors returns the notification metrics for the server's registry.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.stats.queued, s.stats.outcomes, s.stats.sendSeconds, s.stats.delay, s.stats.outbox}
}

var (
	outboxDesc = prometheus.NewDesc("opsdeck_notify_outbox_rows",
		"Outbox rows by status: pending, sending and failed are waiting; given_up counts every row ever given up and not retried.", []string{"status"}, nil)
	oldestDesc = prometheus.NewDesc("opsdeck_notify_oldest_waiting_seconds",
		"Age of the oldest due notification not yet delivered (0 when none).", nil, nil)
)

// outboxCollector counts the outbox's rows at scrape time.
type outboxCollector struct{ s *Service }

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDesc
	ch <- oldestDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts := map[string]float64{"pending": 0, "sending": 0, "failed": 0, "given_up": 0}
	rows, err := c.s.db.R.QueryContext(ctx, `SELECT status, COUNT(*) FROM notifications WHERE status IN ('pending', 'sending', 'failed', 'given_up') GROUP BY status`)
	if err == nil {
		for rows.Next() {
			var st string
			var n float64
			if rows.Scan(&st, &n) == nil {
				counts[st] = n
			}
		}
		rows.Close()
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, n, st)
	}
	oldest := 0.0
	if t, ok := c.s.oldestDue(ctx); ok {
		oldest = max(0, c.s.now().Sub(t).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, oldest)
}
