package change

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Group is an approver group (a CAB) and its members.
type Group struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	MemberIDs   []int64   `json:"member_ids"`
	Members     []string  `json:"members"`
	CreatedAt   time.Time `json:"created_at"`
}

// Term is one part of an approval rule: at least Min approvals from
// members of the group.
type Term struct {
	GroupID   int64  `json:"group_id"`
	GroupName string `json:"group_name,omitempty"`
	Min       int    `json:"min"`
}

// Decision is one approver's approve or reject.
type Decision struct {
	UserID   int64     `json:"user_id"`
	UserName string    `json:"user_name"`
	Approved bool      `json:"approved"`
	Comment  string    `json:"comment"`
	Round    int       `json:"round"`
	At       time.Time `json:"at"`
}

// TermStatus is how far a rule's term is met on a change.
type TermStatus struct {
	Term
	Got int  `json:"got"`
	Met bool `json:"met"`
}

// Approvals is a change's approval picture for its current round.
type Approvals struct {
	Round     int          `json:"round"`
	Terms     []TermStatus `json:"terms"`
	Decisions []Decision   `json:"decisions"`
	Met       bool         `json:"met"`
}

// Groups returns every approver group with its members.
func (s *Service) Groups(ctx context.Context) ([]Group, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, name, description, created_at FROM cab_groups ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("change: groups: %w", err)
	}
	var out []Group
	byID := map[int64]int{}
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.ID, &g.Name, &g.Description, &g.CreatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("change: groups: %w", err)
		}
		g.MemberIDs, g.Members, g.CreatedAt = []int64{}, []string{}, g.CreatedAt.UTC()
		byID[g.ID] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT m.group_id, u.id, u.username FROM cab_members m JOIN users u ON u.id = m.user_id ORDER BY u.username`)
	if err != nil {
		return nil, fmt.Errorf("change: group members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid, uid int64
		var name string
		if err := rows.Scan(&gid, &uid, &name); err != nil {
			return nil, fmt.Errorf("change: group members: %w", err)
		}
		if i, ok := byID[gid]; ok {
			out[i].MemberIDs = append(out[i].MemberIDs, uid)
			out[i].Members = append(out[i].Members, name)
		}
	}
	if out == nil {
		out = []Group{}
	}
	return out, rows.Err()
}

// SaveGroup creates (ID 0) or replaces an approver group and its members.
func (s *Service) SaveGroup(ctx context.Context, g Group) (Group, error) {
	if err := valid.Text("name", g.Name, true, 100, false); err != nil {
		return Group{}, err
	}
	if err := valid.Text("description", g.Description, false, 2000, true); err != nil {
		return Group{}, err
	}
	if len(g.MemberIDs) > 1000 {
		return Group{}, valid.Errorf("member_ids", "at most 1000 members")
	}
	slices.Sort(g.MemberIDs)
	g.MemberIDs = slices.Compact(g.MemberIDs)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if g.ID == 0 {
			if err := tx.QueryRowContext(ctx, `INSERT INTO cab_groups (name, description, created_at) VALUES ($1, $2, $3) RETURNING id`,
				g.Name, g.Description, s.now()).Scan(&g.ID); err != nil {
				return fmt.Errorf("change: create group: %w", store.MapError(err))
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE cab_groups SET name = $1, description = $2 WHERE id = $3`, g.Name, g.Description, g.ID)
			if err != nil {
				return fmt.Errorf("change: update group: %w", store.MapError(err))
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("change: group %d: %w", g.ID, store.ErrNotFound)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cab_members WHERE group_id = $1`, g.ID); err != nil {
			return fmt.Errorf("change: group members: %w", err)
		}
		for _, u := range g.MemberIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cab_members (group_id, user_id) VALUES ($1, $2)`, g.ID, u); err != nil {
				if isReference(store.MapError(err)) {
					return valid.Errorf("member_ids", "no user has id %d", u)
				}
				return fmt.Errorf("change: group members: %w", store.MapError(err))
			}
		}
		return auth.Audit(ctx, tx, "change.group.save", "cab_group", fmt.Sprint(g.ID), "name="+g.Name)
	})
	if err != nil {
		return Group{}, err
	}
	gs, err := s.Groups(ctx)
	if err != nil {
		return Group{}, err
	}
	for _, x := range gs {
		if x.ID == g.ID {
			return x, nil
		}
	}
	return Group{}, fmt.Errorf("change: group %d: %w", g.ID, store.ErrNotFound)
}

// DeleteGroup removes an approver group and the rule terms naming it.
func (s *Service) DeleteGroup(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "cab_groups", "cab_group", "change.group.delete", id)
}

