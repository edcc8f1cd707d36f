package cmdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

const ciCols = `c.id, c.type_id, t.key, c.name, c.description, c.owner_team, c.criticality, c.environment, c.status, c.attributes, c.created_at, c.updated_at`

const ciFrom = ` FROM cis c JOIN ci_types t ON t.id = c.type_id`

func scanCI(row interface{ Scan(...any) error }) (CI, error) {
	var c CI
	var crit, env, st, attrs string
	if err := row.Scan(&c.ID, &c.TypeID, &c.Type, &c.Name, &c.Description, &c.OwnerTeam, &crit, &env, &st, &attrs, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.Criticality, c.Environment, c.Status = Criticality(crit), Environment(env), Status(st)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return c, fmt.Errorf("cmdb: CI %d: stored attributes: %w", c.ID, err)
	}
	if c.Attributes == nil {
		c.Attributes = map[string]any{}
	}
	c.Tags = []string{}
	return c, nil
}

// Get returns the CI with id.
func (s *Service) Get(ctx context.Context, id int64) (CI, error) {
	return s.getCI(ctx, s.db.R, id)
}

func (s *Service) getCI(ctx context.Context, q store.Querier, id int64) (CI, error) {
	c, err := scanCI(q.QueryRowContext(ctx, `SELECT `+ciCols+ciFrom+` WHERE c.id = $1`, id))
	if err != nil {
		return c, fmt.Errorf("cmdb: get CI %d: %w", id, store.MapError(err))
	}
	cs := []CI{c}
	if err := s.fillTags(ctx, q, cs); err != nil {
		return c, err
	}
	return cs[0], nil
}

// getMany returns the CIs with ids that exist, in the order of ids.
func (s *Service) getMany(ctx context.Context, ids []int64) ([]CI, error) {
	byID := make(map[int64]CI, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		ph, args := inList(chunk, 1)
		rows, err := s.db.R.QueryContext(ctx, `SELECT `+ciCols+ciFrom+` WHERE c.id IN (`+ph+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("cmdb: get CIs: %w", err)
		}
		for rows.Next() {
			c, err := scanCI(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("cmdb: get CIs: %w", err)
			}
			byID[c.ID] = c
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("cmdb: get CIs: %w", err)
		}
	}
	out := make([]CI, 0, len(byID))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out, s.fillTags(ctx, s.db.R, out)
}

// fillTags reads the tags of cs in one query.
func (s *Service) fillTags(ctx context.Context, q store.Querier, cs []CI) error {
	if len(cs) == 0 {
		return nil
	}
	at := map[int64]int{}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		at[c.ID], ids[i] = i, c.ID
	}
	for chunk := range slices.Chunk(ids, 500) {
		ph, args := inList(chunk, 1)
		rows, err := q.QueryContext(ctx, `SELECT ci_id, tag FROM ci_tags WHERE ci_id IN (`+ph+`) ORDER BY tag`, args...)
		if err != nil {
			return fmt.Errorf("cmdb: read tags: %w", err)
		}
		for rows.Next() {
			var id int64
			var tag string
			if err := rows.Scan(&id, &tag); err != nil {
				rows.Close()
				return fmt.Errorf("cmdb: read tags: %w", err)
			}
			cs[at[id]].Tags = append(cs[at[id]].Tags, tag)
		}
		if err := closeRows(rows); err != nil {
			return fmt.Errorf("cmdb: read tags: %w", err)
		}
	}
	return nil
}

// inList makes "$n, $n+1, ..." for ids, numbered from first.
func inList(ids []int64, first int) (string, []any) {
	var b strings.Builder
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
		args[i] = id
	}
	return b.String(), args
}

// prepare checks in against its type and returns the type and the
// normalized attributes.
func (s *Service) prepare(ctx context.Context, q store.Querier, in *CIInput) (CIType, map[string]any, error) {
	if err := in.normalize(); err != nil {
		return CIType{}, nil, err
	}
	in.Type = strings.TrimSpace(in.Type)
	if in.Type == "" {
		return CIType{}, nil, valid.Errorf("type", "is required")
	}
	t, err := s.typeWhere(ctx, q, `key = $1`, in.Type)
	if isNotFound(err) {
		return t, nil, valid.Errorf("type", "%q is not a CI type", clip(in.Type, 64))
	}
	if err != nil {
		return t, nil, err
	}
	attrs, err := t.Attributes.Check(in.Attributes)
	return t, attrs, err
}

