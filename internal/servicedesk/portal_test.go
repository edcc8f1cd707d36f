package servicedesk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// addRequester makes one more requester in the fixture.
func (f *fixture) addRequester(name string) {
	f.t.Helper()
	var id int64
	if err := f.db.W.QueryRowContext(context.Background(), `INSERT INTO users (username, role, password_hash, created_at, updated_at)
		VALUES ($1, 'requester', 'x', $2, $2) RETURNING id`, name, time.Now().UTC()).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	f.users[name], f.roles[name] = id, auth.RoleRequester
}

func TestOrganizationVisibility(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.addRequester("carol")
		acme, err := f.svc.SaveOrganization(f.as("admin"), Organization{Name: "Acme", MemberIDs: []int64{f.users["alice"], f.users["bob"]}})
		if err != nil {
			t.Fatal(err)
		}
		a := f.ticket("alice", "Alice's printer")
		b := f.ticket("bob", "Bob's laptop")
		c := f.ticket("carol", "Carol's phone")
		if a.Organization != "Acme" || c.Organization != "" {
			t.Fatalf("organisation filled from the requester: %q %q", a.Organization, c.Organization)
		}
		sees := func(user string, id int64) bool {
			_, err := f.svc.Ticket(f.as(user), id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		listed := func(user string) []int64 {
			p, err := f.svc.List(f.as(user), Filter{Sort: SortOldest})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, tk := range p.Tickets {
				ids = append(ids, tk.ID)
			}
			return ids
		}
		// Not shared: each sees only their own.
		if sees("alice", b.ID) || sees("carol", a.ID) || !sees("alice", a.ID) {
			t.Fatal("unshared organisation leaks tickets")
		}
		if got := listed("alice"); len(got) != 1 || got[0] != a.ID {
			t.Fatalf("alice lists %v", got)
		}
		// Shared: Acme's members see each other's, Carol still only hers.
		acme.ShareTickets = true
		if _, err := f.svc.SaveOrganization(f.as("admin"), acme); err != nil {
			t.Fatal(err)
		}
		if !sees("alice", b.ID) || sees("carol", a.ID) || sees("alice", c.ID) {
			t.Fatal("shared organisation visibility wrong")
		}
		if got := listed("alice"); len(got) != 2 || got[0] != a.ID || got[1] != b.ID {
			t.Fatalf("alice lists %v", got)
		}
		if got := listed("carol"); len(got) != 1 || got[0] != c.ID {
			t.Fatalf("carol lists %v", got)
		}
		// requester=me still narrows to one's own.
		p, _ := f.svc.List(f.as("alice"), Filter{RequesterID: f.users["alice"]})
		if len(p.Tickets) != 1 {
			t.Fatalf("requester=me lists %d", len(p.Tickets))
		}
		// A colleague may answer but may not rate.
		if _, err := f.svc.AddComment(f.as("alice"), b.ID, true, "Same here"); err != nil {
			t.Fatal(err)
		}
		f.patch("agent1", b.ID, TicketPatch{Status: ptr(StatusResolved)})
		if _, err := f.svc.Rate(f.as("alice"), b.ID, 5, ""); !errors.Is(err, ErrForbidden) {
			t.Fatalf("colleague rates: %v", err)
		}
		// Leaving the organisation ends it.
		acme.MemberIDs = []int64{f.users["bob"]}
		if _, err := f.svc.SaveOrganization(f.as("admin"), acme); err != nil {
			t.Fatal(err)
		}
		if sees("alice", b.ID) {
			t.Fatal("former member still sees the organisation's tickets")
		}
		// Renaming moves the tickets along.
		acme.Name = "Acme Corp"
		acme.MemberIDs = []int64{f.users["alice"], f.users["bob"]}
		if _, err := f.svc.SaveOrganization(f.as("admin"), acme); err != nil {
			t.Fatal(err)
		}
		if !sees("alice", b.ID) {
			t.Fatal("rename lost the tickets")
		}
		_, err = f.svc.SaveOrganization(f.as("admin"), Organization{Name: "Acme Corp"})
		assertField(t, err, "name")
		_, err = f.svc.SaveOrganization(f.as("admin"), Organization{Name: " "})
		assertField(t, err, "name")
		_, err = f.svc.SaveOrganization(f.as("admin"), Organization{Name: "X", MemberIDs: []int64{99999}})
		assertField(t, err, "member_ids")
	})
}

