package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/incident"
)

type createdJob struct {
	ID          int64             `json:"id"`
	State       string            `json:"state"`
	CheckInKey  string            `json:"check_in_key"`
	CheckInURLs map[string]string `json:"check_in_urls"`
}

func (e *testEnv) backupJob(t *testing.T, body string) createdJob {
	t.Helper()
	resp := e.do("POST", "/api/v1/backup-jobs", auth.RoleOperator, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create job: %d %s", resp.StatusCode, readBody(t, resp))
	}
	var j createdJob
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		t.Fatal(err)
	}
	return j
}

func (e *testEnv) checkIn(t *testing.T, path, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.http.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readBody(t, resp)
}

// TestBackupCheckInAPI drives a job through its open check-in URLs and
// reads the result back through the API.
func TestBackupCheckInAPI(t *testing.T) {
	e := newTestEnv(t)
	j := e.backupJob(t, `{"name": "orders db", "tool": "pg_dump", "period": "24h", "rpo": "26h", "min_bytes": 100}`)
	if !strings.HasPrefix(j.CheckInKey, "bk_") || !strings.HasSuffix(j.CheckInURLs["start"], "/backup/ping/"+j.CheckInKey+"/start") {
		t.Fatalf("created %+v", j)
	}
	base := "/backup/ping/" + j.CheckInKey
	if st, body := e.checkIn(t, base+"/start", "", ""); st != 200 || !strings.Contains(body, `"running"`) {
		t.Fatalf("start: %d %s", st, body)
	}
	st, body := e.checkIn(t, base+"/success", "application/json", `{"bytes": 52428800, "files": 10, "snapshot_id": "5f3c9a", "log": "done"}`)
	if st != 200 || !strings.Contains(body, `"success"`) {
		t.Fatalf("success: %d %s", st, body)
	}
	// GET works for plain curl too, and an exit code is a result.
	if resp := e.do("GET", base+"/0", auth.RoleNone, ""); resp.StatusCode != 200 {
		t.Fatalf("GET exit 0: %d", resp.StatusCode)
	}
	resp := e.do("GET", "/api/v1/backup-jobs/"+strconv.FormatInt(j.ID, 10)+"/runs", auth.RoleViewer, "")
	var runs page[backup.Run]
	if err := json.NewDecoder(resp.Body).Decode(&runs); err != nil || len(runs.Data) != 2 {
		t.Fatalf("runs %+v %v", runs, err)
	}
	if r := runs.Data[1]; r.Bytes == nil || *r.Bytes != 52428800 || r.SnapshotID != "5f3c9a" || r.LogTail != "done" {
		t.Fatalf("run %+v", r)
	}
	resp = e.do("GET", "/api/v1/backup-jobs/"+strconv.FormatInt(j.ID, 10), auth.RoleViewer, "")
	if body := readBody(t, resp); !strings.Contains(body, `"state":"ok"`) || strings.Contains(body, j.CheckInKey) || !strings.Contains(body, `"within_rpo":true`) {
		t.Fatalf("job: %s", body)
	}

	for _, tc := range []struct {
		name, path, body string
		want             int
	}{
		{"unknown key", "/backup/ping/bk_nothere/success", "", 404},
		{"unknown key start", "/backup/ping/bk_nothere/start", "", 404},
		{"bad action", base + "/explode", "", 400},
		{"exit code out of range", base + "/300", "", 400},
		{"negative bytes", base + "/success", `{"bytes": -5}`, 400},
		{"unknown field", base + "/success", `{"size": 5}`, 400},
		{"broken json", base + "/success", `{"bytes":`, 400},
		{"oversize", base + "/success", `{"log": "` + strings.Repeat("x", backup.MaxBody) + `"}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := e.checkIn(t, tc.path, "application/json", tc.body); st != tc.want {
				t.Fatalf("status %d, want %d: %s", st, tc.want, body)
			}
		})
	}
	if n := e.backup.UnknownKeyCount(); n != 2 {
		t.Fatalf("unknown keys counted %v, want 2", n)
	}
	resp = e.do("GET", "/metrics", auth.RoleAdmin, "")
	if body := readBody(t, resp); !strings.Contains(body, "opsdeck_backup_checkins_unknown_key_total 2") {
		t.Fatalf("metric missing:\n%.3000s", body)
	}
	resp = e.do("GET", "/api/v1/backup-jobs", auth.RoleViewer, "")
	var list page[backup.JobSummary]
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Data) != 1 {
		t.Fatalf("unknown keys must not create jobs: %+v %v", list, err)
	}

	// Rotation: the old key stops working.
	resp = e.do("POST", "/api/v1/backup-jobs/"+strconv.FormatInt(j.ID, 10)+"/rotate-key", auth.RoleOperator, "")
	var rot createdJob
	_ = json.NewDecoder(resp.Body).Decode(&rot)
	if rot.CheckInKey == "" || rot.CheckInKey == j.CheckInKey {
		t.Fatalf("rotate: %+v", rot)
	}
	if st, _ := e.checkIn(t, base+"/success", "", ""); st != 404 {
		t.Fatalf("old key after rotation: %d", st)
	}
	// Validation names the field.
	resp = e.do("POST", "/api/v1/backup-jobs", auth.RoleOperator, `{"name": "x", "period": "24h", "rpo": "soon"}`)
	if body := readBody(t, resp); resp.StatusCode != 422 || !strings.Contains(body, `"field":"rpo"`) {
		t.Fatalf("invalid: %d %s", resp.StatusCode, body)
	}
	resp = e.do("POST", "/api/v1/backup-jobs/"+strconv.FormatInt(j.ID, 10)+"/restore-tests", auth.RoleOperator, `{"result": "passed", "data_checked": "row counts", "duration": "40m"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("restore test: %d %s", resp.StatusCode, readBody(t, resp))
	}
}

// TestBackupAlertsReachIncidents: the evaluator's late and RPO alerts
// open an incident on the Backups service and resolve when the next good
// run checks in.
func TestBackupAlertsReachIncidents(t *testing.T) {
	e := newTestEnv(t)
	var mu sync.Mutex
	now := time.Now().UTC()
	clk := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := backup.New(e.db, backup.Options{Alerts: e.incs, Now: clk})
	ctx := auth.WithActor(context.Background(), auth.SystemActor())
	j, key, err := s.CreateJob(ctx, backup.JobInput{Name: "files", Period: "1h", Grace: "5m", RPO: "2h"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(3 * time.Hour)
	mu.Unlock()
	if err := s.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	open := func() []incident.Incident {
		is, _, err := e.incs.List(ctx, incident.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []incident.Incident
		for _, i := range is {
			if i.Status != incident.StatusResolved && strings.Contains(i.Title, "Backup files") {
				out = append(out, i)
			}
		}
		return out
	}
	if len(open()) == 0 {
		t.Fatal("no incident opened for the late backup")
	}
	if _, err := s.RecordCheckIn(ctx, key, backup.CheckIn{Kind: backup.KindSuccess}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(open()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("incident still open after the good run: %+v", open())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = j
}

// TestBackupPages renders every backup page for a viewer and walks the
// operator's forms: create (key shown once), restore test, DR plan with
// a hostile runbook, exercise, coverage rules as admin.
func TestBackupPages(t *testing.T) {
	e := newTestEnv(t)
	op := signedIn(t, e, auth.RoleOperator)
	p := op.get("/backups")
	if p.status != 200 || !strings.Contains(p.body, "No backup jobs yet") || !strings.Contains(p.body, `href="/dr-plans"`) {
		t.Fatalf("empty dashboard: %d", p.status)
	}
	op.get("/backups/new")
	p = op.post("/backups/new", url.Values{"name": {"nightly files"}, "tool": {"restic"}, "period": {"24h"}, "rpo": {"soon"}})
	if p.status != 422 || !strings.Contains(p.body, "f-rpo-error") {
		t.Fatalf("invalid form: %d", p.status)
	}
	p = op.post("/backups/new", url.Values{"name": {"nightly files"}, "tool": {"restic"}, "period": {"24h"}, "rpo": {"26h"}, "grace": {"1h"}})
	if p.status != 201 || !strings.Contains(p.body, "/backup/ping/bk_") || !strings.Contains(p.body, "shown only this once") {
		t.Fatalf("create: %d %.2000s", p.status, p.body)
	}
	jobs, _ := e.backup.Jobs(context.Background())
	id := strconv.FormatInt(jobs[0].ID, 10)
	p = op.get("/backups/" + id)
	if p.status != 200 || strings.Contains(p.body, "shown only this once") {
		t.Fatalf("job page shows the key again: %d", p.status)
	}
	p = op.post("/backups/"+id+"/restore-tests", url.Values{"result": {"passed"}, "data_checked": {""}, "duration": {"30m"}})
	if p.status != 422 || !strings.Contains(p.body, "f-data_checked-error") {
		t.Fatalf("bad restore test: %d", p.status)
	}
	p = op.post("/backups/"+id+"/restore-tests", url.Values{"result": {"passed"}, "data_checked": {"orders count"}, "duration": {"30m"}})
	if p.status != 303 {
		t.Fatalf("restore test: %d %s", p.status, p.body)
	}
	p = op.post("/dr-plans/new", url.Values{"name": {"Shop"}, "rto": {"4h"}, "rpo": {"1h"}, "exercise_interval_days": {"90"},
		"runbook": {"## Steps\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(2))"}})
	if p.status != 303 {
		t.Fatalf("plan: %d %s", p.status, p.body)
	}
	loc := p.header.Get("Location")
	p = op.get(strings.Split(loc, "?")[0])
	if p.status != 200 || !strings.Contains(p.body, "<h2>Steps</h2>") || strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "javascript:alert") {
		t.Fatalf("plan page: %d %.3000s", p.status, p.body)
	}
	planPath := strings.Split(loc, "?")[0]
	if p = op.post(planPath+"/exercises", url.Values{"outcome": {"passed"}, "measured_rto": {"3h"}}); p.status != 303 {
		t.Fatalf("exercise: %d %s", p.status, p.body)
	}
	if p = op.post("/backups/coverage", url.Values{"type": {"1"}}); p.status != 403 {
		t.Fatalf("operator set coverage: %d", p.status)
	}
	admin := signedIn(t, e, auth.RoleAdmin)
	admin.get("/backups/coverage")
	if p = admin.post("/backups/coverage", url.Values{"type": {"1", "2"}}); p.status != 303 {
		t.Fatalf("coverage: %d", p.status)
	}
	rules, _ := e.backup.TypeRules(context.Background())
	marked := 0
	for _, r := range rules {
		if r.Required {
			marked++
		}
	}
	if marked != 2 {
		t.Fatalf("marked %d", marked)
	}
	v := signedIn(t, e, auth.RoleViewer)
	for _, path := range []string{"/backups", "/backups/" + id, "/dr-plans", planPath, "/backups/coverage"} {
		if p := v.get(path); p.status != 200 || !strings.Contains(p.body, `class="subnav`) && !strings.Contains(p.body, "/backups/coverage") {
			t.Fatalf("%s: %d", path, p.status)
		}
	}
	if p := v.get("/backups"); !strings.Contains(p.body, "nightly files") || !strings.Contains(p.body, "backup-strip") {
		t.Fatalf("dashboard lacks the job: %.2000s", p.body)
	}
	if p := v.get("/backups/999999"); p.status != 404 {
		t.Fatalf("missing job: %d", p.status)
	}
	if p := op.post("/backups/"+id+"/delete", nil); p.status != 303 {
		t.Fatalf("delete: %d", p.status)
	}
}
