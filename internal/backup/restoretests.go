package backup

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Restore test results.
const (
	TestPassed  = "passed"
	TestPartial = "partial"
	TestFailed  = "failed"
)

// RestoreTest is one recorded restore of a job's backup: when, whether it
// worked, what data was checked, and how long it took (the measured RTO).
type RestoreTest struct {
	ID          int64     `json:"id"`
	JobID       int64     `json:"job_id"`
	TestedAt    time.Time `json:"tested_at"`
	Result      string    `json:"result"`
	DataChecked string    `json:"data_checked"`
	Duration    Duration  `json:"duration"`
	Notes       string    `json:"notes"`
	RecordedBy  string    `json:"recorded_by"`
}

// RestoreTestInput records a restore test; Duration is text ("45m").
type RestoreTestInput struct {
	TestedAt    time.Time `json:"tested_at"`
	Result      string    `json:"result"`
	DataChecked string    `json:"data_checked"`
	Duration    string    `json:"duration"`
	Notes       string    `json:"notes"`
}

// AddRestoreTest records a restore test of job and judges the job again.
func (s *Service) AddRestoreTest(ctx context.Context, jobID int64, in RestoreTestInput) (RestoreTest, error) {
	switch in.Result {
	case TestPassed, TestPartial, TestFailed:
	default:
		return RestoreTest{}, valid.Errorf("result", "must be passed, partial or failed")
	}
	now := s.now()
	if in.TestedAt.IsZero() {
		in.TestedAt = now
	}
	if in.TestedAt.After(now.Add(time.Hour)) || in.TestedAt.Year() < 2000 {
		return RestoreTest{}, valid.Errorf("tested_at", "must be a past date")
	}
	d, err := parseDur("duration", in.Duration, time.Second, 30*24*time.Hour, true)
	if err != nil {
		return RestoreTest{}, err
	}
	if err := valid.Text("data_checked", in.DataChecked, true, 2000, true); err != nil {
		return RestoreTest{}, err
	}
	if err := valid.Text("notes", in.Notes, false, 5000, true); err != nil {
		return RestoreTest{}, err
	}
	by := auth.ActorFrom(ctx).Name
	var id int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO backup_restore_tests (job_id, tested_at, result, data_checked, duration_seconds, notes, recorded_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, jobID, in.TestedAt.UTC(), in.Result, strings.TrimSpace(in.DataChecked), secs(d), in.Notes, by, now).Scan(&id); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "backup_restore_test.create", "backup_job", strconv.FormatInt(jobID, 10), in.Result)
	})
	if err != nil {
		return RestoreTest{}, wrap("restore test", err)
	}
	if err := s.EvaluateJob(ctx, jobID); err != nil {
		s.log.Warn("evaluate backup job after restore test", "job", jobID, "err", err)
	}
	return RestoreTest{ID: id, JobID: jobID, TestedAt: in.TestedAt.UTC(), Result: in.Result, DataChecked: strings.TrimSpace(in.DataChecked),
		Duration: Duration(d), Notes: in.Notes, RecordedBy: by}, nil
}

// RestoreTests lists a job's restore tests, newest first.
func (s *Service) RestoreTests(ctx context.Context, jobID int64) ([]RestoreTest, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, job_id, tested_at, result, data_checked, duration_seconds, notes, recorded_by
		FROM backup_restore_tests WHERE job_id = $1 ORDER BY tested_at DESC, id DESC LIMIT 200`, jobID)
	if err != nil {
		return nil, wrap("restore tests", err)
	}
	defer rows.Close()
	out := []RestoreTest{}
	for rows.Next() {
		var t RestoreTest
		var d int64
		if err := rows.Scan(&t.ID, &t.JobID, &t.TestedAt, &t.Result, &t.DataChecked, &d, &t.Notes, &t.RecordedBy); err != nil {
			return nil, wrap("restore tests", err)
		}
		t.TestedAt, t.Duration = t.TestedAt.UTC(), Duration(time.Duration(d)*time.Second)
		out = append(out, t)
	}
	return out, wrap("restore tests", rows.Err())
}