// Rules returns the approval rule of every risk level (levels without
// terms need no approval).
func (s *Service) Rules(ctx context.Context) (map[Risk][]Term, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.risk, r.group_id, g.name, r.min_approvals FROM approval_rules r JOIN cab_groups g ON g.id = r.group_id ORDER BY r.risk, g.name`)
	if err != nil {
		return nil, fmt.Errorf("change: rules: %w", err)
	}
	defer rows.Close()
	out := map[Risk][]Term{}
	for rows.Next() {
		var risk string
		var t Term
		if err := rows.Scan(&risk, &t.GroupID, &t.GroupName, &t.Min); err != nil {
			return nil, fmt.Errorf("change: rules: %w", err)
		}
		out[Risk(risk)] = append(out[Risk(risk)], t)
	}
	return out, rows.Err()
}

// RuleFor returns the terms a change of risk r needs.
func (s *Service) RuleFor(ctx context.Context, r Risk) ([]Term, error) {
	rules, err := s.Rules(ctx)
	if err != nil {
		return nil, err
	}
	return rules[r], nil
}

// SetRule replaces the rule of a risk level: "1 of group A and 2 of group
// B" is two terms. No terms means changes of that risk need no approval.
func (s *Service) SetRule(ctx context.Context, r Risk, terms []Term) error {
	if _, err := ParseRisk("risk", string(r)); err != nil {
		return err
	}
	if len(terms) > 20 {
		return valid.Errorf("terms", "at most 20 groups in a rule")
	}
	seen := map[int64]bool{}
	for _, t := range terms {
		if t.Min < 1 || t.Min > 100 {
			return valid.Errorf("min", "must be from 1 to 100")
		}
		if seen[t.GroupID] {
			return valid.Errorf("group_id", "group %d is named twice", t.GroupID)
		}
		seen[t.GroupID] = true
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM approval_rules WHERE risk = $1`, string(r)); err != nil {
			return fmt.Errorf("change: rule: %w", err)
		}
		for _, t := range terms {
			if _, err := tx.ExecContext(ctx, `INSERT INTO approval_rules (risk, group_id, min_approvals) VALUES ($1, $2, $3)`, string(r), t.GroupID, t.Min); err != nil {
				if isReference(store.MapError(err)) {
					return valid.Errorf("group_id", "no approver group has id %d", t.GroupID)
				}
				return fmt.Errorf("change: rule: %w", store.MapError(err))
			}
		}
		return auth.Audit(ctx, tx, "change.rule.set", "approval_rule", string(r), fmt.Sprintf("%d terms", len(terms)))
	})
}

// memberships returns the groups a user belongs to.
func (s *Service) memberships(ctx context.Context, q store.Querier, userID int64) (map[int64]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT group_id FROM cab_members WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("change: memberships: %w", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var g int64
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out[g] = true
	}
	return out, rows.Err()
}

// ApprovalsOf returns a change's approval picture for its current round.
// A member of two groups of the rule counts for both.
func (s *Service) ApprovalsOf(ctx context.Context, id int64) (Approvals, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return Approvals{}, err
	}
	return s.approvals(ctx, s.db.R, c)
}

