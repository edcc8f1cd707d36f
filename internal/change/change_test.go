package change

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	ve, ok := valid.As(err)
	if !ok {
		t.Fatalf("want a validation error on %s, got %v", field, err)
	}
	if ve.Field != field {
		t.Fatalf("want field %s, got %s (%v)", field, ve.Field, err)
	}
}

// setupCAB makes groups A (bob) and B (bob, carol) and the rule for
// medium risk: 1 of A and 2 of B.
func setupCAB(t *testing.T, f *fixture) (a, b Group) {
	t.Helper()
	ctx := f.as(f.alice)
	var err error
	if a, err = f.s.SaveGroup(ctx, Group{Name: "A", MemberIDs: []int64{f.bob}}); err != nil {
		t.Fatal(err)
	}
	if b, err = f.s.SaveGroup(ctx, Group{Name: "B", MemberIDs: []int64{f.bob, f.carol}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetRule(ctx, Medium, []Term{{GroupID: a.ID, Min: 1}, {GroupID: b.ID, Min: 2}}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestNormalLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		setupCAB(t, f)
		ctx := f.as(f.alice)
		c, err := f.s.Create(ctx, f.normal(t0.Add(24*time.Hour), f.web))
		if err != nil {
			t.Fatal(err)
		}
		if c.State != Draft || c.Requester != "alice" || len(c.CIs) != 1 || c.CIs[0].Name != "web" {
			t.Fatalf("created %+v", c)
		}
		for _, a := range []Action{Submit, Authorize} {
			if c, err = f.s.Transition(ctx, c.ID, Step{Action: a}); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
		}
		if c.State != Authorization {
			t.Fatalf("state %s", c.State)
		}
		// Inbox: bob and carol see it, alice (requester) and dave do not.
		for _, u := range []struct {
			id   int64
			want int
		}{{f.bob, 1}, {f.carol, 1}, {f.alice, 0}, {f.dave, 0}} {
			in, err := f.s.Inbox(context.Background(), u.id)
			if err != nil || len(in) != u.want {
				t.Fatalf("inbox of %d: %d, %v", u.id, len(in), err)
			}
		}
		if c, err = f.s.Decide(f.as(f.bob), c.ID, true, "fine"); err != nil {
			t.Fatal(err)
		}
		if c.State != Authorization {
			t.Fatalf("one approval of B is not enough: %s", c.State)
		}
		ap, _ := f.s.ApprovalsOf(context.Background(), c.ID)
		if ap.Met || len(ap.Terms) != 2 || !ap.Terms[0].Met || ap.Terms[1].Got != 1 {
			t.Fatalf("approvals %+v", ap)
		}
		if c, err = f.s.Decide(f.as(f.carol), c.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		if c.State != Scheduled {
			t.Fatalf("rule met, want scheduled, got %s", c.State)
		}
		*f.clock = t0.Add(24 * time.Hour)
		for _, a := range []Action{Start, Finish} {
			if c, err = f.s.Transition(ctx, c.ID, Step{Action: a}); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
		}
		if c, err = f.s.Transition(ctx, c.ID, Step{Action: Close, Outcome: Successful, Comment: "all good"}); err != nil {
			t.Fatal(err)
		}
		if c.State != Closed || c.Outcome != Successful || c.ActualStart == nil || c.ActualEnd == nil || c.ClosedAt == nil {
			t.Fatalf("closed %+v", c)
		}
		tl, _ := f.s.Timeline(context.Background(), c.ID)
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, e.Kind)
		}
		want := "created submit authorize approved approved moved start finish close"
		if got := strings.Join(kinds, " "); got != want {
			t.Fatalf("timeline %q, want %q", got, want)
		}
		var audited int
		_ = db.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE target_kind = 'change' AND target_id = $1`, "1").Scan(&audited)
		if audited < 8 {
			t.Fatalf("audit rows %d", audited)
		}
	})
}

func TestRejectGoesBackToAssessment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		setupCAB(t, f)
		ctx := f.as(f.alice)
		c, _ := f.s.Create(ctx, f.normal(t0.Add(24*time.Hour), f.web))
		_, _ = f.s.Transition(ctx, c.ID, Step{Action: Submit})
		_, _ = f.s.Transition(ctx, c.ID, Step{Action: Authorize})
		_, err := f.s.Decide(f.as(f.carol), c.ID, false, "")
		wantField(t, err, "comment")
		c, err = f.s.Decide(f.as(f.carol), c.ID, false, "no backout tested")
		if err != nil {
			t.Fatal(err)
		}
		if c.State != Assessment || c.ApprovalRound != 2 {
			t.Fatalf("after reject: %s round %d", c.State, c.ApprovalRound)
		}
		// A new round: carol may decide again.
		_, _ = f.s.Transition(ctx, c.ID, Step{Action: Authorize})
		for _, u := range []int64{f.bob, f.carol} {
			if c, err = f.s.Decide(f.as(u), c.ID, true, "ok now"); err != nil {
				t.Fatal(err)
			}
		}
		if c.State != Scheduled {
			t.Fatalf("state %s", c.State)
		}
	})
}

func TestNoRuleSchedulesWithoutApproval(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := f.as(f.alice)
	in := f.normal(t0.Add(time.Hour), f.web)
	in.Risk = Low
	c, _ := f.s.Create(ctx, in)
	_, _ = f.s.Transition(ctx, c.ID, Step{Action: Submit})
	c, err := f.s.Transition(ctx, c.ID, Step{Action: Authorize})
	if err != nil || c.State != Scheduled {
		t.Fatalf("%v %s", err, c.State)
	}
}

// TestBadInputChangesNothing: every refusal names its field and leaves
// the change, its timeline and its approvals as they were.
func TestBadInputChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		setupCAB(t, f)
		ctx := f.as(f.alice)
		c, err := f.s.Create(ctx, f.normal(t0.Add(24*time.Hour), f.web))
		if err != nil {
			t.Fatal(err)
		}
		before := rows(t, db, "changes")
		noCIs := f.normal(t0, []int64{}...)
		_, err = f.s.Create(ctx, noCIs)
		wantField(t, err, "ci_ids")
		backwards := f.normal(t0, f.web)
		backwards.PlannedEnd = ptr(t0.Add(-time.Hour))
		_, err = f.s.Create(ctx, backwards)
		wantField(t, err, "planned_end")
		_, err = f.s.Create(ctx, f.normal(t0, 999999))
		wantField(t, err, "ci_ids")
		emergencyNoCIs := f.normal(t0)
		emergencyNoCIs.Type = Emergency
		_, err = f.s.Create(ctx, emergencyNoCIs)
		wantField(t, err, "ci_ids")
		if n := rows(t, db, "changes"); n != before {
			t.Fatalf("refused creates left rows: %d → %d", before, n)
		}

		snap := snapshot(t, f, c.ID)
		for _, tc := range []struct {
			name  string
			do    func() error
			field string
		}{
			{"start a draft", func() error { _, err := f.s.Transition(ctx, c.ID, Step{Action: Start}); return err }, "state"},
			{"close a draft", func() error {
				_, err := f.s.Transition(ctx, c.ID, Step{Action: Close, Outcome: Successful})
				return err
			}, "state"},
			{"unknown action", func() error { _, err := f.s.Transition(ctx, c.ID, Step{Action: "approve"}); return err }, "action"},
			{"approve a draft", func() error { _, err := f.s.Decide(f.as(f.bob), c.ID, true, ""); return err }, "state"},
			{"edit end before start", func() error {
				in := f.normal(t0, f.web)
				in.PlannedEnd = ptr(t0)
				_, err := f.s.Update(ctx, c.ID, in)
				return err
			}, "planned_end"},
			{"edit away the CIs", func() error { _, err := f.s.Update(ctx, c.ID, f.normal(t0)); return err }, "ci_ids"},
		} {
			wantField(t, tc.do(), tc.field)
			if got := snapshot(t, f, c.ID); got != snap {
				t.Fatalf("%s changed something: %s → %s", tc.name, snap, got)
			}
		}
		_, _ = f.s.Transition(ctx, c.ID, Step{Action: Submit})
		_, _ = f.s.Transition(ctx, c.ID, Step{Action: Authorize})
		snap = snapshot(t, f, c.ID)
		for _, tc := range []struct {
			name  string
			user  int64
			field string
		}{{"self-approval", f.alice, "approver"}, {"not in a group", f.dave, "approver"}} {
			_, err := f.s.Decide(f.as(tc.user), c.ID, true, "")
			wantField(t, err, tc.field)
			if got := snapshot(t, f, c.ID); got != snap {
				t.Fatalf("%s changed something: %s → %s", tc.name, snap, got)
			}
		}
		_, _ = f.s.Decide(f.as(f.bob), c.ID, true, "")
		snap = snapshot(t, f, c.ID)
		_, err = f.s.Decide(f.as(f.bob), c.ID, true, "")
		wantField(t, err, "approver")
		_, err = f.s.Transition(ctx, c.ID, Step{Action: Close})
		wantField(t, err, "state")
		if got := snapshot(t, f, c.ID); got != snap {
			t.Fatalf("second approval changed something: %s → %s", snap, got)
		}
	})
}

func TestFreezes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := f.as(f.alice)
		_, err := f.s.SaveFreeze(ctx, Freeze{Name: "bad", StartsAt: ptr(t0), EndsAt: ptr(t0.Add(-time.Hour))})
		wantField(t, err, "ends_at")
		_, err = f.s.SaveFreeze(ctx, Freeze{Name: "bad", Cron: "0 0 * * 6", Duration: "48h", Timezone: "Mars/Olympus"})
		wantField(t, err, "timezone")
		if n := rows(t, db, "change_freezes"); n != 0 {
			t.Fatalf("refused freezes stored: %d", n)
		}
		// Weekends frozen in Berlin: Saturday 00:00 for 48 hours.
		if _, err := f.s.SaveFreeze(ctx, Freeze{Name: "weekend", Cron: "0 0 * * 6", Duration: "48h", Timezone: "Europe/Berlin"}); err != nil {
			t.Fatal(err)
		}
		sat := time.Date(2026, 6, 6, 10, 0, 0, 0, time.UTC) // a Saturday
		c, _ := f.s.Create(ctx, f.normal(sat, f.web))
		_, err = f.s.Transition(ctx, c.ID, Step{Action: Submit})
		wantField(t, err, "planned_start")
		if got, _ := f.s.Get(ctx, c.ID); got.State != Draft {
			t.Fatalf("refused submit moved the change: %s", got.State)
		}
		// Friday 22:30 UTC is Saturday 00:30 in Berlin (summer time): frozen.
		c2, _ := f.s.Create(ctx, f.normal(time.Date(2026, 6, 5, 22, 30, 0, 0, time.UTC), f.web))
		_, err = f.s.Transition(ctx, c2.ID, Step{Action: Submit})
		wantField(t, err, "planned_start")
		// Friday 20:00 UTC for an hour ends at 23:00 Berlin: allowed.
		c3, _ := f.s.Create(ctx, f.normal(time.Date(2026, 6, 5, 20, 0, 0, 0, time.UTC), f.web))
		if _, err := f.s.Transition(ctx, c3.ID, Step{Action: Submit}); err != nil {
			t.Fatal(err)
		}
		// An emergency change in the freeze goes through, flagged.
		in := f.normal(sat, f.web)
		in.Type = Emergency
		e, _ := f.s.Create(ctx, in)
		e, err = f.s.Transition(ctx, e.ID, Step{Action: Submit})
		if err != nil {
			t.Fatal(err)
		}
		if e.State != Scheduled || !e.InFreeze || !e.Unapproved {
			t.Fatalf("emergency %+v", e)
		}
		list, _, _ := f.s.List(ctx, ListFilter{Flagged: true})
		if len(list) != 1 || list[0].ID != e.ID {
			t.Fatalf("flagged list %v", list)
		}
	})
}

func TestEmergencyApprovedAfterTheFact(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	setupCAB(t, f)
	ctx := f.as(f.alice)
	in := f.normal(t0, f.web)
	in.Type = Emergency
	c, _ := f.s.Create(ctx, in)
	c, _ = f.s.Transition(ctx, c.ID, Step{Action: Submit})
	c, _ = f.s.Transition(ctx, c.ID, Step{Action: Start})
	if !c.Unapproved || c.State != Implementing {
		t.Fatalf("%+v", c)
	}
	c, _ = f.s.Transition(ctx, c.ID, Step{Action: Close, Outcome: Successful})
	for _, u := range []int64{f.bob, f.carol} {
		var err error
		if c, err = f.s.Decide(f.as(u), c.ID, true, "after the fact"); err != nil {
			t.Fatal(err)
		}
	}
	if c.Unapproved || c.State != Closed {
		t.Fatalf("%+v", c)
	}
}

func TestStandardFromTemplate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := f.as(f.alice)
		_, err := f.s.SaveTemplate(ctx, Template{Name: "deploy", Duration: "forever"})
		wantField(t, err, "duration")
		tp, err := f.s.SaveTemplate(ctx, Template{Name: "deploy web", Duration: "30m", CIIDs: []int64{f.web}, ImplementationPlan: "ci pipeline"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.s.Create(ctx, Input{Type: Standard, Title: "x"})
		wantField(t, err, "template_id")
		c, err := f.s.OpenStandard(ctx, StandardInput{TemplateID: tp.ID, Title: "deploy v1.2", Start: true})
		if err != nil {
			t.Fatal(err)
		}
		if c.Type != Standard || c.State != Implementing || c.Risk != Low || len(c.CIs) != 1 || c.PlannedEnd.Sub(*c.PlannedStart) != 30*time.Minute {
			t.Fatalf("%+v", c)
		}
		c, err = f.s.Transition(ctx, c.ID, Step{Action: Close, Outcome: RolledBack})
		if err != nil || c.State != Closed || c.Outcome != RolledBack {
			t.Fatalf("%v %+v", err, c)
		}
		_, err = f.s.OpenStandard(ctx, StandardInput{TemplateID: 12345})
		wantField(t, err, "template_id")
		// In a freeze a standard change is refused and leaves no draft.
		_, _ = f.s.SaveFreeze(ctx, Freeze{Name: "now", StartsAt: ptr(t0), EndsAt: ptr(t0.Add(time.Hour))})
		n := rows(t, db, "changes")
		_, err = f.s.OpenStandard(ctx, StandardInput{TemplateID: tp.ID})
		wantField(t, err, "planned_start")
		if rows(t, db, "changes") != n {
			t.Fatal("a refused standard change left a row")
		}
	})
}

func TestConflicts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := f.as(f.alice)
		at := t0.Add(48 * time.Hour)
		open := func(start time.Time, cis ...int64) int64 {
			c, err := f.s.Create(ctx, f.normal(start, cis...))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.Transition(ctx, c.ID, Step{Action: Submit}); err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		me := open(at, f.web)
		same := open(at.Add(30*time.Minute), f.web)
		neighbour := open(at, f.dbCI)             // web depends on db: one hop
		twoHops := open(at, f.host)               // two hops from web: beyond depth 1
		later := open(at.Add(2*time.Hour), f.web) // no overlap
		unrelated := open(at, f.other)
		draft, _ := f.s.Create(ctx, f.normal(at, f.web)) // drafts are not planned yet
		_, _, _, _ = twoHops, later, unrelated, draft
		cs, err := f.s.Conflicts(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]ConflictPair{}
		for _, c := range cs {
			got[c.ChangeID] = c.Pairs[0]
		}
		if len(got) != 2 || !got[same].Direct || got[neighbour].Direct || got[neighbour].OurCI != f.web || got[neighbour].TheirCI != f.dbCI {
			t.Fatalf("conflicts %+v", cs)
		}
		// Cancelled changes do not conflict.
		_, _ = f.s.Transition(ctx, same, Step{Action: Cancel})
		if cs, _ = f.s.Conflicts(ctx, me); len(cs) != 1 {
			t.Fatalf("after cancel %+v", cs)
		}
	})
}

func TestMaintenanceWhileImplementing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		sys := f.as(f.alice)
		for _, m := range []int64{7, 8} {
			if _, err := f.cm.LinkObject(sys, f.web, cmdb.LinkMonitor, m); err != nil {
				t.Fatal(err)
			}
		}
		in := f.normal(t0, f.web)
		in.Risk = Low
		c, _ := f.s.Create(sys, in)
		for _, a := range []Action{Submit, Authorize, Start} {
			var err error
			if c, err = f.s.Transition(sys, c.ID, Step{Action: a}); err != nil {
				t.Fatal(err)
			}
		}
		if c.MaintenanceID == nil {
			t.Fatal("no maintenance window recorded")
		}
		w := f.maint.open[*c.MaintenanceID]
		if len(w.MonitorIDs) != 2 || !w.StartsAt.Equal(t0) || !w.EndsAt.After(t0.Add(time.Hour)) {
			t.Fatalf("window %+v", w)
		}
		c, _ = f.s.Transition(sys, c.ID, Step{Action: Close, Outcome: Failed})
		if c.MaintenanceID != nil || len(f.maint.open) != 0 || len(f.maint.deleted) != 1 {
			t.Fatalf("window not removed: %+v %+v", c.MaintenanceID, f.maint)
		}
		// Opting out: no window.
		in.SkipMaintenance = true
		c2, _ := f.s.Create(sys, in)
		for _, a := range []Action{Submit, Authorize, Start} {
			c2, _ = f.s.Transition(sys, c2.ID, Step{Action: a})
		}
		if c2.MaintenanceID != nil || len(f.maint.open) != 0 {
			t.Fatal("opted-out change opened a window")
		}
	})
}

func TestFlagIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := f.as(f.alice)
		in := f.normal(t0, f.dbCI)
		in.Risk = Low
		c, _ := f.s.Create(ctx, in)
		for _, a := range []Action{Submit, Authorize, Start} {
			c, _ = f.s.Transition(ctx, c.ID, Step{Action: a})
		}
		// An incident on web (which depends on db) 30 minutes in.
		got, err := f.s.FlagIncident(ctx, 41, t0.Add(30*time.Minute), []int64{f.web})
		if err != nil || len(got) != 1 || got[0] != c.ID {
			t.Fatalf("flagged %v, %v", got, err)
		}
		if len(f.notes) != 1 || !strings.Contains(f.notes[0], "Possibly caused by change #") {
			t.Fatalf("notes %q", f.notes)
		}
		// Again: nothing more.
		got, _ = f.s.FlagIncident(ctx, 41, t0.Add(30*time.Minute), []int64{f.web})
		if len(got) != 0 || len(f.notes) != 1 {
			t.Fatalf("flagged twice: %v", got)
		}
		// The host's incident: db runs on host, but host does not depend on db.
		if got, _ = f.s.FlagIncident(ctx, 42, t0.Add(30*time.Minute), []int64{f.host}); len(got) != 0 {
			t.Fatalf("host incident flagged %v", got)
		}
		// Closed at t0+1h; an incident 3h later is outside the 2h window.
		*f.clock = t0.Add(time.Hour)
		_, _ = f.s.Transition(ctx, c.ID, Step{Action: Close, Outcome: Successful})
		if got, _ = f.s.FlagIncident(ctx, 43, t0.Add(4*time.Hour), []int64{f.dbCI}); len(got) != 0 {
			t.Fatalf("late incident flagged %v", got)
		}
		if got, _ = f.s.FlagIncident(ctx, 44, t0.Add(2*time.Hour), []int64{f.dbCI}); len(got) != 1 {
			t.Fatalf("incident within the window not flagged %v", got)
		}
		cs, _ := f.s.CausedBy(ctx, 41)
		if len(cs) != 1 || cs[0].ID != c.ID {
			t.Fatalf("caused by %v", cs)
		}
		m, err := f.s.Metrics(ctx, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
		if err != nil || m.Started != 1 || m.CausingIncidents != 1 || m.Closed != 1 || m.SuccessRate != 1 {
			t.Fatalf("metrics %+v %v", m, err)
		}
	})
}

func TestCalendar(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := f.as(f.alice)
	_, _ = f.s.SaveFreeze(ctx, Freeze{Name: "nightly", Cron: "0 1 * * *", Duration: "1h", Timezone: "UTC"})
	c, _ := f.s.Create(ctx, f.normal(t0.Add(2*time.Hour), f.web))
	_, _ = f.s.Transition(ctx, c.ID, Step{Action: Submit})
	es, err := f.s.Calendar(ctx, t0, t0.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var changes, freezes int
	for _, e := range es {
		switch e.Kind {
		case "change":
			changes++
		case "freeze":
			freezes++
		}
	}
	if changes != 1 || freezes != 7 {
		t.Fatalf("calendar: %d changes, %d freezes", changes, freezes)
	}
	_, err = f.s.Calendar(ctx, t0, t0.Add(-time.Hour))
	wantField(t, err, "to")
}

func TestRiskQuestionnaire(t *testing.T) {
	for _, tc := range []struct {
		a    Answers
		want Risk
	}{
		{Answers{}, Low},
		{Answers{Untested: true}, Low},
		{Answers{Production: true}, Medium},
		{Answers{Production: true, Outage: true}, High},
		{Answers{Production: true, Outage: true, NoBackout: true}, Critical},
		{Answers{Production: true, Untested: true, BusinessHours: true}, High},
	} {
		if got := tc.a.Risk(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.a, got, tc.want)
		}
	}
}

func TestTransitionTable(t *testing.T) {
	// Every state but the terminal ones can be cancelled; nothing leaves
	// a terminal state.
	for _, st := range States() {
		for _, typ := range []Type{Standard, Normal, Emergency} {
			_, err := Next(typ, st, Cancel)
			if st.Open() != (err == nil) {
				t.Errorf("%s %s cancel: %v", typ, st, err)
			}
			if !st.Open() && len(Allowed(typ, st)) != 0 {
				t.Errorf("%s %s allows %v", typ, st, Allowed(typ, st))
			}
		}
	}
	if _, err := Next(Standard, Assessment, Authorize); err == nil {
		t.Error("a standard change has no authorization step")
	}
}

func FuzzFreeze(f *testing.F) {
	f.Add("0 0 * * 6", "48h", "Europe/Berlin")
	f.Add("@every 1s", "1m", "")
	f.Add("*/0 * * * *", "-1h", "../../etc/passwd")
	f.Fuzz(func(t *testing.T, cron, dur, tz string) {
		fr := Freeze{Name: "x", Cron: cron, Duration: dur, Timezone: tz}
		if err := fr.validate(); err != nil {
			if _, ok := valid.As(err); !ok {
				t.Fatalf("not a validation error: %v", err)
			}
			return
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if sp := fr.Occurrences(from, from.Add(MaxCalendarSpan)); len(sp) > maxOccurrences {
			t.Fatalf("%d occurrences", len(sp))
		}
	})
}

// TestRacingStepsOneWins: two people start the same change at once; one
// step is applied, the other is refused naming the state, and one
// maintenance window is opened.
func TestRacingStepsOneWins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := f.as(f.alice)
		if _, err := f.cm.LinkObject(ctx, f.web, cmdb.LinkMonitor, 5); err != nil {
			t.Fatal(err)
		}
		in := f.normal(t0, f.web)
		in.Risk = Low
		c, _ := f.s.Create(ctx, in)
		_, _ = f.s.Transition(ctx, c.ID, Step{Action: Submit})
		_, _ = f.s.Transition(ctx, c.ID, Step{Action: Authorize})
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				_, err := f.s.Transition(ctx, c.ID, Step{Action: Start})
				errs <- err
			}()
		}
		ok := 0
		for range 4 {
			if err := <-errs; err == nil {
				ok++
			} else {
				wantField(t, err, "state")
			}
		}
		if ok != 1 {
			t.Fatalf("%d starts applied", ok)
		}
		f.maint.mu.Lock()
		defer f.maint.mu.Unlock()
		if len(f.maint.open) != 1 {
			t.Fatalf("%d maintenance windows", len(f.maint.open))
		}
		var starts int
		_ = db.R.QueryRow(`SELECT COUNT(*) FROM change_events WHERE kind = 'start'`).Scan(&starts)
		if starts != 1 {
			t.Fatalf("%d start events", starts)
		}
	})
}
