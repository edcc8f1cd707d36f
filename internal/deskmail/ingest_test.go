package deskmail

import (
	"context"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestNewTicketFromKnownAndUnknownSender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, Config{})
		res := f.ingest(mailText("Alice <alice@customer.example>", "Printer on fire", "m1@customer.example", "", "It is on fire."))
		if res.Outcome != OutcomeTicket || res.TicketID == 0 {
			t.Fatalf("got %+v", res)
		}
		tk := f.ticket(res.TicketID)
		if tk.RequesterID != f.users["alice"] || tk.Subject != "Printer on fire" || !strings.Contains(tk.Description, "It is on fire.") {
			t.Fatalf("ticket %+v", tk)
		}
		// A stranger becomes a requester user who cannot sign in.
		res = f.ingest(mailText(`"Carol C." <Carol+x@Else.example>`, "Hello", "m2@else.example", "", "hi"))
		tk = f.ticket(res.TicketID)
		var email, role, hash string
		if err := db.R.QueryRow(`SELECT email, role, password_hash FROM users WHERE id = $1`, tk.RequesterID).Scan(&email, &role, &hash); err != nil {
			t.Fatal(err)
		}
		if email != "carol+x@else.example" || role != string(auth.RoleRequester) || hash != "!" || tk.Requester != "carol-x" {
			t.Fatalf("new requester %q %q %q %q", email, role, hash, tk.Requester)
		}
		// The same stranger again is the same user.
		res2 := f.ingest(mailText("carol+x@else.example", "Again", "m3@else.example", "", "hi"))
		if f.ticket(res2.TicketID).RequesterID != tk.RequesterID {
			t.Fatal("second mail made a second user")
		}
	})
}

func TestThreading(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, Config{})
		first := f.ingest(mailText("alice@customer.example", "VPN down", "root@customer.example", "", "VPN is down"))
		id := first.TicketID
		tag := "[#" + itoa(id) + "]"

		// 1. The subject tag.
		r := f.ingest(mailText("alice@customer.example", "Re: "+tag+" VPN down", "r1@customer.example", "", "still down"))
		if r.Outcome != OutcomeReply || r.TicketID != id {
			t.Fatalf("subject tag: %+v", r)
		}
		// 2. In-Reply-To a message we received, no tag.
		r = f.ingest(mailText("alice@customer.example", "Re: VPN down", "r2@customer.example", "In-Reply-To: <root@customer.example>\n", "and now?"))
		if r.Outcome != OutcomeReply || r.TicketID != id {
			t.Fatalf("in-reply-to: %+v", r)
		}
		// 3. References only, the known id not first.
		r = f.ingest(mailText("alice@customer.example", "Re: VPN", "r3@customer.example", "References: <unknown@x> <r1@customer.example>\n", "ping"))
		if r.Outcome != OutcomeReply || r.TicketID != id {
			t.Fatalf("references: %+v", r)
		}
		// 4. A stranger naming alice's ticket gets a ticket of their own.
		r = f.ingest(mailText("mallory@evil.example", "Re: "+tag+" VPN down", "x1@evil.example", "In-Reply-To: <root@customer.example>\n", "gimme"))
		if r.Outcome != OutcomeTicket || r.TicketID == id {
			t.Fatalf("stranger: %+v", r)
		}
		// 5. Bob (another requester) likewise.
		r = f.ingest(mailText("bob@customer.example", tag+" hi", "b1@customer.example", "", "me too"))
		if r.Outcome != OutcomeTicket || r.TicketID == id {
			t.Fatalf("other requester: %+v", r)
		}
		// 6. An unknown ticket number is a new ticket.
		r = f.ingest(mailText("alice@customer.example", "[#99999] other", "r4@customer.example", "", "new thing"))
		if r.Outcome != OutcomeTicket || r.TicketID == id {
			t.Fatalf("unknown number: %+v", r)
		}
		// The replies are alice's public comments, quoted text cut.
		r = f.ingest(mailText("alice@customer.example", tag, "r5@customer.example", "", "Thanks!\n\nOn Tue someone wrote:\n"+ReplyMarker+"\nold text"))
		cs, err := f.desk.Comments(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		last := cs[len(cs)-1]
		if len(cs) != 4 || !last.Public || last.AuthorID != f.users["alice"] || last.Body != "Thanks!" {
			t.Fatalf("comments %d, last %+v", len(cs), last)
		}
		// An agent may answer by mail into any ticket.
		r = f.ingest(mailText("agent1@desk.example", "Re: "+tag, "a1@desk.example", "", "Rebooted the concentrator."))
		if r.Outcome != OutcomeReply || r.TicketID != id {
			t.Fatalf("agent reply: %+v", r)
		}
		if tk := f.ticket(id); tk.FirstResponse == nil {
			t.Fatal("agent's mailed reply did not count as first response")
		}
	})
}

func TestReplyToClosedTicketOpensFollowUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, Config{})
		id := f.ingest(mailText("alice@customer.example", "Old", "o1@c.example", "", "x")).TicketID
		agent := f.as("agent1", auth.RoleOperator)
		for _, st := range []string{"resolved", "closed"} {
			s := statusOf(st)
			if _, err := f.desk.UpdateTicket(agent, id, patchStatus(s)); err != nil {
				t.Fatal(err)
			}
		}
		r := f.ingest(mailText("alice@customer.example", "Re: [#"+itoa(id)+"] Old", "o2@c.example", "", "it is back"))
		if r.Outcome != OutcomeTicket || r.TicketID == id || !strings.Contains(f.ticket(r.TicketID).Description, "Follow-up to #"+itoa(id)) {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestDuplicatesAndGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, Config{Recipients: []string{"support@desk.example", "hr@desk.example=People", "@it.desk.example=IT"}})
		var gid int64
		if err := db.W.QueryRow(`INSERT INTO sd_groups (name, updated_at) VALUES ('IT', CURRENT_TIMESTAMP) RETURNING id`).Scan(&gid); err != nil {
			t.Fatal(err)
		}
		raw := []byte(strings.ReplaceAll(mailText("alice@customer.example", "Laptop", "d1@c.example", "", "broken"), "\n", "\r\n"))
		ctx := context.Background()
		r1, err := f.mail.Ingest(ctx, raw, Envelope{Via: "smtp", Rcpts: []string{"help@it.desk.example"}})
		if err != nil || r1.Outcome != OutcomeTicket {
			t.Fatal(r1, err)
		}
		if f.ticket(r1.TicketID).GroupID != gid {
			t.Fatal("recipient route did not file the ticket in IT")
		}
		r2, err := f.mail.Ingest(ctx, raw, Envelope{Via: "imap"})
		if err != nil || r2.Outcome != OutcomeDuplicate || r2.TicketID != r1.TicketID {
			t.Fatal(r2, err)
		}
		var n int
		_ = db.R.QueryRow(`SELECT COUNT(*) FROM sd_tickets`).Scan(&n)
		if n != 1 || f.mail.Counters()["duplicate"] != 1 {
			t.Fatalf("%d tickets, counters %v", n, f.mail.Counters())
		}
		// A group that does not exist leaves the ticket without one.
		r3, err := f.mail.Ingest(ctx, []byte(mailText("bob@customer.example", "Pay", "d2@c.example", "", "x")), Envelope{Rcpts: []string{"hr@desk.example"}})
		if err != nil || f.ticket(r3.TicketID).GroupID != 0 {
			t.Fatal(r3, err)
		}
	})
}

func TestCrashedTryIsRecovered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, Config{})
		raw := mailText("alice@customer.example", "Crash", "c1@c.example", "", "x")
		r := f.ingest(raw)
		// Make the row look like a try that committed the ticket, then died
		// before recording it, long ago.
		if _, err := db.W.Exec(`UPDATE desk_mail_messages SET status = 'processing', ticket_id = NULL,
			created_at = created_at - INTERVAL '1 hour', updated_at = created_at - INTERVAL '1 hour' WHERE message_id = 'c1@c.example'`); err != nil {
			if _, err := db.W.Exec(`UPDATE desk_mail_messages SET status = 'processing', ticket_id = NULL,
				created_at = datetime(created_at, '-1 hour'), updated_at = datetime(created_at, '-1 hour') WHERE message_id = 'c1@c.example'`); err != nil {
				t.Fatal(err)
			}
		}
		// A second try within the claim window is told to come back.
		if _, err := db.W.Exec(`UPDATE desk_mail_messages SET updated_at = $1 WHERE message_id = 'c1@c.example'`, f.mail.now().UTC()); err != nil {
			t.Fatal(err)
		}
		if _, err := f.mail.Ingest(context.Background(), []byte(raw), Envelope{}); err != ErrInFlight {
			t.Fatalf("in flight: %v", err)
		}
		if _, err := db.W.Exec(`UPDATE desk_mail_messages SET updated_at = created_at WHERE message_id = 'c1@c.example'`); err != nil {
			t.Fatal(err)
		}
		r2 := f.ingest(raw)
		var n int
		_ = db.R.QueryRow(`SELECT COUNT(*) FROM sd_tickets`).Scan(&n)
		if n != 1 || r2.TicketID != r.TicketID || r2.Outcome != OutcomeTicket {
			t.Fatalf("%d tickets, %+v vs %+v", n, r2, r)
		}
	})
}
