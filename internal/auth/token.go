package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
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
	if userID > 0 {
		return s.queryTokens(ctx, ` WHERE t.user_id = $1`, userID)
	}
	return s.queryTokens(ctx, "")
}

// GetToken returns one token's record, or an error wrapping
// store.ErrNotFound.
func (s *Service) GetToken(ctx context.Context, id int64) (Token, error) {
	ts, err := s.queryTokens(ctx, ` WHERE t.id = $1`, id)
	if err != nil {
		return Token{}, err
	}
	if len(ts) == 0 {
		return Token{}, fmt.Errorf("auth: token %d: %w", id, store.ErrNotFound)
	}
	return ts[0], nil
}

func (s *Service) queryTokens(ctx context.Context, where string, args ...any) ([]Token, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT t.id, t.name, t.prefix, t.role, COALESCE(t.user_id, 0), COALESCE(u.username, ''),
		t.created_by, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
		FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id`+where+` ORDER BY t.id DESC`, args...)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	return out, nil
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
	var digest [sha256.Size]byte
	if n, err := hex.Decode(digest[:], []byte(hash)); err != nil || n != len(digest) {
		// Not a hash this package wrote; forget every cached token to be safe.
		s.tokens.clear()
		return nil
	}
	s.tokens.drop(digest)
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
	digest := digestSecret(raw)
	if e, ok := s.tokens.get(digest, now); ok {
		s.noteUse(e.p.TokenID, now)
		return e.p, nil
	}
	// Read the generation before the row: a revoke or a user change that
	// commits while the row is read then stops the possibly stale result
	// from entering the cache.
	gen := s.tokens.generation()
	var p Principal
	var name, role, ownerRole string
	var userID int64
	var ownerName string
	var ownerDisabled bool
	var exp sql.NullTime
	err := s.db.R.QueryRowContext(ctx, `SELECT t.id, t.name, t.role, COALESCE(t.user_id, 0), COALESCE(u.username, ''), COALESCE(u.role, ''), COALESCE(u.disabled, FALSE), t.expires_at
		FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, hex.EncodeToString(digest[:])).
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
	s.tokens.put(digest, cachedToken{p: p, until: until}, gen)
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
		// Keep the times for the next flush unless newer ones came in.
		s.usedMu.Lock()
		for id, at := range used {
			if cur, ok := s.used[id]; !ok || cur.Before(at) {
				s.used[id] = at
			}
		}
		s.usedMu.Unlock()
	}
}

type cachedToken struct {
	p     Principal
	until time.Time
}

// tokenCache maps token digests to principals for a short time.
type tokenCache struct {
	ttl time.Duration
	max int
	mu  sync.RWMutex
	gen uint64 // counts drops and clears
	m   map[[sha256.Size]byte]cachedToken
}

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, m: make(map[[sha256.Size]byte]cachedToken)}
}

func (c *tokenCache) get(hash [sha256.Size]byte, now time.Time) (cachedToken, bool) {
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

// generation is read before loading an entry and handed to put.
func (c *tokenCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches e unless a drop or clear happened since gen was read: the entry
// was loaded before that change and may no longer hold.
func (c *tokenCache) put(hash [sha256.Size]byte, e cachedToken, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= c.max {
		// Full: forget everything rather than track recency; refilling costs
		// one indexed read per live token.
		c.m = make(map[[sha256.Size]byte]cachedToken)
	}
	c.m[hash] = e
}

func (c *tokenCache) drop(hash [sha256.Size]byte) {
	c.mu.Lock()
	c.gen++
	delete(c.m, hash)
	c.mu.Unlock()
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	c.gen++
	c.m = make(map[[sha256.Size]byte]cachedToken)
	c.mu.Unlock()
}
