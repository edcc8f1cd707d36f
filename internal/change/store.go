package change

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
)

const changeCols = `c.id, c.type, c.state, c.outcome, c.title, c.description, c.reason, c.category, c.risk, c.risk_answers, c.impact,
	c.implementation_plan, c.backout_plan, c.test_plan, c.planned_start, c.planned_end, c.actual_start, c.actual_end,
	c.implementer_id, COALESCE(u.username, ''), c.requester_id, c.requester, c.template_id, c.skip_maintenance, c.maintenance_id,
	c.unapproved, c.in_freeze, c.approval_round, c.created_at, c.updated_at, c.submitted_at, c.closed_at`

const changeFrom = ` FROM changes c LEFT JOIN users u ON u.id = c.implementer_id`

func scanChange(row interface{ Scan(...any) error }) (Change, error) {
	var c Change
	var typ, state, outcome, risk, answers string
	var ps, pe, as, ae, sub, closed store.NullTime
	var impl, req, tmpl, maint sql.NullInt64
	err := row.Scan(&c.ID, &typ, &state, &outcome, &c.Title, &c.Description, &c.Reason, &c.Category, &risk, &answers, &c.Impact,
		&c.ImplementationPlan, &c.BackoutPlan, &c.TestPlan, &ps, &pe, &as, &ae, &impl, &c.Implementer, &req, &c.Requester, &tmpl,
		&c.SkipMaintenance, &maint, &c.Unapproved, &c.InFreeze, &c.ApprovalRound, &c.CreatedAt, &c.UpdatedAt, &sub, &closed)
	if err != nil {
		return c, store.MapError(err)
	}
	c.Type, c.State, c.Outcome, c.Risk = Type(typ), State(state), Outcome(outcome), Risk(risk)
	if answers != "" {
		var a Answers
		if json.Unmarshal([]byte(answers), &a) == nil {
			c.RiskAnswers = &a
		}
	}
	c.PlannedStart, c.PlannedEnd, c.ActualStart, c.ActualEnd = timePtr(ps), timePtr(pe), timePtr(as), timePtr(ae)
	c.SubmittedAt, c.ClosedAt = timePtr(sub), timePtr(closed)
	c.ImplementerID, c.RequesterID, c.TemplateID, c.MaintenanceID = intPtr(impl), intPtr(req), intPtr(tmpl), intPtr(maint)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

func timePtr(t store.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func intPtr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

// Get returns a change with its CIs and links.
func (s *Service) Get(ctx context.Context, id int64) (Change, error) {
	return s.get(ctx, s.db.R, id)
}

func (s *Service) get(ctx context.Context, q store.Querier, id int64) (Change, error) {
	c, err := scanChange(q.QueryRowContext(ctx, `SELECT `+changeCols+changeFrom+` WHERE c.id = $1`, id))
	if err != nil {
		return c, fmt.Errorf("change: get %d: %w", id, err)
	}
	if c.CIs, err = s.cisOf(ctx, q, id); err != nil {
		return c, err
	}
	c.Links, err = s.linksOf(ctx, q, id)
	return c, err
}

func (s *Service) cisOf(ctx context.Context, q store.Querier, id int64) ([]cmdb.CIRef, error) {
	rows, err := q.QueryContext(ctx, `SELECT ci.id, ci.name, t.key, t.service FROM change_cis cc JOIN cis ci ON ci.id = cc.ci_id
		JOIN ci_types t ON t.id = ci.type_id WHERE cc.change_id = $1 ORDER BY ci.name, ci.id`, id)
	if err != nil {
		return nil, fmt.Errorf("change: CIs of %d: %w", id, err)
	}
	defer rows.Close()
	out := []cmdb.CIRef{}
	for rows.Next() {
		var r cmdb.CIRef
		if err := rows.Scan(&r.ID, &r.Name, &r.Type, &r.Service); err != nil {
			return nil, fmt.Errorf("change: CIs of %d: %w", id, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Service) linksOf(ctx context.Context, q store.Querier, id int64) ([]Link, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, object_id, caused, created_at, created_by FROM change_links WHERE change_id = $1 ORDER BY kind, object_id`, id)
	if err != nil {
		return nil, fmt.Errorf("change: links of %d: %w", id, err)
	}
	defer rows.Close()
	out := []Link{}
	for rows.Next() {
		var l Link
		var kind string
		if err := rows.Scan(&kind, &l.ObjectID, &l.Caused, &l.CreatedAt, &l.CreatedBy); err != nil {
			return nil, fmt.Errorf("change: links of %d: %w", id, err)
		}
		l.Kind, l.CreatedAt = LinkKind(kind), l.CreatedAt.UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}

// addEvent records a timeline entry in the caller's transaction.
func addEvent(ctx context.Context, q store.Querier, changeID int64, at time.Time, actor, kind string, from, to State, text string) error {
	if len(text) > 4000 {
		text = text[:4000]
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO change_events (change_id, at, actor, kind, from_state, to_state, text) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		changeID, at, actor, kind, string(from), string(to), text); err != nil {
		return fmt.Errorf("change: timeline of %d: %w", changeID, store.MapError(err))
	}
	return nil
}

// Timeline returns a change's events, oldest first.
func (s *Service) Timeline(ctx context.Context, id int64) ([]Event, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, at, actor, kind, from_state, to_state, text FROM change_events WHERE change_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("change: timeline of %d: %w", id, err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var from, to string
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Kind, &from, &to, &e.Text); err != nil {
			return nil, fmt.Errorf("change: timeline of %d: %w", id, err)
		}
		e.From, e.To, e.At = State(from), State(to), e.At.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListFilter selects changes for the list.
type ListFilter struct {
	State    State
	Type     Type
	Risk     Risk
	CIID     int64
	Text     string
	Flagged  bool // unapproved emergency or in a freeze
	After    int64
	Limit    int
	Category string
}

// List returns changes newest first, and the cursor of the next page (0
// at the end).
func (s *Service) List(ctx context.Context, f ListFilter) ([]Change, int64, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.State != "" {
		where = append(where, "c.state = "+arg(string(f.State)))
	}
	if f.Type != "" {
		where = append(where, "c.type = "+arg(string(f.Type)))
	}
	if f.Risk != "" {
		where = append(where, "c.risk = "+arg(string(f.Risk)))
	}
	if f.Category != "" {
		where = append(where, "c.category = "+arg(f.Category))
	}
	if f.CIID != 0 {
		where = append(where, "c.id IN (SELECT change_id FROM change_cis WHERE ci_id = "+arg(f.CIID)+")")
	}
	if f.Text != "" {
		where = append(where, "LOWER(c.title) LIKE "+arg("%"+likeEscape(strings.ToLower(f.Text))+"%")+` ESCAPE '\'`)
	}
	if f.Flagged {
		where = append(where, "(c.unapproved OR c.in_freeze)")
	}
	if f.After > 0 {
		where = append(where, "c.id < "+arg(f.After))
	}
	q := `SELECT ` + changeCols + changeFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY c.id DESC LIMIT " + arg(f.Limit+1)
	out, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

func (s *Service) query(ctx context.Context, q string, args ...any) ([]Change, error) {
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("change: list: %w", err)
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, fmt.Errorf("change: list: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// inList writes $first.. placeholders for ids.
func inList(ids []int64, first int) (string, []any) {
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = "$" + strconv.Itoa(first+i)
		args[i] = id
	}
	return strings.Join(ph, ","), args
}

func idsText(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func parseIDs(s string) []int64 {
	out := []int64{}
	for _, p := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// deleteRow deletes one row by id in its own transaction with an audit
// entry; a missing row is store.ErrNotFound.
func (s *Service) deleteRow(ctx context.Context, table, kind, action string, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("change: delete %s: %w", kind, store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("change: %s %d: %w", kind, id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, action, kind, fmt.Sprint(id), "")
	})
}
