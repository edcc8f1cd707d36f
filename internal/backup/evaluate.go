package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
)

// alert is one condition the evaluator wants open in the incident
// pipeline.
type alert struct {
	state    State
	severity string
	summary  string
	detail   string
	links    []incident.Link
}

func jobPrefix(id int64) string  { return "job/" + strconv.FormatInt(id, 10) + "/" }
func planPrefix(id int64) string { return "dr/" + strconv.FormatInt(id, 10) + "/" }

// statePrecedence orders states worst first; a job shows its worst.
var statePrecedence = []State{StateFailed, StateMissed, StateRPO, StateLate, StateTooLong, StateTooSmall, StateStale}

// facts are what the evaluator reads about one job.
type facts struct {
	lastRun      *Run       // newest run (open or finished)
	lastFinished *Run       // newest finished run
	lastGood     *time.Time // newest successful finish
	lastTest     *time.Time // newest passed restore test
}

func (s *Service) jobFacts(ctx context.Context, q store.Querier, id int64) (facts, error) {
	var f facts
	get := func(where string, args ...any) (*Run, error) {
		r, err := scanRun(q.QueryRowContext(ctx, `SELECT `+runCols+` FROM backup_runs WHERE job_id = $1`+where+` ORDER BY id DESC LIMIT 1`, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &r, nil
	}
	var err error
	if f.lastRun, err = get(``, id); err != nil {
		return f, err
	}
	if f.lastFinished, err = get(` AND status <> $2`, id, RunRunning); err != nil {
		return f, err
	}
	var good, test store.NullTime
	if err := q.QueryRowContext(ctx, `SELECT MAX(finished_at) FROM backup_runs WHERE job_id = $1 AND status = $2`, id, RunSuccess).Scan(&good); err != nil {
		return f, err
	}
	if err := q.QueryRowContext(ctx, `SELECT MAX(tested_at) FROM backup_restore_tests WHERE job_id = $1 AND result = $2`, id, TestPassed).Scan(&test); err != nil {
		return f, err
	}
	if good.Valid {
		f.lastGood = &good.Time
	}
	if test.Valid {
		f.lastTest = &test.Time
	}
	return f, nil
}

// judge returns the job's conditions at now, keyed by alert key, and its
// display state. It reads nothing: everything comes in j and f.
func judge(j *Job, f facts, now time.Time) (map[string]alert, State, string) {
	out := map[string]alert{}
	p := jobPrefix(j.ID)
	name := j.Name
	add := func(st State, sev, format string, a ...any) {
		out[p+string(st)] = alert{state: st, severity: sev, summary: "Backup " + name + ": " + fmt.Sprintf(format, a...)}
	}
	grace := time.Duration(j.Grace)
	// Late and missed: when is the next run due after the last one began
	// (or, with no start check-in, ended)? For a cron schedule, a run up to
	// the grace (at most 15 minutes) early still counts for its slot.
	base := j.CreatedAt
	early := time.Duration(0)
	if r := f.lastRun; r != nil {
		base = r.At()
		if r.StartedAt != nil {
			base = *r.StartedAt
		}
		if j.Cron != "" {
			early = min(grace, 15*time.Minute)
		}
	}
	if due := j.nextDue(base.Add(early)); !due.IsZero() && now.After(due.Add(grace)) {
		if next := j.nextDue(due); !next.IsZero() && now.After(next.Add(grace)) {
			add(StateMissed, incident.SeverityError, "missed the runs due at %s and %s", fmtTime(due), fmtTime(next))
		} else {
			add(StateLate, incident.SeverityWarning, "the run due at %s has not checked in (grace %s)", fmtTime(due), j.Grace)
		}
	}
	if r := f.lastFinished; r != nil {
		switch {
		case r.Status == RunFail && r.ExitCode != nil:
			add(StateFailed, incident.SeverityError, "the run finishing %s failed with exit code %d", fmtTime(r.At()), *r.ExitCode)
		case r.Status == RunFail:
			add(StateFailed, incident.SeverityError, "the run finishing %s failed", fmtTime(r.At()))
		default:
			if j.MaxDuration > 0 && r.Duration() > time.Duration(j.MaxDuration) {
				add(StateTooLong, incident.SeverityWarning, "the last run took %s, longer than the expected %s", shortDuration(r.Duration().Round(time.Second)), j.MaxDuration)
			}
			if j.MinBytes > 0 && r.Bytes != nil && *r.Bytes < j.MinBytes {
				add(StateTooSmall, incident.SeverityWarning, "the last run wrote %d bytes, less than the expected %d", *r.Bytes, j.MinBytes)
			}
		}
	}
	if r := f.lastRun; r != nil && r.Status == RunRunning && r.StartedAt != nil && j.MaxDuration > 0 {
		if d := now.Sub(*r.StartedAt); d > time.Duration(j.MaxDuration) {
			add(StateTooLong, incident.SeverityWarning, "the run started %s is still running after %s (expected at most %s)",
				fmtTime(*r.StartedAt), shortDuration(d.Round(time.Minute)), j.MaxDuration)
		}
	}
	goodBase := j.CreatedAt
	if f.lastGood != nil {
		goodBase = *f.lastGood
	}
	if now.Sub(goodBase) > time.Duration(j.RPO) {
		if f.lastGood == nil {
			add(StateRPO, incident.SeverityError, "no good backup yet, and the RPO of %s has passed since the job was added", j.RPO)
		} else {
			add(StateRPO, incident.SeverityError, "the newest good backup (%s) is older than the RPO of %s", fmtTime(*f.lastGood), j.RPO)
		}
	}
	if j.RestoreTestMaxAgeDays > 0 {
		maxAge := time.Duration(j.RestoreTestMaxAgeDays) * 24 * time.Hour
		testBase := j.CreatedAt
		if f.lastTest != nil {
			testBase = *f.lastTest
		}
		if now.Sub(testBase) > maxAge {
			last := "never"
			if f.lastTest != nil {
				last = fmtTime(*f.lastTest)
			}
			add(StateStale, incident.SeverityWarning, "no passed restore test within %d days (last: %s)", j.RestoreTestMaxAgeDays, last)
		}
	}
	for _, st := range statePrecedence {
		if a, ok := out[p+string(st)]; ok {
			return out, st, strings.TrimPrefix(a.summary, "Backup "+name+": ")
		}
	}
	switch {
	case f.lastRun != nil && f.lastRun.Status == RunRunning:
		return out, StateRunning, "running since " + fmtTime(*f.lastRun.StartedAt)
	case f.lastGood != nil:
		return out, StateOK, "last good backup " + fmtTime(*f.lastGood)
	}
	return out, StateWaiting, "waiting for the first run"
}

// EvaluateJob judges one job now: it stores its state and raises or
// clears its alerts.
func (s *Service) EvaluateJob(ctx context.Context, id int64) error {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	want, err := s.judgeJob(ctx, id)
	if err != nil {
		return err
	}
	return s.sync(ctx, want, jobPrefix(id))
}

func (s *Service) judgeJob(ctx context.Context, id int64) (map[string]alert, error) {
	j, err := scanJob(s.db.R.QueryRowContext(ctx, `SELECT `+jobCols+` FROM backup_jobs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]alert{}, nil
	}
	if err != nil {
		return nil, wrap("evaluate", err)
	}
	f, err := s.jobFacts(ctx, s.db.R, id)
	if err != nil {
		return nil, wrap("evaluate", err)
	}
	want, st, detail := judge(&j, f, s.now())
	if st != j.State || detail != j.StateDetail {
		if _, err := s.db.W.ExecContext(ctx, `UPDATE backup_jobs SET state = $1, state_detail = $2 WHERE id = $3`, string(st), clip(detail, 500), id); err != nil {
			return nil, wrap("evaluate", err)
		}
	}
	return want, nil
}

// Evaluate judges every job and DR plan now.
func (s *Service) Evaluate(ctx context.Context) error {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	rows, err := s.db.R.QueryContext(ctx, `SELECT id FROM backup_jobs`)
	if err != nil {
		return wrap("evaluate", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return wrap("evaluate", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	want := map[string]alert{}
	for _, id := range ids {
		w, err := s.judgeJob(ctx, id)
		if err != nil {
			return err
		}
		for k, a := range w {
			want[k] = a
		}
	}
	plans, err := s.overduePlans(ctx)
	if err != nil {
		return err
	}
	for k, a := range plans {
		want[k] = a
	}
	return s.sync(ctx, want, "")
}

// sync raises the alerts in want that are not open yet and clears the open
// ones under prefix that want no longer holds. What is open is kept in the
// database, so a restart neither raises twice nor forgets to clear. A
// failed raise or clear is retried on the next evaluation.
func (s *Service) sync(ctx context.Context, want map[string]alert, prefix string) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT key FROM backup_alerts`)
	if err != nil {
		return wrap("alerts", err)
	}
	open := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return wrap("alerts", err)
		}
		if strings.HasPrefix(k, prefix) {
			open[k] = true
		}
	}
	rows.Close()
	var errs []error
	for k, a := range want {
		if open[k] {
			continue
		}
		if s.alerts != nil {
			err := s.alerts.Raise(ctx, incident.Signal{Source: Source, Service: IncidentService,
				ServiceDescription: "Alerts from backup jobs and DR plans: late, missed, failed, too long or too small runs, RPO breaches and overdue tests.",
				Key:                k, Summary: a.summary, Detail: a.detail, Severity: a.severity, Links: a.links,
				Labels: map[string]string{"condition": string(a.state)}})
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if _, err := s.db.W.ExecContext(ctx, `INSERT INTO backup_alerts (key, summary, raised_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
			k, clip(a.summary, 500), s.now()); err != nil {
			errs = append(errs, err)
		}
		s.log.Info("backup alert raised", "key", k, "summary", a.summary)
	}
	for k := range open {
		if _, ok := want[k]; ok {
			continue
		}
		if s.alerts != nil {
			if err := s.alerts.Clear(ctx, Source, IncidentService, k); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if _, err := s.db.W.ExecContext(ctx, `DELETE FROM backup_alerts WHERE key = $1`, k); err != nil {
			errs = append(errs, err)
		}
		s.log.Info("backup alert cleared", "key", k)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("backup: alerts: %w", err)
	}
	return nil
}

// OpenAlert is an alert the evaluator holds open.
type OpenAlert struct {
	Key      string    `json:"key"`
	Summary  string    `json:"summary"`
	RaisedAt time.Time `json:"raised_at"`
}

// OpenAlerts lists the open backup and DR alerts, oldest first.
func (s *Service) OpenAlerts(ctx context.Context) ([]OpenAlert, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT key, summary, raised_at FROM backup_alerts ORDER BY raised_at, key`)
	if err != nil {
		return nil, wrap("alerts", err)
	}
	defer rows.Close()
	out := []OpenAlert{}
	for rows.Next() {
		var a OpenAlert
		if err := rows.Scan(&a.Key, &a.Summary, &a.RaisedAt); err != nil {
			return nil, wrap("alerts", err)
		}
		a.RaisedAt = a.RaisedAt.UTC()
		out = append(out, a)
	}
	return out, wrap("alerts", rows.Err())
}

// Run evaluates every job on a ticker, and takes scheduled self-backups,
// until ctx ends. State lives in the database, so a restart picks up
// where it stopped.
func (s *Service) Run(ctx context.Context) {
	if err := s.Evaluate(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("backup evaluation", "err", err)
	}
	var selfTick <-chan time.Time
	if s.self.Interval > 0 {
		if err := s.ensureSelfJob(ctx); err != nil {
			s.log.Error("self-backup job", "err", err)
		}
		t := time.NewTicker(s.self.Interval)
		defer t.Stop()
		selfTick = t.C
	}
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Evaluate(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("backup evaluation", "err", err)
			}
		case <-selfTick:
			if _, err := s.SelfBackup(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("self-backup", "err", err)
			}
		}
	}
}
