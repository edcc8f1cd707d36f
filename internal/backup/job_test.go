package backup

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func dailyJob() JobInput {
	return JobInput{Name: "files nightly", Tool: "restic", Period: "24h", Grace: "1h", MaxDuration: "2h", MinBytes: 1000, RPO: "26h"}
}

// TestJobLifecycle walks one job through every condition: a good run, a
// late and then a missed schedule with the RPO breached, a failure, a run
// too small, one too long, and back to good, checking that each alert is
// raised once and cleared when the next good run arrives.
func TestJobLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j, key := f.job(dailyJob())
		if !strings.HasPrefix(key, "bk_") || len(key) < 30 {
			t.Fatalf("key %q", key)
		}
		f.evaluate()
		f.wantState(j.ID, StateWaiting)
		f.wantAlerts("")

		f.checkIn(key, KindStart, Report{})
		f.wantState(j.ID, StateRunning)
		f.clk.add(30 * time.Minute)
		r := f.checkIn(key, KindSuccess, Report{Bytes: ptr(int64(5000)), Files: ptr(int64(12)), SnapshotID: "abc123"})
		if r.DurationMS == nil || *r.DurationMS != 30*60*1000 || r.SnapshotID != "abc123" || r.StartedAt == nil {
			t.Fatalf("run %+v", r)
		}
		f.wantState(j.ID, StateOK)

		// Due 24h after the start, plus 1h grace: at 24h59m still fine.
		f.clk.add(24*time.Hour + 29*time.Minute)
		f.evaluate()
		f.wantAlerts("")
		f.clk.add(2 * time.Minute)
		f.evaluate()
		f.wantAlerts("late")
		f.wantState(j.ID, StateLate)
		// RPO 26h after the good finish.
		f.clk.add(60 * time.Minute)
		f.evaluate()
		f.wantAlerts("late")
		f.clk.add(30 * time.Minute)
		f.evaluate()
		f.wantAlerts("late,rpo_breached")
		// A second slot passes: missed.
		f.clk.add(24 * time.Hour)
		f.evaluate()
		f.wantAlerts("missed,rpo_breached")
		f.wantState(j.ID, StateMissed)

		// A failure clears missed (the job ran) but is an alert itself.
		f.s.RecordCheckIn(context.Background(), key, CheckIn{Kind: KindFail, ExitCode: ptr(3)})
		f.wantAlerts("failed,rpo_breached")
		got := f.wantState(j.ID, StateFailed)
		if !strings.Contains(got.StateDetail, "exit code 3") {
			t.Fatalf("detail %q", got.StateDetail)
		}
		// A good run without size clears both.
		f.checkIn(key, KindSuccess, Report{Duration: ptr(60.0)})
		f.wantAlerts("")
		f.wantState(j.ID, StateOK)

		// Too small, then fixed.
		f.checkIn(key, KindSuccess, Report{Bytes: ptr(int64(10))})
		f.wantAlerts("too_small")
		f.checkIn(key, KindSuccess, Report{Bytes: ptr(int64(10_000))})
		f.wantAlerts("")

		// A run still going after the maximum duration is too long at once.
		f.checkIn(key, KindStart, Report{})
		f.clk.add(2*time.Hour + time.Minute)
		f.evaluate()
		f.wantAlerts("too_long")
		f.checkIn(key, KindSuccess, Report{})
		f.wantAlerts("too_long") // it finished, but took too long
		f.checkIn(key, KindSuccess, Report{Duration: ptr(600.0)})
		f.wantAlerts("")

		runs, err := f.s.Runs(context.Background(), j.ID, 100)
		if err != nil || len(runs) != 7 {
			t.Fatalf("runs %d %v", len(runs), err)
		}
		if len(f.al.raised) != 6 {
			t.Fatalf("raised %v, want each condition once", f.al.raised)
		}
	})
}

// TestEvaluatorRestartSafe: a new service on the same database neither
// raises an open alert again nor forgets to clear it.
func TestEvaluatorRestartSafe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j, key := f.job(dailyJob())
		f.clk.add(27 * time.Hour)
		f.evaluate()
		f.wantAlerts("late,rpo_breached")
		n := len(f.al.raised)

		s2 := New(db, Options{Alerts: f.al, Now: f.clk.now})
		if err := s2.Evaluate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(f.al.raised) != n {
			t.Fatalf("restart raised again: %v", f.al.raised)
		}
		if _, err := s2.RecordCheckIn(context.Background(), key, CheckIn{Kind: KindSuccess}); err != nil {
			t.Fatal(err)
		}
		f.wantAlerts("")
		open, err := s2.OpenAlerts(context.Background())
		if err != nil || len(open) != 0 {
			t.Fatalf("open %v %v", open, err)
		}
		_ = j
	})
}

