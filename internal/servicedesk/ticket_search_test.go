package servicedesk

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// searchIDs lists the ids of every ticket the caller finds for q, following
// the cursors, failing the test on any error.
func searchIDs(t *testing.T, f *fixture, ctx context.Context, flt Filter) []int64 {
	t.Helper()
	var ids []int64
	flt.Limit = 2
	for {
		p, err := f.svc.List(ctx, flt)
		if err != nil {
			t.Fatalf("search %q: %v", flt.Text, err)
		}
		for _, tk := range p.Tickets {
			ids = append(ids, tk.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		flt.Cursor = p.NextCursor
	}
}

func newTicket(t *testing.T, f *fixture, user, subject, description string) *Ticket {
	t.Helper()
	tk, err := f.svc.CreateTicket(f.as(user), NewTicket{Subject: subject, Description: description})
	if err != nil {
		t.Fatalf("create ticket: %v", err)
	}
	return tk
}

func TestTicketSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		printer := newTicket(t, f, "alice", "Printer on floor 3 jams", "Paper stuck in tray two")
		vpn := newTicket(t, f, "alice", "Cannot connect", "The VPN client keeps dropping the connection since the update")
		mail := newTicket(t, f, "bob", "Mailbox full", "Outlook says the quota is exceeded; printers fine")
		code := newTicket(t, f, "bob", "Error 404 on the intranet", "")
		agent := f.as("agent1")
		for _, c := range []struct {
			q    string
			want []int64 // newest first
		}{
			{"printer", []int64{mail.ID, printer.ID}},  // subject, and description (stemmed)
			{"PRINTERS", []int64{mail.ID, printer.ID}}, // case and plural
			{"vpn", []int64{vpn.ID}},                   // description only
			{"dropped connections", []int64{vpn.ID}},   // stems: drop, connect
			{"printer jams", []int64{printer.ID}},      // every word must match
			{"printer zebra", nil},                     // one word missing
			{"quota", []int64{mail.ID}},                // after punctuation
			{"#" + strconv.FormatInt(vpn.ID, 10), []int64{vpn.ID}},
			{strconv.FormatInt(printer.ID, 10), []int64{printer.ID}},
			{"404", []int64{code.ID}},                        // a number that is no ticket's
			{"#" + strconv.FormatInt(code.ID+1000, 10), nil}, // no such ticket
		} {
			if got := searchIDs(t, f, agent, Filter{Text: c.q}); !slices.Equal(got, c.want) {
				t.Errorf("%q found %v, want %v", c.q, got, c.want)
			}
		}
		// By every order, with the cursor, the same set.
		for _, sort := range Sorts() {
			got := searchIDs(t, f, agent, Filter{Text: "printer", Sort: sort})
			if slices.Sort(got); !slices.Equal(got, []int64{printer.ID, mail.ID}) {
				t.Errorf("%s order found %v", sort, got)
			}
		}
		// Combined with the other filters.
		g, err := f.svc.SaveGroup(f.as("admin"), Group{Name: "Print"})
		if err != nil {
			t.Fatal(err)
		}
		f.patch("agent1", printer.ID, TicketPatch{GroupID: &g.ID, Status: ptr(StatusOpen)})
		if got := searchIDs(t, f, agent, Filter{Text: "printer", GroupID: g.ID}); !slices.Equal(got, []int64{printer.ID}) {
			t.Errorf("group and text found %v", got)
		}
		if got := searchIDs(t, f, agent, Filter{Text: "printer", Statuses: []Status{StatusNew}}); !slices.Equal(got, []int64{mail.ID}) {
			t.Errorf("status and text found %v", got)
		}
		if got := searchIDs(t, f, agent, Filter{Text: "printer", RequesterID: f.users["bob"]}); !slices.Equal(got, []int64{mail.ID}) {
			t.Errorf("requester and text found %v", got)
		}
	})
}

