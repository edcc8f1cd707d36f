package asset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func opCtx() context.Context {
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, Name: "alice", Role: auth.RoleOperator}, Via: auth.ViaAPI})
}

type fixture struct {
	s    *Service
	ci   *cmdb.Service
	db   *store.DB
	user auth.User
}

func newFixture(t testing.TB, db *store.DB) fixture {
	t.Helper()
	clock := func() time.Time { return testNow }
	ci := cmdb.NewService(db, cmdb.Options{Now: clock})
	if err := ci.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	as := auth.NewService(db, auth.Options{})
	u, err := as.CreateUser(context.Background(), auth.NewUser{Username: "bob", Name: "Bob", Role: auth.RoleViewer, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{s: NewService(db, Options{Now: clock, CMDB: ci}), ci: ci, db: db, user: u}
}

func mustAsset(t testing.TB, s *Service, in Input) Asset {
	t.Helper()
	a, err := s.Create(opCtx(), in)
	if err != nil {
		t.Fatalf("create %s: %v", in.Tag, err)
	}
	return a
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	ve, ok := valid.As(err)
	if !ok || ve.Field != field {
		t.Fatalf("error %v, want a validation error naming %q", err, field)
	}
}

// TestLifecycleTable walks every pair of states: Transition succeeds
// exactly where the table allows it, and a refused move changes nothing.
func TestLifecycleTable(t *testing.T) {
	allowed := map[[2]Status]bool{
		{StatusOrdered, StatusInStock}:   true,
		{StatusInStock, StatusDeployed}:  true,
		{StatusInStock, StatusInRepair}:  true,
		{StatusInStock, StatusRetired}:   true,
		{StatusDeployed, StatusInStock}:  true,
		{StatusDeployed, StatusInRepair}: true,
		{StatusDeployed, StatusRetired}:  true,
		{StatusInRepair, StatusInStock}:  true,
		{StatusInRepair, StatusDeployed}: true,
		{StatusInRepair, StatusRetired}:  true,
		{StatusRetired, StatusInStock}:   true,
		{StatusRetired, StatusDisposed}:  true,
	}
	for _, from := range Statuses() {
		for _, to := range Statuses() {
			if got := CanMove(from, to); got != allowed[[2]Status{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		n := 0
		for _, from := range Statuses() {
			for _, to := range Statuses() {
				n++
				a := mustAsset(t, f.s, Input{Tag: fmt.Sprintf("T-%02d", n), Status: from, Location: "HQ"})
				if from == StatusDeployed || from == StatusInRepair {
					// A deployed asset has someone; set it straight in the row.
					if _, err := db.W.Exec(`UPDATE assets SET assigned_location = 'desk 4' WHERE id = $1`, a.ID); err != nil {
						t.Fatal(err)
					}
				}
				got, err := f.s.Transition(opCtx(), a.ID, to, "")
				want := allowed[[2]Status{from, to}]
				if to == StatusDeployed && from == StatusInStock {
					// Allowed by the table, but only through check-out.
					wantField(t, err, "status")
					continue
				}
				if want {
					if err != nil {
						t.Fatalf("%s → %s: %v", from, to, err)
					}
					if got.Status != to {
						t.Fatalf("%s → %s: status %s", from, to, got.Status)
					}
					had := from == StatusDeployed || from == StatusInRepair
					if (keepsAssignment(to) && had) != (got.AssignedLocation != "") {
						t.Errorf("%s → %s: assigned location %q", from, to, got.AssignedLocation)
					}
					h, _, err := f.s.History(context.Background(), a.ID, 0, 10)
					if err != nil || len(h) != 2 || h[0].From != from || h[0].To != to || h[0].Actor != "alice" || h[0].Action != "transition" {
						t.Fatalf("%s → %s: history %+v, %v", from, to, h, err)
					}
					continue
				}
				var ref *Refusal
				if !errors.As(err, &ref) {
					t.Fatalf("%s → %s: %v, want a refusal", from, to, err)
				}
				if after, _ := f.s.Get(context.Background(), a.ID); after.Status != from {
					t.Fatalf("%s → %s refused but status is now %s", from, to, after.Status)
				}
			}
		}
	})
}

func TestCreateValidatesAndNamesTheField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		neg := int64(-1)
		cents := int64(100)
		for _, c := range []struct {
			in    Input
			field string
		}{
			{Input{}, "tag"},
			{Input{Tag: "A\x01"}, "tag"},
			{Input{Tag: strings.Repeat("x", 65)}, "tag"},
			{Input{Tag: "A", Kind: "furniture"}, "kind"},
			{Input{Tag: "A", Status: "lost"}, "status"},
			{Input{Tag: "A", CostCents: &neg, Currency: "EUR"}, "cost"},
			{Input{Tag: "A", CostCents: &cents}, "currency"},
			{Input{Tag: "A", CostCents: &cents, Currency: "euro"}, "currency"},
			{Input{Tag: "A", WarrantyEnd: "31/12/2027"}, "warranty_end"},
			{Input{Tag: "A", PurchaseDate: "2026-02-30"}, "purchase_date"},
			{Input{Tag: "A", PurchaseDate: "2026-01-10", WarrantyEnd: "2025-01-10"}, "warranty_end"},
			{Input{Tag: "A", OwnerID: 999}, "owner_id"},
			{Input{Tag: "A", CIID: 999}, "ci_id"},
		} {
			_, err := f.s.Create(opCtx(), c.in)
			wantField(t, err, c.field)
		}
		if n, _ := f.s.Count(context.Background()); n != 0 {
			t.Fatalf("%d assets written by refused creates", n)
		}
		mustAsset(t, f.s, Input{Tag: "LAP-1"})
		_, err := f.s.Create(opCtx(), Input{Tag: "LAP-1"})
		wantField(t, err, "tag")
	})
}

func TestCreateLinksCIAndAudits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		host, err := f.ci.Create(opCtx(), cmdb.CIInput{Type: "host", Name: "web-01"})
		if err != nil {
			t.Fatal(err)
		}
		cost := int64(123456)
		a := mustAsset(t, f.s, Input{Tag: " LAP-7 ", Model: "X1", Manufacturer: "Lenovo", OwnerID: f.user.ID, CostCents: &cost, Currency: "eur",
			PurchaseDate: "2025-01-01", WarrantyEnd: "2028-01-01", CIID: host.ID})
		if a.Tag != "LAP-7" || a.Currency != "EUR" || a.Cost() != "1234.56 EUR" || a.Owner == nil || a.Owner.Username != "bob" || a.Status != StatusInStock {
			t.Fatalf("asset %+v", a)
		}
		if a.CI == nil || a.CI.ID != host.ID || a.CI.Name != "web-01" {
			t.Fatalf("linked CI %+v", a.CI)
		}
		links, err := f.ci.Links(context.Background(), host.ID)
		if err != nil || len(links) != 1 || links[0].Kind != cmdb.LinkAsset || links[0].ObjectID != a.ID {
			t.Fatalf("CI links %+v, %v", links, err)
		}
		// Moving the link to another CI, then removing it.
		db2, err := f.ci.Create(opCtx(), cmdb.CIInput{Type: "host", Name: "web-02"})
		if err != nil {
			t.Fatal(err)
		}
		in := Input{Tag: "LAP-7", Model: "X1 Carbon", CIID: db2.ID}
		if a, err = f.s.Update(opCtx(), a.ID, in); err != nil || a.CI == nil || a.CI.ID != db2.ID || a.Owner != nil {
			t.Fatalf("update %+v, %v", a, err)
		}
		if links, _ := f.ci.Links(context.Background(), host.ID); len(links) != 0 {
			t.Fatalf("old CI still linked: %+v", links)
		}
		in.CIID = 0
		if a, err = f.s.Update(opCtx(), a.ID, in); err != nil || a.CI != nil {
			t.Fatalf("unlink %+v, %v", a.CI, err)
		}
		h, _, _ := f.s.History(context.Background(), a.ID, 0, 10)
		if len(h) != 2 || h[0].Action != "updated" || !strings.Contains(h[0].Detail, "model") || !strings.Contains(h[0].Detail, "owner") {
			t.Fatalf("history %+v", h)
		}
		entries, _, err := auth.ListAudit(context.Background(), db, auth.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			if strings.HasPrefix(e.Action, "asset.") {
				got = append(got, e.Action)
			}
		}
		// The last update only unlinked the CI: the CMDB audits that (ci_link.delete).
		if strings.Join(got, ",") != "asset.update,asset.create" {
			t.Fatalf("audit %v", got)
		}
	})
}

