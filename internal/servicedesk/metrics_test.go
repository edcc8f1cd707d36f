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
		// Backlog now (Thursday 10:00): t4 is a day and an hour old, t5 an hour.
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
