package statuspage

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// TestValidationNamesTheField sends one bad value per field and expects the
// error to name that field, on create and on update, and nothing stored.
func TestValidationNamesTheField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		a, b := f.monitor("a"), f.monitor("b")
		good := func() Input {
			return Input{Slug: "acme", Title: "Acme", Description: "Our services", Monitors: entries(a, b)}
		}
		existing, err := f.sp.Create(ctx, Input{Slug: "existing", Title: "Existing"})
		if err != nil {
			t.Fatal(err)
		}
		many := make([]EntryInput, MaxMonitors+1)
		for i := range many {
			many[i] = EntryInput{MonitorID: int64(i + 1)}
		}
		for _, tc := range []struct {
			name  string
			edit  func(in *Input)
			field string
		}{
			{"title empty", func(in *Input) { in.Title = "  " }, "title"},
			{"title too long", func(in *Input) { in.Title = strings.Repeat("t", MaxTitle+1) }, "title"},
			{"title newline", func(in *Input) { in.Title = "a\nb" }, "title"},
			{"title invalid UTF-8", func(in *Input) { in.Title = "\xff" }, "title"},
			{"slug empty", func(in *Input) { in.Slug = "" }, "slug"},
			{"slug upper case", func(in *Input) { in.Slug = "Acme" }, "slug"},
			{"slug space", func(in *Input) { in.Slug = "ac me" }, "slug"},
			{"slug slash", func(in *Input) { in.Slug = "a/b" }, "slug"},
			{"slug dot", func(in *Input) { in.Slug = "a.json" }, "slug"},
			{"slug unicode", func(in *Input) { in.Slug = "café" }, "slug"},
			{"slug too long", func(in *Input) { in.Slug = strings.Repeat("s", MaxSlug+1) }, "slug"},
			{"slug taken", func(in *Input) { in.Slug = "existing" }, "slug"},
			{"description too long", func(in *Input) { in.Description = strings.Repeat("d", MaxDescription+1) }, "description"},
			{"description NUL", func(in *Input) { in.Description = "a\x00b" }, "description"},
			{"too many monitors", func(in *Input) { in.Monitors = many }, "monitors"},
			{"monitor id missing", func(in *Input) { in.Monitors[1].MonitorID = 0 }, "monitors[1].monitor_id"},
			{"monitor twice", func(in *Input) { in.Monitors[1].MonitorID = a }, "monitors[1].monitor_id"},
			{"monitor unknown", func(in *Input) { in.Monitors[1].MonitorID = 999999 }, "monitors[1].monitor_id"},
			{"unknown monitor moved first", func(in *Input) {
				in.Monitors[1].MonitorID, in.Monitors[1].Position = 999999, intp(0)
			}, "monitors[1].monitor_id"},
			{"display name too long", func(in *Input) { in.Monitors[0].DisplayName = strings.Repeat("n", MaxDisplayName+1) }, "monitors[0].display_name"},
			{"display name control", func(in *Input) { in.Monitors[0].DisplayName = "a\tb" }, "monitors[0].display_name"},
			{"section too long", func(in *Input) { in.Monitors[1].Section = strings.Repeat("s", MaxSection+1) }, "monitors[1].section"},
			{"position negative", func(in *Input) { in.Monitors[0].Position = intp(-1) }, "monitors[0].position"},
			{"position huge", func(in *Input) { in.Monitors[0].Position = intp(MaxPosition + 1) }, "monitors[0].position"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := good()
				tc.edit(&in)
				_, err := f.sp.Create(ctx, in)
				if ve, ok := valid.As(err); !ok || ve.Field != tc.field {
					t.Fatalf("create: %v, want a validation error on %s", err, tc.field)
				}
				if _, err := f.sp.GetBySlug(ctx, in.Slug); !errors.Is(err, store.ErrNotFound) && in.Slug != "existing" {
					t.Fatalf("a refused page was stored: %v", err)
				}
				in = good()
				tc.edit(&in)
				_, err = f.sp.Update(ctx, existing.ID, in)
				if tc.name == "slug taken" {
					// A page may keep its own slug.
					if err != nil {
						t.Fatalf("update keeping the slug: %v", err)
					}
					return
				}
				if ve, ok := valid.As(err); !ok || ve.Field != tc.field {
					t.Fatalf("update: %v, want a validation error on %s", err, tc.field)
				}
			})
		}
		// After all that, the existing page is as it was or as the one
		// successful update made it; nothing half-written.
		p, err := f.sp.Get(ctx, existing.ID)
		if err != nil || p.Slug != "existing" {
			t.Fatalf("existing page: %+v %v", p, err)
		}
	})
}