func laptopItem() CatalogItem {
	lo, hi := 1.0, 3.0
	return CatalogItem{Name: "New laptop", Description: "A laptop for work", Category: "Hardware", Icon: "💻", Active: true,
		TicketCategory: "hardware", Impact: 3, Urgency: 2, Fields: []FormField{
			{Key: "model", Label: "Model", Type: FieldSelect, Required: true, Options: []string{"13 inch", "15 inch"}},
			{Key: "count", Label: "How many", Type: FieldNumber, Required: true, Min: &lo, Max: &hi},
			{Key: "needed_by", Label: "Needed by", Type: FieldDate},
			{Key: "extras", Label: "Extras", Type: FieldMultiSelect, Options: []string{"dock", "mouse", "bag"}},
			{Key: "why", Label: "Why", Type: FieldLongText, Help: "A sentence is enough"},
			{Key: "for_user", Label: "For", Type: FieldUser},
			{Key: "old", Label: "Old laptop", Type: FieldAsset},
			{Key: "agree", Label: "I will return the old one", Type: FieldCheckbox, Required: true},
		}}
}

func TestCatalogItemValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := f.as("admin")
		for _, tc := range []struct {
			name, field string
			edit        func(*CatalogItem)
		}{
			{"no name", "name", func(c *CatalogItem) { c.Name = "" }},
			{"long icon", "icon", func(c *CatalogItem) { c.Icon = "a very long icon" }},
			{"bad type", "ticket_type", func(c *CatalogItem) { c.TicketType = "chore" }},
			{"bad impact", "impact", func(c *CatalogItem) { c.Impact = 7 }},
			{"no group", "group_id", func(c *CatalogItem) { c.GroupID = 9999 }},
			{"no org", "org_ids", func(c *CatalogItem) { c.OrgIDs = []int64{9999} }},
			{"bad key", "fields.0.key", func(c *CatalogItem) { c.Fields[0].Key = "Model Name" }},
			{"script key", "fields.0.key", func(c *CatalogItem) { c.Fields[0].Key = "<script>" }},
			{"duplicate key", "fields.1.key", func(c *CatalogItem) { c.Fields[1].Key = "model" }},
			{"bad field type", "fields.0.type", func(c *CatalogItem) { c.Fields[0].Type = "html" }},
			{"select without options", "fields.0.options", func(c *CatalogItem) { c.Fields[0].Options = nil }},
			{"options on text", "fields.4.options", func(c *CatalogItem) { c.Fields[4].Options = []string{"a"} }},
			{"min above max", "fields.1.max", func(c *CatalogItem) { lo := 5.0; c.Fields[1].Min = &lo }},
			{"min on text", "fields.4.min", func(c *CatalogItem) { lo := 5.0; c.Fields[4].Min = &lo }},
			{"no label", "fields.2.label", func(c *CatalogItem) { c.Fields[2].Label = " " }},
			{"too many fields", "fields", func(c *CatalogItem) {
				c.Fields = make([]FormField, MaxFormFields+1)
			}},
			{"huge description", "description", func(c *CatalogItem) { c.Description = strings.Repeat("x", 3000) }},
		} {
			c := laptopItem()
			tc.edit(&c)
			_, err := f.svc.SaveCatalogItem(ctx, c)
			t.Run(tc.name, func(t *testing.T) { assertField(t, err, tc.field) })
		}
		if _, err := f.svc.SaveCatalogItem(ctx, laptopItem()); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.SaveCatalogItem(ctx, laptopItem())
		assertField(t, err, "name")
	})
}

