package servicedesk

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestTicketLifecycleWithSLA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		_, pol := f.office()
		f.at("2026-12-02 09:00")
		tk := f.ticket("alice", "VPN drops every hour")
		if tk.Status != StatusNew || tk.Priority != 3 || tk.PolicyID != pol.ID || tk.RequesterID != f.users["alice"] {
			t.Fatalf("new ticket %+v", tk)
		}
		if tk.SLADue == nil || !tk.SLADue.Equal(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)) {
			// 10:00 Berlin = 09:00 UTC: the first-response target is due first.
			t.Fatalf("sla due %v", tk.SLADue)
		}
		// The agent's first public reply at 09:30 answers the first-response
		// target and opens the ticket.
		f.at("2026-12-02 09:30")
		if _, err := f.svc.AddComment(f.as("agent1"), tk.ID, true, "Which VPN client version?"); err != nil {
			t.Fatal(err)
		}
		// Pending on the requester from 10:00 to Thursday 10:00.
		f.at("2026-12-02 10:00")
		tk = f.patch("agent1", tk.ID, TicketPatch{Status: ptr(StatusPending), PendingReason: ptr(PendingRequester)})
		if tk.Status != StatusPending || tk.PendingReason != PendingRequester || !tk.SLAPaused || tk.SLADue != nil {
			t.Fatalf("pending ticket %+v", tk)
		}
		f.at("2026-12-03 10:00")
		st := f.sla(tk.ID)
		if !st.Resolution.Paused || st.Resolution.Elapsed != time.Hour || st.Response.State != SLAMet {
			t.Fatalf("paused sla %+v", st)
		}
		// The requester's reply resumes the clock.
		if _, err := f.svc.AddComment(f.as("alice"), tk.ID, false, "Version 5.2"); err != nil {
			t.Fatal(err)
		}
		tk, _ = f.svc.Ticket(f.as("alice"), tk.ID)
		// 1h used before the pause, 7h left from Thursday 10:00: Friday 09:00.
		if tk.Status != StatusOpen || tk.SLADue == nil || !tk.SLADue.Equal(time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)) {
			t.Fatalf("resumed ticket %s due %v", tk.Status, tk.SLADue)
		}
		f.at("2026-12-03 15:00")
		tk = f.patch("agent1", tk.ID, TicketPatch{Status: ptr(StatusResolved)})
		st = f.sla(tk.ID)
		if st.State != SLAMet || st.Resolution.Elapsed != 5*time.Hour || st.Resolution.PausedFor != 24*time.Hour {
			t.Fatalf("resolved sla %+v", st)
		}
		// Every change is in the history with its actor.
		h, err := f.svc.History(f.as("agent1"), tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range h {
			got = append(got, e.Actor+":"+e.Field+"="+e.New)
		}
		want := []string{"alice:status=new", "agent1:first_response=2026-12-02T08:30:00Z", "agent1:status=open",
			"agent1:status=pending", "agent1:pending_reason=requester", "alice:status=open", "alice:pending_reason=",
			"agent1:status=resolved"}
		if !slices.Equal(got, want) {
			t.Fatalf("history\n got %q\nwant %q", got, want)
		}
		// Reopen inside the window works; after it, it does not.
		f.at("2026-12-04 09:00")
		f.patch("agent2", tk.ID, TicketPatch{Status: ptr(StatusOpen)})
		f.patch("agent2", tk.ID, TicketPatch{Status: ptr(StatusResolved)})
		f.at("2026-12-20 09:00")
		if _, err := f.svc.UpdateTicket(f.as("agent2"), tk.ID, TicketPatch{Status: ptr(StatusOpen)}); !errors.Is(err, ErrTransition) {
			t.Fatalf("reopen after the window: %v", err)
		}
		f.patch("agent2", tk.ID, TicketPatch{Status: ptr(StatusClosed)})
		if _, err := f.svc.UpdateTicket(f.as("agent2"), tk.ID, TicketPatch{Subject: ptr("x")}); !errors.Is(err, ErrTransition) {
			t.Fatalf("edit of a closed ticket: %v", err)
		}
		if _, err := f.svc.AddComment(f.as("alice"), tk.ID, true, "again?"); err == nil {
			t.Fatal("reply to a closed ticket accepted")
		}
	})
}

func TestTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		tk := f.ticket("agent1", "printer")
		for _, bad := range []Status{StatusClosed, StatusNew} {
			if _, err := f.svc.UpdateTicket(f.as("agent1"), tk.ID, TicketPatch{Status: ptr(bad)}); bad != StatusNew && !errors.Is(err, ErrTransition) {
				t.Fatalf("new → %s: %v", bad, err)
			}
		}
		if _, err := f.svc.UpdateTicket(f.as("agent1"), tk.ID, TicketPatch{Status: ptr(Status("done"))}); err == nil {
			t.Fatal("unknown status accepted")
		} else {
			assertField(t, err, "status")
		}
		if _, err := f.svc.UpdateTicket(f.as("agent1"), tk.ID, TicketPatch{Status: ptr(StatusPending), PendingReason: ptr(PendingReason("moon"))}); err == nil {
			t.Fatal("bad pending reason accepted")
		}
		// Requesters and viewers cannot patch.
		for _, who := range []string{"alice", "viewer"} {
			if _, err := f.svc.UpdateTicket(f.as(who), tk.ID, TicketPatch{Subject: ptr("mine")}); !errors.Is(err, ErrForbidden) {
				t.Fatalf("%s patched: %v", who, err)
			}
		}
	})
}

func TestRequesterIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		mine := f.ticket("alice", "alice's laptop")
		other := f.ticket("bob", "bob's phone")
		if _, err := f.svc.AddComment(f.as("agent1"), mine.ID, false, "internal: check warranty"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddComment(f.as("agent1"), mine.ID, true, "public answer"); err != nil {
			t.Fatal(err)
		}
		alice := f.as("alice")
		if _, err := f.svc.Ticket(alice, other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("alice read bob's ticket: %v", err)
		}
		if _, err := f.svc.AddComment(alice, other.ID, true, "hi"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("alice replied on bob's ticket: %v", err)
		}
		if _, err := f.svc.Comments(alice, other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("alice read bob's comments: %v", err)
		}
		if _, err := f.svc.History(alice, other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("alice read bob's history: %v", err)
		}
		// Even when asking for bob's tickets, alice lists only hers.
		p, err := f.svc.List(alice, Filter{RequesterID: f.users["bob"]})
		if err != nil || len(p.Tickets) != 1 || p.Tickets[0].ID != mine.ID {
			t.Fatalf("alice's list %v %v", p.Tickets, err)
		}
		cs, err := f.svc.Comments(alice, mine.ID)
		if err != nil || len(cs) != 1 || cs[0].Body != "public answer" {
			t.Fatalf("alice sees %+v, %v", cs, err)
		}
		cs, _ = f.svc.Comments(f.as("agent2"), mine.ID)
		if len(cs) != 2 || cs[0].Public {
			t.Fatalf("agents see %+v", cs)
		}
		// A requester's "note" is a public reply: they have no internal notes.
		c, err := f.svc.AddComment(alice, mine.ID, false, "thanks")
		if err != nil || !c.Public {
			t.Fatalf("requester note %+v %v", c, err)
		}
		// A requester cannot open a ticket for bob or assign it.
		tk, err := f.svc.CreateTicket(alice, NewTicket{Subject: "x", RequesterID: f.users["bob"], AssigneeID: f.users["agent1"]})
		if err != nil || tk.RequesterID != f.users["alice"] || tk.AssigneeID != 0 {
			t.Fatalf("requester-made ticket %+v %v", tk, err)
		}
	})
}

func TestTicketBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := f.as("agent1")
		cases := []struct {
			in    NewTicket
			field string
		}{
			{NewTicket{Subject: ""}, "subject"},
			{NewTicket{Subject: strings.Repeat("x", MaxSubject+1)}, "subject"},
			{NewTicket{Subject: "a\x00b"}, "subject"},
			{NewTicket{Subject: "ok", Description: strings.Repeat("d", MaxDescription+1)}, "description"},
			{NewTicket{Subject: "ok", Type: "bug"}, "type"},
			{NewTicket{Subject: "ok", Impact: 4}, "impact"},
			{NewTicket{Subject: "ok", Urgency: -1}, "urgency"},
			{NewTicket{Subject: "ok", Tags: []string{"a,b"}}, "tags"},
			{NewTicket{Subject: "ok", AssigneeID: f.users["alice"]}, "assignee_id"},
			{NewTicket{Subject: "ok", GroupID: 999}, "group_id"},
			{NewTicket{Subject: "ok", RequesterID: 999}, "requester_id"},
		}
		for _, c := range cases {
			_, err := f.svc.CreateTicket(ctx, c.in)
			assertField(t, err, c.field)
		}
		// Hostile HTML is stored as typed; escaping is the renderer's job.
		tk, err := f.svc.CreateTicket(ctx, NewTicket{Subject: `<script>alert(1)</script>`, Description: `<img src=x onerror=alert(1)>`})
		if err != nil || tk.Subject != `<script>alert(1)</script>` {
			t.Fatalf("%+v %v", tk, err)
		}
	})
}

func TestPriorityMatrixAndPolicyChoice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := f.as("admin")
		m, err := f.svc.PriorityMatrix(admin)
		if err != nil || m.Priority(1, 1) != 1 || m.Priority(3, 3) != 5 {
			t.Fatalf("default matrix %v %v", m, err)
		}
		m[2][2] = 4
		if err := f.svc.SetPriorityMatrix(admin, m); err != nil {
			t.Fatal(err)
		}
		m[0][0] = 9
		assertField(t, f.svc.SetPriorityMatrix(admin, m), "matrix.1.1")
		p1, _ := f.svc.SavePolicy(admin, SLAPolicy{Name: "Critical", Position: 1, MatchPriority: 1, ResponseMinutes: 15, ResolutionMinutes: 240})
		acme, _ := f.svc.SavePolicy(admin, SLAPolicy{Name: "ACME", Position: 2, MatchOrganization: "ACME", ResponseMinutes: 30, ResolutionMinutes: 600})
		hw, _ := f.svc.SavePolicy(admin, SLAPolicy{Name: "Hardware", Position: 3, MatchCategory: "hardware", ResponseMinutes: 60, ResolutionMinutes: 2400})
		ctx := f.as("agent1")
		mk := func(in NewTicket) *Ticket {
			in.Subject = "s"
			tk, err := f.svc.CreateTicket(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			return tk
		}
		if tk := mk(NewTicket{Impact: 3, Urgency: 3}); tk.Priority != 4 || tk.PolicyID != 0 {
			t.Fatalf("changed matrix: P%d, policy %d", tk.Priority, tk.PolicyID)
		}
		if tk := mk(NewTicket{Impact: 1, Urgency: 1, Organization: "acme", Category: "Hardware"}); tk.PolicyID != p1.ID {
			t.Fatalf("P1 ticket got policy %d, want the first match %d", tk.PolicyID, p1.ID)
		}
		if tk := mk(NewTicket{Organization: "acme", Category: "hardware"}); tk.PolicyID != acme.ID {
			t.Fatalf("acme ticket got policy %d", tk.PolicyID)
		}
		tk := mk(NewTicket{Category: "hardware"})
		if tk.PolicyID != hw.ID {
			t.Fatalf("hardware ticket got policy %d", tk.PolicyID)
		}
		// Raising impact and urgency re-prioritises and re-chooses the policy.
		tk = f.patch("agent1", tk.ID, TicketPatch{Impact: ptr(Level(1)), Urgency: ptr(Level(1))})
		if tk.Priority != 1 || tk.PolicyID != p1.ID {
			t.Fatalf("after raising: P%d policy %d", tk.Priority, tk.PolicyID)
		}
		_, err = f.svc.SavePolicy(admin, SLAPolicy{Name: "bad", ResponseMinutes: 0, ResolutionMinutes: 10})
		assertField(t, err, "response_minutes")
		_, err = f.svc.SavePolicy(admin, SLAPolicy{Name: "bad", ResponseMinutes: 10, ResolutionMinutes: 10, CalendarID: 12345})
		assertField(t, err, "calendar_id")
	})
}

func TestAssignmentRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := f.as("admin")
		rr, err := f.svc.SaveGroup(admin, Group{Name: "Network", AssignMode: AssignRoundRobin, Categories: []string{"VPN"},
			MemberIDs: []int64{f.users["agent1"], f.users["agent2"]}})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for range 3 {
			tk, err := f.svc.CreateTicket(f.as("alice"), NewTicket{Subject: "vpn", Category: "vpn"})
			if err != nil {
				t.Fatal(err)
			}
			if tk.GroupID != rr.ID {
				t.Fatalf("category vpn routed to group %d", tk.GroupID)
			}
			got = append(got, tk.AssigneeID)
		}
		a1, a2 := f.users["agent1"], f.users["agent2"]
		if !slices.Equal(got, []int64{a1, a2, a1}) {
			t.Fatalf("round robin gave %v", got)
		}
		ll, err := f.svc.SaveGroup(admin, Group{Name: "Desk", AssignMode: AssignLeastLoaded, MemberIDs: []int64{a1, a2}})
		if err != nil {
			t.Fatal(err)
		}
		// agent1 holds two unresolved tickets, agent2 one: agent2 is next.
		tk, _ := f.svc.CreateTicket(f.as("agent1"), NewTicket{Subject: "x", GroupID: ll.ID})
		if tk.AssigneeID != a2 {
			t.Fatalf("least loaded gave %d, want agent2 %d", tk.AssigneeID, a2)
		}
		_, err = f.svc.SaveGroup(admin, Group{Name: "Bad", MemberIDs: []int64{f.users["alice"]}})
		assertField(t, err, "member_ids")
		_, err = f.svc.SaveGroup(admin, Group{Name: "Bad", AssignMode: "random"})
		assertField(t, err, "assign_mode")
	})
}

func TestBulkAndMerge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		g, _ := f.svc.SaveGroup(f.as("admin"), Group{Name: "Desk"})
		a := f.ticket("alice", "mail down")
		b := f.ticket("bob", "mail is down")
		c := f.ticket("bob", "mail broken")
		ctx := f.as("agent1")
		n, err := f.svc.BulkUpdate(ctx, BulkPatch{IDs: []int64{a.ID, b.ID, c.ID}, GroupID: &g.ID, Priority: ptr(Priority(2)), AssigneeID: ptr(f.users["agent2"])})
		if err != nil || n != 3 {
			t.Fatalf("bulk %d %v", n, err)
		}
		p, _ := f.svc.List(ctx, Filter{GroupID: g.ID, Priority: 2, AssigneeID: f.users["agent2"]})
		if len(p.Tickets) != 3 {
			t.Fatalf("after bulk, %d tickets match", len(p.Tickets))
		}
		if _, err := f.svc.Merge(ctx, b.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		b2, _ := f.svc.Ticket(ctx, b.ID)
		if b2.Status != StatusClosed || b2.MergedInto != a.ID {
			t.Fatalf("merged ticket %+v", b2)
		}
		cs, _ := f.svc.Comments(ctx, a.ID)
		if len(cs) != 1 || cs[0].Public || !strings.Contains(cs[0].Body, "merged") {
			t.Fatalf("target comments %+v", cs)
		}
		// A bulk move including the closed duplicate changes nothing.
		if _, err := f.svc.BulkUpdate(ctx, BulkPatch{IDs: []int64{a.ID, b.ID}, Status: ptr(StatusPending)}); !errors.Is(err, ErrTransition) {
			t.Fatalf("bulk with a closed ticket: %v", err)
		}
		a2, _ := f.svc.Ticket(ctx, a.ID)
		if a2.Status != StatusNew {
			t.Fatalf("bulk was not all-or-nothing: %s", a2.Status)
		}
		_, err = f.svc.BulkUpdate(ctx, BulkPatch{IDs: []int64{a.ID}})
		assertField(t, err, "status")
		_, err = f.svc.Merge(ctx, a.ID, a.ID)
		assertField(t, err, "into")
	})
}

