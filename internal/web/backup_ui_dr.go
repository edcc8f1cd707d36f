package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/backup"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

var drLabels = map[string]string{"name": "Name", "rto": "RTO target", "rpo": "RPO target", "runbook": "Runbook", "contacts": "Contacts",
	"exercise_interval_days": "Exercise every", "next_exercise_due": "Next exercise due", "service_ci_ids": "Services covered",
	"held_at": "Date", "outcome": "Outcome", "measured_rto": "Measured RTO", "notes": "Notes"}

type drPlansData struct {
	Plans    []backup.Plan
	Operator bool
}

func (s *Server) drPlansPage(w http.ResponseWriter, r *http.Request) {
	ps, err := s.opts.Backups.Plans(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, http.StatusOK, "dr_plans", s.newView(r, "DR plans", "dr-plans", drPlansData{Plans: ps, Operator: auth.ActorFrom(r.Context()).Role.Allows(auth.RoleOperator)}))
}

type drPlanData struct {
	Plan      backup.Plan
	Runbook   template.HTML
	Exercises []backup.Exercise
	Operator  bool
	Outcomes  []string
	Form      map[string]string
	Errors    fieldErrors
}

func (s *Server) drPlanPage(w http.ResponseWriter, r *http.Request) {
	s.renderDRPlan(w, r, http.StatusOK, map[string]string{"outcome": backup.TestPassed}, fieldErrors{})
}

func (s *Server) renderDRPlan(w http.ResponseWriter, r *http.Request, status int, form map[string]string, errs fieldErrors) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such DR plan")
		return
	}
	p, err := s.opts.Backups.Plan(r.Context(), id)
	if err != nil {
		s.uiFail(w, r, err, "DR plan")
		return
	}
	d := drPlanData{Plan: p, Operator: auth.ActorFrom(r.Context()).Role.Allows(auth.RoleOperator), Form: form, Errors: errs,
		Outcomes: []string{backup.TestPassed, backup.TestPartial, backup.TestFailed}}
	if d.Runbook, err = s.opts.Backups.RunbookHTML(p); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if d.Exercises, err = s.opts.Backups.Exercises(r.Context(), id, 0); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, status, "dr_plan", s.newView(r, p.Name, "dr-plans", d))
}

type drPlanForm struct {
	Editing bool
	ID      int64
	V       map[string]string
	CIs     []backup.CIRef
	Chosen  map[int64]bool
	Errors  fieldErrors
}

func (s *Server) drPlanFormPage(w http.ResponseWriter, r *http.Request) {
	f := drPlanForm{V: map[string]string{"exercise_interval_days": "180"}, Chosen: map[int64]bool{}, Errors: fieldErrors{}}
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			s.renderError(w, r, http.StatusNotFound, "no such DR plan")
			return
		}
		p, err := s.opts.Backups.Plan(r.Context(), id)
		if err != nil {
			s.uiFail(w, r, err, "DR plan")
			return
		}
		f.Editing, f.ID = true, id
		f.V = map[string]string{"name": p.Name, "rto": p.RTO.String(), "rpo": p.RPO.String(), "runbook": p.Runbook, "contacts": p.Contacts,
			"exercise_interval_days": strconv.Itoa(p.ExerciseIntervalDays)}
		if p.NextExerciseDue != nil && p.ExerciseIntervalDays == 0 {
			f.V["next_exercise_due"] = p.NextExerciseDue.Format("2006-01-02")
		}
		for _, c := range p.CIs {
			f.Chosen[c.ID] = true
		}
	}
	s.renderDRForm(w, r, http.StatusOK, f)
}

func (s *Server) renderDRForm(w http.ResponseWriter, r *http.Request, status int, f drPlanForm) {
	var err error
	if f.CIs, err = s.opts.Backups.CIChoices(r.Context(), 0); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	title := "New DR plan"
	if f.Editing {
		title = "Edit " + f.V["name"]
	}
	s.render(w, r, status, "dr_plan_form", s.newView(r, title, "dr-plans", f))
}

