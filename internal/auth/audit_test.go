package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func mustAudit(t testing.TB, ctx context.Context, db *store.DB, action, kind, id string) {
	t.Helper()
	if err := Audit(ctx, db.W, action, kind, id, ""); err != nil {
		t.Fatalf("Audit(%s): %v", action, err)
	}
}

func TestListAuditFilters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		alice := WithActor(context.Background(), Actor{Principal: Principal{Kind: ActorUser, UserID: 7, Name: "alice", Role: RoleAdmin}, Via: ViaUI, Addr: "192.0.2.1", RequestID: "r-1"})
		bot := WithActor(context.Background(), Actor{Principal: Principal{Kind: ActorToken, UserID: 7, TokenID: 99, Name: "token:bot", Role: RoleOperator}, Via: ViaAPI, Addr: "192.0.2.2", RequestID: "r-2"})
		system := context.Background()

		t0 := time.Now()
		time.Sleep(20 * time.Millisecond)
		mustAudit(t, alice, db, "user.create", "user", "1")
		mustAudit(t, alice, db, "user.update", "user", "1")
		mustAudit(t, bot, db, "monitor.create", "monitor", "1")
		time.Sleep(20 * time.Millisecond)
		t1 := time.Now()
		time.Sleep(20 * time.Millisecond)
		mustAudit(t, system, db, "user.password", "user", "2")
		mustAudit(t, bot, db, "users.import", "user", "3")
		mustAudit(t, alice, db, "USER.create", "user", "4")
		mustAudit(t, alice, db, "user", "user", "5")
		mustAudit(t, bot, db, "50%.off", "promo", "1")
		mustAudit(t, bot, db, "a_b.c", "promo", "2")
		mustAudit(t, bot, db, `back\slash.x`, "promo", "3")
		time.Sleep(20 * time.Millisecond)
		t2 := time.Now()

		tests := []struct {
			name string
			f    AuditFilter
			want []string
		}{
			{"all", AuditFilter{}, []string{"user.create", "user.update", "monitor.create", "user.password", "users.import", "USER.create", "user", "50%.off", "a_b.c", `back\slash.x`}},
			{"actor", AuditFilter{Actor: "alice"}, []string{"user.create", "user.update", "USER.create", "user"}},
			{"actor token", AuditFilter{Actor: "token:bot"}, []string{"monitor.create", "users.import", "50%.off", "a_b.c", `back\slash.x`}},
			{"actor system", AuditFilter{Actor: "system"}, []string{"user.password"}},
			{"actor unknown", AuditFilter{Actor: "mallory"}, nil},
			{"actor case", AuditFilter{Actor: "Alice"}, nil},
			{"action exact", AuditFilter{Action: "user.create"}, []string{"user.create"}},
			{"action exact no prefix match", AuditFilter{Action: "user"}, []string{"user"}},
			{"action prefix", AuditFilter{Action: "user."}, []string{"user.create", "user.update", "user.password"}},
			{"action prefix case", AuditFilter{Action: "USER."}, []string{"USER.create"}},
			{"action prefix none", AuditFilter{Action: "incident."}, nil},
			{"like percent", AuditFilter{Action: "%."}, nil},
			{"like underscore", AuditFilter{Action: "_."}, nil},
			{"like underscores", AuditFilter{Action: "____."}, nil},
			{"like embedded percent", AuditFilter{Action: "u%."}, nil},
			{"like backslash", AuditFilter{Action: `\.`}, nil},
			{"like star", AuditFilter{Action: "*."}, nil},
			{"like exact percent", AuditFilter{Action: "%"}, nil},
			{"literal percent prefix", AuditFilter{Action: "50%."}, []string{"50%.off"}},
			{"literal underscore prefix", AuditFilter{Action: "a_b."}, []string{"a_b.c"}},
			{"literal backslash prefix", AuditFilter{Action: `back\slash.`}, []string{`back\slash.x`}},
			{"underscore is no wildcard", AuditFilter{Action: "a.b."}, nil},
			{"sql in action", AuditFilter{Action: "' OR '1'='1"}, nil},
			{"target kind", AuditFilter{TargetKind: "monitor"}, []string{"monitor.create"}},
			{"target", AuditFilter{TargetKind: "user", TargetID: "1"}, []string{"user.create", "user.update"}},
			{"target id alone", AuditFilter{TargetID: "2"}, []string{"user.password", "a_b.c"}},
			{"since", AuditFilter{Since: t1}, []string{"user.password", "users.import", "USER.create", "user", "50%.off", "a_b.c", `back\slash.x`}},
			{"until", AuditFilter{Until: t1}, []string{"user.create", "user.update", "monitor.create"}},
			{"since until", AuditFilter{Since: t0, Until: t2}, []string{"user.create", "user.update", "monitor.create", "user.password", "users.import", "USER.create", "user", "50%.off", "a_b.c", `back\slash.x`}},
			{"since in another zone", AuditFilter{Since: t1.In(time.FixedZone("X", -7*3600))}, []string{"user.password", "users.import", "USER.create", "user", "50%.off", "a_b.c", `back\slash.x`}},
			{"empty range", AuditFilter{Since: t2, Until: t2}, nil},
			{"since after all", AuditFilter{Since: t2}, nil},
			{"combined", AuditFilter{Actor: "alice", Action: "user.", Until: t1}, []string{"user.create", "user.update"}},
			{"invalid utf-8 filters", AuditFilter{Actor: "\xff", Action: "\xff.", TargetKind: "\x00", TargetID: "\xfe"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := auditActions(t, db, tt.f); !slices.Equal(got, tt.want) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		}

		// Who, how and from where come from the actor in ctx.
		es, _, err := ListAudit(system, db, AuditFilter{Actor: "token:bot", Action: "monitor.create"})
		if err != nil || len(es) != 1 {
			t.Fatalf("ListAudit = %v, %v", es, err)
		}
		e := es[0]
		if e.ActorKind != ActorToken || e.ActorID != 99 || e.Via != ViaAPI || e.SourceAddr != "192.0.2.2" || e.RequestID != "r-2" ||
			e.TargetKind != "monitor" || e.TargetID != "1" || e.ID == 0 || e.At.Location() != time.UTC || e.At.Before(t0) || e.At.After(t2) {
			t.Errorf("token entry = %+v", e)
		}
		es, _, _ = ListAudit(system, db, AuditFilter{Action: "user.create"})
		if e := es[0]; e.ActorKind != ActorUser || e.ActorID != 7 || e.ActorName != "alice" || e.Via != ViaUI || e.SourceAddr != "192.0.2.1" || e.RequestID != "r-1" {
			t.Errorf("user entry = %+v", e)
		}
		es, _, _ = ListAudit(system, db, AuditFilter{Action: "user.password"})
		if e := es[0]; e.ActorKind != ActorSystem || e.ActorID != 0 || e.Via != ViaSystem || e.SourceAddr != "" {
			t.Errorf("system entry = %+v", e)
		}
		cli := WithActor(context.Background(), CLIActor("root"))
		mustAudit(t, cli, db, "cli.test", "", "")
		es, _, _ = ListAudit(system, db, AuditFilter{Action: "cli.test"})
		if e := es[0]; e.ActorName != "cli:root" || e.Via != ViaCLI || e.ActorKind != ActorSystem {
			t.Errorf("cli entry = %+v", e)
		}
		if CLIActor("").Name != "cli" {
			t.Errorf("CLIActor(\"\") = %+v", CLIActor(""))
		}
	})
}