func TestSLAJobRecordsWarningsAndBreaches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		f.at("2026-12-02 09:00")
		tk := f.ticket("alice", "slow wifi")
		paused := f.ticket("bob", "waiting on vendor")
		f.patch("agent1", paused.ID, TicketPatch{Status: ptr(StatusPending), PendingReason: ptr(PendingThirdParty)})
		ctx := t.Context()
		// 09:50: past 80 % of the 1h first-response target.
		f.at("2026-12-02 09:50")
		if _, err := f.svc.CheckSLA(ctx); err != nil {
			t.Fatal(err)
		}
		// 10:05: breached; run twice, recorded once.
		f.at("2026-12-02 10:05")
		for range 2 {
			if _, err := f.svc.CheckSLA(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, e := range f.events {
			if e.TicketID == paused.ID {
				t.Fatalf("paused ticket raised %+v", e)
			}
			got = append(got, e.Timer+"="+string(e.State))
		}
		if !slices.Equal(got, []string{"first_response=warning", "first_response=breached"}) {
			t.Fatalf("events %q", got)
		}
		tk, _ = f.svc.Ticket(f.as("agent1"), tk.ID)
		if tk.SLAState != SLABreached {
			t.Fatalf("stored state %s", tk.SLAState)
		}
		p, _ := f.svc.List(f.as("agent1"), Filter{SLAState: SLABreached})
		if len(p.Tickets) != 1 || p.Tickets[0].ID != tk.ID {
			t.Fatalf("breached filter %v", p.Tickets)
		}
		p, _ = f.svc.List(f.as("agent1"), Filter{SLAState: "paused"})
		if len(p.Tickets) != 1 || p.Tickets[0].ID != paused.ID {
			t.Fatalf("paused filter %v", p.Tickets)
		}
		h, _ := f.svc.History(f.as("agent1"), tk.ID)
		if !slices.ContainsFunc(h, func(e HistoryEntry) bool {
			return e.Field == "sla.first_response" && e.New == "breached" && e.Actor == "system"
		}) {
			t.Fatalf("history lacks the breach: %+v", h)
		}
	})
}

func TestListSortAndCursor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		var ids []int64
		for i := range 7 {
			f.now = f.now.Add(time.Duration(i) * time.Minute)
			ids = append(ids, f.ticket("alice", "ticket "+string(rune('a'+i))).ID)
		}
		f.patch("agent1", ids[3], TicketPatch{Status: ptr(StatusPending)}) // no due: last
		ctx := f.as("agent1")
		for _, sort := range Sorts() {
			var seen []int64
			cursor := ""
			for {
				p, err := f.svc.List(ctx, Filter{Sort: sort, Limit: 2, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, tk := range p.Tickets {
					seen = append(seen, tk.ID)
				}
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			if len(seen) != 7 {
				t.Fatalf("%s: pages gave %v", sort, seen)
			}
			if sort == SortSLA && seen[6] != ids[3] {
				t.Fatalf("sla sort puts the paused ticket at %v", seen)
			}
			if sort == SortNewest && seen[0] != ids[6] {
				t.Fatalf("newest first gave %v", seen)
			}
		}
		p, _ := f.svc.List(ctx, Filter{Text: "TICKET C"})
		if len(p.Tickets) != 1 {
			t.Fatalf("text filter gave %d", len(p.Tickets))
		}
		p, _ = f.svc.List(ctx, Filter{Text: "%"})
		if len(p.Tickets) != 0 {
			t.Fatal("a % in the text filter is a wildcard")
		}
		_, err := f.svc.List(ctx, Filter{Cursor: "garbage"})
		assertField(t, err, "cursor")
		_, err = f.svc.List(ctx, Filter{Sort: "random"})
		assertField(t, err, "sort")
	})
}