func TestCatalogSubmit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.office()
		bg := context.Background()
		if _, err := db.W.ExecContext(bg, `INSERT INTO assets (tag, kind, status, created_at, updated_at) VALUES ('LAP-0042', 'laptop', 'in_use', $1, $1)`, time.Now().UTC()); err != nil {
			t.Skipf("assets table differs: %v", err)
		}
		g, err := f.svc.SaveGroup(f.as("admin"), Group{Name: "Hardware desk", MemberIDs: []int64{f.users["agent1"]}})
		if err != nil {
			t.Fatal(err)
		}
		item := laptopItem()
		item.GroupID = g.ID
		item, err = f.svc.SaveCatalogItem(f.as("admin"), item)
		if err != nil {
			t.Fatal(err)
		}
		good := func() map[string][]string {
			return map[string][]string{"model": {"15 inch"}, "count": {"2"}, "needed_by": {"2026-12-24"}, "extras": {"mouse", "dock"},
				"why": {"Mine is\nbroken"}, "for_user": {"BOB"}, "old": {"lap-0042"}, "agree": {"on"}}
		}
		for _, tc := range []struct {
			name, field string
			edit        func(map[string][]string)
		}{
			{"missing required", "answers.model", func(a map[string][]string) { delete(a, "model") }},
			{"not an option", "answers.model", func(a map[string][]string) { a["model"] = []string{"<b>17 inch</b>"} }},
			{"two for select", "answers.model", func(a map[string][]string) { a["model"] = []string{"13 inch", "15 inch"} }},
			{"below min", "answers.count", func(a map[string][]string) { a["count"] = []string{"0"} }},
			{"above max", "answers.count", func(a map[string][]string) { a["count"] = []string{"4"} }},
			{"not a number", "answers.count", func(a map[string][]string) { a["count"] = []string{"two"} }},
			{"NaN", "answers.count", func(a map[string][]string) { a["count"] = []string{"NaN"} }},
			{"bad date", "answers.needed_by", func(a map[string][]string) { a["needed_by"] = []string{"24/12/2026"} }},
			{"bad extra", "answers.extras", func(a map[string][]string) { a["extras"] = []string{"dock", "pony"} }},
			{"long text too long", "answers.why", func(a map[string][]string) { a["why"] = []string{strings.Repeat("x", MaxAnswerLong+1)} }},
			{"unknown user", "answers.for_user", func(a map[string][]string) { a["for_user"] = []string{"nobody"} }},
			{"sql in user", "answers.for_user", func(a map[string][]string) { a["for_user"] = []string{"' OR 1=1 --"} }},
			{"unknown asset", "answers.old", func(a map[string][]string) { a["old"] = []string{"LAP-9999"} }},
			{"unticked", "answers.agree", func(a map[string][]string) { delete(a, "agree") }},
			{"odd checkbox", "answers.agree", func(a map[string][]string) { a["agree"] = []string{"maybe"} }},
			{"unknown field", "answers", func(a map[string][]string) { a["admin"] = []string{"1"} }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := good()
				tc.edit(a)
				_, err := f.svc.SubmitRequest(f.as("alice"), item.ID, CatalogRequest{Answers: a})
				assertField(t, err, tc.field)
			})
		}
		tk, err := f.svc.SubmitRequest(f.as("alice"), item.ID, CatalogRequest{Description: "please", Answers: good()})
		if err != nil {
			t.Fatal(err)
		}
		if tk.Subject != "New laptop" || tk.Type != TypeServiceRequest || tk.GroupID != g.ID || tk.Category != "hardware" ||
			tk.Priority != 4 || tk.PolicyID == 0 || tk.AssigneeID != 0 {
			t.Fatalf("ticket from the catalog: %+v", tk)
		}
		form, err := f.svc.TicketForm(f.as("alice"), tk.ID)
		if err != nil || form == nil {
			t.Fatalf("form %v %v", form, err)
		}
		got := map[string]string{}
		for _, a := range form.Answers {
			got[a.Key] = a.Text()
		}
		want := map[string]string{"model": "15 inch", "count": "2", "needed_by": "2026-12-24", "extras": "dock, mouse", "why": "Mine is\nbroken",
			"for_user": "bob", "old": "LAP-0042", "agree": "yes"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("answer %s = %q, want %q", k, got[k], v)
			}
		}
		if _, err := f.svc.TicketForm(f.as("bob"), tk.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob reads alice's form: %v", err)
		}
		// Items limited to an organisation, and inactive items, are hidden
		// from other requesters.
		org, err := f.svc.SaveOrganization(f.as("admin"), Organization{Name: "Acme", MemberIDs: []int64{f.users["alice"]}})
		if err != nil {
			t.Fatal(err)
		}
		item.OrgIDs = []int64{org.ID}
		if _, err := f.svc.SaveCatalogItem(f.as("admin"), item); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CatalogItem(f.as("bob"), item.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob sees Acme's item: %v", err)
		}
		if _, err := f.svc.SubmitRequest(f.as("bob"), item.ID, CatalogRequest{Answers: good()}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob orders Acme's item: %v", err)
		}
		if items, _ := f.svc.CatalogItems(f.as("alice")); len(items) != 1 {
			t.Fatalf("alice sees %d items", len(items))
		}
		item.Active = false
		if _, err := f.svc.SaveCatalogItem(f.as("admin"), item); err != nil {
			t.Fatal(err)
		}
		if items, _ := f.svc.CatalogItems(f.as("alice")); len(items) != 0 {
			t.Fatalf("alice sees %d items after deactivation", len(items))
		}
		if items, _ := f.svc.CatalogItems(f.as("viewer")); len(items) != 1 || len(items[0].OrgIDs) != 1 {
			t.Fatalf("viewer sees %+v", items)
		}
	})
}

