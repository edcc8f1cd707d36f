package incident

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func TestDedupAndTriggerAfterResolve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := &pager{}
		s := newTestService(t, db, Options{Paging: p})
		_, in := fixture(t, s)
		ctx := context.Background()
		for i := range 5 {
			if err := s.Ingest(ctx, in, "127.0.0.1", []Event{trigger("disk", fmt.Sprintf("disk full %d", i), SeverityWarning, nil)}); err != nil {
				t.Fatal(err)
			}
		}
		as, _, err := s.ListAlerts(ctx, AlertFilter{})
		if err != nil || len(as) != 1 || as[0].Count != 5 || as[0].Summary != "disk full 4" || as[0].Status != StatusFiring {
			t.Fatalf("after 5 triggers: %+v %v", as, err)
		}
		if starts, _ := p.counts(); starts != 1 {
			t.Fatalf("paging starts %d, want 1", starts)
		}
		if err := s.Ingest(ctx, in, "", []Event{{Action: ActionResolve, DedupKey: "disk"}}); err != nil {
			t.Fatal(err)
		}
		inc, err := s.Get(ctx, *as[0].IncidentID)
		if err != nil || inc.Status != StatusResolved || inc.OpenAlerts != 0 {
			t.Fatalf("incident after its only alert resolved: %+v %v", inc, err)
		}
		if _, stops := p.counts(); stops != 1 {
			t.Fatalf("paging stops %d, want 1", stops)
		}
		// A trigger after resolve opens a new alert (and a new incident).
		if err := s.Ingest(ctx, in, "", []Event{trigger("disk", "disk full again", SeverityCritical, nil)}); err != nil {
			t.Fatal(err)
		}
		as, _, _ = s.ListAlerts(ctx, AlertFilter{})
		if len(as) != 2 || as[0].Status != StatusFiring || *as[0].IncidentID == *as[1].IncidentID {
			t.Fatalf("trigger after resolve: %+v", as)
		}
		inc2, _ := s.Get(ctx, *as[0].IncidentID)
		if inc2.Severity != "SEV1" || inc2.Priority != "P1" || inc2.Status != StatusTriggered {
			t.Fatalf("new incident: %+v", inc2)
		}
		// Acknowledge and resolve for unknown keys change nothing (as PagerDuty).
		if err := s.Ingest(ctx, in, "", []Event{{Action: ActionResolve, DedupKey: "nope"}, {Action: ActionAcknowledge, DedupKey: "nope"}}); err != nil {
			t.Fatal(err)
		}
		tl, err := s.Timeline(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, e.Kind)
		}
		if got := strings.Join(kinds, ","); got != "triggered,alert_joined,alert_resolved,resolved" {
			t.Fatalf("timeline kinds %s", got)
		}
	})
}

func TestStormIsOneIncidentPerGroup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := &pager{}
		s := newTestService(t, db, Options{Paging: p})
		_, in := fixture(t, s, "cluster")
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 500)
		for i := range 500 {
			wg.Go(func() {
				cluster := "eu"
				if i%10 == 0 {
					cluster = "us"
				}
				errs <- s.Ingest(ctx, in, "", []Event{trigger(fmt.Sprintf("host-%d", i), "node down", SeverityError, map[string]string{"cluster": cluster})})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		incs, _, err := s.List(ctx, Filter{Limit: 100})
		if err != nil || len(incs) != 2 {
			t.Fatalf("500 alerts in 2 clusters: %d incidents, %v", len(incs), err)
		}
		total := incs[0].AlertCount + incs[1].AlertCount
		if total != 500 {
			t.Fatalf("alerts linked %d", total)
		}
		if starts, _ := p.counts(); starts != 2 {
			t.Fatalf("pages started %d, want 2", starts)
		}
		c, err := s.Count(ctx, Filter{})
		if err != nil || c.Triggered != 2 {
			t.Fatalf("counts %+v %v", c, err)
		}
	})
}

func TestGroupWindowAndAutoResolveOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s := newTestService(t, db, Options{Now: clock})
		off := false
		ts, err := s.CreateService(adminCtx(), ServiceInput{Name: "API", GroupWindow: Duration(10 * time.Minute), AutoResolve: &off})
		if err != nil {
			t.Fatal(err)
		}
		in, _, err := s.CreateIntegration(adminCtx(), IntegrationInput{ServiceID: ts.ID, Name: "am", Kind: KindAlertmanager})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		must := func(evs ...Event) {
			t.Helper()
			if err := s.Ingest(ctx, in, "", evs); err != nil {
				t.Fatal(err)
			}
		}
		must(trigger("a", "a", SeverityWarning, nil))
		mu.Lock()
		now = now.Add(5 * time.Minute)
		mu.Unlock()
		must(trigger("b", "b", SeverityCritical, nil)) // within the window: joins, raises severity
		mu.Lock()
		now = now.Add(11 * time.Minute)
		mu.Unlock()
		must(trigger("c", "c", SeverityWarning, nil)) // past the window: a new incident
		incs, _, _ := s.List(ctx, Filter{})
		if len(incs) != 2 || incs[1].AlertCount != 2 || incs[1].Severity != "SEV1" || incs[0].AlertCount != 1 {
			t.Fatalf("window grouping: %+v", incs)
		}
		must(Event{Action: ActionResolve, DedupKey: "a"}, Event{Action: ActionResolve, DedupKey: "b"})
		inc, _ := s.Get(ctx, incs[1].ID)
		if inc.Status != StatusTriggered || inc.OpenAlerts != 0 {
			t.Fatalf("auto-resolve off: %+v", inc)
		}
	})
}

func TestLifecycleMergeAndTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := &pager{}
		var evMu sync.Mutex
		var events []string
		s := newTestService(t, db, Options{Paging: p, OnEvent: func(_ context.Context, e LifecycleEvent) {
			evMu.Lock()
			defer evMu.Unlock()
			events = append(events, fmt.Sprintf("%s#%d", e.Kind, e.IncidentID))
		}})
		ts, in := fixture(t, s, "host")
		ctx := adminCtx()
		if err := s.Ingest(ctx, in, "", []Event{trigger("x", "x", SeverityError, map[string]string{"host": "a"}), trigger("y", "y", SeverityError, map[string]string{"host": "b"})}); err != nil {
			t.Fatal(err)
		}
		incs, _, _ := s.List(ctx, Filter{})
		if len(incs) != 2 {
			t.Fatalf("incidents %d", len(incs))
		}
		a, b := incs[1].ID, incs[0].ID
		if err := s.Acknowledge(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.Acknowledge(ctx, a); !errors.Is(err, ErrTransition) {
			t.Fatalf("second ack: %v", err)
		}
		if err := s.Reopen(ctx, a); !errors.Is(err, ErrTransition) {
			t.Fatalf("reopen open incident: %v", err)
		}
		if err := s.AddNote(ctx, a, "looking at it"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddNote(ctx, a, ""); err == nil {
			t.Fatal("empty note accepted")
		}
		if err := s.Assign(ctx, a, 424242); err == nil {
			t.Fatal("assign to nobody accepted")
		}
		if err := s.Merge(ctx, b, a); err != nil {
			t.Fatal(err)
		}
		ib, _ := s.Get(ctx, b)
		ia, _ := s.Get(ctx, a)
		if ib.Status != StatusResolved || ib.MergedInto == nil || *ib.MergedInto != a || ia.AlertCount != 2 {
			t.Fatalf("after merge: b=%+v a=%+v", ib, ia)
		}
		if err := s.Reopen(ctx, b); !errors.Is(err, ErrTransition) {
			t.Fatalf("reopen merged: %v", err)
		}
		if err := s.Merge(ctx, a, b); err == nil {
			t.Fatal("merge into a merged incident accepted")
		}
		if err := s.Resolve(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.Reopen(ctx, a); err != nil {
			t.Fatal(err)
		}
		starts, stops := p.counts()
		if starts != 3 || stops != 3 { // 2 triggers + reopen; ack, merge, resolve
			t.Fatalf("paging starts %d stops %d", starts, stops)
		}
		tl, _ := s.Timeline(ctx, a)
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, e.Kind)
		}
		want := "triggered,alert_joined,acknowledged,note,merged,resolved,reopened"
		if got := strings.Join(kinds, ","); got != want {
			t.Fatalf("timeline %s, want %s", got, want)
		}
		if tl[3].Actor != "alice" || tl[3].Text != "looking at it" {
			t.Fatalf("note entry %+v", tl[3])
		}
		// Another package's entry, in its own transaction.
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			return s.AddTimeline(ctx, tx, a, TimelineEntry{Kind: "notified", Text: "email to alice"})
		}); err != nil {
			t.Fatal(err)
		}
		inc, err := s.CreateIncident(ctx, NewIncident{Title: "Manual", ServiceID: &ts.ID})
		if err != nil || inc.Status != StatusTriggered || inc.Severity != "SEV3" || inc.Priority != "P3" {
			t.Fatalf("manual incident %+v %v", inc, err)
		}
		if _, err := s.CreateIncident(ctx, NewIncident{Title: "x", Severity: "SEV9"}); !isField(err, "severity") {
			t.Fatalf("bad severity: %v", err)
		}
		evMu.Lock()
		defer evMu.Unlock()
		if len(events) < 6 || events[0] != fmt.Sprintf("triggered#%d", a) {
			t.Fatalf("events %v", events)
		}
	})
}

