package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Duration is a time.Duration that reads and writes as text ("26h").
type Duration time.Duration

// MarshalJSON writes the duration as Go duration text.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d == 0 {
		return []byte(`""`), nil
	}
	return json.Marshal(shortDuration(time.Duration(d)))
}

// String is the duration in short form ("26h", "90m").
func (d Duration) String() string { return shortDuration(time.Duration(d)) }

func shortDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalJSON reads duration text ("" is zero).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// CIRef names a protected or covered CI.
type CIRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// State is a job's judged state, worst condition first.
type State string

// The states a job can be in.
const (
	StateWaiting  State = "waiting" // no run yet, none due yet
	StateOK       State = "ok"
	StateRunning  State = "running"
	StateLate     State = "late"
	StateMissed   State = "missed"
	StateFailed   State = "failed"
	StateTooLong  State = "too_long"
	StateTooSmall State = "too_small"
	StateRPO      State = "rpo_breached"
	StateStale    State = "restore_test_overdue"
)

// Job is a backup job opsdeck watches.
type Job struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Tool        string   `json:"tool"`
	Cron        string   `json:"cron,omitempty"`
	Timezone    string   `json:"timezone,omitempty"`
	Period      Duration `json:"period"`
	Grace       Duration `json:"grace"`
	MaxDuration Duration `json:"max_duration"`
	MinBytes    int64    `json:"min_bytes"`
	RPO         Duration `json:"rpo"`
	// RestoreTestMaxAgeDays flags the job when its newest passed restore
	// test is older (0: no policy).
	RestoreTestMaxAgeDays int       `json:"restore_test_max_age_days"`
	Self                  bool      `json:"self_backup"`
	CIs                   []CIRef   `json:"protected_cis"`
	State                 State     `json:"state"`
	StateDetail           string    `json:"state_detail"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`

	schedule cron.Schedule
	loc      *time.Location
}

// Schedule describes when runs are expected, for lists.
func (j Job) Schedule() string {
	if j.Cron != "" {
		tz := j.Timezone
		if tz == "" {
			tz = "UTC"
		}
		return fmt.Sprintf("cron %s (%s)", j.Cron, tz)
	}
	return "every " + j.Period.String()
}

// nextDue is when the run after one at t is expected.
func (j *Job) nextDue(t time.Time) time.Time {
	if j.Period > 0 {
		return t.Add(time.Duration(j.Period))
	}
	if j.schedule == nil {
		s, loc, err := monitor.ParseCron(j.Cron, j.Timezone)
		if err != nil {
			return time.Time{}
		}
		j.schedule, j.loc = s, loc
	}
	return j.schedule.Next(t.In(j.loc)).UTC()
}

// JobInput is what a job is created or replaced from; durations are text
// such as "24h" or "90m".
type JobInput struct {
	Name                  string  `json:"name"`
	Description           string  `json:"description"`
	Tool                  string  `json:"tool"`
	Cron                  string  `json:"cron"`
	Timezone              string  `json:"timezone"`
	Period                string  `json:"period"`
	Grace                 string  `json:"grace"`
	MaxDuration           string  `json:"max_duration"`
	MinBytes              int64   `json:"min_bytes"`
	RPO                   string  `json:"rpo"`
	RestoreTestMaxAgeDays int     `json:"restore_test_max_age_days"`
	CIIDs                 []int64 `json:"protected_ci_ids"`
}

// Tools are the tools the UI suggests; any short name is accepted.
func Tools() []string { return []string{"restic", "borg", "pg_dump", "rsync", "opsdeck", "other"} }

type jobSpec struct {
	period, grace, maxDur, rpo time.Duration
}

func parseDur(field, s string, lo, hi time.Duration, required bool) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return 0, valid.Errorf(field, "is required, such as \"24h\"")
		}
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || len(s) > 20 {
		return 0, valid.Errorf(field, "must be a duration such as \"90m\" or \"26h\"")
	}
	if d < lo || d > hi {
		return 0, valid.Errorf(field, "must be from %s to %s", shortDuration(lo), shortDuration(hi))
	}
	return d, nil
}

const year = 366 * 24 * time.Hour

