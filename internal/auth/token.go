package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// TokenPrefix starts every API token, so secret scanners and people can tell
// an opsdeck token when they see one.
const TokenPrefix = "odk_"

// Token is an API token's stored record; the secret itself is never stored.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Role       Role       `json:"role"`
	UserID     int64      `json:"user_id,omitempty"`
	Owner      string     `json:"owner,omitempty"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the token can still be used at now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || t.ExpiresAt.After(now))
}

// NewToken is the input for CreateToken.
type NewToken struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// UserID owns the token; 0 makes a service token owned by nobody.
	UserID    int64      `json:"-"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// CreateToken makes a token and returns its secret, which is shown once.
// A user cannot make a token with more rights than their own role.
func (s *Service) CreateToken(ctx context.Context, in NewToken) (string, Token, error) {
	if err := valid.Text("name", in.Name, true, 100, false); err != nil {
		return "", Token{}, err
	}
	if _, err := ParseRole("role", string(in.Role)); err != nil {
		return "", Token{}, err
	}
	actor := ActorFrom(ctx)
	if !actor.Role.Allows(in.Role) {
		return "", Token{}, valid.Errorf("role", "cannot exceed your own role (%s)", actor.Role)
	}
	now := s.now().UTC()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return "", Token{}, valid.Errorf("expires_at", "must be in the future")
	}
	raw := TokenPrefix + RandomSecret(32)
	t := Token{Name: in.Name, Prefix: raw[:len(TokenPrefix)+6], Role: in.Role, UserID: in.UserID,
		CreatedBy: actor.Name, CreatedAt: now, ExpiresAt: utcPtr(in.ExpiresAt)}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (name, token_hash, prefix, role, user_id, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			t.Name, hashSecret(raw), t.Prefix, string(t.Role), nullID(t.UserID), t.CreatedBy, now, t.ExpiresAt).Scan(&t.ID)
		if err != nil {
			err = store.MapError(err)
			if errors.Is(err, store.ErrReference) {
				return valid.Errorf("user_id", "no such user")
			}
			return fmt.Errorf("auth: create token: %w", err)
		}
		return Audit(ctx, tx, "token.create", "token", fmt.Sprint(t.ID), fmt.Sprintf("name=%s role=%s", t.Name, t.Role))
	})
	if err != nil {
		return "", Token{}, err
	}
	return raw, t, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ListTokens returns tokens, newest first; userID > 0 keeps only that user's.
func (s *Service) ListTokens(ctx context.Context, userID int64) ([]Token, error) {
	q := `SELECT t.id, t.name, t.prefix, t.role, COALESCE(t.user_id, 0), COALESCE(u.username, ''), t.created_by, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
		FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id`
	var args []any
	if userID > 0 {
		q += ` WHERE t.user_id = $1`
		args = append(args, userID)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY t.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var role string
		var exp, used, rev sql.NullTime
		if err := rows.Scan(&t.ID, &t.Name, &t.Prefix, &role, &t.UserID, &t.Owner, &t.CreatedBy, &t.CreatedAt, &exp, &used, &rev); err != nil {
			return nil, fmt.Errorf("auth: list tokens: %w", err)
		}
		t.Role, t.CreatedAt = Role(role), t.CreatedAt.UTC()
		t.ExpiresAt, t.LastUsedAt, t.RevokedAt = nullTime(exp), nullTime(used), nullTime(rev)
		out = append(out, t)
	}
	return out, rows.Err()
}