func TestCheckoutAndCheckin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := opCtx()
		a := mustAsset(t, f.s, Input{Tag: "LAP-1"})
		_, err := f.s.Checkout(ctx, a.ID, 0, "", "")
		wantField(t, err, "user_id")
		_, err = f.s.Checkout(ctx, a.ID, f.user.ID, "Room 4", "")
		wantField(t, err, "location")
		_, err = f.s.Checkout(ctx, a.ID, 999, "", "")
		wantField(t, err, "user_id")
		a, err = f.s.Checkout(ctx, a.ID, f.user.ID, "", "new starter")
		if err != nil || a.Status != StatusDeployed || a.Assignee == nil || a.Assignee.Username != "bob" {
			t.Fatalf("checkout %+v, %v", a, err)
		}
		var ref *Refusal
		if _, err := f.s.Checkout(ctx, a.ID, f.user.ID, "", ""); !errors.As(err, &ref) {
			t.Fatalf("second checkout: %v", err)
		}
		if as, _, _ := f.s.List(context.Background(), ListFilter{AssigneeID: f.user.ID}); len(as) != 1 {
			t.Fatalf("assignee filter: %d", len(as))
		}
		a, err = f.s.Checkin(ctx, a.ID, "")
		if err != nil || a.Status != StatusInStock || a.Assignee != nil {
			t.Fatalf("checkin %+v, %v", a, err)
		}
		if _, err := f.s.Checkin(ctx, a.ID, ""); !errors.As(err, &ref) {
			t.Fatalf("second checkin: %v", err)
		}
		a, err = f.s.Checkout(ctx, a.ID, 0, "Meeting room 2", "")
		if err != nil || a.AssignedLocation != "Meeting room 2" || a.CheckedOutTo() != "Meeting room 2" {
			t.Fatalf("checkout to location %+v, %v", a, err)
		}
		h, _, err := f.s.History(context.Background(), a.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, c := range h {
			acts = append(acts, c.Action+":"+string(c.To)+":"+c.Detail)
		}
		want := "checkout:deployed:to Meeting room 2,checkin:in_stock:from bob,checkout:deployed:to user bob: new starter,created:in_stock:"
		if strings.Join(acts, ",") != want {
			t.Fatalf("history\n%s\nwant\n%s", strings.Join(acts, ","), want)
		}
		if _, _, err := f.s.History(context.Background(), 999, 0, 10); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("history of a missing asset: %v", err)
		}
	})
}