func TestListAuditPaging(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			for i := range 120 {
				if err := Audit(ctx, tx, "page.test", "item", fmt.Sprint(i), ""); err != nil {
					return err
				}
				// Entries of another action between them must not upset the cursor.
				if i%7 == 0 {
					if err := Audit(ctx, tx, "noise.test", "item", fmt.Sprint(i), ""); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, action := range []string{"page.test", "page."} {
			seen := map[int64]bool{}
			var sizes []int
			var lastID int64
			f := AuditFilter{Action: action, Limit: 50}
			for page := 0; ; page++ {
				es, next, err := ListAudit(ctx, db, f)
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(es))
				for _, e := range es {
					if seen[e.ID] {
						t.Fatalf("entry %d listed twice", e.ID)
					}
					if lastID != 0 && e.ID >= lastID {
						t.Fatalf("not newest first: %d after %d", e.ID, lastID)
					}
					seen[e.ID], lastID = true, e.ID
				}
				if next == 0 {
					break
				}
				if next != es[len(es)-1].ID {
					t.Errorf("cursor %d, want last id %d", next, es[len(es)-1].ID)
				}
				f.Before = next
				if page > 5 {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(sizes, []int{50, 50, 20}) || len(seen) != 120 {
				t.Errorf("%s: pages %v, %d distinct entries", action, sizes, len(seen))
			}
		}
		// Exactly one page: no cursor.
		if es, next, _ := ListAudit(ctx, db, AuditFilter{Action: "page.test", Limit: 120}); len(es) != 120 || next != 0 {
			t.Errorf("Limit 120: %d entries, next %d", len(es), next)
		}
		for _, tt := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {1, 1}, {500, 138}, {501, 138}, {1 << 30, 138}} {
			if es, _, _ := ListAudit(ctx, db, AuditFilter{Limit: tt.limit}); len(es) != tt.want {
				t.Errorf("Limit %d: %d entries, want %d", tt.limit, len(es), tt.want)
			}
		}
	})
}

