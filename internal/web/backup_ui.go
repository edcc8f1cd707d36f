package web

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/valid"
)

var backupLabels = map[string]string{"name": "Name", "description": "Description", "tool": "Tool", "cron": "Cron schedule",
	"timezone": "Time zone", "period": "Period", "grace": "Grace", "max_duration": "Expected maximum duration",
	"min_bytes": "Minimum size", "rpo": "RPO", "restore_test_max_age_days": "Restore test policy", "protected_ci_ids": "Protected CIs",
	"result": "Result", "data_checked": "Data checked", "duration": "Duration", "tested_at": "Date", "notes": "Notes"}

// backupRow is one job on the dashboard.
type backupRow struct {
	backup.JobSummary
	Badge   template.HTML
	History template.HTML
}

type backupDash struct {
	Rows      []backupRow
	Alerts    []backup.OpenAlert
	Operator  bool
	Uncovered int
	Counts    map[backup.State]int
}

// backupBadge shows a state with a mark and words, never colour alone.
func backupBadge(st backup.State) template.HTML {
	cls, mark := "status-warn", "!"
	switch st {
	case backup.StateOK:
		cls, mark = "status-ok", "✓"
	case backup.StateRunning, backup.StateWaiting:
		cls, mark = "status-info", "…"
	case backup.StateFailed, backup.StateMissed, backup.StateRPO:
		cls, mark = "status-down", "✕"
	}
	return template.HTML(`<span class="status ` + cls + `"><span class="status-mark" aria-hidden="true">` + mark + `</span> ` + //nolint:gosec // fixed strings
		template.HTMLEscapeString(strings.ReplaceAll(string(st), "_", " ")) + `</span>`)
}

func (s *Server) backupDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sums, err := s.opts.Backups.Dashboard(ctx, 30)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := backupDash{Operator: auth.ActorFrom(ctx).Role.Allows(auth.RoleOperator), Counts: map[backup.State]int{}}
	for _, x := range sums {
		d.Rows = append(d.Rows, backupRow{JobSummary: x, Badge: backupBadge(x.State), History: backupRunStrip(x.Recent)})
		d.Counts[x.State]++
	}
	if d.Alerts, err = s.opts.Backups.OpenAlerts(ctx); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	un, err := s.opts.Backups.Uncovered(ctx, 0)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d.Uncovered = len(un)
	s.render(w, r, http.StatusOK, "backups", s.newView(r, "Backup jobs", "backups", d))
}

type backupJobPage struct {
	backup.JobSummary
	Badge      template.HTML
	Chart      template.HTML
	Runs       []backup.Run
	Tests      []backup.RestoreTest
	Operator   bool
	BaseURL    string
	Errors     fieldErrors
	Form       map[string]string
	Key        string // shown once, after create or rotate
	TestResult []string
}

func (s *Server) backupJobPage(w http.ResponseWriter, r *http.Request) {
	s.renderBackupJob(w, r, http.StatusOK, "", fieldErrors{}, nil)
}

func (s *Server) renderBackupJob(w http.ResponseWriter, r *http.Request, status int, key string, errs fieldErrors, form map[string]string) {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such backup job")
		return
	}
	sum, err := s.jobSummary(r, id)
	if err != nil {
		s.uiFail(w, r, err, "backup job")
		return
	}
	d := backupJobPage{JobSummary: sum, Badge: backupBadge(sum.State), Operator: auth.ActorFrom(ctx).Role.Allows(auth.RoleOperator),
		BaseURL: s.externalURL(r, "/backup/ping/"), Errors: errs, Form: form, Key: key,
		TestResult: []string{backup.TestPassed, backup.TestPartial, backup.TestFailed}}
	if d.Form == nil {
		d.Form = map[string]string{"result": backup.TestPassed}
	}
	if d.Runs, err = s.opts.Backups.Runs(ctx, id, 200); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if d.Tests, err = s.opts.Backups.RestoreTests(ctx, id); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d.Chart = backupRunChart(d.Runs)
	s.render(w, r, status, "backup_job", s.newView(r, sum.Name, "backups", d))
}

// uiFail shows a not-found page for a missing thing, an error otherwise.
func (s *Server) uiFail(w http.ResponseWriter, r *http.Request, err error, what string) {
	if isNotFound(err) {
		s.renderError(w, r, http.StatusNotFound, "no such "+what)
		return
	}
	s.serverError(w, r, SurfaceUI, err)
}

type backupForm struct {
	Editing bool
	ID      int64
	V       map[string]string
	CIs     []backup.CIRef
	Chosen  map[int64]bool
	Tools   []string
	Errors  fieldErrors
}

func (s *Server) backupNewPage(w http.ResponseWriter, r *http.Request) {
	s.renderBackupForm(w, r, http.StatusOK, backupForm{V: map[string]string{"grace": "1h", "period": "24h", "rpo": "26h"}, Errors: fieldErrors{}})
}

func (s *Server) backupEditPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such backup job")
		return
	}
	j, err := s.opts.Backups.Job(r.Context(), id)
	if err != nil {
		s.uiFail(w, r, err, "backup job")
		return
	}
	f := backupForm{Editing: true, ID: id, Errors: fieldErrors{}, Chosen: map[int64]bool{}, V: map[string]string{
		"name": j.Name, "description": j.Description, "tool": j.Tool, "cron": j.Cron, "timezone": j.Timezone, "period": j.Period.String(),
		"grace": j.Grace.String(), "max_duration": j.MaxDuration.String(), "rpo": j.RPO.String(),
		"min_bytes": strconv.FormatInt(j.MinBytes, 10), "restore_test_max_age_days": strconv.Itoa(j.RestoreTestMaxAgeDays)}}
	for _, c := range j.CIs {
		f.Chosen[c.ID] = true
	}
	s.renderBackupForm(w, r, http.StatusOK, f)
}

