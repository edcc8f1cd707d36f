package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
)

// BenchmarkTicketQueuePage renders the agents' queue page (50 rows with SLA
// badges, filters and bulk form) and the ticket page over 1,000,000
// tickets on SQLite (OPSDECK_BENCH_TICKETS changes the count). Run with
// -bench TicketQueuePage -benchtime 100x; each iteration is one request.
func BenchmarkTicketQueuePage(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("OPSDECK_BENCH_TICKETS")); err == nil && v > 0 {
		n = v
	}
	e := newTestEnv(b)
	ctx := context.Background()
	now := time.Now().UTC()
	g, err := e.desk.SaveGroup(auth.WithActor(ctx, auth.SystemActor()), servicedesk.Group{Name: "Network"})
	if err != nil {
		b.Fatal(err)
	}
	requester, agent := e.users[auth.RoleRequester].ID, e.users[auth.RoleOperator].ID
	statuses := []string{"new", "open", "pending", "resolved", "closed"}
	cols := []string{"type", "status", "subject", "requester_id", "assignee_id", "group_id", "impact", "urgency", "priority",
		"created_at", "updated_at", "sla_state", "sla_due", "sla_next_check"}
	batch := make([][]any, 0, 20000)
	for i := range n {
		st := statuses[i%len(statuses)]
		var group any
		if i%10 == 0 {
			group = g.ID
		}
		due := now.Unix() + int64(i%20000)*90
		if st != "new" && st != "open" {
			due = 253402300799
		}
		at := now.Add(-time.Duration(n-i) * time.Second)
		batch = append(batch, []any{"incident", st, fmt.Sprintf("Printer %d <b>jam</b>", i), requester, agent, group, 2, 2, 3, at, at, "ok", due, due})
		if len(batch) == cap(batch) || i == n-1 {
			if err := e.db.InsertMany(ctx, e.db.W, "sd_tickets", cols, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := e.db.W.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	h := e.srv.Handler()
	for _, path := range []string{fmt.Sprintf("/tickets?status=open&group=%d&sort=sla", g.ID), "/tickets?status=new,open,pending", "/tickets/" + strconv.Itoa(n/2)} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Authorization", "Bearer "+e.tokens[auth.RoleOperator])
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %.300s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