func (s *Server) drPlanSave(w http.ResponseWriter, r *http.Request) {
	var id int64
	editing := r.PathValue("id") != ""
	if editing {
		var err error
		if id, err = pathID(r); err != nil {
			s.renderError(w, r, http.StatusNotFound, "no such DR plan")
			return
		}
	}
	v := map[string]string{}
	for _, k := range []string{"name", "rto", "rpo", "runbook", "contacts", "exercise_interval_days", "next_exercise_due"} {
		v[k] = r.PostFormValue(k)
	}
	in := backup.PlanInput{Name: v["name"], RTO: strings.TrimSpace(v["rto"]), RPO: strings.TrimSpace(v["rpo"]), Runbook: v["runbook"], Contacts: v["contacts"]}
	chosen := map[int64]bool{}
	var err error
	for _, c := range r.PostForm["ci"] {
		cid, perr := strconv.ParseInt(c, 10, 64)
		if perr != nil || cid <= 0 {
			err = valid.Errorf("service_ci_ids", "pick services from the list")
		}
		in.CIIDs = append(in.CIIDs, cid)
		chosen[cid] = true
	}
	if n := strings.TrimSpace(v["exercise_interval_days"]); n != "" && err == nil {
		if in.ExerciseIntervalDays, err = strconv.Atoi(n); err != nil {
			err = valid.Errorf("exercise_interval_days", "must be a whole number of days")
		}
	}
	if d := strings.TrimSpace(v["next_exercise_due"]); d != "" && err == nil {
		t, perr := time.Parse("2006-01-02", d)
		if perr != nil {
			err = valid.Errorf("next_exercise_due", "must be a date such as 2026-06-30")
		}
		in.NextExerciseDue = &t
	}
	if err == nil {
		var p backup.Plan
		if p, err = s.opts.Backups.SavePlan(r.Context(), id, in); err == nil {
			http.Redirect(w, r, "/dr-plans/"+strconv.FormatInt(p.ID, 10)+"?notice=plan-saved", http.StatusSeeOther)
			return
		}
	}
	errs := fieldErrors{}
	if !formError(err, errs, drLabels) {
		s.uiFail(w, r, err, "DR plan")
		return
	}
	s.renderDRForm(w, r, http.StatusUnprocessableEntity, drPlanForm{Editing: editing, ID: id, V: v, Chosen: chosen, Errors: errs})
}

func (s *Server) drPlanDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.Backups.DeletePlan(r.Context(), id)
	}
	if err != nil {
		s.uiFail(w, r, err, "DR plan")
		return
	}
	http.Redirect(w, r, "/dr-plans?notice=plan-deleted", http.StatusSeeOther)
}

func (s *Server) drAddExercise(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "no such DR plan")
		return
	}
	form := map[string]string{}
	for _, k := range []string{"held_at", "outcome", "measured_rto", "notes"} {
		form[k] = r.PostFormValue(k)
	}
	in := backup.ExerciseInput{Outcome: form["outcome"], RTO: strings.TrimSpace(form["measured_rto"]), Notes: form["notes"]}
	if t := strings.TrimSpace(form["held_at"]); t != "" {
		at, perr := time.Parse("2006-01-02", t)
		if perr != nil {
			err = valid.Errorf("held_at", "must be a date such as 2026-03-10")
		}
		in.HeldAt = at.Add(12 * time.Hour)
	}
	if err == nil {
		if _, err = s.opts.Backups.Plan(r.Context(), id); err == nil {
			if _, err = s.opts.Backups.AddExercise(r.Context(), id, in); err == nil {
				http.Redirect(w, r, "/dr-plans/"+strconv.FormatInt(id, 10)+"?notice=exercise-added", http.StatusSeeOther)
				return
			}
		}
	}
	errs := fieldErrors{}
	if !formError(err, errs, drLabels) {
		s.uiFail(w, r, err, "DR plan")
		return
	}
	s.renderDRPlan(w, r, http.StatusUnprocessableEntity, form, errs)
}

type coverageData struct {
	Rules     []backup.TypeRule
	Uncovered []backup.CIRef
	Admin     bool
}

func (s *Server) backupCoveragePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rules, err := s.opts.Backups.TypeRules(ctx)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	un, err := s.opts.Backups.Uncovered(ctx, 0)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, http.StatusOK, "backup_coverage", s.newView(r, "Backup coverage", "backup-coverage",
		coverageData{Rules: rules, Uncovered: un, Admin: auth.ActorFrom(ctx).Role.Allows(auth.RoleAdmin)}))
}

// backupCoverageSave sets every type's rule from the form's checkboxes.
func (s *Server) backupCoverageSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rules, err := s.opts.Backups.TypeRules(ctx)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	want := map[string]bool{}
	for _, v := range r.PostForm["type"] {
		want[v] = true
	}
	for _, rule := range rules {
		req := want[strconv.FormatInt(rule.TypeID, 10)]
		if req == rule.Required {
			continue
		}
		if err := s.opts.Backups.SetTypeRequired(ctx, rule.TypeID, req); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	http.Redirect(w, r, "/backups/coverage?notice=coverage-saved", http.StatusSeeOther)
}
