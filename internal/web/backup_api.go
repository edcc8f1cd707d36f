package web

import (
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/backup"
)

// backupJobView is a job in the API, with its check-in URLs. The key is
// only in the answer that creates or rotates it.
type backupJobView struct {
	backup.JobSummary
	CheckInKey  string            `json:"check_in_key,omitempty"`
	CheckInURLs map[string]string `json:"check_in_urls,omitempty"`
}

// checkInURLs are a key's four URLs (the exit-code form ends in /CODE).
func (s *Server) checkInURLs(r *http.Request, key string) map[string]string {
	base := s.externalURL(r, "/backup/ping/"+key)
	return map[string]string{"start": base + "/start", "success": base + "/success", "fail": base + "/fail", "exit_code": base + "/{exit code}"}
}

func (s *Server) withBackupID(w http.ResponseWriter, r *http.Request, fn func(id int64)) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	fn(id)
}

func (s *Server) apiBackupJobs(w http.ResponseWriter, r *http.Request) {
	sums, err := s.opts.Backups.Dashboard(r.Context(), 0)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[backup.JobSummary]{Data: nonNil(sums)})
}

func (s *Server) jobSummary(r *http.Request, id int64) (backup.JobSummary, error) {
	sums, err := s.opts.Backups.Dashboard(r.Context(), 0)
	if err != nil {
		return backup.JobSummary{}, err
	}
	for _, x := range sums {
		if x.ID == id {
			return x, nil
		}
	}
	_, err = s.opts.Backups.Job(r.Context(), id)
	return backup.JobSummary{}, err
}

func (s *Server) apiBackupJob(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		sum, err := s.jobSummary(r, id)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, backupJobView{JobSummary: sum})
	})
}

func (s *Server) apiCreateBackupJob(w http.ResponseWriter, r *http.Request) {
	var in backup.JobInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	j, key, err := s.opts.Backups.CreateJob(r.Context(), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, backupJobView{JobSummary: backup.JobSummary{Job: j}, CheckInKey: key, CheckInURLs: s.checkInURLs(r, key)})
}

func (s *Server) apiUpdateBackupJob(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		var in backup.JobInput
		if !s.decodeJSON(w, r, &in) {
			return
		}
		j, err := s.opts.Backups.UpdateJob(r.Context(), id, in)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, backupJobView{JobSummary: backup.JobSummary{Job: j}})
	})
}

func (s *Server) apiDeleteBackupJob(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		if err := s.opts.Backups.DeleteJob(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) apiRotateBackupKey(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		key, err := s.opts.Backups.RotateKey(r.Context(), id)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"check_in_key": key, "check_in_urls": s.checkInURLs(r, key)})
	})
}

func (s *Server) apiBackupRuns(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		limit, err := queryLimit(r, 50, 1000)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		if _, err := s.opts.Backups.Job(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		runs, err := s.opts.Backups.Runs(r.Context(), id, limit)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page[backup.Run]{Data: nonNil(runs)})
	})
}

func (s *Server) apiRestoreTests(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		if _, err := s.opts.Backups.Job(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		ts, err := s.opts.Backups.RestoreTests(r.Context(), id)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page[backup.RestoreTest]{Data: nonNil(ts)})
	})
}

func (s *Server) apiAddRestoreTest(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		var in backup.RestoreTestInput
		if !s.decodeJSON(w, r, &in) {
			return
		}
		if _, err := s.opts.Backups.Job(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		t, err := s.opts.Backups.AddRestoreTest(r.Context(), id, in)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, t)
	})
}

func (s *Server) apiBackupAlerts(w http.ResponseWriter, r *http.Request) {
	as, err := s.opts.Backups.OpenAlerts(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[backup.OpenAlert]{Data: nonNil(as)})
}

func (s *Server) apiBackupCoverage(w http.ResponseWriter, r *http.Request) {
	rules, err := s.opts.Backups.TypeRules(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	un, err := s.opts.Backups.Uncovered(r.Context(), 0)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"types": rules, "uncovered": un})
}

func (s *Server) apiSetBackupType(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		var in struct {
			Required *bool `json:"backup_required"`
		}
		if !s.decodeJSON(w, r, &in) {
			return
		}
		if in.Required == nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "backup_required: is required (true or false)", "backup_required")
			return
		}
		if err := s.opts.Backups.SetTypeRequired(r.Context(), id, *in.Required); err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"type_id": id, "backup_required": *in.Required})
	})
}

func (s *Server) apiDRPlans(w http.ResponseWriter, r *http.Request) {
	ps, err := s.opts.Backups.Plans(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[backup.Plan]{Data: nonNil(ps)})
}

func (s *Server) apiDRPlan(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		p, err := s.opts.Backups.Plan(r.Context(), id)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
}

func (s *Server) apiSaveDRPlan(w http.ResponseWriter, r *http.Request) {
	var id int64
	status := http.StatusCreated
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			s.apiFail(w, r, err)
			return
		}
		status = http.StatusOK
	}
	var in backup.PlanInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	p, err := s.opts.Backups.SavePlan(r.Context(), id, in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, status, p)
}

func (s *Server) apiDeleteDRPlan(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		if err := s.opts.Backups.DeletePlan(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) apiDRExercises(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		if _, err := s.opts.Backups.Plan(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		es, err := s.opts.Backups.Exercises(r.Context(), id, 0)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page[backup.Exercise]{Data: nonNil(es)})
	})
}

func (s *Server) apiAddDRExercise(w http.ResponseWriter, r *http.Request) {
	s.withBackupID(w, r, func(id int64) {
		var in backup.ExerciseInput
		if !s.decodeJSON(w, r, &in) {
			return
		}
		if _, err := s.opts.Backups.Plan(r.Context(), id); err != nil {
			s.apiFail(w, r, err)
			return
		}
		e, err := s.opts.Backups.AddExercise(r.Context(), id, in)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, e)
	})
}

// formatBytes shows a size in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}
