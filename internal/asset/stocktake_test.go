package asset

import (
	"context"
	"errors"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestStocktake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := opCtx()
		for _, in := range []Input{{Tag: "HQ-1", Location: "HQ"}, {Tag: "HQ-2", Location: "HQ"}, {Tag: "HQ-3", Location: "HQ", Status: StatusRetired},
			{Tag: "HQ-ORD", Location: "HQ", Status: StatusOrdered}, {Tag: "HQ-GONE", Location: "HQ", Status: StatusDisposed}, {Tag: "BR-1", Location: "Branch"}} {
			mustAsset(t, f.s, in)
		}
		_, err := f.s.StartStocktake(ctx, " ", "")
		wantField(t, err, "name")
		st, err := f.s.StartStocktake(ctx, "Q1 HQ", "HQ")
		if err != nil || st.InScope != 3 || st.Seen != 0 {
			t.Fatalf("start %+v %v", st, err)
		}
		if _, err := f.s.MarkSeen(ctx, st.ID, "hq-1 "); err == nil {
			t.Fatal("tags are matched exactly")
		}
		for _, tag := range []string{"HQ-1", " HQ-1", "HQ-3"} {
			if _, err := f.s.MarkSeen(ctx, st.ID, tag); err != nil {
				t.Fatalf("seen %s: %v", tag, err)
			}
		}
		for _, tag := range []string{"BR-1", "HQ-ORD", "HQ-GONE", "NOPE", ""} {
			_, err := f.s.MarkSeen(ctx, st.ID, tag)
			wantField(t, err, "tag")
		}
		miss, err := f.s.Missing(context.Background(), st.ID)
		if err != nil || len(miss) != 1 || miss[0].Tag != "HQ-2" {
			t.Fatalf("missing %+v %v", miss, err)
		}
		if st, err = f.s.CloseStocktake(ctx, st.ID); err != nil || !st.Closed || st.Seen != 2 || st.ClosedAt == nil {
			t.Fatalf("close %+v %v", st, err)
		}
		var ref *Refusal
		if _, err := f.s.MarkSeen(ctx, st.ID, "HQ-2"); !errors.As(err, &ref) {
			t.Fatalf("seen after close: %v", err)
		}
		if _, err := f.s.CloseStocktake(ctx, st.ID); !errors.As(err, &ref) {
			t.Fatalf("close twice: %v", err)
		}
		if _, err := f.s.CloseStocktake(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("close missing: %v", err)
		}
		all, err := f.s.StartStocktake(ctx, "everything", "")
		if err != nil || all.InScope != 4 {
			t.Fatalf("everywhere %+v %v", all, err)
		}
		if _, err := f.s.MarkSeen(ctx, all.ID, "BR-1"); err != nil {
			t.Fatal(err)
		}
		list, err := f.s.Stocktakes(context.Background())
		if err != nil || len(list) != 2 || list[0].Name != "everything" || list[0].Seen != 1 {
			t.Fatalf("list %+v %v", list, err)
		}
		var n int
		if err := db.R.QueryRow(`SELECT count(*) FROM audit_log WHERE action LIKE 'asset_stocktake.%'`).Scan(&n); err != nil || n != 6 {
			t.Fatalf("audit rows %d %v", n, err)
		}
	})
}