// TestTicketSearchHostile: no input is query syntax or SQL; every search
// gives tickets or none, never an error.
func TestTicketSearchHostile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		printer := newTicket(t, f, "alice", "Printer jams", `He said "NEAR(printer, toner)" -- and: *star*`)
		newTicket(t, f, "alice", "Toner empty", "")
		agent := f.as("agent1")
		for _, c := range []struct {
			name, q string
			found   bool // finds the printer ticket
		}{
			{"empty", "", true},
			{"spaces", "   \t ", true},
			{"double quote", `"`, false},
			{"quoted word", `"printer"`, true},
			{"unbalanced quote", `printer"`, true},
			{"star", `*`, false},
			{"prefix star", `print*`, false},
			{"word star", `printer*`, true},
			{"near", `NEAR(`, false},
			{"near call", `NEAR(printer toner, 5)`, false}, // no "5"
			{"near words", `NEAR(printer toner)`, true},
			{"minus", `-`, false},
			{"not word", `-printer`, true},
			{"colon", `:`, false},
			{"column filter", `subject:printer`, false},
			{"column set", `{subject description}: printer`, false},
			{"operators", `printer OR toner AND NOT x`, false},
			{"and", `AND`, false},
			{"caret", `^printer`, true},
			{"parentheses", `(printer`, true},
			{"tsquery syntax", `printer & !toner | x:*`, false},
			{"sql quote", `' OR 1=1 --`, false},
			{"sql drop", `'; DROP TABLE sd_tickets; --`, false},
			{"like wildcards", `%_%`, false},
			{"backslash", `\`, false},
			{"nul byte", "printer\x00", true},
			{"invalid utf-8", "printer \xff\xfe", true},
			{"unicode", "Drücker ☃ 打印机", false},
			{"number sign", "#", false},
			{"huge number", "#99999999999999999999999", false},
			{"negative number", "-1", false},
			{"10 KB of words", strings.Repeat("printer ", 1280), true},
			{"10 KB of syntax", strings.Repeat(`"*(NEAR:-^`, 1024), false},
			{"10 KB one word", strings.Repeat("a", 10240), false},
		} {
			t.Run(c.name, func(t *testing.T) {
				p, err := f.svc.List(agent, Filter{Text: c.q})
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				found := slices.ContainsFunc(p.Tickets, func(tk *Ticket) bool { return tk.ID == printer.ID })
				if strings.TrimSpace(c.q) == "" {
					if len(p.Tickets) != 2 {
						t.Fatalf("empty search lists %d tickets, want all 2", len(p.Tickets))
					}
				} else if found != c.found {
					t.Fatalf("found the ticket: %v, want %v (%d tickets)", found, c.found, len(p.Tickets))
				}
			})
		}
		// The table is still there.
		if _, err := f.svc.Ticket(agent, printer.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTicketSearchRequesterIsolation: search never widens what a requester
// sees, by words or by ticket number.
func TestTicketSearchRequesterIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		mine := newTicket(t, f, "alice", "Printer jams", "")
		theirs := newTicket(t, f, "bob", "Printer jams too", "secret project printer")
		alice := f.as("alice")
		for _, q := range []string{"printer", "secret", "jams", "#" + strconv.FormatInt(theirs.ID, 10), strconv.FormatInt(theirs.ID, 10)} {
			for _, flt := range []Filter{{Text: q}, {Text: q, RequesterID: f.users["bob"]}, {Text: q, Sort: SortSLA}} {
				for _, id := range searchIDs(t, f, alice, flt) {
					if id != mine.ID {
						t.Fatalf("alice searching %+v sees ticket #%d", flt, id)
					}
				}
			}
		}
		// An organisation that shares tickets shows bob's to alice, as the
		// list does without a search.
		if _, err := f.svc.SaveOrganization(f.as("admin"), Organization{Name: "Acme", ShareTickets: true,
			MemberIDs: []int64{f.users["alice"], f.users["bob"]}}); err != nil {
			t.Fatal(err)
		}
		org := "Acme"
		f.patch("agent1", mine.ID, TicketPatch{Organization: &org})
		f.patch("agent1", theirs.ID, TicketPatch{Organization: &org})
		if got := searchIDs(t, f, alice, Filter{Text: "secret"}); !slices.Equal(got, []int64{theirs.ID}) {
			t.Fatalf("shared organisation search found %v", got)
		}
		if got := searchIDs(t, f, f.as("viewer"), Filter{Text: "printer"}); len(got) != 2 {
			t.Fatalf("a viewer finds %v", got)
		}
	})
}