func TestAttachments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.svc.opts.MaxAttachmentBytes = 1000
		tk := f.ticket("alice", "screen broken")
		png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)
		at, err := f.svc.AddAttachment(f.as("alice"), tk.ID, `C:\Users\alice\photo "1".png`, png)
		if err != nil || at.ContentType != "image/png" || at.Filename != "photo 1.png" || at.Size != 108 {
			t.Fatalf("attach %+v %v", at, err)
		}
		for _, c := range []struct {
			name string
			data []byte
		}{
			{"page.html", []byte("<html><script>alert(1)</script></html>")},
			{"x.png", []byte("<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>")},
			{"big.txt", []byte(strings.Repeat("a", 1001))},
			{"empty.txt", nil},
			{"", []byte("hello")},
			{"run.exe", []byte("MZ\x90\x00\x03\x00\x00\x00")},
		} {
			_, err := f.svc.AddAttachment(f.as("alice"), tk.ID, c.name, c.data)
			assertField(t, err, "file")
		}
		if _, err := f.svc.AddAttachment(f.as("bob"), tk.ID, "a.txt", []byte("hi")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob attached to alice's ticket: %v", err)
		}
		if _, err := f.svc.AttachmentData(f.as("bob"), tk.ID, at.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob read alice's attachment: %v", err)
		}
		other := f.ticket("bob", "bob's")
		if _, err := f.svc.AttachmentData(f.as("bob"), other.ID, at.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("attachment read through another ticket: %v", err)
		}
		got, err := f.svc.AttachmentData(f.as("agent1"), tk.ID, at.ID)
		if err != nil || string(got.Data) != string(png) {
			t.Fatalf("read back %v", err)
		}
		list, _ := f.svc.Attachments(f.as("alice"), tk.ID)
		if len(list) != 1 || list[0].Data != nil {
			t.Fatalf("list %+v", list)
		}
	})
}

func TestCalendarChangeRecomputesDueTimes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		cal, _ := f.office()
		f.at("2026-12-02 09:00")
		tk := f.ticket("alice", "x")
		f.patch("agent1", tk.ID, TicketPatch{Status: ptr(StatusOpen)})
		if _, err := f.svc.AddComment(f.as("agent1"), tk.ID, true, "on it"); err != nil {
			t.Fatal(err)
		}
		// 8h from Wed 09:00 on 08–12, 13–17: Thu 09:00 Berlin.
		before, _ := f.svc.Ticket(f.as("agent1"), tk.ID)
		if !before.SLADue.Equal(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)) {
			t.Fatalf("due before %v", before.SLADue)
		}
		cal.Hours = weekdays("08:00-18:00")
		if _, err := f.svc.SaveCalendar(f.as("admin"), cal); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CheckSLA(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Now 10h days: Wed 09:00 + 8h = Wed 17:00 Berlin.
		after, _ := f.svc.Ticket(f.as("agent1"), tk.ID)
		if !after.SLADue.Equal(time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)) {
			t.Fatalf("due after the calendar change %v", after.SLADue)
		}
	})
}