// TestFailedRaiseRetried: when the pipeline refuses, the alert is not
// marked open, so the next evaluation raises it.
func TestFailedRaiseRetried(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.job(dailyJob())
	f.clk.add(27 * time.Hour)
	f.al.fail = errors.New("pipeline down")
	if err := f.s.Evaluate(context.Background()); err == nil {
		t.Fatal("want the raise error reported")
	}
	f.al.fail = nil
	f.evaluate()
	f.wantAlerts("late,rpo_breached")
}

// TestCronInZone: a cron schedule is read in its time zone.
func TestCronInZone(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	// 12:00 UTC on 10 March is 13:00 in Berlin; the 02:00 Berlin run is
	// due at 01:00 UTC on 11 March.
	in := dailyJob()
	in.Period, in.Cron, in.Timezone, in.Grace, in.RPO = "", "0 2 * * *", "Europe/Berlin", "30m", "48h"
	j, _ := f.job(in)
	f.clk.t = time.Date(2026, 3, 11, 1, 29, 0, 0, time.UTC)
	f.evaluate()
	f.wantState(j.ID, StateWaiting)
	f.clk.t = time.Date(2026, 3, 11, 1, 31, 0, 0, time.UTC)
	f.evaluate()
	f.wantState(j.ID, StateLate)
}

func TestUnknownKeysAndRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j, key := f.job(dailyJob())
		for _, k := range []string{"", "bk_nothere", strings.Repeat("x", 5000), key + "x", "' OR 1=1 --"} {
			if _, err := f.s.RecordCheckIn(context.Background(), k, CheckIn{Kind: KindSuccess}); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("key %.20q: %v", k, err)
			}
		}
		if n := f.s.UnknownKeyCount(); n != 5 {
			t.Fatalf("unknown counted %v", n)
		}
		jobs, _ := f.s.Jobs(context.Background())
		if len(jobs) != 1 {
			t.Fatalf("jobs %d: an unknown key must never create a job", len(jobs))
		}
		nk, err := f.s.RotateKey(opCtx(), j.ID)
		if err != nil || nk == key {
			t.Fatal(err)
		}
		if _, err := f.s.RecordCheckIn(context.Background(), key, CheckIn{Kind: KindSuccess}); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("old key still works: %v", err)
		}
		f.checkIn(nk, KindSuccess, Report{})
		var stored string
		if err := db.R.QueryRow(`SELECT key_hash FROM backup_jobs WHERE id = $1`, j.ID).Scan(&stored); err != nil || strings.Contains(stored, nk) || stored != hashKey(nk) {
			t.Fatalf("the key must be stored hashed: %q", stored)
		}
	})
}

func TestJobValidation(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	for _, tc := range []struct {
		mod   func(*JobInput)
		field string
	}{
		{func(in *JobInput) { in.Name = "" }, "name"},
		{func(in *JobInput) { in.Name = strings.Repeat("n", 201) }, "name"},
		{func(in *JobInput) { in.Name = "a\x00b" }, "name"},
		{func(in *JobInput) { in.Period = "" }, "period"},
		{func(in *JobInput) { in.Period = "banana" }, "period"},
		{func(in *JobInput) { in.Period = "1s" }, "period"},
		{func(in *JobInput) { in.Cron = "0 3 * * *" }, "cron"},
		{func(in *JobInput) { in.Period, in.Cron = "", "61 * * * *" }, "cron"},
		{func(in *JobInput) { in.Period, in.Cron, in.Timezone = "", "0 3 * * *", "Mars/Olympus" }, "timezone"},
		{func(in *JobInput) { in.Timezone = "UTC" }, "timezone"},
		{func(in *JobInput) { in.RPO = "" }, "rpo"},
		{func(in *JobInput) { in.RPO = "-5h" }, "rpo"},
		{func(in *JobInput) { in.Grace = "9999h" }, "grace"},
		{func(in *JobInput) { in.MaxDuration = "0s" }, "max_duration"},
		{func(in *JobInput) { in.MinBytes = -1 }, "min_bytes"},
		{func(in *JobInput) { in.RestoreTestMaxAgeDays = -1 }, "restore_test_max_age_days"},
		{func(in *JobInput) { in.CIIDs = []int64{424242} }, "protected_ci_ids"},
		{func(in *JobInput) { in.Tool = strings.Repeat("t", 51) }, "tool"},
	} {
		in := dailyJob()
		tc.mod(&in)
		_, _, err := f.s.CreateJob(opCtx(), in)
		assertField(t, err, tc.field)
	}
	f.job(dailyJob())
	_, _, err := f.s.CreateJob(opCtx(), dailyJob())
	assertField(t, err, "name")
}

