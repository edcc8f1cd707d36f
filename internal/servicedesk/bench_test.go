package servicedesk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
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
		subject, desc := benchText(i)
		rows = append(rows, []any{"incident", st, subject, desc, users[50+i%10], users[i%50], groups[(i/7)%20], "vpn",
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

// benchWords is the vocabulary of the tickets' text: word k is drawn with
// weight 1/(k+1) (Zipf-like), so "printer" is in about half the tickets and
// the tail words in a few percent.
var benchWords = strings.Fields(`printer password vpn email laptop access reset login error network
	slow outlook monitor account locked wifi disk full install update license phone mobile badge
	screen keyboard mouse teams calendar share drive backup restore permission folder certificate
	expired browser chrome firefox proxy firewall server database timeout crash freeze blue boot
	battery charger dock headset camera microphone audio video meeting invite room projector
	scanner toner paper jam queue driver windows linux mac patch antivirus malware phishing spam
	quarantine attachment signature mailbox archive quota sync onedrive sharepoint sso mfa token`)

// benchText is ticket i's subject ("Ticket i: " and 4 words) and
// description (25 words); every 10,007th ticket mentions "wireguard".
func benchText(i int) (subject, description string) {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	var cum []float64
	total := 0.0
	for k := range benchWords {
		total += 1 / float64(k+1)
		cum = append(cum, total)
	}
	word := func() string {
		x := r.Float64() * total
		k, _ := slices.BinarySearch(cum, x)
		return benchWords[min(k, len(benchWords)-1)]
	}
	var b strings.Builder
	b.WriteString("Ticket " + strconv.Itoa(i) + ":")
	for range 4 {
		b.WriteString(" " + word())
	}
	subject = b.String()
	b.Reset()
	for j := range 25 {
		if j > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(word())
	}
	if i%10007 == 5 {
		b.WriteString(" wireguard")
	}
	return subject, b.String()
}

// BenchmarkTicketSearch1M searches the subjects and descriptions of
// 1,000,000 tickets on SQLite (OPSDECK_BENCH_TICKETS changes the count),
// a page of 50, newest first unless said otherwise; it reports the
// p50 and p99 of the calls.
func BenchmarkTicketSearch1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("OPSDECK_BENCH_TICKETS")); err == nil && v > 0 {
		n = v
	}
	db := storetest.SQLite(b)
	groups := seedTickets(b, db, n)
	svc := New(db, Options{})
	ctx := auth.WithActor(context.Background(), auth.SystemActor())
	var requester int64
	if err := db.R.QueryRowContext(ctx, `SELECT id FROM users WHERE username = 'u55'`).Scan(&requester); err != nil {
		b.Fatal(err)
	}
	reqCtx := auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: requester, Name: "u55", Role: auth.RoleRequester}, Via: auth.ViaAPI})
	cases := []struct {
		name string
		ctx  context.Context
		f    Filter
		min  int
	}{
		{"common-word", ctx, Filter{Text: "printer"}, 50},
		{"rare-word", ctx, Filter{Text: "wireguard"}, n / 10007},
		{"every-ticket-word", ctx, Filter{Text: "ticket"}, 50},
		{"two-words", ctx, Filter{Text: "vpn timeout"}, 50},
		{"absent-word", ctx, Filter{Text: "zebra"}, 0},
		{"common-open-group", ctx, Filter{Text: "printer", Statuses: []Status{StatusOpen}, GroupID: groups[3]}, 50},
		{"common-sla-order", ctx, Filter{Text: "printer", Sort: SortSLA}, 50},
		{"rare-sla-order", ctx, Filter{Text: "wireguard", Sort: SortSLA}, n / 10007},
		{"common-as-requester", reqCtx, Filter{Text: "printer"}, 50},
		{"ticket-number", ctx, Filter{Text: "#" + strconv.Itoa(n/2)}, 1},
	}
	for _, c := range cases {
		c.f.Limit = 50
		b.Run(c.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				start := time.Now()
				p, err := svc.List(c.ctx, c.f)
				times = append(times, time.Since(start))
				if err != nil || len(p.Tickets) < min(c.min, 50) {
					b.Fatalf("%d tickets, %v", len(p.Tickets), err)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[(len(times)*99)/100].Microseconds())/1000, "p99-ms")
		})
	}
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