func (s *Service) approvals(ctx context.Context, q store.Querier, c Change) (Approvals, error) {
	terms, err := s.RuleFor(ctx, c.Risk)
	if err != nil {
		return Approvals{}, err
	}
	a := Approvals{Round: c.ApprovalRound, Terms: []TermStatus{}, Decisions: []Decision{}}
	rows, err := q.QueryContext(ctx, `SELECT user_id, user_name, decision, comment, round, at FROM change_approvals WHERE change_id = $1 ORDER BY id`, c.ID)
	if err != nil {
		return a, fmt.Errorf("change: approvals of %d: %w", c.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var d Decision
		var dec string
		if err := rows.Scan(&d.UserID, &d.UserName, &dec, &d.Comment, &d.Round, &d.At); err != nil {
			return a, fmt.Errorf("change: approvals of %d: %w", c.ID, err)
		}
		d.Approved, d.At = dec == "approved", d.At.UTC()
		a.Decisions = append(a.Decisions, d)
	}
	if err := rows.Err(); err != nil {
		return a, err
	}
	rows.Close()
	approvers := map[int64]bool{}
	for _, d := range a.Decisions {
		if d.Round == c.ApprovalRound && d.Approved {
			approvers[d.UserID] = true
		}
	}
	member := map[int64]map[int64]bool{}
	for u := range approvers {
		if member[u], err = s.memberships(ctx, q, u); err != nil {
			return a, err
		}
	}
	a.Met = true
	for _, t := range terms {
		ts := TermStatus{Term: t}
		for u := range approvers {
			if member[u][t.GroupID] {
				ts.Got++
			}
		}
		ts.Met = ts.Got >= t.Min
		a.Met = a.Met && ts.Met
		a.Terms = append(a.Terms, ts)
	}
	if len(terms) == 0 {
		// Without a rule, an emergency change needs one approval by
		// anyone but its requester.
		a.Met = len(approvers) > 0
	}
	return a, nil
}

// Decide records the caller's approval or rejection of a change, with a
// comment. Nobody decides on a change they requested; only members of the
// groups in the rule for the change's risk decide (any user when an
// emergency change's risk has no rule). When the rule is met a normal
// change moves to scheduled and an emergency change loses its flag; a
// rejection sends a normal change back to assessment for a new round.
func (s *Service) Decide(ctx context.Context, id int64, approve bool, comment string) (Change, error) {
	if err := valid.Text("comment", comment, !approve, 4000, true); err != nil {
		return Change{}, err
	}
	a := auth.ActorFrom(ctx)
	if a.UserID == 0 {
		return Change{}, valid.Errorf("approver", "approvals are given by people: sign in, or use a token owned by a user")
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return Change{}, err
	}
	switch {
	case c.Type == Normal && c.State == Authorization:
	case c.Type == Emergency && c.Unapproved && c.State != Draft && c.State != Cancelled:
	default:
		return Change{}, valid.Errorf("state", "a %s change in state %s is not awaiting approval", c.Type, c.State)
	}
	if c.RequesterID != nil && *c.RequesterID == a.UserID {
		return Change{}, valid.Errorf("approver", "you requested this change; someone else must approve it")
	}
	terms, err := s.RuleFor(ctx, c.Risk)
	if err != nil {
		return Change{}, err
	}
	if len(terms) > 0 {
		mine, err := s.memberships(ctx, s.db.R, a.UserID)
		if err != nil {
			return Change{}, err
		}
		ok := false
		for _, t := range terms {
			ok = ok || mine[t.GroupID]
		}
		if !ok {
			return Change{}, valid.Errorf("approver", "you are not in an approver group for %s-risk changes", c.Risk)
		}
	}
	decision := "rejected"
	if approve {
		decision = "approved"
	}
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO change_approvals (change_id, round, user_id, user_name, decision, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, c.ApprovalRound, a.UserID, actorName(a), decision, comment, now); err != nil {
			if errorsIs(store.MapError(err), store.ErrConflict) {
				return valid.Errorf("approver", "you already decided on this change")
			}
			return fmt.Errorf("change: decide: %w", store.MapError(err))
		}
		text := decision
		if comment != "" {
			text += ": " + comment
		}
		if err := addEvent(ctx, tx, id, now, actorName(a), decision, "", "", text); err != nil {
			return err
		}
		if err := auth.Audit(ctx, tx, "change."+decision[:len(decision)-1], "change", fmt.Sprint(id), comment); err != nil {
			return err
		}
		switch {
		case !approve && c.Type == Normal:
			if _, err := tx.ExecContext(ctx, `UPDATE changes SET approval_round = approval_round + 1 WHERE id = $1`, id); err != nil {
				return fmt.Errorf("change: reject: %w", err)
			}
			return s.moveTx(ctx, tx, id, Authorization, Assessment, "rejected by "+actorName(a)+"; revise it and ask for authorization again")
		case !approve:
			return addEvent(ctx, tx, id, now, "system", "flagged", "", "", "Emergency change rejected after the fact: it stays flagged for review")
		}
		st, err := s.approvals(ctx, tx, c)
		if err != nil || !st.Met {
			return err
		}
		if c.Type == Normal {
			return s.moveTx(ctx, tx, id, Authorization, Scheduled, "the approval rule is met")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE changes SET unapproved = FALSE, updated_at = $1 WHERE id = $2`, now, id); err != nil {
			return fmt.Errorf("change: approve: %w", err)
		}
		return addEvent(ctx, tx, id, now, "system", "approved_after", "", "", "Emergency change approved after the fact: the flag is cleared")
	})
	if err != nil {
		return Change{}, err
	}
	return s.Get(ctx, id)
}

// Inbox returns the changes awaiting the user's decision: in
// authorization (or emergency and unapproved), whose rule names a group
// the user is in, not requested by the user, not yet decided by the user
// this round.
func (s *Service) Inbox(ctx context.Context, userID int64) ([]Change, error) {
	cs, err := s.query(ctx, `SELECT `+changeCols+changeFrom+` WHERE (c.state = 'authorization' OR (c.type = 'emergency' AND c.unapproved AND c.state <> 'cancelled'))
		AND (c.requester_id IS NULL OR c.requester_id <> $1)
		AND NOT EXISTS (SELECT 1 FROM change_approvals a WHERE a.change_id = c.id AND a.round = c.approval_round AND a.user_id = $1)
		ORDER BY c.planned_start, c.id LIMIT 500`, userID)
	if err != nil {
		return nil, err
	}
	rules, err := s.Rules(ctx)
	if err != nil {
		return nil, err
	}
	mine, err := s.memberships(ctx, s.db.R, userID)
	if err != nil {
		return nil, err
	}
	out := []Change{}
	for _, c := range cs {
		terms := rules[c.Risk]
		ok := len(terms) == 0
		for _, t := range terms {
			ok = ok || mine[t.GroupID]
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}
