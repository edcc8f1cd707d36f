package deskmail

import (
	"fmt"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestClassify(t *testing.T) {
	own := []string{"support@desk.example", "desk-out@desk.example"}
	for _, c := range []struct {
		name, from, headers string
		want                Outcome
	}{
		{"person", "alice@c.example", "", ""},
		{"auto-submitted no", "alice@c.example", "Auto-Submitted: no\n", ""},
		{"auto-submitted No (comment)", "alice@c.example", "Auto-Submitted: No (manual)\n", ""},
		{"auto-replied", "alice@c.example", "Auto-Submitted: auto-replied\n", OutcomeLoop},
		{"auto-generated", "alice@c.example", "Auto-Submitted: auto-generated\n", OutcomeLoop},
		{"auto-notified upper case", "alice@c.example", "AUTO-SUBMITTED: Auto-Notified\n", OutcomeLoop},
		{"x-autoreply", "alice@c.example", "X-Autoreply: yes\n", OutcomeLoop},
		{"x-autorespond", "alice@c.example", "X-Autorespond: vacation\n", OutcomeLoop},
		{"precedence bulk", "news@c.example", "Precedence: bulk\n", OutcomeBulk},
		{"precedence junk", "news@c.example", "Precedence: junk\n", OutcomeBulk},
		{"precedence list", "list@c.example", "Precedence: List\n", OutcomeBulk},
		{"precedence first-class", "alice@c.example", "Precedence: first-class\n", ""},
		{"mailer-daemon", "MAILER-DAEMON@mx.c.example", "", OutcomeLoop},
		{"postmaster", "postmaster@c.example", "", OutcomeLoop},
		{"our inbound address", "Support@Desk.example", "", OutcomeLoop},
		{"our outbound address", "desk-out@desk.example", "", OutcomeLoop},
		{"empty return-path", "alice@c.example", "Return-Path: <>\n", OutcomeLoop},
		{"no sender", "", "", OutcomeRejected},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := fmt.Sprintf("From: %s\nSubject: x\n%s\nbody\n", c.from, c.headers)
			m, err := Parse([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			if got, why := classify(m, own); got != c.want {
				t.Fatalf("got %q (%s), want %q", got, why, c.want)
			}
		})
	}
}

// TestLoopMailNeverMakesTickets sends every kind of automatic mail through
// Ingest: none creates a ticket or a reply, each is counted and recorded.
func TestLoopMailNeverMakesTickets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, Config{RatePerHour: 3})
		id := f.ingest(mailText("alice@customer.example", "Real", "real@c", "", "x")).TicketID
		tag := "[#" + itoa(id) + "] "
		for i, h := range []string{"Auto-Submitted: auto-replied\n", "Precedence: bulk\n", "X-Autoreply: yes\n"} {
			r := f.ingest(mailText("alice@customer.example", tag+"Out of office", fmt.Sprintf("ooo%d@c", i), h, "I am away"))
			if !r.Outcome.Dropped() {
				t.Fatalf("%q: %+v", h, r)
			}
		}
		r := f.ingest(mailText("MAILER-DAEMON@mx.example", tag+"Undelivered", "bounce@mx", "", "failed"))
		if r.Outcome != OutcomeLoop {
			t.Fatalf("bounce: %+v", r)
		}
		if r = f.ingest(mailText("MAILER-DAEMON@mx.example", tag+"Undelivered", "bounce@mx", "", "failed")); r.Outcome != OutcomeDuplicate {
			t.Fatalf("the same bounce again: %+v", r)
		}
		// Rate cap: alice's real mail counted 1; two more pass, then drop.
		for i := range 4 {
			r = f.ingest(mailText("alice@customer.example", "Spam "+itoa(int64(i)), fmt.Sprintf("rate%d@c", i), "", "x"))
			if want := i < 2; !r.Outcome.Dropped() != want {
				t.Fatalf("rate %d: %+v", i, r)
			}
		}
		var tickets, comments int
		_ = db.R.QueryRow(`SELECT COUNT(*) FROM sd_tickets`).Scan(&tickets)
		_ = db.R.QueryRow(`SELECT COUNT(*) FROM sd_comments`).Scan(&comments)
		if tickets != 3 || comments != 0 {
			t.Fatalf("%d tickets, %d comments", tickets, comments)
		}
		c := f.mail.Counters()
		if c["loop"] != 3 || c["bulk"] != 1 || c["rejected"] != 2 || c["ticket"] != 3 {
			t.Fatalf("counters %v", c)
		}
		dropped, err := f.mail.Messages(t.Context(), "loop", 10)
		if err != nil || len(dropped) != 3 || dropped[0].Reason == "" {
			t.Fatalf("%+v %v", dropped, err)
		}
		daily, err := f.mail.Daily(t.Context(), time.Now().Add(-48*time.Hour))
		if err != nil || len(daily) == 0 {
			t.Fatalf("daily %+v %v", daily, err)
		}
	})
}
