package fleet

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// EnrollToken is an enrollment token's record; the token itself is shown
// once at creation and stored only as a hash.
type EnrollToken struct {
	ID        int64      `json:"id"`
	Prefix    string     `json:"prefix"`
	Note      string     `json:"note"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	UsedBy    int64      `json:"used_by_agent,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Status    string     `json:"status"` // active, used, expired or revoked
}

// Limits of enrollment tokens.
const (
	MaxTokenTTL  = 30 * 24 * time.Hour
	MinTokenTTL  = time.Minute
	maxTokenNote = 200
)

// CreateToken makes a one-time enrollment token valid for ttl and returns
// it (shown this once) with its record.
func (s *Service) CreateToken(ctx context.Context, ttl time.Duration, note string) (string, EnrollToken, error) {
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return "", EnrollToken{}, valid.Errorf("ttl", "must be from 1m to 720h (30 days)")
	}
	if err := valid.Text("note", note, false, maxTokenNote, false); err != nil {
		return "", EnrollToken{}, err
	}
	now := s.now()
	raw := newSecret(wire.EnrollTokenPrefix, 24)
	t := EnrollToken{Prefix: raw[:len(wire.EnrollTokenPrefix)+6], Note: note, CreatedBy: auth.ActorFrom(ctx).Name, CreatedAt: now,
		ExpiresAt: now.Add(ttl), Status: "active"}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO agent_enroll_tokens (token_hash, prefix, note, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, hashSecret(raw), t.Prefix, t.Note, t.CreatedBy, now, t.ExpiresAt).Scan(&t.ID); err != nil {
			return fmt.Errorf("fleet: create token: %w", store.MapError(err))
		}
		return auth.Audit(ctx, tx, "agent_token.create", "agent_token", strconv.FormatInt(t.ID, 10), "ttl="+ttl.String()+" note="+note)
	})
	if err != nil {
		return "", EnrollToken{}, err
	}
	return raw, t, nil
}

// Tokens lists the enrollment tokens, newest first.
func (s *Service) Tokens(ctx context.Context) ([]EnrollToken, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, prefix, note, created_by, created_at, expires_at, used_at, COALESCE(used_by, 0), revoked_at
		FROM agent_enroll_tokens ORDER BY id DESC LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("fleet: list tokens: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []EnrollToken{}
	for rows.Next() {
		var t EnrollToken
		var used, revoked sql.NullTime
		if err := rows.Scan(&t.ID, &t.Prefix, &t.Note, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &used, &t.UsedBy, &revoked); err != nil {
			return nil, fmt.Errorf("fleet: list tokens: %w", err)
		}
		t.CreatedAt, t.ExpiresAt, t.UsedAt, t.RevokedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), nullTime(used), nullTime(revoked)
		switch {
		case t.RevokedAt != nil:
			t.Status = "revoked"
		case t.UsedAt != nil:
			t.Status = "used"
		case !t.ExpiresAt.After(now):
			t.Status = "expired"
		default:
			t.Status = "active"
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes an unused enrollment token; a used, revoked or
// unknown one is store.ErrNotFound.
func (s *Service) RevokeToken(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agent_enroll_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND used_at IS NULL`, s.now(), id)
		if err != nil {
			return fmt.Errorf("fleet: revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("fleet: revoke token %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "agent_token.revoke", "agent_token", strconv.FormatInt(id, 10), "")
	})
}
