package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// ErrInvalidCredentials is the one answer to a failed login, whatever failed,
// so that a caller cannot learn which usernames exist.
var ErrInvalidCredentials = errors.New("auth: invalid username or password")

// ErrUnauthenticated means a session or token is missing, unknown or expired.
var ErrUnauthenticated = errors.New("auth: not signed in")

// RateLimitedError refuses a login while too many have failed recently.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("auth: too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// hashSecret is how session and API tokens are stored: they are 256-bit
// random values, so a fast hash is enough (no dictionary to attack) and lets
// every request be checked without a slow password hash.
func hashSecret(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Login checks a username and password and opens a session. It returns the
// raw session token for the cookie.
func (s *Service) Login(ctx context.Context, username, password, addr, userAgent string) (string, Principal, error) {
	now := s.now()
	if blocked, wait := s.limiter.blocked(username, addr, now); blocked {
		s.log.Warn("login rate limited", "username", username, "addr", addr)
		return "", Principal{}, &RateLimitedError{RetryAfter: wait}
	}
	if len(password) > MaxPasswordLen || len(username) > 64 {
		s.limiter.fail(username, addr, now)
		return "", Principal{}, ErrInvalidCredentials
	}
	u, err := s.GetUserByName(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", Principal{}, err
	}
	hash := dummyHash
	if err == nil {
		hash = u.passwordHash
	}
	ok, _ := CheckPassword(hash, password)
	if err != nil || !ok || u.Disabled {
		s.limiter.fail(username, addr, now)
		actx := WithActor(ctx, Actor{Principal: Principal{Kind: ActorUser, UserID: u.ID, Name: username}, Via: ActorFrom(ctx).Via, Addr: addr, RequestID: ActorFrom(ctx).RequestID})
		if aerr := Audit(actx, s.db.W, "session.login_failed", "user", username, ""); aerr != nil {
			s.log.Error("audit failed login", "err", aerr)
		}
		return "", Principal{}, ErrInvalidCredentials
	}
	s.limiter.succeed(username)
	raw := "ods_" + RandomSecret(32)
	csrf := RandomSecret(24)
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	p := Principal{Kind: ActorUser, UserID: u.ID, Name: u.Username, Role: u.Role, MustChangePassword: u.MustChangePassword, CSRF: csrf}
	actx := WithActor(ctx, Actor{Principal: p, Via: ViaUI, Addr: addr, RequestID: ActorFrom(ctx).RequestID})
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, remote_addr, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, hashSecret(raw), u.ID, csrf, now.UTC(), now.Add(s.opts.SessionTTL).UTC(), addr, userAgent); err != nil {
			return fmt.Errorf("auth: create session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, now.UTC(), u.ID); err != nil {
			return fmt.Errorf("auth: record login: %w", err)
		}
		return Audit(actx, tx, "session.login", "user", fmt.Sprint(u.ID), "")
	})
	if err != nil {
		return "", Principal{}, err
	}
	return raw, p, nil
}

// SessionPrincipal returns the caller behind a raw session token.
func (s *Service) SessionPrincipal(ctx context.Context, raw string) (Principal, error) {
	if raw == "" || len(raw) > 128 {
		return Principal{}, ErrUnauthenticated
	}
	var p Principal
	var role string
	err := s.db.R.QueryRowContext(ctx, `SELECT u.id, u.username, u.role, u.must_change_password, s.csrf_token
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.expires_at > $2 AND NOT u.disabled`, hashSecret(raw), s.now().UTC()).
		Scan(&p.UserID, &p.Name, &role, &p.MustChangePassword, &p.CSRF)
	if err != nil {
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, fmt.Errorf("auth: session: %w", err)
	}
	p.Kind, p.Role = ActorUser, Role(role)
	return p, nil
}

// Logout ends the session with the raw token.
func (s *Service) Logout(ctx context.Context, raw string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hashSecret(raw))
		if err != nil {
			return fmt.Errorf("auth: logout: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return Audit(ctx, tx, "session.logout", "user", fmt.Sprint(ActorFrom(ctx).UserID), "")
	})
}

// PurgeExpiredSessions deletes sessions past their expiry.
func (s *Service) PurgeExpiredSessions(ctx context.Context) error {
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, s.now().UTC()); err != nil {
		return fmt.Errorf("auth: purge sessions: %w", err)
	}
	return nil
}