// check validates in and returns its parsed durations. Errors name the field.
func (in *JobInput) check() (jobSpec, error) {
	var sp jobSpec
	in.Name, in.Tool, in.Cron, in.Timezone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Tool), strings.TrimSpace(in.Cron), strings.TrimSpace(in.Timezone)
	if err := valid.Text("name", in.Name, true, 200, false); err != nil {
		return sp, err
	}
	if err := valid.Text("description", in.Description, false, 2000, true); err != nil {
		return sp, err
	}
	if err := valid.Text("tool", in.Tool, false, 50, false); err != nil {
		return sp, err
	}
	var err error
	switch {
	case in.Period != "" && in.Cron != "":
		return sp, valid.Errorf("cron", "give either a period or a cron schedule, not both")
	case in.Cron != "":
		if _, _, err := monitor.ParseCron(in.Cron, in.Timezone); err != nil {
			return sp, err
		}
	case in.Period != "":
		if in.Timezone != "" {
			return sp, valid.Errorf("timezone", "only applies to a cron schedule")
		}
		if sp.period, err = parseDur("period", in.Period, time.Minute, year, true); err != nil {
			return sp, err
		}
	default:
		return sp, valid.Errorf("period", "give a period (\"24h\") or a cron schedule (\"0 3 * * *\")")
	}
	if sp.grace, err = parseDur("grace", in.Grace, 0, 7*24*time.Hour, false); err != nil {
		return sp, err
	}
	if in.Grace == "" {
		sp.grace = time.Hour
	}
	if sp.maxDur, err = parseDur("max_duration", in.MaxDuration, time.Second, 7*24*time.Hour, false); err != nil {
		return sp, err
	}
	if sp.rpo, err = parseDur("rpo", in.RPO, time.Minute, year, true); err != nil {
		return sp, err
	}
	if in.MinBytes < 0 {
		return sp, valid.Errorf("min_bytes", "must not be negative")
	}
	if in.RestoreTestMaxAgeDays < 0 || in.RestoreTestMaxAgeDays > 3660 {
		return sp, valid.Errorf("restore_test_max_age_days", "must be from 0 (no policy) to 3660")
	}
	if len(in.CIIDs) > 500 {
		return sp, valid.Errorf("protected_ci_ids", "at most 500 CIs per job")
	}
	slices.Sort(in.CIIDs)
	in.CIIDs = slices.Compact(in.CIIDs)
	return sp, nil
}

const jobCols = `id, name, description, tool, cron, timezone, period_seconds, grace_seconds, max_duration_seconds, min_bytes,
	rpo_seconds, restore_max_age_days, self_backup, state, state_detail, created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var period, grace, maxDur, rpo int64
	var state string
	err := row.Scan(&j.ID, &j.Name, &j.Description, &j.Tool, &j.Cron, &j.Timezone, &period, &grace, &maxDur, &j.MinBytes,
		&rpo, &j.RestoreTestMaxAgeDays, &j.Self, &state, &j.StateDetail, &j.CreatedAt, &j.UpdatedAt)
	sec := func(n int64) Duration { return Duration(time.Duration(n) * time.Second) }
	j.Period, j.Grace, j.MaxDuration, j.RPO = sec(period), sec(grace), sec(maxDur), sec(rpo)
	j.State, j.CIs = State(state), []CIRef{}
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return j, err
}

// Jobs lists every job by name, with its protected CIs.
func (s *Service) Jobs(ctx context.Context) ([]Job, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+jobCols+` FROM backup_jobs ORDER BY name, id`)
	if err != nil {
		return nil, wrap("list jobs", err)
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, wrap("list jobs", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list jobs", err)
	}
	if err := s.fillCIs(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Job returns the job with id.
func (s *Service) Job(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(s.db.R.QueryRowContext(ctx, `SELECT `+jobCols+` FROM backup_jobs WHERE id = $1`, id))
	if err != nil {
		return j, wrap("get job "+strconv.FormatInt(id, 10), err)
	}
	js := []Job{j}
	if err := s.fillCIs(ctx, js); err != nil {
		return j, err
	}
	return js[0], nil
}

func (s *Service) fillCIs(ctx context.Context, js []Job) error {
	if len(js) == 0 {
		return nil
	}
	idx := map[int64]int{}
	for i, j := range js {
		idx[j.ID] = i
	}
	q := `SELECT jc.job_id, c.id, c.name, t.key FROM backup_job_cis jc JOIN cis c ON c.id = jc.ci_id JOIN ci_types t ON t.id = c.type_id`
	var args []any
	if len(js) == 1 {
		q += ` WHERE jc.job_id = $1`
		args = append(args, js[0].ID)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY c.name, c.id`, args...)
	if err != nil {
		return wrap("protected CIs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var jid int64
		var c CIRef
		if err := rows.Scan(&jid, &c.ID, &c.Name, &c.Type); err != nil {
			return wrap("protected CIs", err)
		}
		if i, ok := idx[jid]; ok {
			js[i].CIs = append(js[i].CIs, c)
		}
	}
	return wrap("protected CIs", rows.Err())
}