func isField(err error, field string) bool {
	ve, ok := valid.As(err)
	return ok && ve.Field == field
}

func TestActionLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s := newTestService(t, db, Options{Now: clock, ActionLinkTTL: time.Hour})
		inc, err := s.CreateIncident(adminCtx(), NewIncident{Title: "db slow"})
		if err != nil {
			t.Fatal(err)
		}
		ack, res := s.ActionLinks(inc.ID, "https://ops.example/")
		if !strings.HasPrefix(ack, "https://ops.example/incident-action/") {
			t.Fatalf("link %s", ack)
		}
		ackTok := ack[strings.LastIndex(ack, "/")+1:]
		resTok := res[strings.LastIndex(res, "/")+1:]
		// Tampering with any part fails.
		for _, bad := range []string{ackTok + "x", strings.Replace(ackTok, ".ack.", ".resolve.", 1), "1.ack.9999999999.AAAA", "", "a.b.c.d"} {
			if _, err := s.VerifyLink(bad); !errors.Is(err, ErrBadLink) {
				t.Fatalf("tampered %q: %v", bad, err)
			}
		}
		if _, err := s.FollowLink(context.Background(), ackTok, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(context.Background(), inc.ID); got.Status != StatusAcknowledged {
			t.Fatalf("after ack link: %s", got.Status)
		}
		// The same server secret after a restart: links survive it.
		s2, err := Open(context.Background(), db, Options{Now: clock, ActionLinkTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s2.VerifyLink(resTok); err != nil {
			t.Fatalf("link after restart: %v", err)
		}
		mu.Lock()
		now = now.Add(2 * time.Hour)
		mu.Unlock()
		if _, err := s.FollowLink(context.Background(), resTok, ""); !errors.Is(err, ErrBadLink) {
			t.Fatalf("expired link: %v", err)
		}
	})
}

