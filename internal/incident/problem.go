package incident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Problem statuses.
const (
	ProblemOpen     = "open"
	ProblemResolved = "resolved"
)

// Problem links incidents with a shared cause: what the cause is, how to
// work around it, and whether it is a known error responders should find.
type Problem struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Status      string    `json:"status"`
	RootCause   string    `json:"root_cause"`
	Workaround  string    `json:"workaround"`
	KnownError  bool      `json:"known_error"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	IncidentIDs []int64   `json:"incident_ids"`
}

// ProblemInput is what creating or changing a problem takes.
type ProblemInput struct {
	Title      string `json:"title"`
	Status     string `json:"status"`
	RootCause  string `json:"root_cause"`
	Workaround string `json:"workaround"`
	KnownError bool   `json:"known_error"`
}

func (in *ProblemInput) normalize() error {
	in.Title = strings.TrimSpace(in.Title)
	if err := valid.Text("title", in.Title, true, 300, false); err != nil {
		return err
	}
	if in.Status == "" {
		in.Status = ProblemOpen
	}
	if !slices.Contains([]string{ProblemOpen, ProblemResolved}, in.Status) {
		return valid.Errorf("status", "must be open or resolved")
	}
	if err := valid.Text("root_cause", in.RootCause, false, 10000, true); err != nil {
		return err
	}
	return valid.Text("workaround", in.Workaround, false, 10000, true)
}

const problemCols = `id, title, status, root_cause, workaround, known_error, created_by, created_at, updated_at`

func scanProblem(row interface{ Scan(...any) error }) (Problem, error) {
	var p Problem
	err := row.Scan(&p.ID, &p.Title, &p.Status, &p.RootCause, &p.Workaround, &p.KnownError, &p.CreatedBy, &p.CreatedAt, &p.UpdatedAt)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	p.IncidentIDs = []int64{}
	return p, err
}

// CreateProblem records a problem.
func (s *Service) CreateProblem(ctx context.Context, in ProblemInput) (Problem, error) {
	if err := in.normalize(); err != nil {
		return Problem{}, err
	}
	now := s.now().UTC()
	var p Problem
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanProblem(tx.QueryRowContext(ctx, `INSERT INTO problems (title, status, root_cause, workaround, known_error, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+problemCols,
			in.Title, in.Status, in.RootCause, in.Workaround, in.KnownError, auth.ActorFrom(ctx).Name, now))
		if err != nil {
			return fmt.Errorf("incident: create problem: %w", store.MapError(err))
		}
		return auth.Audit(ctx, tx, "problem.create", "problem", strconv.FormatInt(p.ID, 10), p.Title)
	})
	return p, err
}

// UpdateProblem replaces a problem's fields.
func (s *Service) UpdateProblem(ctx context.Context, id int64, in ProblemInput) (Problem, error) {
	if err := in.normalize(); err != nil {
		return Problem{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE problems SET title = $2, status = $3, root_cause = $4, workaround = $5, known_error = $6, updated_at = $7 WHERE id = $1`,
			id, in.Title, in.Status, in.RootCause, in.Workaround, in.KnownError, s.now().UTC())
		if err != nil {
			return fmt.Errorf("incident: update problem %d: %w", id, store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("incident: update problem %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "problem.update", "problem", strconv.FormatInt(id, 10), in.Title)
	})
	if err != nil {
		return Problem{}, err
	}
	return s.GetProblem(ctx, id)
}

// GetProblem returns a problem with its incidents.
func (s *Service) GetProblem(ctx context.Context, id int64) (Problem, error) {
	p, err := scanProblem(s.db.R.QueryRowContext(ctx, `SELECT `+problemCols+` FROM problems WHERE id = $1`, id))
	if err != nil {
		return p, fmt.Errorf("incident: get problem %d: %w", id, store.MapError(err))
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT incident_id FROM problem_incidents WHERE problem_id = $1 ORDER BY incident_id`, id)
	if err != nil {
		return p, fmt.Errorf("incident: incidents of problem %d: %w", id, store.MapError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return p, fmt.Errorf("incident: incidents of problem %d: %w", id, err)
		}
		p.IncidentIDs = append(p.IncidentIDs, n)
	}
	return p, rows.Err()
}

// ProblemFilter selects problems: Query matches title, root cause or
// workaround (case-insensitive); KnownErrors keeps only known errors.
type ProblemFilter struct {
	Query       string
	KnownErrors bool
	Status      string
	Before      int64
	Limit       int
}

// ListProblems returns problems newest first and the next page's cursor.
func (s *Service) ListProblems(ctx context.Context, f ProblemFilter) ([]Problem, int64, error) {
	if err := valid.Text("q", f.Query, false, 200, false); err != nil {
		return nil, 0, err
	}
	if f.Status != "" && !slices.Contains([]string{ProblemOpen, ProblemResolved}, f.Status) {
		return nil, 0, valid.Errorf("status", "must be open or resolved")
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(f.Query)) + "%"
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+problemCols+` FROM problems
		WHERE ($1 = '%%' OR LOWER(title) LIKE $1 ESCAPE '\' OR LOWER(root_cause) LIKE $1 ESCAPE '\' OR LOWER(workaround) LIKE $1 ESCAPE '\')
		AND ($2 = FALSE OR known_error = TRUE) AND ($3 = '' OR status = $3) AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, like, f.KnownErrors, f.Status, f.Before, f.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("incident: list problems: %w", store.MapError(err))
	}
	defer rows.Close()
	out := []Problem{}
	for rows.Next() {
		p, err := scanProblem(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("incident: list problems: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("incident: list problems: %w", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[f.Limit-1].ID
	}
	return out, next, nil
}

// LinkIncident links an incident to a problem and notes it on the
// incident's timeline. Linking twice is a no-op.
func (s *Service) LinkIncident(ctx context.Context, problemID, incidentID int64) error {
	actor := auth.ActorFrom(ctx).Name
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var title string
		if err := tx.QueryRowContext(ctx, `SELECT title FROM problems WHERE id = $1`, problemID).Scan(&title); err != nil {
			return fmt.Errorf("incident: problem %d: %w", problemID, store.MapError(err))
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM incidents WHERE id = $1`, incidentID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return valid.Errorf("incident_id", "names no incident")
			}
			return fmt.Errorf("incident: link: %w", store.MapError(err))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO problem_incidents (problem_id, incident_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, problemID, incidentID)
		if err != nil {
			return fmt.Errorf("incident: link: %w", store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if err := addTimeline(ctx, tx, incidentID, s.now(), "problem", actor, fmt.Sprintf("Linked to problem #%d %s by %s", problemID, title, actor), nil); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "problem.link", "problem", strconv.FormatInt(problemID, 10), "incident "+strconv.FormatInt(incidentID, 10))
	})
}

// ProblemsOf returns the problems an incident is linked to.
func (s *Service) ProblemsOf(ctx context.Context, incidentID int64) ([]Problem, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+problemCols+` FROM problems WHERE id IN (SELECT problem_id FROM problem_incidents WHERE incident_id = $1) ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident: problems of %d: %w", incidentID, store.MapError(err))
	}
	defer rows.Close()
	out := []Problem{}
	for rows.Next() {
		p, err := scanProblem(rows)
		if err != nil {
			return nil, fmt.Errorf("incident: problems of %d: %w", incidentID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
