package backup

import (
	"context"
	"time"
)

// JobSummary is one row of the backup dashboard.
type JobSummary struct {
	Job
	LastGood *time.Time `json:"last_good,omitempty"`
	LastRun  *Run       `json:"last_run,omitempty"`
	// Recent are the newest runs, oldest first (for the history strip).
	Recent []Run `json:"-"`
	// WithinRPO says the newest good backup is younger than the RPO.
	WithinRPO bool `json:"within_rpo"`
	// Age is how old the newest good backup is (0 when there is none).
	Age Duration `json:"last_good_age"`
}

// Dashboard summarises every job: its state, newest good run, RPO
// compliance and its last recent runs.
func (s *Service) Dashboard(ctx context.Context, recent int) ([]JobSummary, error) {
	jobs, err := s.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]JobSummary, 0, len(jobs))
	for _, j := range jobs {
		f, err := s.jobFacts(ctx, s.db.R, j.ID)
		if err != nil {
			return nil, wrap("dashboard", err)
		}
		sum := JobSummary{Job: j, LastGood: f.lastGood, LastRun: f.lastRun}
		// Like the RPO alert: a job without a good backup yet is within
		// its RPO until the RPO has passed since it was added.
		base := j.CreatedAt
		if f.lastGood != nil {
			base = *f.lastGood
			sum.Age = Duration(now.Sub(base).Round(time.Minute))
		}
		sum.WithinRPO = now.Sub(base) <= time.Duration(j.RPO)
		if recent > 0 {
			rs, err := s.Runs(ctx, j.ID, recent)
			if err != nil {
				return nil, err
			}
			for i, k := 0, len(rs)-1; i < k; i, k = i+1, k-1 {
				rs[i], rs[k] = rs[k], rs[i]
			}
			sum.Recent = rs
		}
		out = append(out, sum)
	}
	return out, nil
}

// CIChoices lists CIs to pick from in forms, by type and name (at most
// limit, default 1000).
func (s *Service) CIChoices(ctx context.Context, limit int) ([]CIRef, error) {
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, c.name, t.key FROM cis c JOIN ci_types t ON t.id = c.type_id
		ORDER BY t.key, c.name, c.id LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("CI choices", err)
	}
	defer rows.Close()
	out := []CIRef{}
	for rows.Next() {
		var c CIRef
		if err := rows.Scan(&c.ID, &c.Name, &c.Type); err != nil {
			return nil, wrap("CI choices", err)
		}
		out = append(out, c)
	}
	return out, wrap("CI choices", rows.Err())
}