func TestReportParsing(t *testing.T) {
	for _, tc := range []struct {
		name, body, field string
	}{
		{"empty", "", ""},
		{"whitespace", "  \n", ""},
		{"full", `{"bytes": 12, "files": 3, "duration": 1.5, "snapshot_id": "a1", "log": "ok"}`, ""},
		{"plain text is a log", "restic: snapshot saved", ""},
		{"negative bytes", `{"bytes": -1}`, "bytes"},
		{"negative files", `{"files": -1}`, "files"},
		{"string bytes", `{"bytes": "lots"}`, "bytes"},
		{"float bytes", `{"bytes": 1.5}`, "bytes"},
		{"huge bytes", `{"bytes": 1e40}`, "bytes"},
		{"negative duration", `{"duration": -3}`, "duration"},
		{"long duration", `{"duration": 1e12}`, "duration"},
		{"unknown field", `{"bites": 3}`, "bites"},
		{"broken json", `{"bytes": `, "body"},
		{"two objects", `{} {}`, "body"},
		{"snapshot newline", `{"snapshot_id": "a\nb"}`, "snapshot_id"},
		{"snapshot long", `{"snapshot_id": "` + strings.Repeat("s", 201) + `"}`, "snapshot_id"},
		{"oversize", `{"log": "` + strings.Repeat("l", MaxBody) + `"}`, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseReport([]byte(tc.body))
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			assertField(t, err, tc.field)
		})
	}
	r, err := ParseReport([]byte(`{"log": "` + strings.Repeat("a", MaxLogTail) + `END"}`))
	if err != nil || len(r.Log) != MaxLogTail || !strings.HasSuffix(r.Log, "END") {
		t.Fatalf("log tail: %d %v", len(r.Log), err)
	}
	r, _ = ParseReport([]byte("\xff\xfe binary \x00 junk"))
	if !strings.Contains(r.Log, "binary") {
		t.Fatalf("text log %q", r.Log)
	}
}

