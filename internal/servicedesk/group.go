package servicedesk

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// AssignMode is how a group hands its new tickets to members.
type AssignMode string

// The assignment modes.
const (
	AssignNone        AssignMode = "none"         // tickets wait in the queue
	AssignRoundRobin  AssignMode = "round_robin"  // members in turn
	AssignLeastLoaded AssignMode = "least_loaded" // the member with fewest unresolved tickets
)

// Group is a queue of tickets and the agents who work it.
type Group struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	AssignMode  AssignMode `json:"assign_mode"`
	// Categories route new tickets of these categories without a group
	// to this group.
	Categories []string  `json:"categories"`
	MemberIDs  []int64   `json:"member_ids"`
	Members    []Member  `json:"members"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Member is an agent in a group.
type Member struct {
	UserID   int64  `json:"user_id"`
	Username string `json:"username"`
}

func (g *Group) check() error {
	g.Name = strings.TrimSpace(g.Name)
	if err := valid.Text("name", g.Name, true, 100, false); err != nil {
		return err
	}
	if err := valid.Text("description", g.Description, false, 1000, true); err != nil {
		return err
	}
	if g.AssignMode == "" {
		g.AssignMode = AssignNone
	}
	if !slices.Contains([]AssignMode{AssignNone, AssignRoundRobin, AssignLeastLoaded}, g.AssignMode) {
		return valid.Errorf("assign_mode", "must be none, round_robin or least_loaded")
	}
	cats := []string{}
	for _, c := range g.Categories {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" || slices.Contains(cats, c) {
			continue
		}
		if err := valid.Text("categories", c, false, MaxCategory, false); err != nil {
			return err
		}
		if strings.Contains(c, ",") {
			return valid.Errorf("categories", "a category has no commas")
		}
		cats = append(cats, c)
	}
	g.Categories = cats
	slices.Sort(g.MemberIDs)
	g.MemberIDs = slices.Compact(g.MemberIDs)
	return nil
}

// Groups lists groups by name with their members.
func (s *Service) Groups(ctx context.Context) ([]Group, error) {
	return s.groups(ctx, s.db.R, 0)
}

// Group returns one group with its members.
func (s *Service) Group(ctx context.Context, id int64) (Group, error) {
	gs, err := s.groups(ctx, s.db.R, id)
	if err != nil {
		return Group{}, err
	}
	if len(gs) == 0 {
		return Group{}, wrap("group "+strconv.FormatInt(id, 10), store.ErrNotFound)
	}
	return gs[0], nil
}

func (s *Service) groups(ctx context.Context, q store.Querier, id int64) ([]Group, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, description, assign_mode, categories, updated_at FROM sd_groups
		WHERE $1 = 0 OR id = $1 ORDER BY name`, id)
	if err != nil {
		return nil, wrap("list groups", err)
	}
	out := []Group{}
	byID := map[int64]int{}
	for rows.Next() {
		var g Group
		var cats string
		if err := rows.Scan(&g.ID, &g.Name, &g.Description, &g.AssignMode, &cats, &g.UpdatedAt); err != nil {
			rows.Close()
			return nil, wrap("list groups", err)
		}
		g.UpdatedAt = g.UpdatedAt.UTC()
		g.Categories = splitList(cats)
		g.MemberIDs, g.Members = []int64{}, []Member{}
		byID[g.ID] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("list groups", err)
	}
	rows, err = q.QueryContext(ctx, `SELECT m.group_id, m.user_id, u.username FROM sd_group_members m JOIN users u ON u.id = m.user_id
		WHERE $1 = 0 OR m.group_id = $1 ORDER BY m.group_id, u.username`, id)
	if err != nil {
		return nil, wrap("list group members", err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid int64
		var m Member
		if err := rows.Scan(&gid, &m.UserID, &m.Username); err != nil {
			return nil, wrap("list group members", err)
		}
		if i, ok := byID[gid]; ok {
			out[i].Members = append(out[i].Members, m)
			out[i].MemberIDs = append(out[i].MemberIDs, m.UserID)
		}
	}
	return out, wrap("list group members", rows.Err())
}

