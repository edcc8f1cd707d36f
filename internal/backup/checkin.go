package backup

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Kind is what a check-in reports.
type Kind string

// The kinds of check-in: /start, /success, /fail, or an exit code
// (0 is success, anything else a failure).
const (
	KindStart   Kind = "start"
	KindSuccess Kind = "success"
	KindFail    Kind = "fail"
)

// Run statuses.
const (
	RunRunning = "running"
	RunSuccess = "success"
	RunFail    = "fail"
)

// Limits of a check-in's body.
const (
	// MaxBody is the most a check-in body may be; larger ones are refused.
	MaxBody = 64 << 10
	// MaxLogTail is how much of the log is kept: its end.
	MaxLogTail = 8 << 10
	maxSnap    = 200
)

// Report is the optional JSON body of a check-in.
type Report struct {
	Bytes      *int64   `json:"bytes,omitempty"`
	Files      *int64   `json:"files,omitempty"`
	Duration   *float64 `json:"duration,omitempty"` // seconds
	SnapshotID string   `json:"snapshot_id,omitempty"`
	Log        string   `json:"log,omitempty"`
}

// ParseReport reads a check-in body. An empty body is no report; a body
// that is not a JSON object is kept as the log (a script may pipe its
// output); a JSON object is read strictly and checked, naming the field.
func ParseReport(body []byte) (Report, error) {
	var r Report
	if len(body) > MaxBody {
		return r, valid.Errorf("body", "is larger than %d bytes", MaxBody)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return r, nil
	}
	if trimmed[0] != '{' {
		r.Log = tail(strings.ToValidUTF8(string(body), "\uFFFD"), MaxLogTail)
		return r, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Report{}, valid.Errorf(te.Field, "has the wrong type (want %s)", te.Type)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return Report{}, valid.Errorf(strings.Trim(f, `"`), "is not a check-in field (bytes, files, duration, snapshot_id, log)")
		}
		return Report{}, valid.Errorf("body", "is not valid JSON: %v", err)
	}
	if dec.More() {
		return Report{}, valid.Errorf("body", "has data after the JSON object")
	}
	return r, r.check()
}

func (r *Report) check() error {
	switch {
	case r.Bytes != nil && *r.Bytes < 0:
		return valid.Errorf("bytes", "must not be negative")
	case r.Files != nil && *r.Files < 0:
		return valid.Errorf("files", "must not be negative")
	case r.Duration != nil && (math.IsNaN(*r.Duration) || *r.Duration < 0 || *r.Duration > 366*24*3600):
		return valid.Errorf("duration", "must be seconds from 0 to a year")
	case !utf8.ValidString(r.SnapshotID) || strings.ContainsAny(r.SnapshotID, "\r\n\x00"):
		return valid.Errorf("snapshot_id", "must be one line of text")
	case len(r.SnapshotID) > maxSnap:
		return valid.Errorf("snapshot_id", "is longer than %d bytes", maxSnap)
	}
	r.Log = tail(strings.ToValidUTF8(strings.ReplaceAll(r.Log, "\x00", ""), "\uFFFD"), MaxLogTail)
	return nil
}

// CheckIn is one call of a job's check-in URL.
type CheckIn struct {
	Kind       Kind
	ExitCode   *int
	Report     Report
	SourceAddr string
}

// Run is one backup run as its check-ins told it.
type Run struct {
	ID         int64      `json:"id"`
	JobID      int64      `json:"job_id"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Status     string     `json:"status"`
	ExitCode   *int64     `json:"exit_code,omitempty"`
	Bytes      *int64     `json:"bytes,omitempty"`
	Files      *int64     `json:"files,omitempty"`
	DurationMS *int64     `json:"duration_ms,omitempty"`
	SnapshotID string     `json:"snapshot_id,omitempty"`
	LogTail    string     `json:"log_tail,omitempty"`
	SourceAddr string     `json:"source_addr,omitempty"`
}

// At is when the run last changed: its finish, else its start.
func (r Run) At() time.Time {
	if r.FinishedAt != nil {
		return *r.FinishedAt
	}
	if r.StartedAt != nil {
		return *r.StartedAt
	}
	return time.Time{}
}

// Duration is the run's length (0 if unknown).
func (r Run) Duration() time.Duration {
	if r.DurationMS == nil {
		return 0
	}
	return time.Duration(*r.DurationMS) * time.Millisecond
}

// RecordCheckIn stores a check-in for the job whose key is key and judges
// the job again at once. A start opens a run; a success or failure closes
// the newest open run, or is a run of its own when none is open. Unknown
// keys are counted and refused with ErrUnknownKey; they never create jobs.
func (s *Service) RecordCheckIn(ctx context.Context, key string, c CheckIn) (Run, error) {
	if key == "" || len(key) > 100 {
		s.countUnknown()
		return Run{}, ErrUnknownKey
	}
	var jobID int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT id FROM backup_jobs WHERE key_hash = $1`, hashKey(key)).Scan(&jobID); err != nil {
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			s.countUnknown()
			return Run{}, ErrUnknownKey
		}
		return Run{}, wrap("check-in", err)
	}
	run, err := s.recordRun(ctx, jobID, c)
	if err != nil {
		return Run{}, err
	}
	s.checkIns.WithLabelValues(string(c.Kind)).Inc()
	if err := s.EvaluateJob(ctx, jobID); err != nil {
		s.log.Warn("evaluate backup job after check-in", "job", jobID, "err", err)
	}
	return run, nil
}

