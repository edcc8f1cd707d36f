package deskmail

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// TestOutboundThreadsBack runs the whole round: a mail opens a ticket,
// the requester is told, an agent replies, the requester gets it with
// the subject tag, Reply-To and In-Reply-To/References; the requester's
// answer to that mail threads back by In-Reply-To alone, and the
// assignee hears of it. Internal notes go to nobody.
func TestOutboundThreadsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		k := newSink(t)
		f := newFixture(t, db, Config{OutboundChannel: "desk mail", BaseURL: "https://desk.example"})
		f.emailChannel(k)
		ctx := context.Background()
		// The first Feed sets the cursors at the start.
		if _, err := f.mail.Feed(ctx); err != nil {
			t.Fatal(err)
		}
		res := f.ingest(mailText("alice@customer.example", "Mouse broken", "root@customer.example", "", "It clicks twice."))
		id := res.TicketID
		agent := f.as("agent1", auth.RoleOperator)
		assignee := f.users["agent1"]
		if _, err := f.desk.UpdateTicket(agent, id, patchAssignee(assignee)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.AddComment(agent, id, false, "internal: order a new one"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.AddComment(agent, id, true, "A new mouse is on its way."); err != nil {
			t.Fatal(err)
		}
		send := func() []sentMail {
			t.Helper()
			if _, err := f.mail.Feed(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := f.mail.SendDue(ctx); err != nil {
				t.Fatal(err)
			}
			var out []sentMail
			for _, raw := range k.all() {
				m, err := mail.ReadMessage(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, sentMail{Header: m.Header, body: readAll(m)})
			}
			return out
		}
		got := send()
		// The receipt of the new ticket, and the agent's reply; no note.
		if len(got) != 2 {
			t.Fatalf("%d mails sent", len(got))
		}
		for _, m := range got {
			if strings.Contains(m.body, "internal") {
				t.Fatal("an internal note was mailed")
			}
		}
		reply := got[1]
		h := reply.Header
		tag := "[#" + itoa(id) + "]"
		dec := new(mimeDecoder)
		if subj := dec.decode(h.Get("Subject")); !strings.HasPrefix(subj, tag) || !strings.EqualFold(h.Get("To"), "alice@customer.example") {
			t.Fatalf("subject %q to %q", subj, h.Get("To"))
		}
		if h.Get("Reply-To") != "support@desk.example" || h.Get("Auto-Submitted") != "" {
			t.Fatalf("reply-to %q auto %q", h.Get("Reply-To"), h.Get("Auto-Submitted"))
		}
		if got[0].Header.Get("Auto-Submitted") != "auto-generated" {
			t.Fatal("the receipt is not marked Auto-Submitted")
		}
		if !strings.Contains(h.Get("References"), "<root@customer.example>") || h.Get("In-Reply-To") != got[0].Header.Get("Message-ID") {
			t.Fatalf("in-reply-to %q references %q (receipt %q)", h.Get("In-Reply-To"), h.Get("References"), got[0].Header.Get("Message-ID"))
		}
		body := reply.body
		if !strings.Contains(body, "A new mouse is on its way.") || !strings.Contains(body, ReplyMarker) || !strings.Contains(body, "https://desk.example/tickets/"+itoa(id)) {
			t.Fatalf("body %q", body)
		}
		// The requester answers the mail, subject without the tag.
		answer := "From: alice@customer.example\nTo: support@desk.example\nSubject: Re: Mouse\nMessage-ID: <ans@customer.example>\nIn-Reply-To: " +
			h.Get("Message-ID") + "\n\nThanks, got it.\n\n> " + ReplyMarker + "\n> old\n"
		r := f.ingest(answer)
		if r.Outcome != OutcomeReply || r.TicketID != id {
			t.Fatalf("answer: %+v", r)
		}
		got = send()
		if len(got) != 3 || got[2].Header.Get("To") != "agent1@desk.example" {
			t.Fatalf("%d mails; last to %q", len(got), got[len(got)-1].Header.Get("To"))
		}
		if b := got[2].body; !strings.Contains(b, "Thanks, got it.") || strings.Contains(b, "> old") {
			t.Fatalf("assignee mail %q", b)
		}
		// Resolving tells the requester; sending again sends nothing new.
		if _, err := f.desk.UpdateTicket(agent, id, patchStatus("resolved")); err != nil {
			t.Fatal(err)
		}
		got = send()
		if len(got) != 4 || !strings.Contains(got[3].body, "is resolved") {
			t.Fatalf("%d mails", len(got))
		}
		// The resolved mail carries a signed rating link the desk accepts.
		i := strings.Index(got[3].body, "https://desk.example/rate/")
		if i < 0 {
			t.Fatalf("no rating link in %q", got[3].body)
		}
		token := strings.Fields(got[3].body[i+len("https://desk.example/rate/"):])[0]
		if tk, _, err := f.desk.RatingLinkTicket(ctx, token); err != nil || tk.ID != id {
			t.Fatalf("rating link %q: %v", token, err)
		}
		if got = send(); len(got) != 4 {
			t.Fatalf("resent: %d mails", len(got))
		}
		counts, err := f.mail.OutboxCounts(ctx)
		if err != nil || counts["sent"] != 4 {
			t.Fatalf("%v %v", counts, err)
		}
	})
}

func TestOutboundRetriesAndGivesUp(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), Config{OutboundChannel: "missing channel"})
	ctx := context.Background()
	_, _ = f.mail.Feed(ctx)
	f.ingest(mailText("alice@customer.example", "x", "g1@c", "", "y"))
	if _, err := f.mail.Feed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mail.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	counts, _ := f.mail.OutboxCounts(ctx)
	if counts["given_up"] != 1 {
		t.Fatalf("a mail through a channel that does not exist: %v", counts)
	}
}

// sentMail is one captured mail, its body decoded.
type sentMail struct {
	mail.Header
	body string
}
