package asset

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func errText(errs []RowError) string {
	var b []string
	for _, e := range errs {
		b = append(b, e.Error())
	}
	return strings.Join(b, "; ")
}

func TestImportDryRunThenAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := opCtx()
		mustAsset(t, f.s, Input{Tag: "LAP-1", Model: "Old", Location: "HQ", Category: "laptop"})
		file := []byte("\xef\xbb\xbftag,model,owner,cost,currency,warranty_end\n" +
			"LAP-1,X1 Carbon,bob,1299.90,EUR,2028-01-31\n" +
			"LAP-2,T14,,,,\n")
		rep, err := f.s.Import(ctx, file, true)
		if err != nil || rep.Created != 1 || rep.Updated != 1 || len(rep.Errors) != 0 {
			t.Fatalf("dry run %+v, %v", rep, err)
		}
		if n, _ := f.s.Count(context.Background()); n != 1 {
			t.Fatalf("dry run wrote: %d assets", n)
		}
		if rep, err = f.s.Import(ctx, file, false); err != nil || rep.Created != 1 || rep.Updated != 1 {
			t.Fatalf("import %+v, %v", rep, err)
		}
		a, err := f.s.GetByTag(context.Background(), "LAP-1")
		if err != nil || a.Model != "X1 Carbon" || a.Location != "HQ" || a.Category != "laptop" || a.Owner == nil || a.Cost() != "1299.90 EUR" {
			t.Fatalf("updated asset %+v, %v", a, err)
		}
		h, _, _ := f.s.History(context.Background(), a.ID, 0, 5)
		if len(h) != 2 || h[0].Action != "updated" {
			t.Fatalf("history %+v", h)
		}

		// Errors name row and column; nothing of a bad file is written.
		bad := []byte("tag,model,status,owner,cost,warranty_end,kind\n" +
			"NEW-1,ok,,,,,\n" +
			"NEW-2,ok,lost,,,,\n" +
			"NEW-3,ok,,nobody,,,\n" +
			"NEW-4,ok,,,12.345,,\n" +
			"NEW-5,ok,,,,31/01/2028,\n" +
			"LAP-1,ok,retired,,,,\n" +
			",no tag,,,,,\n" +
			"NEW-1,twice,,,,,\n" +
			"NEW-9,ok,,,,,furniture\n" +
			"short,row\n")
		rep, err = f.s.Import(ctx, bad, false)
		if !errors.Is(err, ErrImportRefused) {
			t.Fatalf("bad file: %v", err)
		}
		want := "row 9, column tag: \"NEW-1\" is also on row 2; row 11: has 2 cells for 7 columns; row 3, column status: must be one of ordered, in_stock, deployed, in_repair, retired, disposed; " +
			"row 4, column owner: \"nobody\" is not a user; row 5, column cost: must be an amount such as 1234.56; row 6, column warranty_end: must be a date written YYYY-MM-DD; " +
			"row 7, column status: is in_stock, not retired: an existing asset changes state through its lifecycle actions; row 8, column tag: is required; row 10, column kind: must be hardware or software"
		if got := errText(rep.Errors); got != want {
			t.Fatalf("errors\n%s\nwant\n%s", got, want)
		}
		if n, _ := f.s.Count(context.Background()); n != 2 || rep.Created != 0 {
			t.Fatalf("refused file wrote: %d assets, report %+v", n, rep)
		}

		// A write that fails in the transaction rolls the whole file back:
		// a user removed between the check and the write.
		as := auth.NewService(db, auth.Options{})
		u, err := as.CreateUser(context.Background(), auth.NewUser{Username: "carol", Name: "Carol", Role: auth.RoleViewer, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		late := []byte("tag,owner\nNEW-A,\nNEW-B,carol\n")
		if rep, err := f.s.Import(ctx, late, true); err != nil || rep.Created != 2 {
			t.Fatalf("dry run: %+v %v", rep, err)
		}
		if _, err := db.W.Exec(`DELETE FROM users WHERE id = $1`, u.ID); err != nil {
			t.Fatal(err)
		}
		s2 := f.s
		rep, err = s2.Import(ctx, late, false)
		if err == nil {
			t.Fatalf("import after the owner left: %+v", rep)
		}
		if _, err := f.s.GetByTag(context.Background(), "NEW-A"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("half an import was written: %v", err)
		}
	})
}

func TestImportHostileFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := opCtx()
		for name, c := range map[string]struct {
			data []byte
			want string
		}{
			"latin-1":         {[]byte("tag,model\nLAP-1,Caf\xe9\n"), "row 0: the file is not UTF-8 text"},
			"utf-16":          {[]byte("\xff\xfet\x00a\x00g\x00\n\x00"), "row 0: the file is not UTF-8 text"},
			"empty":           {nil, "row 1: the file is empty"},
			"unknown column":  {[]byte("tag,colour\nA,red\n"), "row 1, column colour: is not a column"},
			"no tag column":   {[]byte("model\nX1\n"), "row 1, column tag: is required"},
			"assignee column": {[]byte("tag,assignee\nA,bob\n"), "row 1, column assignee: is written by export but not imported"},
			"twice":           {[]byte("tag,tag\nA,B\n"), "row 1, column tag: appears twice"},
			"bad quote":       {[]byte("tag,model\nA,\"X1\nB,Y\n"), "not CSV"},
			"oversize":        {bytes.Repeat([]byte("a"), MaxCSVBytes+1), "row 0: the file is larger than 16 MB"},
			"control char":    {[]byte("tag,model\nA,X\x01\n"), "row 2, column model: contains a control character"},
			"long tag":        {[]byte("tag\n" + strings.Repeat("x", 65) + "\n"), "row 2, column tag: is too long"},
		} {
			rep, err := f.s.Import(ctx, c.data, true)
			if !errors.Is(err, ErrImportRefused) || !strings.Contains(errText(rep.Errors), c.want) {
				t.Errorf("%s: %v %q, want %q", name, err, errText(rep.Errors), c.want)
			}
		}
		rows := strings.Repeat("A\n", MaxCSVRows+1)
		rep, _ := f.s.Import(ctx, []byte("tag\n"+rows), true)
		if !strings.Contains(errText(rep.Errors), "more than 100000 rows") {
			t.Errorf("too many rows: %q", errText(rep.Errors)[:min(200, len(errText(rep.Errors)))])
		}
	})
}

func TestExportEscapesFormulasAndRoundTrips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := opCtx()
		cost := int64(5000)
		for i, model := range []string{"=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "plain, with comma"} {
			mustAsset(t, f.s, Input{Tag: fmt.Sprintf("E-%d", i), Model: model, Category: "laptop", CostCents: &cost, Currency: "EUR", OwnerID: f.user.ID})
		}
		mustAsset(t, f.s, Input{Tag: "P-1", Category: "phone"})
		var buf bytes.Buffer
		if err := f.s.Export(ctx, &buf, ListFilter{Category: "laptop"}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if SafeCell("\tx") != "'\tx" || SafeCell("\rx") != "'\rx" || SafeCell("a=b") != "a=b" {
			t.Fatal("SafeCell")
		}
		if len(recs) != 6 || strings.Join(recs[0], ",") != strings.Join(csvColumns, ",") {
			t.Fatalf("export: %d rows, head %v", len(recs), recs[0])
		}
		models := []string{}
		for _, r := range recs[1:] {
			models = append(models, r[4])
			if r[8] != "bob" || r[11] != "50.00" {
				t.Fatalf("row %v", r)
			}
		}
		want := "'=HYPERLINK(\"http://evil\")|'+1+1|'-2|'@SUM(A1)|plain, with comma"
		if strings.Join(models, "|") != want {
			t.Fatalf("models %q", strings.Join(models, "|"))
		}
		// The import format takes the export back, minus the export-only
		// columns (here, nothing changes).
		var in bytes.Buffer
		w := csv.NewWriter(&in)
		for _, r := range recs {
			_ = w.Write(append(r[:9:9], r[11:]...))
		}
		w.Flush()
		rep, err := f.s.Import(ctx, in.Bytes(), true)
		if err != nil || rep.Updated != 5 {
			t.Fatalf("re-import: %+v %v", rep, err)
		}
	})
}