// TestTicketSearchFollowsChanges: edits are searchable at once, merged
// duplicates stay findable as closed tickets, and a deleted row leaves the
// index.
func TestTicketSearchFollowsChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		tk := newTicket(t, f, "alice", "Laptop slow", "Fan is loud")
		agent := f.as("agent1")
		f.patch("agent1", tk.ID, TicketPatch{Subject: ptr("Laptop overheating"), Description: ptr("Battery swollen")})
		for q, want := range map[string]int{"slow": 0, "loud": 0, "overheating": 1, "battery": 1, "laptop": 1} {
			if got := searchIDs(t, f, agent, Filter{Text: q}); len(got) != want {
				t.Errorf("after the edit %q found %v, want %d", q, got, want)
			}
		}
		dup := newTicket(t, f, "alice", "Laptop battery swollen again", "")
		if _, err := f.svc.Merge(agent, dup.ID, tk.ID); err != nil {
			t.Fatal(err)
		}
		p, err := f.svc.List(agent, Filter{Text: "swollen"})
		if err != nil || len(p.Tickets) != 2 || p.Tickets[0].ID != dup.ID || p.Tickets[0].Status != StatusClosed || p.Tickets[0].MergedInto != tk.ID {
			t.Fatalf("merged duplicate in a search: %+v, %v", p.Tickets, err)
		}
		if got := searchIDs(t, f, agent, Filter{Text: "swollen", Statuses: []Status{StatusNew, StatusOpen}}); !slices.Equal(got, []int64{tk.ID}) {
			t.Fatalf("unresolved search found %v", got)
		}
		other := newTicket(t, f, "bob", "Keyboard sticky", "")
		for _, q := range []string{`DELETE FROM sd_history WHERE ticket_id = $1`, `DELETE FROM sd_comments WHERE ticket_id = $1`, `DELETE FROM sd_tickets WHERE id = $1`} {
			if _, err := db.W.ExecContext(context.Background(), q, other.ID); err != nil {
				t.Fatal(err)
			}
		}
		if got := searchIDs(t, f, agent, Filter{Text: "keyboard"}); len(got) != 0 {
			t.Fatalf("deleted ticket found: %v", got)
		}
		if db.Dialect == store.SQLite {
			// The triggers kept the external-content index exact.
			if _, err := db.W.ExecContext(context.Background(), `INSERT INTO sd_tickets_fts (sd_tickets_fts) VALUES ('integrity-check')`); err != nil {
				t.Fatalf("index out of step with the tickets: %v", err)
			}
		}
	})
}

// TestTicketSearchMigrationBackfills runs migration 00021 down and up again
// over tickets written without it: they are found afterwards.
func TestTicketSearchMigrationBackfills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		name := "../store/migrations/00021_ticket_fts." + map[bool]string{true: "postgres", false: "sqlite"}[db.Dialect == store.Postgres] + ".sql"
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		up, down, ok := strings.Cut(string(b), "-- +goose Down")
		if !ok {
			t.Fatal("no Down section")
		}
		ctx := context.Background()
		if _, err := db.W.ExecContext(ctx, down); err != nil {
			t.Fatalf("down: %v", err)
		}
		old := newTicket(t, f, "alice", "Projector flickers", "In room Everest")
		if _, err := db.W.ExecContext(ctx, up); err != nil {
			t.Fatalf("up: %v", err)
		}
		for _, q := range []string{"projector", "everest"} {
			if got := searchIDs(t, f, f.as("agent1"), Filter{Text: q}); !slices.Equal(got, []int64{old.ID}) {
				t.Fatalf("%q after the migration found %v", q, got)
			}
		}
	})
}

// FuzzTicketSearch: any search string lists tickets or none, never an
// error, and never more than the caller may see.
func FuzzTicketSearch(f *testing.F) {
	db := storetest.SQLite(f)
	fx := newFixture(f, db)
	for _, s := range []string{"", "printer", `"`, `NEAR(a b)`, `-x`, `a:b`, `#1`, `'--`, "\xff"} {
		f.Add(s)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := fx.svc.CreateTicket(fx.as(u), NewTicket{Subject: "Printer " + u, Description: "tray"}); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		p, err := fx.svc.List(fx.as("alice"), Filter{Text: q, Limit: 50})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		for _, tk := range p.Tickets {
			if tk.RequesterID != fx.users["alice"] {
				t.Fatalf("%q: alice sees #%d", q, tk.ID)
			}
		}
	})
}
