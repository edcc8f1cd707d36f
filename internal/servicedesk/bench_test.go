package servicedesk

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// BenchmarkClockAddYear adds a business year (52 weeks of 40 hours) on
// the Berlin office calendar: the longest walk a real target makes.
func BenchmarkClockAddYear(b *testing.B) {
	k := mustClock(b, "office")
	start := time.Date(2026, 1, 5, 7, 0, 0, 0, time.UTC)
	for b.Loop() {
		if k.Add(start, 52*40*time.Hour).IsZero() {
			b.Fatal("no result")
		}
	}
}

// BenchmarkClockBetweenYear counts the business time of a calendar year.
func BenchmarkClockBetweenYear(b *testing.B) {
	k := mustClock(b, "office")
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		if k.Between(from, to) == 0 {
			b.Fatal("no business time")
		}
	}
}

// BenchmarkClockAddDay is the common case: a target of one business day.
func BenchmarkClockAddDay(b *testing.B) {
	k := mustClock(b, "office")
	start := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	for b.Loop() {
		k.Add(start, 8*time.Hour)
	}
}

// seedTickets inserts n tickets straight into the table with store.InsertMany,
// spread over 5 statuses, 20 groups, 50 agents and SLA due times over a
// month (a fifth with none: paused or stopped).
func seedTickets(tb testing.TB, db *store.DB, n int) (groups []int64) {
	tb.Helper()
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	var users []int64
	for i := range 60 {
		role := "operator"
		if i >= 50 {
			role = "requester"
		}
		var id int64
		if err := db.W.QueryRowContext(ctx, `INSERT INTO users (username, role, password_hash, created_at, updated_at) VALUES ($1, $2, 'x', $3, $3) RETURNING id`,
			fmt.Sprintf("u%02d", i), role, now).Scan(&id); err != nil {
			tb.Fatal(err)
		}
		users = append(users, id)
	}
	for i := range 20 {
		var id int64
		if err := db.W.QueryRowContext(ctx, `INSERT INTO sd_groups (name, updated_at) VALUES ($1, $2) RETURNING id`, fmt.Sprintf("Group %02d", i), now).Scan(&id); err != nil {
			tb.Fatal(err)
		}
		groups = append(groups, id)
	}
	statuses := []string{"new", "open", "open", "pending", "resolved", "closed"}
	const chunk = 20000
	rows := make([][]any, 0, chunk)
	cols := []string{"type", "status", "subject", "description", "requester_id", "assignee_id", "group_id", "category", "impact",
		"urgency", "priority", "created_at", "updated_at", "sla_state", "sla_due", "sla_next_check"}
	for i := range n {
		st := statuses[i%len(statuses)]
		due := now.Unix() + int64(i%43200)*60
		if st == "pending" || st == "resolved" || st == "closed" {
			due = noDue
		}
		created := now.Add(-time.Duration(n-i) * time.Minute)
		rows = append(rows, []any{"incident", st, "Ticket " + strconv.Itoa(i), "", users[50+i%10], users[i%50], groups[(i/7)%20], "vpn",
			1 + i%3, 1 + (i/3)%3, 1 + i%5, created, created, "ok", due, due})
		if len(rows) == chunk || i == n-1 {
			if err := db.InsertMany(ctx, db.W, "sd_tickets", cols, rows); err != nil {
				tb.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	if _, err := db.W.ExecContext(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
	return groups
}

// BenchmarkQueueList1M lists the first and a deep page of 50 open tickets
// of one group, soonest SLA due first, among 1,000,000 tickets on SQLite
// (OPSDECK_BENCH_TICKETS changes the count).
func BenchmarkQueueList1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("OPSDECK_BENCH_TICKETS")); err == nil && v > 0 {
		n = v
	}
	db := storetest.SQLite(b)
	groups := seedTickets(b, db, n)
	svc := New(db, Options{})
	ctx := auth.WithActor(context.Background(), auth.SystemActor())
	f := Filter{Statuses: []Status{StatusOpen}, GroupID: groups[3], Sort: SortSLA, Limit: 50}
	first, err := svc.List(ctx, f)
	if err != nil || len(first.Tickets) != 50 || first.NextCursor == "" {
		b.Fatalf("first page: %d tickets, %v", len(first.Tickets), err)
	}
	b.Run("first-page", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.List(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("next-page", func(b *testing.B) {
		g := f
		g.Cursor = first.NextCursor
		for b.Loop() {
			if _, err := svc.List(ctx, g); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unresolved-any-group", func(b *testing.B) {
		g := Filter{Statuses: []Status{StatusNew, StatusOpen, StatusPending}, Sort: SortSLA, Limit: 50}
		for b.Loop() {
			if _, err := svc.List(ctx, g); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("detail", func(b *testing.B) {
		// The ticket page's reads: the ticket, its live SLA (from its status
		// history), its conversation and its history.
		id := first.Tickets[7].ID
		for b.Loop() {
			t, err := svc.Ticket(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := svc.SLA(ctx, t); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Comments(ctx, id); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.History(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("newest", func(b *testing.B) {
		g := Filter{Sort: SortNewest, Limit: 50}
		for b.Loop() {
			if _, err := svc.List(ctx, g); err != nil {
				b.Fatal(err)
			}
		}
	})
}