// Create adds a CI.
func (s *Service) Create(ctx context.Context, in CIInput) (CI, error) {
	var c CI
	err := s.write(ctx, func(tx *sql.Tx) (func(), error) {
		t, attrs, err := s.prepare(ctx, tx, &in)
		if err != nil {
			return nil, err
		}
		ab, _ := json.Marshal(attrs)
		now := s.now()
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO cis (type_id, name, description, owner_team, criticality, environment, status, attributes, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
			t.ID, in.Name, in.Description, in.OwnerTeam, string(in.Criticality), string(in.Environment), string(in.Status), string(ab), now).Scan(&id); err != nil {
			return nil, fmt.Errorf("cmdb: create CI: %w", store.MapError(err))
		}
		if err := writeTags(ctx, tx, id, in.Tags); err != nil {
			return nil, err
		}
		if err := s.history(ctx, tx, id, "created", "", "", in.Name); err != nil {
			return nil, err
		}
		if err := auth.Audit(ctx, tx, "ci.create", "ci", strconv.FormatInt(id, 10), t.Key+" "+in.Name); err != nil {
			return nil, err
		}
		if c, err = s.getCI(ctx, tx, id); err != nil {
			return nil, err
		}
		return func() { s.g.putCI(c.ID, c.Name, c.TypeID) }, nil
	})
	return c, err
}

func writeTags(ctx context.Context, tx *sql.Tx, id int64, tags []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM ci_tags WHERE ci_id = $1`, id); err != nil {
		return fmt.Errorf("cmdb: write tags: %w", err)
	}
	for _, tag := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ci_tags (ci_id, tag) VALUES ($1, $2)`, id, tag); err != nil {
			return fmt.Errorf("cmdb: write tags: %w", store.MapError(err))
		}
	}
	return nil
}

// Update replaces a CI's fields and records each change in its history.
// A change of type re-checks the attributes against the new type.
func (s *Service) Update(ctx context.Context, id int64, in CIInput) (CI, error) {
	var c CI
	err := s.write(ctx, func(tx *sql.Tx) (func(), error) {
		old, err := s.getCI(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		t, attrs, err := s.prepare(ctx, tx, &in)
		if err != nil {
			return nil, err
		}
		type change struct{ field, old, new string }
		var changes []change
		diff := func(field, o, n string) {
			if o != n {
				changes = append(changes, change{field, o, n})
			}
		}
		diff("type", old.Type, t.Key)
		diff("name", old.Name, in.Name)
		diff("description", old.Description, in.Description)
		diff("owner_team", old.OwnerTeam, in.OwnerTeam)
		diff("criticality", string(old.Criticality), string(in.Criticality))
		diff("environment", string(old.Environment), string(in.Environment))
		diff("status", string(old.Status), string(in.Status))
		diff("tags", strings.Join(old.Tags, ", "), strings.Join(in.Tags, ", "))
		keys := map[string]bool{}
		for k := range old.Attributes {
			keys[k] = true
		}
		for k := range attrs {
			keys[k] = true
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}) {
			diff("attributes."+k, valueText(old.Attributes[k]), valueText(attrs[k]))
		}
		if len(changes) == 0 {
			c = old
			return nil, nil
		}
		ab, _ := json.Marshal(attrs)
		if _, err := tx.ExecContext(ctx, `UPDATE cis SET type_id = $1, name = $2, description = $3, owner_team = $4, criticality = $5,
			environment = $6, status = $7, attributes = $8, updated_at = $9 WHERE id = $10`,
			t.ID, in.Name, in.Description, in.OwnerTeam, string(in.Criticality), string(in.Environment), string(in.Status), string(ab), s.now(), id); err != nil {
			return nil, fmt.Errorf("cmdb: update CI: %w", store.MapError(err))
		}
		if err := writeTags(ctx, tx, id, in.Tags); err != nil {
			return nil, err
		}
		var fields []string
		for _, ch := range changes {
			if err := s.history(ctx, tx, id, "updated", ch.field, ch.old, ch.new); err != nil {
				return nil, err
			}
			fields = append(fields, ch.field)
		}
		if err := auth.Audit(ctx, tx, "ci.update", "ci", strconv.FormatInt(id, 10), in.Name+": "+strings.Join(fields, ", ")); err != nil {
			return nil, err
		}
		if c, err = s.getCI(ctx, tx, id); err != nil {
			return nil, err
		}
		return func() { s.g.putCI(c.ID, c.Name, c.TypeID) }, nil
	})
	return c, err
}

