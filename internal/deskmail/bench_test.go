package deskmail

import (
	"fmt"
	"net/smtp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// BenchmarkSMTPInbound delivers mail over real SMTP connections (net/smtp,
// several at once, as an MTA flushing its queue) to the listener: half
// the messages open tickets, half are replies threaded by the subject tag
// into 50 tickets.
// msgs/s is messages answered 250, each after its ticket or reply
// committed.
func BenchmarkSMTPInbound(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var db *store.DB
			if engine == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			f := newFixture(b, db, Config{})
			addr := startListener(b, f)
			// Tickets for the replies to go to, 50 so that replies do not all
			// queue on one ticket's lock.
			var roots []int64
			for r := range 50 {
				roots = append(roots, f.ingest(mailText(fmt.Sprintf("root%d@bench.example", r), "Bench root", fmt.Sprintf("root%d@c", r), "", "x")).TicketID)
			}
			var seq atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS connections
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				c, err := smtp.Dial(addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				for pb.Next() {
					n := seq.Add(1)
					from := fmt.Sprintf("sender%d@bench.example", n%200)
					subject := fmt.Sprintf("Bench %d", n)
					if r := (n / 2) % 50; n%2 == 0 {
						from, subject = fmt.Sprintf("root%d@bench.example", r), fmt.Sprintf("Re: [#%d] Bench root", roots[r])
					}
					msg := strings.ReplaceAll(mailText(from, subject, fmt.Sprintf("bench-%d@c", n), "", "Message body number "+fmt.Sprint(n)), "\n", "\r\n")
					if err := send(c, from, msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			var tickets, comments int
			_ = db.R.QueryRow(`SELECT COUNT(*) FROM sd_tickets`).Scan(&tickets)
			_ = db.R.QueryRow(`SELECT COUNT(*) FROM sd_comments`).Scan(&comments)
			if tickets+comments < b.N {
				b.Fatalf("%d messages, %d tickets + %d comments", b.N, tickets, comments)
			}
		})
	}
}

// send runs one SMTP transaction on an open connection.
func send(c *smtp.Client, from, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt("support@desk.example"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}