func FuzzParseReport(f *testing.F) {
	for _, s := range []string{"", "{}", `{"bytes": 1, "snapshot_id": "x"}`, "text", `{"log": "\u0000"}`, `{"duration": 1e308}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReport(b)
		if err != nil {
			return
		}
		if len(r.Log) > MaxLogTail || (r.Bytes != nil && *r.Bytes < 0) || len(r.SnapshotID) > maxSnap {
			t.Fatalf("accepted out-of-range report %+v", r)
		}
	})
}

func TestParseAction(t *testing.T) {
	for in, want := range map[string]Kind{"start": KindStart, "success": KindSuccess, "fail": KindFail, "0": KindSuccess, "1": KindFail, "255": KindFail} {
		if k, _, err := ParseAction(in); err != nil || k != want {
			t.Errorf("%s: %s %v", in, k, err)
		}
	}
	for _, in := range []string{"256", "-1", "1e3", "x", "0x1", "start2", "00000000001"} {
		if _, _, err := ParseAction(in); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

// TestProtectedCIsAndCoverage: a CI of a type marked "should be backed up"
// is listed until a job protects it; deleting the CI drops it from jobs.
func TestProtectedCIsAndCoverage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.cmdb()
		ctx := opCtx()
		db1, err := c.Create(ctx, cmdb.CIInput{Type: "database", Name: "orders-db"})
		if err != nil {
			t.Fatal(err)
		}
		db2, _ := c.Create(ctx, cmdb.CIInput{Type: "database", Name: "users-db"})
		if _, err := c.Create(ctx, cmdb.CIInput{Type: "host", Name: "web1"}); err != nil {
			t.Fatal(err)
		}
		if un, _ := f.s.Uncovered(ctx, 0); len(un) != 0 {
			t.Fatalf("no rule yet, uncovered %v", un)
		}
		dbType, _ := c.TypeByKey(ctx, "database")
		if err := f.s.SetTypeRequired(ctx, dbType.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetTypeRequired(ctx, 999999, true); err == nil {
			t.Fatal("unknown type accepted")
		}
		un, _ := f.s.Uncovered(ctx, 0)
		if len(un) != 2 {
			t.Fatalf("uncovered %v", un)
		}
		in := dailyJob()
		in.CIIDs = []int64{db1.ID, db1.ID}
		j, _ := f.job(in)
		if len(j.CIs) != 1 || j.CIs[0].Name != "orders-db" || j.CIs[0].Type != "database" {
			t.Fatalf("protected %+v", j.CIs)
		}
		un, _ = f.s.Uncovered(ctx, 0)
		if len(un) != 1 || un[0].ID != db2.ID {
			t.Fatalf("uncovered %v", un)
		}
		rules, _ := f.s.TypeRules(ctx)
		marked := 0
		for _, r := range rules {
			if r.Required {
				marked++
			}
		}
		if marked != 1 {
			t.Fatalf("rules %+v", rules)
		}
		if err := c.Delete(ctx, db1.ID); err != nil {
			t.Fatal(err)
		}
		j, _ = f.s.Job(ctx, j.ID)
		if len(j.CIs) != 0 {
			t.Fatalf("deleted CI still protected: %+v", j.CIs)
		}
	})
}

func TestRestoreTestPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		in := dailyJob()
		in.RestoreTestMaxAgeDays = 30
		j, key := f.job(in)
		ctx := opCtx()
		f.checkIn(key, KindSuccess, Report{Bytes: ptr(int64(5000))})
		if _, err := f.s.AddRestoreTest(ctx, j.ID, RestoreTestInput{Result: TestPassed, DataChecked: "orders table row count", Duration: "42m"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 31; i++ {
			f.clk.add(24 * time.Hour)
			f.checkIn(key, KindSuccess, Report{Bytes: ptr(int64(5000))})
		}
		f.wantAlerts("restore_test_overdue")
		f.wantState(j.ID, StateStale)
		// A failed test does not reset the clock; a passed one does.
		if _, err := f.s.AddRestoreTest(ctx, j.ID, RestoreTestInput{Result: TestFailed, DataChecked: "x", Duration: "5m"}); err != nil {
			t.Fatal(err)
		}
		f.wantAlerts("restore_test_overdue")
		if _, err := f.s.AddRestoreTest(ctx, j.ID, RestoreTestInput{Result: TestPassed, DataChecked: "x", Duration: "1h"}); err != nil {
			t.Fatal(err)
		}
		f.wantAlerts("")
		ts, err := f.s.RestoreTests(ctx, j.ID)
		if err != nil || len(ts) != 3 || ts[0].Duration != Duration(time.Hour) || ts[0].RecordedBy != "alice" {
			t.Fatalf("tests %+v %v", ts, err)
		}
		for _, bad := range []struct {
			in    RestoreTestInput
			field string
		}{
			{RestoreTestInput{Result: "ok", DataChecked: "x", Duration: "1m"}, "result"},
			{RestoreTestInput{Result: TestPassed, DataChecked: "", Duration: "1m"}, "data_checked"},
			{RestoreTestInput{Result: TestPassed, DataChecked: "x", Duration: ""}, "duration"},
			{RestoreTestInput{Result: TestPassed, DataChecked: "x", Duration: "1m", TestedAt: f.clk.now().Add(48 * time.Hour)}, "tested_at"},
		} {
			_, err := f.s.AddRestoreTest(ctx, j.ID, bad.in)
			assertField(t, err, bad.field)
		}
		if _, err := f.s.AddRestoreTest(ctx, 999999, RestoreTestInput{Result: TestPassed, DataChecked: "x", Duration: "1m"}); !errors.Is(err, store.ErrReference) {
			t.Fatalf("unknown job: %v", err)
		}
	})
}

func TestDRPlans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.cmdb()
		ctx := opCtx()
		svc, err := c.Create(ctx, cmdb.CIInput{Type: "business_service", Name: "Shop"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.s.SavePlan(ctx, 0, PlanInput{Name: "Shop DR", RTO: "4h", RPO: "1h", ExerciseIntervalDays: 90,
			Runbook: "# Fail over\n\n1. Promote the replica\n<script>alert(1)</script>\n[x](javascript:alert(1))", Contacts: "Ops: +49 30 1234",
			CIIDs: []int64{svc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.CIs) != 1 || p.Overdue || p.NextExerciseDue == nil {
			t.Fatalf("plan %+v", p)
		}
		h, err := f.s.RunbookHTML(p)
		if err != nil || !strings.Contains(string(h), "<h1>Fail over</h1>") || strings.Contains(string(h), "<script") || strings.Contains(string(h), "javascript:") {
			t.Fatalf("runbook %s %v", h, err)
		}
		f.clk.add(91 * 24 * time.Hour)
		f.evaluate()
		f.wantAlerts("overdue")
		if _, err := f.s.AddExercise(ctx, p.ID, ExerciseInput{Outcome: TestPartial, RTO: "5h", Notes: "replica lagged"}); err != nil {
			t.Fatal(err)
		}
		f.wantAlerts("")
		p, _ = f.s.Plan(ctx, p.ID)
		if p.LastExercise == nil || p.LastExercise.Outcome != TestPartial || p.LastExercise.RTO != Duration(5*time.Hour) || p.Overdue {
			t.Fatalf("after exercise %+v", p)
		}
		// An explicit due date in the past is overdue at once.
		in := PlanInput{Name: "Shop DR", RTO: "4h", RPO: "1h", NextExerciseDue: ptr(f.clk.now().Add(-time.Hour))}
		if _, err := f.s.SavePlan(ctx, p.ID, in); err != nil {
			t.Fatal(err)
		}
		f.evaluate()
		f.wantAlerts("overdue")
		if err := f.s.DeletePlan(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		f.wantAlerts("")
		for _, bad := range []struct {
			in    PlanInput
			field string
		}{
			{PlanInput{RTO: "1h", RPO: "1h"}, "name"},
			{PlanInput{Name: "x", RPO: "1h"}, "rto"},
			{PlanInput{Name: "x", RTO: "1h", RPO: "soon"}, "rpo"},
			{PlanInput{Name: "x", RTO: "1h", RPO: "1h", ExerciseIntervalDays: -2}, "exercise_interval_days"},
			{PlanInput{Name: "x", RTO: "1h", RPO: "1h", CIIDs: []int64{777777}}, "service_ci_ids"},
		} {
			_, err := f.s.SavePlan(ctx, 0, bad.in)
			assertField(t, err, bad.field)
		}
	})
}

func TestDeleteJobClearsAlerts(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	j, _ := f.job(dailyJob())
	f.clk.add(30 * time.Hour)
	f.evaluate()
	f.wantAlerts("late,rpo_breached")
	if err := f.s.DeleteJob(opCtx(), j.ID); err != nil {
		t.Fatal(err)
	}
	f.wantAlerts("")
	if _, err := f.s.Job(context.Background(), j.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted job: %v", err)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 30 * time.Second: "30s", time.Hour + time.Second: "1h0m1s", 10 * time.Minute: "10m", 0: ""} {
		if got := shortDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

func TestDashboard(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	j, key := f.job(dailyJob())
	ctx := context.Background()
	sums, err := f.s.Dashboard(ctx, 30)
	if err != nil || len(sums) != 1 || !sums[0].WithinRPO || sums[0].LastGood != nil {
		t.Fatalf("new job: %+v %v", sums, err)
	}
	for i := 0; i < 3; i++ {
		f.checkIn(key, KindSuccess, Report{Bytes: ptr(int64(5000 + i))})
		f.clk.add(time.Hour)
	}
	f.checkIn(key, KindFail, Report{})
	sums, _ = f.s.Dashboard(ctx, 2)
	s := sums[0]
	if !s.WithinRPO || s.Age != Duration(time.Hour) || len(s.Recent) != 2 || s.Recent[1].Status != RunFail || s.State != StateFailed {
		t.Fatalf("summary %+v", s)
	}
	f.clk.add(26 * time.Hour)
	sums, _ = f.s.Dashboard(ctx, 0)
	if sums[0].WithinRPO || sums[0].ID != j.ID {
		t.Fatalf("after the RPO: %+v", sums[0])
	}
}