// valueText is an attribute value as history records it: its JSON, with
// strings unquoted; empty when unset.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Delete removes a CI with its relationships, links and history. The CIs
// at the other end of its relationships record the removal in their
// history; the audit log keeps the deletion.
func (s *Service) Delete(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) (func(), error) {
		old, err := s.getCI(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		rels, err := s.relationshipsOf(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			peer := r.Target.ID
			if peer == id {
				peer = r.Source.ID
			}
			if err := s.history(ctx, tx, peer, "relationship_removed", "relationship", r.Text(), ""); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cis WHERE id = $1`, id); err != nil {
			return nil, fmt.Errorf("cmdb: delete CI: %w", store.MapError(err))
		}
		if err := auth.Audit(ctx, tx, "ci.delete", "ci", strconv.FormatInt(id, 10), old.Type+" "+old.Name); err != nil {
			return nil, err
		}
		return func() { s.g.removeCI(id) }, nil
	})
}

// ListFilter selects CIs. Empty fields match everything.
type ListFilter struct {
	Type        string
	Environment Environment
	Status      Status
	Criticality Criticality
	// Query matches a part of the name or description, ignoring case.
	Query string
	Tag   string
	// Sort is name (default; case-insensitive), -name, updated or -updated.
	Sort string
	// After is the cursor: the id of the last CI of the previous page.
	After int64
	// Limit is the page size: 50 when unset, at most 1000.
	Limit int
}

// Sorts lists the orders List accepts.
func Sorts() []string { return []string{"name", "-name", "updated", "-updated"} }

// List returns a page of CIs and the cursor of the next page (0 at the end).
func (s *Service) List(ctx context.Context, f ListFilter) ([]CI, int64, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 1000:
		f.Limit = 1000
	}
	if f.Sort == "" {
		f.Sort = "name"
	}
	var col string
	desc := strings.HasPrefix(f.Sort, "-")
	switch strings.TrimPrefix(f.Sort, "-") {
	case "name":
		col = "lower(c.name)"
	case "updated":
		col = "c.updated_at"
	default:
		return nil, 0, valid.Errorf("sort", "must be one of %s", strings.Join(Sorts(), ", "))
	}
	var where []string
	var args []any
	add := func(cond string, vs ...any) {
		n := make([]any, len(vs))
		for i, v := range vs {
			args = append(args, v)
			n[i] = len(args)
		}
		where = append(where, fmt.Sprintf(cond, n...))
	}
	if f.Type != "" {
		add("t.key = $%d", f.Type)
	}
	if f.Environment != "" {
		add("c.environment = $%d", string(f.Environment))
	}
	if f.Status != "" {
		add("c.status = $%d", string(f.Status))
	}
	if f.Criticality != "" {
		add("c.criticality = $%d", string(f.Criticality))
	}
	if f.Tag != "" {
		add("c.id IN (SELECT ci_id FROM ci_tags WHERE tag = $%d)", strings.ToLower(f.Tag))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		pat := "%" + likeEscape(strings.ToLower(q)) + "%"
		add(`(lower(c.name) LIKE $%d ESCAPE '\' OR lower(c.description) LIKE $%d ESCAPE '\')`, pat, pat)
	}
	if f.After > 0 {
		// Keyset pagination: continue after the cursor CI's place in the order.
		var name string
		var updated time.Time
		err := s.db.R.QueryRowContext(ctx, `SELECT lower(name), updated_at FROM cis WHERE id = $1`, f.After).Scan(&name, &updated)
		if err != nil {
			if isNotFound(store.MapError(err)) {
				return nil, 0, valid.Errorf("cursor", "points to a CI that no longer exists; start from the first page")
			}
			return nil, 0, fmt.Errorf("cmdb: list CIs: %w", err)
		}
		var v any = name
		if col == "c.updated_at" {
			v = updated.UTC()
		}
		op := ">"
		if desc {
			op = "<"
		}
		add(fmt.Sprintf("(%s %s $%%d OR (%s = $%%d AND c.id %s $%%d))", col, op, col, op), v, v, f.After)
	}
	q := `SELECT ` + ciCols + ciFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	args = append(args, f.Limit+1)
	q += fmt.Sprintf(" ORDER BY %s %s, c.id %s LIMIT $%d", col, dir, dir, len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("cmdb: list CIs: %w", err)
	}
	defer rows.Close()
	var out []CI
	for rows.Next() {
		c, err := scanCI(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("cmdb: list CIs: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("cmdb: list CIs: %w", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	if err := s.fillTags(ctx, s.db.R, out); err != nil {
		return nil, 0, err
	}
	return out, next, nil
}

// likeEscape escapes LIKE's wildcards with a backslash.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Count returns how many CIs there are.
func (s *Service) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM cis`).Scan(&n); err != nil {
		return 0, fmt.Errorf("cmdb: count CIs: %w", err)
	}
	return n, nil
}
