package asset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// installTable is a small in-memory software inventory standing in for the
// host agents: the seam is a plain function, and this is a real one.
type installTable struct{ rows []Installation }

func (t *installTable) find(_ context.Context, patterns []string) ([]Installation, error) {
	var out []Installation
	for _, in := range t.rows {
		if MatchAny(patterns, in.Package) {
			out = append(out, in)
		}
	}
	return out, nil
}

func strp(s string) *string { return &s }

func TestLicenseInputValidationNamesTheField(t *testing.T) {
	base := func() LicenseInput {
		return LicenseInput{Product: "LibreOffice", Seats: 5, Patterns: []string{"libreoffice*"}}
	}
	cents := int64(100)
	neg := int64(-1)
	for _, c := range []struct {
		name  string
		edit  func(*LicenseInput)
		field string
	}{
		{"no product", func(in *LicenseInput) { in.Product = "  " }, "product"},
		{"long product", func(in *LicenseInput) { in.Product = strings.Repeat("x", 201) }, "product"},
		{"control characters", func(in *LicenseInput) { in.Publisher = "a\x00b" }, "publisher"},
		{"bad type", func(in *LicenseInput) { in.Type = "forever" }, "license_type"},
		{"negative seats", func(in *LicenseInput) { in.Seats = -1 }, "seats"},
		{"no seats", func(in *LicenseInput) { in.Seats = 0 }, "seats"},
		{"too many seats", func(in *LicenseInput) { in.Seats = MaxLicenseSeats + 1 }, "seats"},
		{"no patterns", func(in *LicenseInput) { in.Patterns = nil }, "patterns"},
		{"blank patterns", func(in *LicenseInput) { in.Patterns = []string{" ", ""} }, "patterns"},
		{"match-all pattern", func(in *LicenseInput) { in.Patterns = []string{"*"} }, "patterns"},
		{"wildcards only", func(in *LicenseInput) { in.Patterns = []string{"*?*"} }, "patterns"},
		{"space in pattern", func(in *LicenseInput) { in.Patterns = []string{"libre office"} }, "patterns"},
		{"regexp pattern", func(in *LicenseInput) { in.Patterns = []string{"^libre.*$"} }, "patterns"},
		{"markup pattern", func(in *LicenseInput) { in.Patterns = []string{"<script>"} }, "patterns"},
		{"long pattern", func(in *LicenseInput) { in.Patterns = []string{strings.Repeat("a", MaxPatternLen+1)} }, "patterns"},
		{"many patterns", func(in *LicenseInput) {
			in.Patterns = nil
			for i := range MaxPatterns + 1 {
				in.Patterns = append(in.Patterns, fmt.Sprintf("p%d", i))
			}
		}, "patterns"},
		{"expiry before purchase", func(in *LicenseInput) { in.PurchaseDate, in.Expires = "2026-05-01", "2026-04-30" }, "expires"},
		{"bad expiry", func(in *LicenseInput) { in.Expires = "next year" }, "expires"},
		{"bad purchase date", func(in *LicenseInput) { in.PurchaseDate = "2026-02-30" }, "purchase_date"},
		{"negative cost", func(in *LicenseInput) { in.CostCents, in.Currency = &neg, "EUR" }, "cost"},
		{"cost without currency", func(in *LicenseInput) { in.CostCents = &cents }, "currency"},
		{"bad currency", func(in *LicenseInput) { in.Currency = "euro" }, "currency"},
		{"huge key", func(in *LicenseInput) { in.LicenseKey = strp(strings.Repeat("K", MaxLicenseKey+1)) }, "license_key"},
		{"long notes", func(in *LicenseInput) { in.Notes = strings.Repeat("n", 10001) }, "notes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := base()
			c.edit(&in)
			wantField(t, in.normalize(), c.field)
		})
	}
	in := base()
	in.Type, in.Seats, in.Patterns = LicenseSite, 0, []string{" LibreOffice* ", "libreoffice*", "soffice-bin"}
	if err := in.normalize(); err != nil {
		t.Fatalf("a site license needs no seats: %v", err)
	}
	if strings.Join(in.Patterns, ",") != "libreoffice*,soffice-bin" {
		t.Fatalf("patterns are lowercased and deduplicated: %q", in.Patterns)
	}
}

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"libreoffice*", "libreoffice-writer", true},
		{"libreoffice*", "LibreOffice-Calc", true},
		{"LIBREOFFICE*", "libreoffice", true},
		{"libreoffice*", "xlibreoffice", false},
		{"libreoffice", "libreoffice-core", false},
		{"*office*", "libreoffice-core", true},
		{"python3.?", "python3.11", false},
		{"python3.??", "python3.11", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"a*a*a*a*a*b", strings.Repeat("a", 5000), false},
		{"*", "", true},
		{"?", "", false},
		{"zoom", "zoom", true},
		{"é*", "ÉCRAN", true},
	} {
		if got := MatchPattern(c.pattern, c.name); got != c.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func seatTo(user, asset int64) Seat {
	s := Seat{}
	if user != 0 {
		s.User = &UserRef{ID: user, Username: fmt.Sprintf("u%d", user)}
	}
	if asset != 0 {
		s.Asset = &AssetRef{ID: asset, Tag: fmt.Sprintf("A-%d", asset)}
	}
	return s
}

// TestComputeCompliance is the arithmetic: hosts are counted once however
// many packages match, seats cover their asset or the user the asset is
// checked out to, and over-use is more installed or assigned than bought.
func TestComputeCompliance(t *testing.T) {
	lic := License{Seats: 2, Type: LicensePerDevice, Patterns: []string{"libreoffice*", "soffice"}}
	infos := map[int64]assetInfo{1: {tag: "A-1"}, 2: {tag: "A-2", assignee: 7}, 3: {tag: "A-3"}}
	pkg := func(host string, asset int64, name string) Installation {
		return Installation{Host: host, AssetID: asset, Package: name, Version: "7.4"}
	}
	for _, c := range []struct {
		name                                  string
		lic                                   License
		seats                                 []Seat
		inst                                  []Installation
		agent                                 bool
		installed, assigned, unassigned       int64
		overInstalled, overAssigned, overUsed bool
		excess                                int64
	}{
		{name: "nothing", lic: lic, agent: true},
		{name: "no agent data counts assignments only", lic: lic, seats: []Seat{seatTo(1, 0), seatTo(2, 0), seatTo(3, 0)},
			assigned: 3, overAssigned: true, overUsed: true, excess: 1},
		{name: "packages of one host count once", lic: lic, agent: true,
			inst:      []Installation{pkg("pc1", 1, "libreoffice-writer"), pkg("pc1", 1, "libreoffice-calc"), pkg("pc1", 1, "soffice")},
			installed: 1, unassigned: 1},
		{name: "non-matching packages are ignored", lic: lic, agent: true,
			inst: []Installation{pkg("pc1", 1, "vim"), pkg("pc2", 2, "openoffice")}},
		{name: "at the limit", lic: lic, agent: true, seats: []Seat{seatTo(0, 1), seatTo(0, 2)},
			inst: []Installation{pkg("pc1", 1, "soffice"), pkg("pc2", 2, "soffice")}, installed: 2, assigned: 2},
		{name: "over-installed", lic: lic, agent: true, seats: []Seat{seatTo(0, 1)},
			inst:      []Installation{pkg("pc1", 1, "soffice"), pkg("pc2", 2, "soffice"), pkg("pc3", 3, "soffice")},
			installed: 3, assigned: 1, unassigned: 2, overInstalled: true, overUsed: true, excess: 1},
		{name: "user seat covers the asset checked out to them", lic: lic, agent: true, seats: []Seat{seatTo(7, 0)},
			inst: []Installation{pkg("pc2", 2, "soffice")}, installed: 1, assigned: 1},
		{name: "unknown asset: host by name, never covered", lic: lic, agent: true, seats: []Seat{seatTo(7, 0)},
			inst:      []Installation{pkg("Kiosk", 0, "soffice"), pkg("kiosk", 0, "libreoffice-core")},
			installed: 1, assigned: 1, unassigned: 1},
		{name: "site license is never over-used", lic: License{Type: LicenseSite, Patterns: lic.Patterns}, agent: true,
			seats:     []Seat{seatTo(1, 0)},
			inst:      []Installation{pkg("pc1", 1, "soffice"), pkg("pc2", 2, "soffice"), pkg("pc3", 3, "soffice")},
			installed: 3, assigned: 1, unassigned: 3},
		{name: "over-assigned and over-installed", lic: License{Seats: 1, Patterns: lic.Patterns}, agent: true,
			seats: []Seat{seatTo(1, 0), seatTo(0, 3)}, inst: []Installation{pkg("pc1", 1, "soffice"), pkg("pc3", 3, "soffice")},
			installed: 2, assigned: 2, unassigned: 1, overInstalled: true, overAssigned: true, overUsed: true, excess: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := computeCompliance(c.lic, c.seats, c.inst, c.agent, infos)
			if got.Installed != c.installed || got.Assigned != c.assigned || got.Unassigned != c.unassigned ||
				got.OverInstalled != c.overInstalled || got.OverAssigned != c.overAssigned || got.OverUsed != c.overUsed ||
				got.Excess() != c.excess || got.AgentData != c.agent {
				t.Fatalf("got %+v (excess %d)", got, got.Excess())
			}
			if int64(len(got.NotAssigned())) != c.unassigned {
				t.Fatalf("NotAssigned %+v", got.NotAssigned())
			}
		})
	}
}

func TestLicenseStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := opCtx()
		inv := &installTable{}
		s := NewService(db, Options{Now: func() time.Time { return testNow }, CMDB: f.ci, Installations: inv.find, WarnDays: 30})
		cost := int64(12000)
		l, err := s.CreateLicense(ctx, LicenseInput{Product: "LibreOffice Pro", Publisher: "TDF", Seats: 2, LicenseKey: strp("ABCD-EFGH-IJKL-1234"),
			PurchaseDate: "2026-01-01", Expires: "2026-03-20", CostCents: &cost, Currency: "eur", Patterns: []string{"libreoffice*"}})
		if err != nil {
			t.Fatal(err)
		}
		if !l.HasKey || l.KeyHint != "••••••••1234" || strings.Contains(fmt.Sprintf("%+v", l), "ABCD") || l.Cost() != "120.00 EUR" {
			t.Fatalf("created %+v", l)
		}
		other, err := s.CreateLicense(ctx, LicenseInput{Product: "Zoom", Publisher: "Zoom Inc", Type: LicenseSubscription, Seats: 10,
			Patterns: []string{"zoom"}})
		if err != nil {
			t.Fatal(err)
		}
		// Edit: the history names the fields, the key only as changed.
		in := LicenseInput{Product: "LibreOffice Pro", Publisher: "TDF", Seats: 1, LicenseKey: strp("NEW-KEY-0000-9999"),
			PurchaseDate: "2026-01-01", Expires: "2026-03-20", CostCents: &cost, Currency: "EUR", Patterns: []string{"libreoffice*", "soffice"}}
		if l, err = s.UpdateLicense(ctx, l.ID, in); err != nil {
			t.Fatal(err)
		}
		key, err := s.RevealLicenseKey(ctx, l.ID)
		if err != nil || key != "NEW-KEY-0000-9999" {
			t.Fatalf("reveal %q %v", key, err)
		}
		in.LicenseKey = nil // nil keeps the key
		if _, err := s.UpdateLicense(ctx, l.ID, in); err != nil {
			t.Fatal(err)
		}
		if key, _ := s.RevealLicenseKey(ctx, l.ID); key != "NEW-KEY-0000-9999" {
			t.Fatalf("key after an edit without one: %q", key)
		}
		var ref *Refusal
		if _, err := s.RevealLicenseKey(ctx, other.ID); !errors.As(err, &ref) {
			t.Fatalf("reveal without key: %v", err)
		}
		if _, err := s.UpdateLicense(ctx, 424242, in); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}

		// Seats: users and hardware assets, not software, not twice.
		lap := mustAsset(t, s, Input{Tag: "LAP-1", Location: "HQ"})
		lap2 := mustAsset(t, s, Input{Tag: "LAP-2", Location: "HQ"})
		soft := mustAsset(t, s, Input{Tag: "SW-1", Kind: KindSoftware})
		seat, err := s.AssignSeat(ctx, l.ID, 0, lap.ID, "desk install")
		if err != nil || seat.Asset == nil || seat.Asset.Tag != "LAP-1" || seat.AssignedBy != "alice" {
			t.Fatalf("assign %+v %v", seat, err)
		}
		_, err = s.AssignSeat(ctx, l.ID, 0, lap.ID, "")
		wantField(t, err, "asset_id")
		_, err = s.AssignSeat(ctx, l.ID, 0, soft.ID, "")
		wantField(t, err, "asset_id")
		_, err = s.AssignSeat(ctx, l.ID, 424242, 0, "")
		wantField(t, err, "user_id")
		_, err = s.AssignSeat(ctx, l.ID, 0, 0, "")
		wantField(t, err, "user_id")
		_, err = s.AssignSeat(ctx, l.ID, f.user.ID, lap.ID, "")
		wantField(t, err, "asset_id")
		if _, err := s.AssignSeat(ctx, 424242, f.user.ID, 0, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("assign on a missing license: %v", err)
		}
		bobSeat, err := s.AssignSeat(ctx, l.ID, f.user.ID, 0, "")
		if err != nil {
			t.Fatal(err)
		}

		// Compliance: the agent sees LAP-1 (seat), LAP-2 checked out to bob
		// (his seat covers it) and a kiosk nobody registered.
		if _, err := s.Checkout(ctx, lap2.ID, f.user.ID, "", ""); err != nil {
			t.Fatal(err)
		}
		host, err := f.ci.Create(ctx, cmdb.CIInput{Type: "host", Name: "lap-2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ci.LinkObject(ctx, host.ID, cmdb.LinkAsset, lap2.ID); err != nil {
			t.Fatal(err)
		}
		inv.rows = []Installation{
			{Host: "lap-1", AssetID: lap.ID, Package: "libreoffice-writer", Version: "7.4"},
			{Host: "lap-1", AssetID: lap.ID, Package: "libreoffice-calc", Version: "7.4"},
			{Host: "lap-2", CIID: host.ID, Package: "soffice", Version: "7.4"},
			{Host: "kiosk", Package: "LibreOffice-Core", Version: "7.5"},
			{Host: "kiosk", Package: "zoom", Version: "5.1"},
		}
		st, err := s.LicenseStatusOf(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		c := st.Compliance
		if !c.AgentData || c.Installed != 3 || c.Assigned != 2 || c.Unassigned != 1 || !c.OverUsed || !c.OverInstalled || !c.OverAssigned {
			t.Fatalf("compliance %+v", c)
		}
		if na := c.NotAssigned(); len(na) != 1 || na[0].Host != "kiosk" {
			t.Fatalf("not assigned %+v", na)
		}
		for _, h := range c.Hosts {
			if h.Host == "lap-2" && (h.AssetTag != "LAP-2" || h.CoveredBy != "user bob") {
				t.Fatalf("the CI's asset and its user's seat: %+v", h)
			}
		}
		if !st.ExpiresSoon || st.Expired {
			t.Fatalf("expiry flags %+v", st)
		}

		// The list: filters and flags.
		for _, q := range []struct {
			f    LicenseFilter
			want string
		}{
			{LicenseFilter{}, "LibreOffice Pro,Zoom"},
			{LicenseFilter{OverUsed: true}, "LibreOffice Pro"},
			{LicenseFilter{Publisher: "Zoom Inc"}, "Zoom"},
			{LicenseFilter{Query: "libre"}, "LibreOffice Pro"},
			{LicenseFilter{Query: "%"}, ""},
			{LicenseFilter{ExpiringWithin: 30}, "LibreOffice Pro"},
			{LicenseFilter{ExpiringWithin: 5}, ""},
			{LicenseFilter{Type: LicenseSubscription}, "Zoom"},
			{LicenseFilter{Sort: "-product"}, "Zoom,LibreOffice Pro"},
			{LicenseFilter{Sort: "excess"}, "LibreOffice Pro,Zoom"},
		} {
			got, err := s.ListLicenses(context.Background(), q.f)
			if err != nil {
				t.Fatalf("%+v: %v", q.f, err)
			}
			var names []string
			for _, g := range got {
				names = append(names, g.Product)
			}
			if strings.Join(names, ",") != q.want {
				t.Errorf("%+v: %v, want %s", q.f, names, q.want)
			}
		}
		_, err = s.ListLicenses(context.Background(), LicenseFilter{Sort: "price"})
		wantField(t, err, "sort")
		_, err = s.ListLicenses(context.Background(), LicenseFilter{Type: "x"})
		wantField(t, err, "license_type")
		w, err := s.Warnings(context.Background())
		if err != nil || len(w.OverUsed) != 1 || len(w.Expiring) != 1 || !w.AgentData {
			t.Fatalf("warnings %+v %v", w, err)
		}

		for _, h := range []struct{ user, asset int64 }{{0, lap.ID}, {f.user.ID, 0}} {
			held, err := s.SeatsOf(context.Background(), h.user, h.asset)
			if err != nil || len(held) != 1 || held[0].Product != "LibreOffice Pro" || held[0].LicenseID != l.ID {
				t.Fatalf("seats held by %+v: %+v %v", h, held, err)
			}
		}
		// Unassign, then the history tells the whole story.
		if err := s.UnassignSeat(ctx, l.ID, bobSeat.ID, "left the company"); err != nil {
			t.Fatal(err)
		}
		if err := s.UnassignSeat(ctx, other.ID, seat.ID, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unassign through another license: %v", err)
		}
		seats, err := s.Seats(context.Background(), l.ID)
		if err != nil || len(seats) != 1 || seats[0].ID != seat.ID {
			t.Fatalf("seats %+v %v", seats, err)
		}
		h, _, err := s.LicenseHistory(context.Background(), l.ID, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, c := range h {
			acts = append(acts, c.Action+":"+c.Detail)
		}
		want := "unassigned:from user bob: left the company|assigned:to user bob|assigned:to asset LAP-1: desk install|key_revealed:|key_revealed:|updated:seats, patterns, license_key|created:"
		if strings.Join(acts, "|") != want {
			t.Fatalf("history\n%s\nwant\n%s", strings.Join(acts, "|"), want)
		}
		if strings.Contains(strings.Join(acts, ""), "NEW-KEY") {
			t.Fatal("the key leaked into the history")
		}
		var n int
		if err := db.R.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'license.reveal_key'`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("reveal audits %d %v", n, err)
		}
		if err := db.R.QueryRow(`SELECT count(*) FROM audit_log WHERE detail LIKE '%NEW-KEY%' OR detail LIKE '%ABCD-EFGH%'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the key is in %d audit entries (%v)", n, err)
		}

		// Deleting an asset frees its seat; deleting the license removes all.
		if err := s.DeleteLicense(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetLicense(ctx, l.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted license: %v", err)
		}
		if err := s.DeleteLicense(ctx, l.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

// TestLicenseWithoutAgent: no seam means no agent data, and over-use
// counts assignments only.
func TestLicenseWithoutAgent(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	l, err := f.s.CreateLicense(opCtx(), LicenseInput{Product: "Tool", Seats: 1, Patterns: []string{"tool"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.s.LicenseStatusOf(context.Background(), l.ID)
	if err != nil || st.Compliance.AgentData || st.Compliance.OverUsed {
		t.Fatalf("%+v %v", st, err)
	}
	w, err := f.s.Warnings(context.Background())
	if err != nil || w.AgentData || !w.Empty() {
		t.Fatalf("%+v %v", w, err)
	}
}

// TestLicenseAgentFailure: a failing inventory is reported, not fatal.
func TestLicenseAgentFailure(t *testing.T) {
	db := storetest.SQLite(t)
	s := NewService(db, Options{Installations: func(context.Context, []string) ([]Installation, error) {
		return nil, errors.New("fleet database gone")
	}})
	l, err := s.CreateLicense(opCtx(), LicenseInput{Product: "Tool", Seats: 1, Patterns: []string{"tool"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.LicenseStatusOf(context.Background(), l.ID)
	if err != nil || st.Compliance.AgentData || st.Compliance.AgentError == "" || strings.Contains(st.Compliance.AgentError, "fleet database") {
		t.Fatalf("%+v %v", st.Compliance, err)
	}
}
