package auth

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/store"
)

// AuditEntry is one recorded change of state.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	ActorKind  ActorKind `json:"actor_kind"`
	ActorID    int64     `json:"actor_id,omitempty"`
	ActorName  string    `json:"actor"`
	Action     string    `json:"action"`
	TargetKind string    `json:"target_kind,omitempty"`
	TargetID   string    `json:"target_id,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	SourceAddr string    `json:"source_addr,omitempty"`
	Via        Via       `json:"via"`
	RequestID  string    `json:"request_id,omitempty"`
}

// Audit records action on target by the actor in ctx, through q, so that a
// domain writes its change and its audit row in one transaction: both land
// or neither does. Domains call it for every change of state.
func Audit(ctx context.Context, q store.Querier, action, targetKind, targetID, detail string) error {
	a := ActorFrom(ctx)
	actorID := a.UserID
	if a.Kind == ActorToken {
		actorID = a.TokenID
	}
	// Names, addresses and request ids can come from outside (a failed
	// login records the username as typed): clean them, or PostgreSQL
	// refuses the row and the event goes unrecorded.
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log
		(at, actor_kind, actor_id, actor_name, action, target_kind, target_id, detail, source_addr, via, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		time.Now().UTC(), string(a.Kind), nullID(actorID), cleanText(a.Name, maxAuditField), cleanText(action, maxAuditField),
		cleanText(targetKind, maxAuditField), cleanText(targetID, maxAuditField), cleanText(detail, maxAuditDetail),
		cleanText(a.Addr, maxAuditField), cleanText(string(a.Via), maxAuditField), cleanText(a.RequestID, maxAuditField))
	if err != nil {
		return fmt.Errorf("auth: audit %s: %w", action, store.MapError(err))
	}
	return nil
}

// Audit fields are cut to these many bytes.
const (
	maxAuditField  = 200
	maxAuditDetail = 4000
)

// cleanText makes outside text storable on both engines: it is cut to at
// most max bytes on a character boundary, and invalid UTF-8 and NUL, which
// PostgreSQL's text type refuses, become U+FFFD.
func cleanText(s string, max int) string {
	if len(s) > max {
		n := max
		// Back off at most a partial character, not a run of stray bytes.
		for n > 0 && n > max-utf8.UTFMax+1 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// AuditFilter selects audit entries. Empty fields match everything.
type AuditFilter struct {
	Actor      string
	Action     string // exact, or a prefix ending in "." such as "user."
	TargetKind string
	TargetID   string
	Since      time.Time
	Until      time.Time
	// Before is the cursor: only entries with a smaller id (older) are listed.
	Before int64
	// Limit is the page size: 50 when unset, at most 500.
	Limit int
}

// ListAudit returns entries newest first, and the cursor for the next page
// (0 when there is none).
func ListAudit(ctx context.Context, db *store.DB, f AuditFilter) ([]AuditEntry, int64, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 500:
		f.Limit = 500
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	// Filters are cleaned as the stored values were, so that they match them
	// and PostgreSQL is never handed text it refuses.
	if f.Actor != "" {
		add("actor_name = $%d", cleanText(f.Actor, maxAuditField))
	}
	if action := cleanText(f.Action, maxAuditField); action != "" {
		if strings.HasSuffix(action, ".") {
			// A prefix compared with substr, not LIKE: no wildcards to
			// escape, and case-sensitive on both engines (SQLite's LIKE is
			// not). Both count characters, so the length is in runes.
			add(fmt.Sprintf("substr(action, 1, %d) = $%%d", utf8.RuneCountInString(action)), action)
		} else {
			add("action = $%d", action)
		}
	}
	if f.TargetKind != "" {
		add("target_kind = $%d", cleanText(f.TargetKind, maxAuditField))
	}
	if f.TargetID != "" {
		add("target_id = $%d", cleanText(f.TargetID, maxAuditField))
	}
	if !f.Since.IsZero() {
		add("at >= $%d", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("at < $%d", f.Until.UTC())
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	q := `SELECT id, at, actor_kind, COALESCE(actor_id, 0), actor_name, action, target_kind, target_id, detail, source_addr, via, request_id FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit+1)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("auth: list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var kind, via string
		if err := rows.Scan(&e.ID, &e.At, &kind, &e.ActorID, &e.ActorName, &e.Action, &e.TargetKind, &e.TargetID, &e.Detail, &e.SourceAddr, &via, &e.RequestID); err != nil {
			return nil, 0, fmt.Errorf("auth: list audit: %w", err)
		}
		e.ActorKind, e.Via, e.At = ActorKind(kind), Via(via), e.At.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("auth: list audit: %w", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}