// NewKey returns a fresh raw check-in key.
func NewKey() string { return "bk_" + auth.RandomSecret(20) }

// CreateJob adds a job and returns it with its raw check-in key, which is
// shown this once: only its hash is kept.
func (s *Service) CreateJob(ctx context.Context, in JobInput) (Job, string, error) {
	return s.createJob(ctx, in, false)
}

func (s *Service) createJob(ctx context.Context, in JobInput, self bool) (Job, string, error) {
	sp, err := in.check()
	if err != nil {
		return Job{}, "", err
	}
	key := NewKey()
	var id int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO backup_jobs (name, description, tool, cron, timezone, period_seconds, grace_seconds,
			max_duration_seconds, min_bytes, rpo_seconds, restore_max_age_days, self_backup, key_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id`,
			in.Name, in.Description, in.Tool, in.Cron, in.Timezone, secs(sp.period), secs(sp.grace), secs(sp.maxDur), in.MinBytes,
			secs(sp.rpo), in.RestoreTestMaxAgeDays, self, hashKey(key), now).Scan(&id); err != nil {
			return err
		}
		if err := writeCIs(ctx, tx, "backup_job_cis", "job_id", id, in.CIIDs); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "backup_job.create", "backup_job", strconv.FormatInt(id, 10), in.Name)
	})
	if err != nil {
		return Job{}, "", wrapCI("create job", err)
	}
	j, err := s.Job(ctx, id)
	return j, key, err
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// wrapCI explains a foreign-key refusal as a CI that does not exist.
func wrapCI(op string, err error) error {
	err = wrap(op, err)
	if errors.Is(err, store.ErrReference) {
		return valid.Errorf("protected_ci_ids", "names a CI that does not exist")
	}
	if errors.Is(err, store.ErrConflict) {
		return valid.Errorf("name", "another one already has this name")
	}
	return err
}

func writeCIs(ctx context.Context, tx *sql.Tx, table, col string, id int64, ids []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+col+` = $1`, id); err != nil {
		return err
	}
	for _, ci := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+col+`, ci_id) VALUES ($1, $2)`, id, ci); err != nil {
			return err
		}
	}
	return nil
}

// UpdateJob replaces a job's settings; its key and history stay.
func (s *Service) UpdateJob(ctx context.Context, id int64, in JobInput) (Job, error) {
	sp, err := in.check()
	if err != nil {
		return Job{}, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE backup_jobs SET name = $1, description = $2, tool = $3, cron = $4, timezone = $5,
			period_seconds = $6, grace_seconds = $7, max_duration_seconds = $8, min_bytes = $9, rpo_seconds = $10,
			restore_max_age_days = $11, updated_at = $12 WHERE id = $13`,
			in.Name, in.Description, in.Tool, in.Cron, in.Timezone, secs(sp.period), secs(sp.grace), secs(sp.maxDur), in.MinBytes,
			secs(sp.rpo), in.RestoreTestMaxAgeDays, s.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		if err := writeCIs(ctx, tx, "backup_job_cis", "job_id", id, in.CIIDs); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "backup_job.update", "backup_job", strconv.FormatInt(id, 10), in.Name)
	})
	if err != nil {
		return Job{}, wrapCI("update job", err)
	}
	if err := s.EvaluateJob(ctx, id); err != nil {
		s.log.Warn("evaluate backup job after edit", "job", id, "err", err)
	}
	return s.Job(ctx, id)
}

// RotateKey gives a job a new check-in key and returns it; the old key
// stops working at once.
func (s *Service) RotateKey(ctx context.Context, id int64) (string, error) {
	key := NewKey()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE backup_jobs SET key_hash = $1, updated_at = $2 WHERE id = $3`, hashKey(key), s.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return auth.Audit(ctx, tx, "backup_job.rotate_key", "backup_job", strconv.FormatInt(id, 10), "")
	})
	if err != nil {
		return "", wrap("rotate key", err)
	}
	return key, nil
}

// DeleteJob removes a job with its runs and restore tests and clears its
// open alerts.
func (s *Service) DeleteJob(ctx context.Context, id int64) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM backup_jobs WHERE id = $1`, id).Scan(&name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM backup_jobs WHERE id = $1`, id); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "backup_job.delete", "backup_job", strconv.FormatInt(id, 10), name)
	})
	if err != nil {
		return wrap("delete job", err)
	}
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	return s.sync(ctx, map[string]alert{}, jobPrefix(id))
}