func TestAuditCleansText(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := WithActor(context.Background(), Actor{
			Principal: Principal{Kind: ActorUser, Name: "ev\xffil\x00name" + strings.Repeat("n", 1000)},
			Via:       ViaAPI, Addr: "\x00", RequestID: strings.Repeat("r", 10000) + "\xff",
		})
		detail := "x" + strings.Repeat("é", 3000) // 6001 bytes
		if err := Audit(ctx, db.W, "hostile.test", "user", "id\xfe", detail); err != nil {
			t.Fatalf("Audit with hostile text: %v", err)
		}
		es, _, err := ListAudit(ctx, db, AuditFilter{Action: "hostile.test"})
		if err != nil || len(es) != 1 {
			t.Fatalf("ListAudit = %v, %v", es, err)
		}
		e := es[0]
		for name, v := range map[string]string{"actor": e.ActorName, "target": e.TargetID, "detail": e.Detail, "addr": e.SourceAddr, "request": e.RequestID} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				t.Errorf("%s %.40q not clean", name, v)
			}
		}
		if len(e.Detail) > maxAuditDetail || len(e.Detail) < maxAuditDetail-3 || !strings.HasPrefix(detail, e.Detail) {
			t.Errorf("detail cut to %d bytes", len(e.Detail))
		}
		if len(e.ActorName) > maxAuditField || len(e.RequestID) > maxAuditField {
			t.Errorf("fields not bounded: %d, %d", len(e.ActorName), len(e.RequestID))
		}
		// The raw value finds the cleaned row.
		if es, _, _ := ListAudit(ctx, db, AuditFilter{TargetID: "id\xfe"}); len(es) != 1 {
			t.Errorf("filter by raw target id found %d", len(es))
		}
	})
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 10, "plain"},
		{"plain", 3, "pla"},
		{"", 3, ""},
		{"aé", 2, "a"},
		{"aé", 3, "aé"},
		{"a€", 3, "a"},
		{"a\x00b", 10, "a\uFFFDb"},
		{"a\xffb", 10, "a\uFFFDb"},
		{"ab\xff", 3, "ab"},
		{"\x80\x80\x80\x80\x80\x80", 4, "\uFFFD"},
		{strings.Repeat("\x00", 10), 7, "\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		got := cleanText(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("cleanText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if len(got) > tt.max || !utf8.ValidString(got) {
			t.Errorf("cleanText(%q, %d) = %q: too long or invalid", tt.in, tt.max, got)
		}
	}
}

func FuzzCleanText(f *testing.F) {
	f.Add("a\x00\xffé€😀", 5)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		got := cleanText(s, max)
		if len(got) > max || !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
			t.Fatalf("cleanText(%q, %d) = %q", s, max, got)
		}
		if utf8.ValidString(s) && !strings.ContainsRune(s, 0) && !strings.HasPrefix(s, got) {
			t.Fatalf("cleanText(%q, %d) = %q: clean input not kept as prefix", s, max, got)
		}
	})
}

// TestAuditInTransaction checks the promise of Audit: a change and its
// audit row land together or not at all.
func TestAuditInTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if err := Audit(ctx, tx, "tx.rolled_back", "", "", ""); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if got := auditActions(t, db, AuditFilter{Action: "tx."}); len(got) != 0 {
			t.Errorf("rolled back audit rows: %v", got)
		}
	})
}

func TestActorFrom(t *testing.T) {
	t.Parallel()
	if a := ActorFrom(context.Background()); a.Kind != ActorSystem || a.Role != RoleAdmin || a.Via != ViaSystem || a.Name != "system" {
		t.Errorf("ActorFrom(empty) = %+v", a)
	}
	want := Actor{Principal: Principal{Kind: ActorUser, UserID: 3, Name: "u", Role: RoleViewer}, Via: ViaUI, Addr: "x", RequestID: "y"}
	if a := ActorFrom(WithActor(context.Background(), want)); a != want {
		t.Errorf("ActorFrom = %+v, want %+v", a, want)
	}
}
