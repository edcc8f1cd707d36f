package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// backupNotices are the backup pages' redirect confirmations (?notice=).
var backupNotices = map[string]string{
	"backup-saved":        "The backup job was saved.",
	"backup-deleted":      "The backup job was deleted with its runs and restore tests; its alerts were cleared.",
	"restore-test-added":  "The restore test was recorded; the job's restore-test policy counts from it if it passed.",
	"plan-saved":          "The DR plan was saved.",
	"plan-deleted":        "The DR plan was deleted with its exercises.",
	"exercise-added":      "The exercise was recorded; the next one is due after the plan's interval.",
	"coverage-saved":      "The coverage rules were saved.",
	"backup-key-rotated":  "The old check-in key no longer works.",
	"backup-self-started": "A self-backup was written; it shows as a run below.",
}

// backupRoutes are backup jobs, their open check-in URLs, restore tests,
// DR plans and coverage. Viewers read; operators change jobs, tests and
// plans; admins decide which CI types must be backed up.
func (s *Server) backupRoutes() []Route {
	if s.opts.Backups == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: fn}
	}
	ui := func(method, path string, role auth.Role, fn http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: fn}
	}
	var rs []Route
	for _, m := range []string{"GET", "POST"} {
		// Open: the secret key in the path is the credential, so a
		// backup script needs only curl.
		rs = append(rs,
			Route{Method: m, Path: "/backup/ping/{key}", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: s.backupPing, MaxBodyBytes: backup.MaxBody},
			Route{Method: m, Path: "/backup/ping/{key}/{action}", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: s.backupPing, MaxBodyBytes: backup.MaxBody})
	}
	return append(rs,
		api("GET", "/api/v1/backup-jobs", auth.RoleViewer, s.apiBackupJobs),
		api("POST", "/api/v1/backup-jobs", auth.RoleOperator, s.apiCreateBackupJob),
		api("GET", "/api/v1/backup-jobs/{id}", auth.RoleViewer, s.apiBackupJob),
		api("PUT", "/api/v1/backup-jobs/{id}", auth.RoleOperator, s.apiUpdateBackupJob),
		api("DELETE", "/api/v1/backup-jobs/{id}", auth.RoleOperator, s.apiDeleteBackupJob),
		api("POST", "/api/v1/backup-jobs/{id}/rotate-key", auth.RoleOperator, s.apiRotateBackupKey),
		api("GET", "/api/v1/backup-jobs/{id}/runs", auth.RoleViewer, s.apiBackupRuns),
		api("GET", "/api/v1/backup-jobs/{id}/restore-tests", auth.RoleViewer, s.apiRestoreTests),
		api("POST", "/api/v1/backup-jobs/{id}/restore-tests", auth.RoleOperator, s.apiAddRestoreTest),
		api("GET", "/api/v1/backup-alerts", auth.RoleViewer, s.apiBackupAlerts),
		api("GET", "/api/v1/backup-coverage", auth.RoleViewer, s.apiBackupCoverage),
		api("PUT", "/api/v1/backup-coverage/types/{id}", auth.RoleAdmin, s.apiSetBackupType),
		api("GET", "/api/v1/dr-plans", auth.RoleViewer, s.apiDRPlans),
		api("POST", "/api/v1/dr-plans", auth.RoleOperator, s.apiSaveDRPlan),
		api("GET", "/api/v1/dr-plans/{id}", auth.RoleViewer, s.apiDRPlan),
		api("PUT", "/api/v1/dr-plans/{id}", auth.RoleOperator, s.apiSaveDRPlan),
		api("DELETE", "/api/v1/dr-plans/{id}", auth.RoleOperator, s.apiDeleteDRPlan),
		api("GET", "/api/v1/dr-plans/{id}/exercises", auth.RoleViewer, s.apiDRExercises),
		api("POST", "/api/v1/dr-plans/{id}/exercises", auth.RoleOperator, s.apiAddDRExercise),

		ui("GET", "/backups", auth.RoleViewer, s.backupDashboard),
		ui("GET", "/backups/new", auth.RoleOperator, s.backupNewPage),
		ui("POST", "/backups/new", auth.RoleOperator, s.backupCreate),
		ui("GET", "/backups/coverage", auth.RoleViewer, s.backupCoveragePage),
		ui("POST", "/backups/coverage", auth.RoleAdmin, s.backupCoverageSave),
		ui("GET", "/backups/{id}", auth.RoleViewer, s.backupJobPage),
		ui("GET", "/backups/{id}/edit", auth.RoleOperator, s.backupEditPage),
		ui("POST", "/backups/{id}/edit", auth.RoleOperator, s.backupUpdate),
		ui("POST", "/backups/{id}/delete", auth.RoleOperator, s.backupDelete),
		ui("POST", "/backups/{id}/rotate-key", auth.RoleOperator, s.backupRotate),
		ui("POST", "/backups/{id}/restore-tests", auth.RoleOperator, s.backupAddRestoreTest),
		ui("GET", "/dr-plans", auth.RoleViewer, s.drPlansPage),
		ui("GET", "/dr-plans/new", auth.RoleOperator, s.drPlanFormPage),
		ui("POST", "/dr-plans/new", auth.RoleOperator, s.drPlanSave),
		ui("GET", "/dr-plans/{id}", auth.RoleViewer, s.drPlanPage),
		ui("GET", "/dr-plans/{id}/edit", auth.RoleOperator, s.drPlanFormPage),
		ui("POST", "/dr-plans/{id}/edit", auth.RoleOperator, s.drPlanSave),
		ui("POST", "/dr-plans/{id}/delete", auth.RoleOperator, s.drPlanDelete),
		ui("POST", "/dr-plans/{id}/exercises", auth.RoleOperator, s.drAddExercise),
	)
}

// backupPing records a check-in: /backup/ping/KEY[/start|/success|/fail|/CODE]
// with an optional JSON body (bytes, files, duration, snapshot_id, log).
// Unknown keys get 404 and are counted; they never create a job.
func (s *Server) backupPing(w http.ResponseWriter, r *http.Request) {
	kind, code, err := backup.ParseAction(r.PathValue("action"))
	if err != nil {
		http.Error(w, "unknown check-in: use /start, /success, /fail or an exit code 0-255", http.StatusBadRequest)
		return
	}
	c := backup.CheckIn{Kind: kind, ExitCode: code, SourceAddr: s.clientAddr(r)}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(r.Body)
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			http.Error(w, "the body is larger than 64 KiB; send the end of the log only", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "could not read the body", http.StatusBadRequest)
			return
		}
		if c.Report, err = backup.ParseReport(body); err != nil {
			ve, _ := valid.As(err)
			http.Error(w, "bad check-in body: "+ve.Error(), http.StatusBadRequest)
			return
		}
	}
	run, err := s.opts.Backups.RecordCheckIn(r.Context(), r.PathValue("key"), c)
	switch {
	case errors.Is(err, backup.ErrUnknownKey):
		s.log.Warn("backup check-in with unknown key", "addr", c.SourceAddr)
		http.Error(w, "not found", http.StatusNotFound)
		return
	case err != nil:
		if ve, ok := valid.As(err); ok {
			http.Error(w, "bad check-in: "+ve.Error(), http.StatusBadRequest)
			return
		}
		s.log.ErrorContext(r.Context(), "record backup check-in", "err", err)
		http.Error(w, "could not record the check-in; try again", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "run_id": run.ID, "status": run.Status})
}
