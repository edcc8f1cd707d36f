package servicedesk

import (
	"errors"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func approx(p *float64, want float64) bool { return p != nil && *p > want-0.01 && *p < want+0.01 }

// TestMetrics builds a small week of the desk on the Berlin office
// calendar and checks every measure against numbers worked out by hand.
func TestMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office() // first response 1 h, resolution 8 h, business hours
		g, err := f.svc.SaveGroup(f.as("admin"), Group{Name: "Network"})
		if err != nil {
			t.Fatal(err)
		}
		reply := func(user string, id int64, at string) {
			t.Helper()
			f.at(at)
			if _, err := f.svc.AddComment(f.as(user), id, true, "reply"); err != nil {
				t.Fatal(err)
			}
		}
		resolve := func(id int64, at string) {
			t.Helper()
			f.at(at)
			f.patch("agent1", id, TicketPatch{Status: ptr(StatusResolved)})
		}
		f.at("2026-12-02 09:00")
		t1 := f.ticket("alice", "one reply, resolved in 2 h")
		t2 := f.ticket("bob", "two replies")
		t3 := f.ticket("alice", "reopened")
		t4 := f.ticket("bob", "left open")
		reply("agent1", t1.ID, "2026-12-02 09:30")
		reply("agent1", t2.ID, "2026-12-02 09:10")
		reply("agent2", t2.ID, "2026-12-02 09:20")
		resolve(t2.ID, "2026-12-02 10:00")
		resolve(t3.ID, "2026-12-02 10:00")
		reply("alice", t3.ID, "2026-12-02 11:00") // reopens it
		resolve(t1.ID, "2026-12-02 11:00")
		resolve(t3.ID, "2026-12-02 12:00")
		if _, err := f.svc.Rate(f.as("alice"), t1.ID, 5, ""); err != nil {
			t.Fatal(err)
		}
		f.at("2026-12-03 09:00")
		t5, err := f.svc.CreateTicket(f.as("agent1"), NewTicket{Subject: "in a group", RequesterID: f.users["bob"], GroupID: g.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CheckSLA(f.as("admin")); err != nil {
			t.Fatal(err)
		}
		_ = t4
		f.at("2026-12-03 10:00")
		from, to := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
		m, err := f.svc.Metrics(f.as("viewer"), MetricsFilter{From: from, To: to, Period: PeriodDay})
		if err != nil {
			t.Fatal(err)
		}
		o := m.Overall
		if o.Tickets != 5 || o.Responded != 2 || !approx(o.ResponseAvgSeconds, 1200) || o.Resolved != 3 || !approx(o.ResolutionAvgSeconds, 6000) {
			t.Fatalf("times: %+v", o)
		}
		if o.ResponseMet != 2 || o.ResponseBreached != 2 || !approx(o.ResponseCompliance, 50) ||
			o.ResolutionMet != 3 || o.ResolutionBreached != 1 || !approx(o.ResolutionCompliance, 75) {
			t.Fatalf("compliance: %+v", o)
		}
		if o.FirstContact != 1 || !approx(o.FirstContactRate, 100.0/3) || o.Rated != 1 || !approx(o.CSATAverage, 5) || !approx(o.CSATResponseRate, 100.0/3) {
			t.Fatalf("fcr and csat: %+v", o)
		}
		if len(m.ByPeriod) != 2 || m.ByPeriod[0].Key != "2026-12-02" || m.ByPeriod[0].Tickets != 4 || m.ByPeriod[1].Key != "2026-12-03" || m.ByPeriod[1].Tickets != 1 {
			t.Fatalf("by day: %+v", m.ByPeriod)
		}
		if len(m.ByGroup) != 2 || m.ByGroup[0].Key != "(no group)" || m.ByGroup[0].Tickets != 4 || m.ByGroup[1].Key != "Network" || m.ByGroup[1].Tickets != 1 {
			t.Fatalf("by group: %+v", m.ByGroup)
		}
		// Backlog now (Thursday 10:00): t4 was opened yesterday, t5 today.
		if len(m.Backlog) != 2 || m.Backlog[0].Group != "(no group)" || m.Backlog[0].Counts[1] != 1 || m.Backlog[0].Total != 1 ||
			m.Backlog[1].Group != "Network" || m.Backlog[1].Counts[0] != 1 {
			t.Fatalf("backlog: %+v", m.Backlog)
		}
		for p, key := range map[Period]string{PeriodWeek: "2026-11-30", PeriodMonth: "2026-12-01"} {
			m, err := f.svc.Metrics(f.as("viewer"), MetricsFilter{From: from, To: to, Period: p})
			if err != nil || len(m.ByPeriod) != 1 || m.ByPeriod[0].Key != key || m.ByPeriod[0].Tickets != 5 {
				t.Fatalf("%s: %+v %v", p, m.ByPeriod, err)
			}
		}
		m, err = f.svc.Metrics(f.as("viewer"), MetricsFilter{From: from, To: to, GroupID: g.ID})
		if err != nil || m.Overall.Tickets != 1 || len(m.Backlog) != 1 || m.Backlog[0].Group != "Network" {
			t.Fatalf("one group: %+v %v", m, err)
		}
		// A merged duplicate does not count.
		f.at("2026-12-03 11:00")
		if _, err := f.svc.Merge(f.as("agent1"), t5.ID, t4.ID); err != nil {
			t.Fatal(err)
		}
		if m, _ = f.svc.Metrics(f.as("viewer"), MetricsFilter{From: from, To: to}); m.Overall.Tickets != 4 {
			t.Fatalf("merged counted: %d", m.Overall.Tickets)
		}
		if _, err := f.svc.Metrics(f.as("alice"), MetricsFilter{From: from, To: to}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("requester reads metrics: %v", err)
		}
		for _, tc := range []struct {
			f     MetricsFilter
			field string
		}{
			{MetricsFilter{From: to, To: from}, "from"},
			{MetricsFilter{From: from, To: from}, "from"},
			{MetricsFilter{From: from, To: from.Add(401 * 24 * time.Hour)}, "from"},
			{MetricsFilter{From: from, To: to, Period: "year"}, "period"},
			{MetricsFilter{From: from, To: to, GroupID: -3}, "group"},
		} {
			_, err := f.svc.Metrics(f.as("viewer"), tc.f)
			assertField(t, err, tc.field)
		}
	})
}