func TestRating(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		tk := f.ticket("alice", "Printer jam")
		if _, err := f.svc.Rate(f.as("alice"), tk.ID, 5, ""); err == nil {
			t.Fatal("rated an open ticket")
		}
		f.patch("agent1", tk.ID, TicketPatch{Status: ptr(StatusResolved)})
		for _, tc := range []struct {
			score   int
			comment string
			field   string
		}{{0, "", "score"}, {6, "", "score"}, {-1, "", "score"}, {3, strings.Repeat("x", MaxRatingComment+1), "comment"}} {
			_, err := f.svc.Rate(f.as("alice"), tk.ID, tc.score, tc.comment)
			assertField(t, err, tc.field)
		}
		if _, err := f.svc.Rate(f.as("bob"), tk.ID, 1, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob rates alice's ticket: %v", err)
		}
		if _, err := f.svc.Rate(f.as("agent1"), tk.ID, 1, ""); !errors.Is(err, ErrForbidden) {
			t.Fatalf("agent rates: %v", err)
		}
		r, err := f.svc.Rate(f.as("alice"), tk.ID, 4, "Quick, thanks")
		if err != nil || r.Score != 4 || r.Via != "portal" || r.RatedBy != "alice" {
			t.Fatalf("rate: %+v %v", r, err)
		}
		_, err = f.svc.Rate(f.as("alice"), tk.ID, 5, "")
		assertField(t, err, "score")
		got, err := f.svc.TicketRating(f.as("agent1"), tk.ID)
		if err != nil || got == nil || got.Score != 4 || got.Comment != "Quick, thanks" {
			t.Fatalf("rating %+v %v", got, err)
		}

		// The signed link: works once, for its ticket only, until it expires.
		tk2 := f.ticket("alice", "Monitor flickers")
		link, err := f.svc.RatingLink(context.Background(), "https://desk.example.com/", tk2.ID)
		if err != nil || !strings.HasPrefix(link, "https://desk.example.com/rate/") {
			t.Fatalf("link %q %v", link, err)
		}
		token := strings.TrimPrefix(link, "https://desk.example.com/rate/")
		if _, err := f.svc.RateByLink(context.Background(), token, 5, ""); err == nil {
			t.Fatal("rated an unresolved ticket by link")
		}
		f.patch("agent1", tk2.ID, TicketPatch{Status: ptr(StatusResolved)})
		for _, bad := range []string{"", "x", token + "x", strings.Replace(token, "", "1", 1), "1.2.3", strings.Repeat("a", 300),
			func() string { p := strings.SplitN(token, ".", 2); return "1." + p[1] }()} {
			if _, err := f.svc.RateByLink(context.Background(), bad, 5, ""); !errors.Is(err, ErrBadRatingLink) {
				t.Fatalf("token %q: %v", bad, err)
			}
		}
		r, err = f.svc.RateByLink(context.Background(), token, 2, "Slow")
		if err != nil || r.Via != "link" || r.RatedBy != "alice" {
			t.Fatalf("rate by link: %+v %v", r, err)
		}
		if _, err := f.svc.RateByLink(context.Background(), token, 2, ""); err == nil {
			t.Fatal("rated twice by link")
		}
		f.now = f.now.Add(RatingLinkTTL + time.Hour)
		if _, _, err := f.svc.RatingLinkTicket(context.Background(), token); !errors.Is(err, ErrBadRatingLink) {
			t.Fatalf("expired link: %v", err)
		}
	})
}