func TestFromMonitorAndReconcile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db, Options{})
		ctx := context.Background()
		m := monitor.Monitor{ID: 9, Name: "web", Type: "http", Tags: []string{"team:web"}}
		if err := s.FromMonitor(ctx, monitor.Change{Monitor: m, From: monitor.StateUp, To: monitor.StateDown, Message: "timeout"}); err != nil {
			t.Fatal(err)
		}
		as, _, _ := s.ListAlerts(ctx, AlertFilter{Status: "open"})
		if len(as) != 1 || as[0].DedupKey != "monitor:9" || as[0].Severity != SeverityCritical || as[0].Labels["team"] != "web" {
			t.Fatalf("monitor alert %+v", as)
		}
		// A crash lost the "up" hand-off: the reconcile resolves the alert;
		// another monitor is down without an alert: it gets one.
		m2 := monitor.Monitor{ID: 10, Name: "db", Type: "tcp"}
		n, err := s.ReconcileMonitors(ctx, []monitor.WithStatus{
			{Monitor: m, Status: monitor.Status{State: monitor.StateUp}},
			{Monitor: m2, Status: monitor.Status{State: monitor.StateDown, LastMessage: "refused"}},
		})
		if err != nil || n != 2 {
			t.Fatalf("reconcile: %d %v", n, err)
		}
		as, _, _ = s.ListAlerts(ctx, AlertFilter{Status: "open"})
		if len(as) != 1 || as[0].DedupKey != "monitor:10" {
			t.Fatalf("after reconcile %+v", as)
		}
		// Running it again changes nothing.
		if n, err := s.ReconcileMonitors(ctx, []monitor.WithStatus{{Monitor: m2, Status: monitor.Status{State: monitor.StateDown}}}); err != nil || n != 0 {
			t.Fatalf("second reconcile %d %v", n, err)
		}
		if as, _, _ := s.ListAlerts(ctx, AlertFilter{Status: "open"}); as[0].Count != 1 {
			t.Fatalf("reconcile counted again: %+v", as[0])
		}
		if _, err := s.ServiceByName(ctx, MonitorService); err != nil {
			t.Fatal(err)
		}
	})
}

func TestIntegrationKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db, Options{})
		ctx := adminCtx()
		ts, err := s.CreateService(ctx, ServiceInput{Name: "S"})
		if err != nil {
			t.Fatal(err)
		}
		in, key, err := s.CreateIntegration(ctx, IntegrationInput{ServiceID: ts.ID, Name: "pd", Kind: KindPagerDuty})
		if err != nil || len(key) != 32 || in.KeyHint != key[:4] {
			t.Fatalf("create: %+v %q %v", in, key, err)
		}
		var stored string
		if err := db.R.QueryRowContext(ctx, `SELECT key_hash FROM integrations WHERE id = $1`, in.ID).Scan(&stored); err != nil || stored == key || strings.Contains(stored, key) {
			t.Fatalf("key stored in the clear: %q", stored)
		}
		if got, err := s.Authenticate(ctx, KindPagerDuty, key); err != nil || got.ID != in.ID {
			t.Fatalf("authenticate: %+v %v", got, err)
		}
		if _, err := s.Authenticate(ctx, KindAlertmanager, key); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("key on another kind's endpoint: %v", err)
		}
		_, key2, err := s.RotateKey(ctx, in.ID)
		if err != nil || key2 == key {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, KindPagerDuty, key); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("old key after rotation: %v", err)
		}
		if _, err := s.Authenticate(ctx, KindPagerDuty, key2); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []IntegrationInput{
			{ServiceID: ts.ID, Name: "", Kind: KindPagerDuty},
			{ServiceID: ts.ID, Name: "x", Kind: "nagios"},
			{ServiceID: 999, Name: "x", Kind: KindPagerDuty},
			{ServiceID: ts.ID, Name: "x", Kind: KindPagerDuty, Mapping: &Mapping{}},
			{ServiceID: ts.ID, Name: "x", Kind: KindGeneric, Mapping: &Mapping{Summary: "a..b"}},
		} {
			if _, _, err := s.CreateIntegration(ctx, bad); err == nil {
				t.Fatalf("accepted %+v", bad)
			} else if _, ok := valid.As(err); !ok {
				t.Fatalf("%+v: not a validation error: %v", bad, err)
			}
		}
		if _, err := s.CreateService(ctx, ServiceInput{Name: "S"}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate service: %v", err)
		}
		if _, err := s.CreateService(ctx, ServiceInput{Name: "T", GroupBy: []string{"bad key!"}}); !isField(err, "group_by") {
			t.Fatalf("bad group_by: %v", err)
		}
		if err := s.Ingest(ctx, in, "", []Event{trigger("k", "k", SeverityInfo, nil)}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteService(ctx, ts.ID); !errors.Is(err, store.ErrReference) {
			t.Fatalf("delete service with alerts: %v", err)
		}
	})
}