func (s *Server) renderBackupForm(w http.ResponseWriter, r *http.Request, status int, f backupForm) {
	var err error
	if f.CIs, err = s.opts.Backups.CIChoices(r.Context(), 0); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if f.Chosen == nil {
		f.Chosen = map[int64]bool{}
	}
	f.Tools = backup.Tools()
	title := "New backup job"
	if f.Editing {
		title = "Edit " + f.V["name"]
	}
	s.render(w, r, status, "backup_form", s.newView(r, title, "backups", f))
}

// jobInputFromForm reads the job form; errors name the field.
func jobInputFromForm(r *http.Request) (backup.JobInput, map[string]string, map[int64]bool, error) {
	v := map[string]string{}
	for _, k := range []string{"name", "description", "tool", "cron", "timezone", "period", "grace", "max_duration", "min_bytes", "rpo", "restore_test_max_age_days"} {
		v[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	in := backup.JobInput{Name: v["name"], Description: v["description"], Tool: v["tool"], Cron: v["cron"], Timezone: v["timezone"],
		Period: v["period"], Grace: v["grace"], MaxDuration: v["max_duration"], RPO: v["rpo"]}
	chosen := map[int64]bool{}
	for _, c := range r.PostForm["ci"] {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			return in, v, chosen, valid.Errorf("protected_ci_ids", "pick CIs from the list")
		}
		in.CIIDs = append(in.CIIDs, id)
		chosen[id] = true
	}
	if v["min_bytes"] != "" {
		n, err := strconv.ParseInt(v["min_bytes"], 10, 64)
		if err != nil {
			return in, v, chosen, valid.Errorf("min_bytes", "must be a whole number of bytes")
		}
		in.MinBytes = n
	}
	if v["restore_test_max_age_days"] != "" {
		n, err := strconv.Atoi(v["restore_test_max_age_days"])
		if err != nil {
			return in, v, chosen, valid.Errorf("restore_test_max_age_days", "must be a whole number of days")
		}
		in.RestoreTestMaxAgeDays = n
	}
	return in, v, chosen, nil
}

func (s *Server) backupCreate(w http.ResponseWriter, r *http.Request) {
	in, v, chosen, err := jobInputFromForm(r)
	if err == nil {
		var j backup.Job
		var key string
		if j, key, err = s.opts.Backups.CreateJob(r.Context(), in); err == nil {
			r.SetPathValue("id", strconv.FormatInt(j.ID, 10))
			s.renderBackupJob(w, r, http.StatusCreated, key, fieldErrors{}, nil)
			return
		}
	}
	errs := fieldErrors{}
	if !formError(err, errs, backupLabels) {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderBackupForm(w, r, http.StatusUnprocessableEntity, backupForm{V: v, Chosen: chosen, Errors: errs})
}

func (s *Server) backupUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such backup job")
		return
	}
	in, v, chosen, err := jobInputFromForm(r)
	if err == nil {
		if _, err = s.opts.Backups.UpdateJob(r.Context(), id, in); err == nil {
			http.Redirect(w, r, "/backups/"+strconv.FormatInt(id, 10)+"?notice=backup-saved", http.StatusSeeOther)
			return
		}
	}
	if isNotFound(err) {
		s.renderError(w, r, http.StatusNotFound, "no such backup job")
		return
	}
	errs := fieldErrors{}
	if !formError(err, errs, backupLabels) {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderBackupForm(w, r, http.StatusUnprocessableEntity, backupForm{Editing: true, ID: id, V: v, Chosen: chosen, Errors: errs})
}

func (s *Server) backupDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.Backups.DeleteJob(r.Context(), id)
	}
	if err != nil {
		s.uiFail(w, r, err, "backup job")
		return
	}
	http.Redirect(w, r, "/backups?notice=backup-deleted", http.StatusSeeOther)
}

func (s *Server) backupRotate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	var key string
	if err == nil {
		key, err = s.opts.Backups.RotateKey(r.Context(), id)
	}
	if err != nil {
		s.uiFail(w, r, err, "backup job")
		return
	}
	s.renderBackupJob(w, r, http.StatusOK, key, fieldErrors{}, nil)
}

func (s *Server) backupAddRestoreTest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such backup job")
		return
	}
	form := map[string]string{}
	for _, k := range []string{"tested_at", "result", "data_checked", "duration", "notes"} {
		form[k] = r.PostFormValue(k)
	}
	in := backup.RestoreTestInput{Result: form["result"], DataChecked: form["data_checked"], Duration: strings.TrimSpace(form["duration"]), Notes: form["notes"]}
	if t := strings.TrimSpace(form["tested_at"]); t != "" {
		at, perr := time.Parse("2006-01-02", t)
		if perr != nil {
			err = valid.Errorf("tested_at", "must be a date such as 2026-03-10")
		}
		in.TestedAt = at.Add(12 * time.Hour)
	}
	if err == nil {
		if _, err = s.opts.Backups.Job(r.Context(), id); err == nil {
			if _, err = s.opts.Backups.AddRestoreTest(r.Context(), id, in); err == nil {
				http.Redirect(w, r, "/backups/"+strconv.FormatInt(id, 10)+"?notice=restore-test-added#restore-tests", http.StatusSeeOther)
				return
			}
		}
	}
	errs := fieldErrors{}
	if !formError(err, errs, backupLabels) {
		s.uiFail(w, r, err, "backup job")
		return
	}
	s.renderBackupJob(w, r, http.StatusUnprocessableEntity, "", errs, form)
}