func (s *Service) countUnknown() {
	s.unknownKeys.Inc()
	s.unknownN.Add(1)
}

func (s *Service) recordRun(ctx context.Context, jobID int64, c CheckIn) (Run, error) {
	if err := c.Report.check(); err != nil {
		return Run{}, err
	}
	now := s.now()
	c.SourceAddr = clip(c.SourceAddr, 64)
	rep := c.Report
	var code any
	if c.ExitCode != nil {
		code = int64(*c.ExitCode)
	}
	var durMS any
	if rep.Duration != nil {
		durMS = int64(*rep.Duration * 1000)
	}
	var id int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if c.Kind == KindStart {
			return tx.QueryRowContext(ctx, `INSERT INTO backup_runs (job_id, started_at, status, snapshot_id, log_tail, source_addr, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $2) RETURNING id`, jobID, now, RunRunning, rep.SnapshotID, rep.Log, c.SourceAddr).Scan(&id)
		}
		status := RunSuccess
		if c.Kind == KindFail {
			status = RunFail
		}
		var started store.NullTime
		err := tx.QueryRowContext(ctx, `SELECT id, started_at FROM backup_runs WHERE job_id = $1 AND status = $2 ORDER BY id DESC LIMIT 1`,
			jobID, RunRunning).Scan(&id, &started)
		switch {
		case err == nil:
			if durMS == nil && started.Valid {
				durMS = now.Sub(started.Time).Milliseconds()
			}
			_, err = tx.ExecContext(ctx, `UPDATE backup_runs SET finished_at = $1, status = $2, exit_code = $3, bytes = $4, files = $5,
				duration_ms = $6, snapshot_id = CASE WHEN $7 = '' THEN snapshot_id ELSE $7 END,
				log_tail = CASE WHEN $8 = '' THEN log_tail ELSE $8 END, source_addr = $9 WHERE id = $10`,
				now, status, code, rep.Bytes, rep.Files, durMS, rep.SnapshotID, rep.Log, c.SourceAddr, id)
			return err
		case errors.Is(err, sql.ErrNoRows):
			var startAt any
			if rep.Duration != nil {
				startAt = now.Add(-time.Duration(*rep.Duration * float64(time.Second)))
			}
			return tx.QueryRowContext(ctx, `INSERT INTO backup_runs (job_id, started_at, finished_at, status, exit_code, bytes, files,
				duration_ms, snapshot_id, log_tail, source_addr, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $3) RETURNING id`,
				jobID, startAt, now, status, code, rep.Bytes, rep.Files, durMS, rep.SnapshotID, rep.Log, c.SourceAddr).Scan(&id)
		}
		return err
	})
	if err != nil {
		return Run{}, wrap("check-in", err)
	}
	return s.run(ctx, id)
}

const runCols = `id, job_id, started_at, finished_at, status, exit_code, bytes, files, duration_ms, snapshot_id, log_tail, source_addr`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var st, fin store.NullTime
	var code, b, f, d sql.NullInt64
	if err := row.Scan(&r.ID, &r.JobID, &st, &fin, &r.Status, &code, &b, &f, &d, &r.SnapshotID, &r.LogTail, &r.SourceAddr); err != nil {
		return r, err
	}
	if st.Valid {
		r.StartedAt = &st.Time
	}
	if fin.Valid {
		r.FinishedAt = &fin.Time
	}
	opt := func(n sql.NullInt64) *int64 {
		if !n.Valid {
			return nil
		}
		return &n.Int64
	}
	r.ExitCode, r.Bytes, r.Files, r.DurationMS = opt(code), opt(b), opt(f), opt(d)
	return r, nil
}

func (s *Service) run(ctx context.Context, id int64) (Run, error) {
	r, err := scanRun(s.db.R.QueryRowContext(ctx, `SELECT `+runCols+` FROM backup_runs WHERE id = $1`, id))
	return r, wrap("get run", err)
}

// Runs returns a job's newest runs first (at most limit, default 50).
func (s *Service) Runs(ctx context.Context, jobID int64, limit int) ([]Run, error) {
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+runCols+` FROM backup_runs WHERE job_id = $1 ORDER BY id DESC LIMIT $2`, jobID, limit)
	if err != nil {
		return nil, wrap("runs", err)
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, wrap("runs", err)
		}
		out = append(out, r)
	}
	return out, wrap("runs", rows.Err())
}

// ParseAction reads the last part of a check-in URL: start, success, fail
// or an exit code 0-255.
func ParseAction(a string) (Kind, *int, error) {
	switch a {
	case "start":
		return KindStart, nil, nil
	case "success", "":
		return KindSuccess, nil, nil
	case "fail":
		return KindFail, nil, nil
	}
	var code int
	if len(a) > 3 || a == "" {
		return "", nil, fmt.Errorf("unknown check-in action")
	}
	for _, r := range a {
		if r < '0' || r > '9' {
			return "", nil, fmt.Errorf("unknown check-in action")
		}
		code = code*10 + int(r-'0')
	}
	if code > 255 {
		return "", nil, fmt.Errorf("exit code out of range")
	}
	if code == 0 {
		return KindSuccess, &code, nil
	}
	return KindFail, &code, nil
}