func TestRefusedKeyIsLoggedWithoutTheKeyAndCounted(t *testing.T) {
	var buf bytes.Buffer
	s, err := Open(context.Background(), storetest.SQLite(t), Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	key := "deadbeefcafebabe0123456789abcdef"
	s.RefuseKey(context.Background(), KindPagerDuty, key, "10.0.0.9")
	out := buf.String()
	if strings.Contains(out, key) || !strings.Contains(out, "key_hint=dead") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "10.0.0.9") {
		t.Fatalf("log line: %s", out)
	}
	if n := testutil.ToFloat64(s.metrics.refused.WithLabelValues(KindPagerDuty, "bad_key")); n != 1 {
		t.Fatalf("refused counter %v", n)
	}
}

func TestResponseStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		s := newTestService(t, db, Options{Now: clock})
		ctx := adminCtx()
		a, _ := s.CreateIncident(ctx, NewIncident{Title: "a", Severity: "SEV1"})
		b, _ := s.CreateIncident(ctx, NewIncident{Title: "b", Severity: "SEV2"})
		advance(2 * time.Minute)
		if err := s.Acknowledge(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		advance(4 * time.Minute)
		if err := s.Acknowledge(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Resolve(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		st, err := s.ResponseStats(ctx, StatsFilter{From: now.Add(-time.Hour), To: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		o := st.Overall
		if o.Incidents != 2 || o.Acknowledged != 2 || o.Resolved != 1 || o.MTTASeconds != 240 || o.MTTRSeconds != 360 {
			t.Fatalf("overall %+v", o)
		}
		if len(st.BySeverity) != 2 || st.BySeverity[0].Key != "SEV1" || st.BySeverity[0].MTTASeconds != 120 || len(st.ByDay) != 1 || st.ByService[0].Key != "(no service)" {
			t.Fatalf("groups %+v %+v %+v", st.BySeverity, st.ByDay, st.ByService)
		}
		if _, err := s.ResponseStats(ctx, StatsFilter{From: now, To: now}); !isField(err, "from") {
			t.Fatalf("empty range: %v", err)
		}
	})
}

func TestProblemsAndKnownErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db, Options{})
		ctx := adminCtx()
		inc, _ := s.CreateIncident(ctx, NewIncident{Title: "db slow"})
		p, err := s.CreateProblem(ctx, ProblemInput{Title: "Connection pool exhausted", RootCause: "pool of 10 under 100_% load", Workaround: "Restart the API pods", KnownError: true})
		if err != nil || p.Status != ProblemOpen {
			t.Fatalf("create: %+v %v", p, err)
		}
		if _, err := s.CreateProblem(ctx, ProblemInput{Title: "Disk", Status: "weird"}); !isField(err, "status") {
			t.Fatalf("bad status: %v", err)
		}
		other, _ := s.CreateProblem(ctx, ProblemInput{Title: "Cert expiry"})
		for range 2 {
			if err := s.LinkIncident(ctx, p.ID, inc.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.LinkIncident(ctx, p.ID, 99999); !isField(err, "incident_id") {
			t.Fatalf("link to nothing: %v", err)
		}
		got, _ := s.GetProblem(ctx, p.ID)
		if len(got.IncidentIDs) != 1 || got.IncidentIDs[0] != inc.ID {
			t.Fatalf("incidents %+v", got.IncidentIDs)
		}
		for q, want := range map[string]int{"restart": 1, "POOL": 1, "100_%": 1, "_": 1, "": 2, "nothing": 0} {
			ps, _, err := s.ListProblems(ctx, ProblemFilter{Query: q})
			if err != nil || len(ps) != want {
				t.Errorf("search %q: %d %v", q, len(ps), err)
			}
		}
		known, _, _ := s.ListProblems(ctx, ProblemFilter{KnownErrors: true})
		if len(known) != 1 || known[0].ID != p.ID || other.KnownError {
			t.Fatalf("known errors %+v", known)
		}
		ps, err := s.ProblemsOf(ctx, inc.ID)
		if err != nil || len(ps) != 1 {
			t.Fatalf("problems of incident: %+v %v", ps, err)
		}
		tl, _ := s.Timeline(ctx, inc.ID)
		if tl[len(tl)-1].Kind != "problem" {
			t.Fatalf("timeline %+v", tl[len(tl)-1])
		}
		if _, err := s.UpdateProblem(ctx, p.ID, ProblemInput{Title: "Pool", Status: ProblemResolved, KnownError: true}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPostmortem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestService(t, db, Options{})
		ctx := adminCtx()
		inc, _ := s.CreateIncident(ctx, NewIncident{Title: "Checkout down", Severity: "SEV1"})
		_ = s.AddNote(ctx, inc.ID, "failover started")
		pm, err := s.Postmortem(ctx, inc.ID)
		if err != nil || pm.Saved || !strings.Contains(pm.Body, "# Postmortem: #") || !strings.Contains(pm.Body, "note: failover started") {
			t.Fatalf("draft: %+v %v", pm, err)
		}
		if err := s.SavePostmortem(ctx, inc.ID, "We learned things."); err != nil {
			t.Fatal(err)
		}
		if err := s.SavePostmortem(ctx, inc.ID, "We learned more."); err != nil {
			t.Fatal(err)
		}
		if err := s.SavePostmortem(ctx, 99999, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("postmortem of nothing: %v", err)
		}
		a, err := s.AddActionItem(ctx, inc.ID, ActionItem{Text: "Add a canary", DueOn: "2026-12-31"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddActionItem(ctx, inc.ID, ActionItem{Text: "x", DueOn: "soon"}); !isField(err, "due_on") {
			t.Fatalf("bad date: %v", err)
		}
		owner := int64(4242)
		if _, err := s.AddActionItem(ctx, inc.ID, ActionItem{Text: "x", OwnerID: &owner}); !isField(err, "owner_id") {
			t.Fatalf("bad owner: %v", err)
		}
		if err := s.SetActionDone(ctx, inc.ID, a.ID, true); err != nil {
			t.Fatal(err)
		}
		pm, _ = s.Postmortem(ctx, inc.ID)
		if !pm.Saved || pm.Body != "We learned more." || len(pm.Actions) != 1 || !pm.Actions[0].Done || pm.Actions[0].DueOn != "2026-12-31" {
			t.Fatalf("saved: %+v", pm)
		}
	})
}

func TestNotificationText(t *testing.T) {
	s := newTestService(t, storetest.SQLite(t), Options{})
	ts, in := fixture(t, s)
	if err := s.Ingest(context.Background(), in, "", []Event{trigger("x", "Checkout API down", SeverityError, nil)}); err != nil {
		t.Fatal(err)
	}
	incs, _, _ := s.List(context.Background(), Filter{})
	n, err := s.Notification(context.Background(), incs[0].ID, "https://ops.example/")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("[SEV2] #%d Checkout API down", incs[0].ID)
	if n.Title != want || n.Severity != SeverityError || n.URL != fmt.Sprintf("https://ops.example/incidents/%d", incs[0].ID) ||
		!strings.Contains(n.Text, n.AckURL) || !strings.Contains(n.Text, "Service: "+ts.Name) {
		t.Fatalf("%+v", n)
	}
	if _, err := s.VerifyLink(n.AckURL[strings.LastIndex(n.AckURL, "/")+1:]); err != nil {
		t.Fatalf("ack link: %v", err)
	}
}