// SaveGroup creates (ID 0) or replaces a group and its members, who must
// be operators or admins.
func (s *Service) SaveGroup(ctx context.Context, g Group) (Group, error) {
	if err := g.check(); err != nil {
		return g, err
	}
	g.UpdatedAt = s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		action := "ticket_group.update"
		cats := strings.Join(g.Categories, ",")
		if g.ID == 0 {
			action = "ticket_group.create"
			if err := tx.QueryRowContext(ctx, `INSERT INTO sd_groups (name, description, assign_mode, categories, updated_at)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, g.Name, g.Description, string(g.AssignMode), cats, g.UpdatedAt).Scan(&g.ID); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE sd_groups SET name = $1, description = $2, assign_mode = $3, categories = $4, updated_at = $5 WHERE id = $6`,
				g.Name, g.Description, string(g.AssignMode), cats, g.UpdatedAt, g.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sd_group_members WHERE group_id = $1`, g.ID); err != nil {
			return err
		}
		for _, uid := range g.MemberIDs {
			var role string
			if err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1 AND NOT disabled`, uid).Scan(&role); err != nil {
				return valid.Errorf("member_ids", "user %d does not exist or is disabled", uid)
			}
			if !auth.Role(role).Allows(auth.RoleOperator) {
				return valid.Errorf("member_ids", "user %d is a %s; group members work tickets and must be operators or admins", uid, role)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sd_group_members (group_id, user_id) VALUES ($1, $2)`, g.ID, uid); err != nil {
				return err
			}
		}
		return auth.Audit(ctx, tx, action, "ticket_group", strconv.FormatInt(g.ID, 10), g.Name)
	})
	if err != nil {
		if _, ok := valid.As(err); ok {
			return g, err
		}
		return g, wrap("save group", err)
	}
	return s.Group(ctx, g.ID)
}

// DeleteGroup removes a group no ticket is in.
func (s *Service) DeleteGroup(ctx context.Context, id int64) error {
	return wrap("delete group", s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sd_groups WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return auth.Audit(ctx, tx, "ticket_group.delete", "ticket_group", strconv.FormatInt(id, 10), "")
	}))
}

// route applies the assignment rules to a new ticket: a ticket without a
// group goes to the first group (by name) that lists its category; a
// ticket without an assignee in a group that assigns goes to the next
// member in turn (round robin) or to the member with the fewest
// unresolved tickets (least loaded, ties to the lowest user id).
func (s *Service) route(ctx context.Context, tx *sql.Tx, t *Ticket) error {
	if t.GroupID == 0 && t.Category != "" {
		gs, err := s.groups(ctx, tx, 0)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if slices.Contains(g.Categories, t.Category) {
				t.GroupID = g.ID
				break
			}
		}
	}
	if t.GroupID == 0 || t.AssigneeID != 0 {
		return nil
	}
	var mode string
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT assign_mode, last_assignee FROM sd_groups WHERE id = $1`+s.forUpdate(), t.GroupID).Scan(&mode, &last); err != nil {
		return valid.Errorf("group_id", "no such group")
	}
	var pick int64
	switch AssignMode(mode) {
	case AssignRoundRobin:
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(
			(SELECT MIN(user_id) FROM sd_group_members WHERE group_id = $1 AND user_id > $2),
			(SELECT MIN(user_id) FROM sd_group_members WHERE group_id = $1), 0)`, t.GroupID, last).Scan(&pick)
		if err != nil {
			return err
		}
	case AssignLeastLoaded:
		err := tx.QueryRowContext(ctx, `SELECT m.user_id FROM sd_group_members m
			LEFT JOIN sd_tickets t ON t.assignee_id = m.user_id AND t.status IN ('new', 'open', 'pending')
			WHERE m.group_id = $1 GROUP BY m.user_id ORDER BY COUNT(t.id), m.user_id LIMIT 1`, t.GroupID).Scan(&pick)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
	}
	if pick == 0 {
		return nil
	}
	t.AssigneeID = pick
	_, err := tx.ExecContext(ctx, `UPDATE sd_groups SET last_assignee = $1 WHERE id = $2`, pick, t.GroupID)
	return err
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