// GetToken returns one token's record.
func (s *Service) GetToken(ctx context.Context, id int64) (Token, error) {
	all, err := s.ListTokens(ctx, 0)
	if err != nil {
		return Token{}, err
	}
	for _, t := range all {
		if t.ID == id {
			return t, nil
		}
	}
	return Token{}, fmt.Errorf("auth: token %d: %w", id, store.ErrNotFound)
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// RevokeToken ends a token at once on this node; other processes (a server
// seeing a CLI revoke) stop accepting it within the token cache TTL.
func (s *Service) RevokeToken(ctx context.Context, id int64) error {
	var hash string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING token_hash`,
			s.now().UTC(), id).Scan(&hash)
		if err != nil {
			return fmt.Errorf("auth: revoke token %d: %w", id, store.MapError(err))
		}
		return Audit(ctx, tx, "token.revoke", "token", fmt.Sprint(id), "")
	})
	if err != nil {
		return err
	}
	s.tokens.drop(hash)
	return nil
}

// Authenticate returns the caller behind a raw API token. Valid tokens are
// cached by hash for the cache TTL, so the hot path is one SHA-256 and a map
// read.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	if !strings.HasPrefix(raw, TokenPrefix) || len(raw) > 128 {
		return Principal{}, ErrUnauthenticated
	}
	now := s.now()
	hash := hashSecret(raw)
	if e, ok := s.tokens.get(hash, now); ok {
		s.noteUse(e.p.TokenID, now)
		return e.p, nil
	}
	var p Principal
	var name, role, ownerRole string
	var userID int64
	var ownerName string
	var ownerDisabled bool
	var exp sql.NullTime
	err := s.db.R.QueryRowContext(ctx, `SELECT t.id, t.name, t.role, COALESCE(t.user_id, 0), COALESCE(u.username, ''), COALESCE(u.role, ''), COALESCE(u.disabled, FALSE), t.expires_at
		FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, hash).
		Scan(&p.TokenID, &name, &role, &userID, &ownerName, &ownerRole, &ownerDisabled, &exp)
	if err != nil {
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, fmt.Errorf("auth: token: %w", err)
	}
	if (exp.Valid && !exp.Time.After(now)) || ownerDisabled {
		return Principal{}, ErrUnauthenticated
	}
	p.Kind, p.UserID, p.Name, p.Role = ActorToken, userID, "token:"+name, Role(role)
	// A token never outranks its owner, even after the owner was demoted.
	if userID != 0 && Role(ownerRole).Level() < p.Role.Level() {
		p.Role = Role(ownerRole)
	}
	until := now.Add(s.opts.TokenCacheTTL)
	if exp.Valid && exp.Time.Before(until) {
		until = exp.Time
	}
	s.tokens.put(hash, cachedToken{p: p, until: until})
	s.noteUse(p.TokenID, now)
	return p, nil
}

func (s *Service) noteUse(id int64, now time.Time) {
	s.usedMu.Lock()
	s.used[id] = now
	s.usedMu.Unlock()
}

// flushTokenUse writes the pending last-use times in one transaction, so
// using a token costs no write on the request path.
func (s *Service) flushTokenUse(ctx context.Context) {
	s.usedMu.Lock()
	used := s.used
	s.used = make(map[int64]time.Time)
	s.usedMu.Unlock()
	if len(used) == 0 {
		return
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for id, at := range used {
			if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, at.UTC(), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("record token use", "err", err)
	}
}

type cachedToken struct {
	p     Principal
	until time.Time
}

// tokenCache maps token hashes to principals for a short time.
type tokenCache struct {
	ttl time.Duration
	max int
	mu  sync.RWMutex
	m   map[string]cachedToken
}

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, m: make(map[string]cachedToken)}
}

func (c *tokenCache) get(hash string, now time.Time) (cachedToken, bool) {
	if c.ttl <= 0 {
		return cachedToken{}, false
	}
	c.mu.RLock()
	e, ok := c.m[hash]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return cachedToken{}, false
	}
	return e, true
}

func (c *tokenCache) put(hash string, e cachedToken) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Full: forget everything rather than track recency; refilling costs
		// one indexed read per live token.
		c.m = make(map[string]cachedToken)
	}
	c.m[hash] = e
}

func (c *tokenCache) drop(hash string) {
	c.mu.Lock()
	delete(c.m, hash)
	c.mu.Unlock()
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	c.m = make(map[string]cachedToken)
	c.mu.Unlock()
}