func TestSlugIsUnique(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		one, err := f.sp.Create(ctx, Input{Slug: "one", Title: "One"})
		if err != nil {
			t.Fatal(err)
		}
		two, err := f.sp.Create(ctx, Input{Slug: "two", Title: "Two"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.sp.Create(ctx, Input{Slug: "one", Title: "Another"}); !isField(err, "slug") {
			t.Fatalf("create with a taken slug: %v", err)
		}
		if _, err := f.sp.Update(ctx, two.ID, Input{Slug: "one", Title: "Two"}); !isField(err, "slug") {
			t.Fatalf("update to a taken slug: %v", err)
		}
		// Renaming frees the old slug.
		if _, err := f.sp.Update(ctx, one.ID, Input{Slug: "uno", Title: "One"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sp.Update(ctx, two.ID, Input{Slug: "one", Title: "Two"}); err != nil {
			t.Fatalf("taking a freed slug: %v", err)
		}
	})
}

func isField(err error, field string) bool {
	ve, ok := valid.As(err)
	return ok && ve.Field == field
}

// TestOrderingAndSections checks that positions order the page, ties keep
// the order given, positions come back as 1..n, and sections and display
// names survive a round trip.
func TestOrderingAndSections(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		a, b, c, d := f.monitor("a"), f.monitor("b"), f.monitor("c"), f.monitor("d")
		p, err := f.sp.Create(ctx, Input{Slug: "x", Title: " X ", Public: true, Monitors: []EntryInput{
			{MonitorID: a, Position: intp(30), DisplayName: " Website ", Section: "Web"},
			{MonitorID: b, Position: intp(10), Section: "API"},
			{MonitorID: c, Position: intp(30), DisplayName: "Shop", Section: "Web"},
			{MonitorID: d, Position: intp(20)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(p.Monitors), "1:b/API;2:d/;3:Website/Web;4:Shop/Web;"; got != want {
			t.Fatalf("order %s, want %s", got, want)
		}
		if p.Title != "X" || !p.Public || p.Monitors[2].MonitorName != "a" || p.Monitors[2].DisplayName != "Website" {
			t.Fatalf("page %+v", p)
		}
		// Without positions, the list order is the page order.
		p, err = f.sp.Update(ctx, p.ID, Input{Slug: "x", Title: "X", Monitors: entries(d, c, b)})
		if err != nil {
			t.Fatal(err)
		}
		// The list replaces the old one whole: display names and sections
		// not given again are gone.
		if got, want := names(p.Monitors), "1:d/;2:c/;3:b/;"; got != want {
			t.Fatalf("order %s, want %s", got, want)
		}
		if p.Public {
			t.Fatal("public flag not cleared")
		}
		v, err := f.sp.ViewBySlug(ctx, "x")
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Monitors) != 3 || v.Monitors[0].Name != "d" || v.Monitors[2].Name != "b" {
			t.Fatalf("view %+v", v.Monitors)
		}
	})
}

func TestGroups(t *testing.T) {
	v := View{Monitors: []MonitorView{{Name: "1"}, {Name: "2", Section: "B"}, {Name: "3"}, {Name: "4", Section: "A"}, {Name: "5", Section: "B"}}}
	var got []string
	for _, g := range v.Groups() {
		s := g.Section + ":"
		for _, m := range g.Monitors {
			s += m.Name
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != ":13 B:25 A:4" {
		t.Fatalf("groups %v", got)
	}
}

// TestDeletedMonitorLeavesThePage deletes a monitor that is on a page: it
// disappears from the page, the view and the list, and the page stays.
func TestDeletedMonitorLeavesThePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		a, b, c := f.monitor("a"), f.monitor("b"), f.monitor("c")
		p, err := f.sp.Create(ctx, Input{Slug: "x", Title: "X", Monitors: entries(a, b, c)})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.mons.Delete(ctx, b); err != nil {
			t.Fatal(err)
		}
		p, err = f.sp.Get(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(p.Monitors); got != "1:a/;2:c/;" {
			t.Fatalf("after deleting b: %s", got)
		}
		v, err := f.sp.ViewBySlug(ctx, "x")
		if err != nil || len(v.Monitors) != 2 || v.Monitors[1].Name != "c" {
			t.Fatalf("view %+v %v", v.Monitors, err)
		}
		all, err := f.sp.List(ctx)
		if err != nil || len(all) != 1 || len(all[0].Monitors) != 2 {
			t.Fatalf("list %+v %v", all, err)
		}
	})
}

// TestDeleteAndAudit checks every change lands in the audit log with its
// actor, and that a deleted page is gone.
func TestDeleteAndAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: 0, Name: "ops", Role: auth.RoleOperator}, Via: auth.ViaAPI})
		f := newFixture(t, db)
		a := f.monitor("a")
		p, err := f.sp.Create(ctx, Input{Slug: "x", Title: "X", Monitors: entries(a)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.sp.Update(ctx, p.ID, Input{Slug: "y", Title: "Y", Public: true}); err != nil {
			t.Fatal(err)
		}
		if err := f.sp.Delete(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sp.Get(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
		if _, err := f.sp.ViewBySlug(ctx, "y"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("view deleted: %v", err)
		}
		if err := f.sp.Delete(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if _, err := f.sp.Update(ctx, p.ID, Input{Slug: "z", Title: "Z"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update deleted: %v", err)
		}
		es, _, err := auth.ListAudit(ctx, db, auth.AuditFilter{Action: "status_page.", TargetKind: "status_page", TargetID: strconv.FormatInt(p.ID, 10)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Action+" "+e.ActorName+" "+e.Detail)
		}
		want := []string{
			"status_page.delete ops slug=y",
			"status_page.update ops slug=y title=Y public monitors=0",
			"status_page.create ops slug=x title=X private monitors=1",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestOverallOf(t *testing.T) {
	const (
		up, down, deg, maint, paused, unknown = monitor.StateUp, monitor.StateDown, monitor.StateDegraded, monitor.StateMaintenance, monitor.StatePaused, monitor.StateUnknown
	)
	for _, tc := range []struct {
		states []monitor.State
		want   Overall
	}{
		{nil, Unknown},
		{[]monitor.State{unknown, paused}, Unknown},
		{[]monitor.State{up, up}, Operational},
		{[]monitor.State{up, unknown}, Operational},
		{[]monitor.State{up, paused}, Operational},
		{[]monitor.State{up, deg}, Degraded},
		{[]monitor.State{up, maint}, Maintenance},
		{[]monitor.State{deg, maint}, Degraded},
		{[]monitor.State{up, down}, PartialOutage},          // half: not more than half
		{[]monitor.State{up, down, down}, MajorOutage},      // two of three
		{[]monitor.State{up, up, down, deg}, PartialOutage}, // outage beats degraded
		{[]monitor.State{down, paused, paused}, MajorOutage},
		{[]monitor.State{down}, MajorOutage},
		{[]monitor.State{down, unknown, unknown}, PartialOutage},
	} {
		if got := OverallOf(tc.states); got != tc.want {
			t.Errorf("OverallOf(%v) = %s, want %s", tc.states, got, tc.want)
		}
	}
	for _, o := range []Overall{Unknown, Operational, Maintenance, Degraded, PartialOutage, MajorOutage} {
		if o.Text() == "" {
			t.Errorf("%s has no text", o)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Acme API (EU)":           "acme-api-eu",
		"  --Hello--  ":           "hello",
		"Ünïcödé":                 "n-c-d",
		"!!!":                     "",
		strings.Repeat("ab ", 40): strings.TrimRight(strings.Repeat("ab-", 22)[:64], "-"),
		"status page 2":           "status-page-2",
	} {
		got := Slugify(in)
		if got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
		if got != "" {
			if err := ValidSlug("slug", got); err != nil {
				t.Errorf("Slugify(%q) = %q, which is not a valid slug: %v", in, got, err)
			}
		}
	}
}

// FuzzNormalize feeds arbitrary text to the validation: it must never panic,
// and whatever it accepts must be a valid page.
func FuzzNormalize(f *testing.F) {
	f.Add("acme", "Acme", "desc", "Name", "Section", 3)
	f.Add("", "\xff", "\x00", "<script>", "a\nb", -1)
	f.Fuzz(func(t *testing.T, slug, title, desc, name, section string, pos int) {
		in, err := normalize(Input{Slug: slug, Title: title, Description: desc, Monitors: []EntryInput{{MonitorID: 1, DisplayName: name, Section: section, Position: &pos}}})
		if err != nil {
			if _, ok := valid.As(err); !ok {
				t.Fatalf("non-validation error %v", err)
			}
			return
		}
		if ValidSlug("slug", in.Slug) != nil || in.Title == "" || *in.Monitors[0].Position != 1 {
			t.Fatalf("accepted %+v", in)
		}
		if s := Slugify(title); s != "" && ValidSlug("slug", s) != nil {
			t.Fatalf("Slugify(%q) = %q is invalid", title, s)
		}
	})
}