func TestListFiltersSortAndCursor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for i := range 25 {
			in := Input{Tag: fmt.Sprintf("A-%03d", i), Category: []string{"laptop", "phone"}[i%2], Location: "HQ", Model: "Model " + fmt.Sprint(i)}
			if i == 3 {
				in.WarrantyEnd = "2026-03-20" // in 10 days
				in.Serial = "SN_100%"
			}
			if i == 4 {
				in.LeaseEnd = "2026-03-12"
			}
			if i == 5 {
				in.WarrantyEnd = "2026-03-01" // already over
			}
			mustAsset(t, f.s, in)
		}
		ctx := context.Background()
		var seen []string
		after := int64(0)
		for {
			as, next, err := f.s.List(ctx, ListFilter{Category: "laptop", Sort: "-tag", Limit: 5, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				seen = append(seen, a.Tag)
			}
			if next == 0 {
				break
			}
			after = next
		}
		if len(seen) != 13 || seen[0] != "A-024" || seen[12] != "A-000" {
			t.Fatalf("laptops by tag desc: %v", seen)
		}
		check := func(f2 ListFilter, want string) {
			t.Helper()
			as, _, err := f.s.List(ctx, f2)
			if err != nil {
				t.Fatal(err)
			}
			var tags []string
			for _, a := range as {
				tags = append(tags, a.Tag)
			}
			if strings.Join(tags, ",") != want {
				t.Fatalf("%+v: %v, want %s", f2, tags, want)
			}
		}
		check(ListFilter{WarrantyWithin: 30}, "A-003")
		check(ListFilter{ExpiringWithin: 30}, "A-003,A-004")
		check(ListFilter{ExpiringWithin: 1}, "")
		check(ListFilter{Query: "sn_100%"}, "A-003")
		check(ListFilter{Query: "model 2", Limit: 3}, "A-002,A-020,A-021")
		check(ListFilter{Status: StatusDeployed}, "")
		_, _, err := f.s.List(ctx, ListFilter{Sort: "price"})
		wantField(t, err, "sort")
		_, _, err = f.s.List(ctx, ListFilter{Status: "lost"})
		wantField(t, err, "status")
		_, _, err = f.s.List(ctx, ListFilter{WarrantyWithin: -1})
		wantField(t, err, "warranty_within")
		_, _, err = f.s.List(ctx, ListFilter{After: 9999})
		wantField(t, err, "cursor")
		ex, err := f.s.Expiring(ctx, 30*24*time.Hour)
		if err != nil || len(ex) != 2 || ex[0].Tag != "A-004" || ex[1].Tag != "A-003" {
			t.Fatalf("expiring %+v, %v", ex, err)
		}
		if !f.s.ExpiresSoon(ex[0], 5) || f.s.ExpiresSoon(ex[1], 5) {
			t.Fatal("ExpiresSoon disagrees with the dates")
		}
		// A retired asset's lease no longer warns.
		retired, err := f.s.Transition(opCtx(), ex[0].ID, StatusRetired, "")
		if err != nil {
			t.Fatal(err)
		}
		check(ListFilter{ExpiringWithin: 30}, "A-003")
		if f.s.ExpiresSoon(retired, 5) {
			t.Fatal("a retired asset expires soon")
		}
		if ex, _ := f.s.Expiring(ctx, 30*24*time.Hour); len(ex) != 1 {
			t.Fatalf("expiring after retiring: %d", len(ex))
		}
	})
}

func TestParseCost(t *testing.T) {
	for in, want := range map[string]string{"1234": "1234.00", "1,234.5": "1234.50", "0.07": "0.07", " 12.34 ": "12.34"} {
		c, err := ParseCost("cost", in)
		if err != nil || FormatCents(*c) != want {
			t.Errorf("ParseCost(%q) = %v, %v", in, c, err)
		}
	}
	for _, in := range []string{"1.234", "-5", "1e3", "12.", ".5", "abc", "99999999999999"} {
		_, err := ParseCost("cost", in)
		wantField(t, err, "cost")
	}
	if c, err := ParseCost("cost", ""); c != nil || err != nil {
		t.Error("empty cost")
	}
}
