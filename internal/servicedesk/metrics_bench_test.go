package servicedesk

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// BenchmarkMetrics1M computes the desk metrics over the 1,000,000 tickets
// of BenchmarkQueueList1M (one opened a minute for ~694 days; 20 groups),
// those older than 30 days closed but 1 %, with per-ticket measures and the
// daily rollup filled in: a month by day, a year by month, a month of one
// group, and the backlog alone. It also times the queue's subject search, the
// ticket "full-text" search of the budget. OPSDECK_BENCH_TICKETS
// changes the count.
func BenchmarkMetrics1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("OPSDECK_BENCH_TICKETS")); err == nil && v > 0 {
		n = v
	}
	db := storetest.SQLite(b)
	groups := seedTickets(b, db, n)
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	// A desk's life: tickets older than 30 days are closed but one in a
	// hundred; measures as the service would have written them; then the
	// rollup the service keeps, built once.
	for _, q := range []string{
		`UPDATE sd_tickets SET status = 'closed', sla_due = 253402300799 WHERE created_at < $1 AND id % 100 <> 0`,
		`UPDATE sd_tickets SET response_s = (id * 37) % 7200, agent_replies = id % 3,
		reopens = CASE WHEN id % 10 = 0 THEN 1 ELSE 0 END, csat_score = CASE WHEN id % 4 = 0 THEN 1 + id % 5 ELSE 0 END,
		sla_response_state = CASE WHEN id % 5 = 0 THEN 'breached' ELSE 'met' END,
		sla_resolution_state = CASE WHEN status IN ('resolved', 'closed') THEN CASE WHEN id % 7 = 0 THEN 'breached' ELSE 'met' END ELSE sla_state END,
		resolution_s = CASE WHEN status IN ('resolved', 'closed') THEN (id * 91) % 86400 END, rollup_group = group_id,
		rollup_open = status IN ('new', 'open', 'pending') WHERE $1 = $1`,
		`INSERT INTO sd_metrics_daily SELECT CAST(julianday(substr(created_at, 1, 10)) - 2440587.5 AS INTEGER), COALESCE(group_id, 0), COUNT(*),
		COUNT(response_s), COALESCE(SUM(response_s), 0), COUNT(resolution_s), COALESCE(SUM(resolution_s), 0),
		SUM(CASE WHEN sla_response_state = 'met' THEN 1 ELSE 0 END), SUM(CASE WHEN sla_response_state = 'breached' THEN 1 ELSE 0 END),
		SUM(CASE WHEN sla_resolution_state = 'met' THEN 1 ELSE 0 END), SUM(CASE WHEN sla_resolution_state = 'breached' THEN 1 ELSE 0 END),
		SUM(CASE WHEN resolution_s IS NOT NULL AND agent_replies <= 1 AND reopens = 0 THEN 1 ELSE 0 END),
		SUM(CASE WHEN csat_score > 0 THEN 1 ELSE 0 END), COALESCE(SUM(csat_score), 0),
		SUM(CASE WHEN status IN ('new', 'open', 'pending') THEN 1 ELSE 0 END) FROM sd_tickets WHERE $1 = $1 GROUP BY 1, 2`,
		`ANALYZE`,
	} {
		if _, err := db.W.ExecContext(ctx, strings.ReplaceAll(q, "$1", "'"+now.AddDate(0, 0, -30).Format("2006-01-02")+"'")); err != nil {
			b.Fatal(err)
		}
	}
	svc := New(db, Options{Now: func() time.Time { return now }})
	actx := auth.WithActor(ctx, auth.SystemActor())
	month := MetricsFilter{From: now.AddDate(0, 0, -30), To: now, Period: PeriodDay}
	m, err := svc.Metrics(actx, month)
	if err != nil || m.Overall.Tickets < min(n, 40000) || len(m.ByGroup) != 20 || len(m.Backlog) != 20 {
		b.Fatalf("a month: %d tickets, %d groups, %v", m.Overall.Tickets, len(m.ByGroup), err)
	}
	for _, c := range []struct {
		name string
		f    MetricsFilter
	}{
		{"month-by-day", month},
		{"year-by-month", MetricsFilter{From: now.AddDate(-1, 0, 0), To: now, Period: PeriodMonth}},
		{"month-one-group-by-week", MetricsFilter{From: now.AddDate(0, 0, -30), To: now, Period: PeriodWeek, GroupID: groups[3]}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Metrics(actx, c.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("backlog", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.backlog(actx, 0, map[int64]string{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("subject-search", func(b *testing.B) {
		// Words of the subject anywhere, newest first, as the queue's q=.
		for b.Loop() {
			if _, err := svc.List(actx, Filter{Text: "ticket 4242", Sort: SortNewest, Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("subject-search-open-group", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.List(actx, Filter{Text: "ticket 4242", Statuses: []Status{StatusOpen}, GroupID: groups[3], Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
