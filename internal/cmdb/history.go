package cmdb

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/store"
)

// Change is one recorded change of a CI: a field's old and new value, or a
// relationship or link added or removed. Action is created, updated,
// relationship_added, relationship_removed, link_added or link_removed.
type Change struct {
	ID     int64     `json:"id"`
	CIID   int64     `json:"ci_id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Source Source    `json:"source"`
	Action string    `json:"action"`
	Field  string    `json:"field,omitempty"`
	Old    string    `json:"old,omitempty"`
	New    string    `json:"new,omitempty"`
}

const maxHistoryValue = 2000

// history records one change of ciID in tx.
func (s *Service) history(ctx context.Context, q store.Querier, ciID int64, action, field, old, new string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO ci_history (ci_id, at, actor, source, action, field, old_value, new_value)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		ciID, s.now(), actorName(ctx), string(sourceOf(ctx)), action, field, cut(old), cut(new))
	if err != nil {
		return fmt.Errorf("cmdb: record history: %w", store.MapError(err))
	}
	return nil
}

// cut shortens a history value, keeping whole characters; values were
// validated as UTF-8 text before.
func cut(s string) string {
	if len(s) <= maxHistoryValue {
		return s
	}
	n := maxHistoryValue
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// History returns a CI's changes, newest first, and the cursor of the next
// page (0 at the end). before is the cursor (0: from the newest); limit is
// 50 when unset, at most 500.
func (s *Service) History(ctx context.Context, ciID, before int64, limit int) ([]Change, int64, error) {
	if _, err := s.getCI(ctx, s.db.R, ciID); err != nil {
		return nil, 0, err
	}
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	q := `SELECT id, ci_id, at, actor, source, action, field, old_value, new_value FROM ci_history WHERE ci_id = $1`
	args := []any{ciID}
	if before > 0 {
		q += ` AND id < $2`
		args = append(args, before)
	}
	args = append(args, limit+1)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("cmdb: history: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var src string
		if err := rows.Scan(&c.ID, &c.CIID, &c.At, &c.Actor, &src, &c.Action, &c.Field, &c.Old, &c.New); err != nil {
			return nil, 0, fmt.Errorf("cmdb: history: %w", err)
		}
		c.Source, c.At = Source(src), c.At.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("cmdb: history: %w", err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// RecordChange writes one history entry of a CI in the caller's
// transaction q, with the actor and source given in c rather than taken
// from a request; domains that observe changes (the agent fleet's
// configuration drift) use it. c.ID and c.At are ignored.
func (s *Service) RecordChange(ctx context.Context, q store.Querier, c Change) error {
	_, err := q.ExecContext(ctx, `INSERT INTO ci_history (ci_id, at, actor, source, action, field, old_value, new_value)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.CIID, s.now(), clip(c.Actor, 200), string(c.Source), c.Action, c.Field, cut(c.Old), cut(c.New))
	if err != nil {
		return fmt.Errorf("cmdb: record history: %w", store.MapError(err))
	}
	return nil
}