// TestMetricsRollupMatchesTickets moves tickets between groups, merges,
// resolves, reopens and rates them, then checks that the rollup the
// metrics read equals the same sums taken over the tickets themselves.
func TestMetricsRollupMatchesTickets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		var groups []int64
		for _, name := range []string{"A", "B", "C"} {
			g, err := f.svc.SaveGroup(f.as("admin"), Group{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			groups = append(groups, g.ID)
		}
		f.at("2026-12-01 09:00")
		var ids []int64
		for i := range 12 {
			f.now = f.now.Add(time.Duration(i) * 7 * time.Hour)
			tk := f.ticket([]string{"alice", "bob"}[i%2], "ticket")
			ids = append(ids, tk.ID)
		}
		for i, id := range ids {
			f.now = f.now.Add(time.Hour)
			f.patch("agent1", id, TicketPatch{GroupID: ptr(groups[i%3])})
			if i%2 == 0 {
				if _, err := f.svc.AddComment(f.as("agent1"), id, true, "answer"); err != nil {
					t.Fatal(err)
				}
			}
			if i%3 != 2 {
				f.patch("agent2", id, TicketPatch{Status: ptr(StatusResolved)})
			}
			if i%4 == 0 {
				f.patch("agent1", id, TicketPatch{GroupID: ptr(groups[(i+1)%3])})
			}
		}
		if _, err := f.svc.AddComment(f.as("alice"), ids[0], true, "not fixed"); err != nil { // reopens
			t.Fatal(err)
		}
		f.patch("agent1", ids[0], TicketPatch{Status: ptr(StatusResolved)})
		if _, err := f.svc.Rate(f.as("bob"), ids[1], 2, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Merge(f.as("agent1"), ids[5], ids[4]); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(30 * 24 * time.Hour)
		if _, err := f.svc.CheckSLA(f.as("admin")); err != nil {
			t.Fatal(err)
		}
		const sums = `COUNT(*), COUNT(response_s), COALESCE(SUM(response_s), 0), COUNT(resolution_s), COALESCE(SUM(resolution_s), 0),
			SUM(CASE WHEN sla_response_state = 'met' THEN 1 ELSE 0 END), SUM(CASE WHEN sla_response_state = 'breached' THEN 1 ELSE 0 END),
			SUM(CASE WHEN sla_resolution_state = 'met' THEN 1 ELSE 0 END), SUM(CASE WHEN sla_resolution_state = 'breached' THEN 1 ELSE 0 END),
			SUM(CASE WHEN resolution_s IS NOT NULL AND agent_replies <= 1 AND reopens = 0 THEN 1 ELSE 0 END),
			SUM(CASE WHEN csat_score > 0 THEN 1 ELSE 0 END), COALESCE(SUM(csat_score), 0),
			SUM(CASE WHEN status IN ('new', 'open', 'pending') THEN 1 ELSE 0 END)`
		read := func(q string) map[int64][13]int64 {
			rows, err := db.R.QueryContext(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[int64][13]int64{}
			for rows.Next() {
				var g int64
				var v [13]int64
				dst := []any{&g}
				for i := range v {
					dst = append(dst, &v[i])
				}
				if err := rows.Scan(dst...); err != nil {
					t.Fatal(err)
				}
				if v != ([13]int64{}) {
					out[g] = v
				}
			}
			return out
		}
		want := read(`SELECT COALESCE(group_id, 0), ` + sums + ` FROM sd_tickets WHERE merged_into IS NULL GROUP BY 1`)
		got := read(`SELECT group_id, SUM(tickets), SUM(responded), SUM(response_sum), SUM(resolved), SUM(resolution_sum), SUM(response_met),
			SUM(response_breached), SUM(resolution_met), SUM(resolution_breached), SUM(first_contact), SUM(rated), SUM(csat_sum), SUM(unresolved)
			FROM sd_metrics_daily GROUP BY group_id`)
		if len(want) != 3 {
			t.Fatalf("tickets by group: %v", want)
		}
		for g, w := range want {
			if got[g] != w {
				t.Errorf("group %d: rollup %v, tickets %v", g, got[g], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("rollup has groups %v, tickets %v", got, want)
		}
	})
}
