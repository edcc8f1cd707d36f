package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
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

// Error says how long to wait.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("auth: too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// hashSecret is how session and API tokens are stored: they are 256-bit
// random values, so a fast hash is enough (no dictionary to attack) and lets
// every request be checked without a slow password hash.
func hashSecret(raw string) string {
	sum := digestSecret(raw)
	return hex.EncodeToString(sum[:])
}

// digestSecret is hashSecret before hex encoding, the token cache's key. It
// hashes tokens of normal length from a stack buffer, so the cached path of
// Authenticate does not allocate.
func digestSecret(raw string) [sha256.Size]byte {
	var buf [128]byte
	if len(raw) > len(buf) {
		return sha256.Sum256([]byte(raw))
	}
	n := copy(buf[:], raw)
	return sha256.Sum256(buf[:n])
}

// Login checks a username and password and opens a session. It returns the
// raw session token for the cookie.
func (s *Service) Login(ctx context.Context, username, password, addr, userAgent string) (string, Principal, error) {
	// Usernames are lower case; accept "Admin" as people type it.
	username = strings.ToLower(username)
	now := s.now()
	if wait := s.limiter.attempt(username, addr, now); wait > 0 {
		s.log.Warn("login rate limited", "username", cleanText(username, 64), "addr", cleanText(addr, 100))
		return "", Principal{}, &RateLimitedError{RetryAfter: wait}
	}
	from, hasActor := actorIn(ctx)
	via := ViaUI
	if hasActor && from.Via != "" {
		via = from.Via
	}
	// A name or password no account can have is refused without a lookup or
	// a hash: which names are well formed is no secret.
	var u User
	ok := false
	if len(password) <= MaxPasswordLen && usernameRE.MatchString(username) {
		var err error
		u, err = s.GetUserByName(ctx, username)
		known := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.limiter.release(username, addr, now)
			return "", Principal{}, err
		}
		// Unknown users are checked against a dummy hash so that they take
		// as long to refuse as known ones.
		hash := dummyHash
		if known {
			hash = u.passwordHash
		}
		match, herr := CheckPassword(hash, password)
		if herr != nil {
			s.log.Error("stored password hash", "username", username, "err", herr)
		}
		ok = known && match && !u.Disabled
	}
	if !ok {
		// The attempt already counts as a failure with the limiter.
		actx := WithActor(ctx, Actor{Principal: Principal{Kind: ActorUser, UserID: u.ID, Name: username}, Via: via, Addr: addr, RequestID: from.RequestID})
		if aerr := Audit(actx, s.db.W, "session.login_failed", "user", username, ""); aerr != nil {
			s.log.Error("audit failed login", "err", aerr)
		}
		return "", Principal{}, ErrInvalidCredentials
	}
	s.limiter.succeed(username, addr, now)
	// A user with a second factor gets a challenge, not a session.
	if on, err := s.twoFactorOn(ctx, u.ID); err != nil {
		return "", Principal{}, err
	} else if on {
		return "", Principal{}, &SecondFactorRequired{Challenge: s.challenges.open(u, now)}
	}
	return s.openSession(ctx, u, via, addr, userAgent, from.RequestID)
}

// openSession creates a session for u, whose credentials were checked.
func (s *Service) openSession(ctx context.Context, u User, via Via, addr, userAgent, requestID string) (string, Principal, error) {
	now := s.now()
	raw := "ods_" + RandomSecret(32)
	csrf := RandomSecret(24)
	p := Principal{Kind: ActorUser, UserID: u.ID, Name: u.Username, Role: u.Role, MustChangePassword: u.MustChangePassword, CSRF: csrf}
	p.MustEnrolTwoFactor = s.Policy().requiresTwoFactor(u.Role)
	if p.MustEnrolTwoFactor {
		on, err := s.twoFactorOn(ctx, u.ID)
		if err != nil {
			return "", Principal{}, err
		}
		p.MustEnrolTwoFactor = !on
	}
	actx := WithActor(ctx, Actor{Principal: p, Via: via, Addr: addr, RequestID: requestID})
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, remote_addr, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, hashSecret(raw), u.ID, csrf, now.UTC(), now.Add(s.opts.SessionTTL).UTC(),
			cleanText(addr, maxAuditField), cleanText(userAgent, 300)); err != nil {
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
	var twoFactor bool
	err := s.db.R.QueryRowContext(ctx, `SELECT u.id, u.username, u.role, u.must_change_password, s.csrf_token,
		EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.expires_at > $2 AND NOT u.disabled`, hashSecret(raw), s.now().UTC()).
		Scan(&p.UserID, &p.Name, &role, &p.MustChangePassword, &p.CSRF, &twoFactor)
	if err != nil {
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, fmt.Errorf("auth: session: %w", err)
	}
	p.Kind, p.Role = ActorUser, Role(role)
	p.MustEnrolTwoFactor = !twoFactor && s.Policy().requiresTwoFactor(p.Role)
	return p, nil
}

// Logout ends the session with the raw token. It is audited against the
// session's user, who is also the actor when ctx carries none.
func (s *Service) Logout(ctx context.Context, raw string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE id_hash = $1 RETURNING user_id`, hashSecret(raw)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("auth: logout: %w", err)
		}
		actx := ctx
		if _, ok := actorIn(ctx); !ok {
			var name string
			if err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, userID).Scan(&name); err != nil {
				return fmt.Errorf("auth: logout: %w", store.MapError(err))
			}
			actx = WithActor(ctx, Actor{Principal: Principal{Kind: ActorUser, UserID: userID, Name: name}, Via: ViaUI})
		}
		return Audit(actx, tx, "session.logout", "user", fmt.Sprint(userID), "")
	})
}

// PurgeExpiredSessions deletes sessions past their expiry.
func (s *Service) PurgeExpiredSessions(ctx context.Context) error {
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, s.now().UTC()); err != nil {
		return fmt.Errorf("auth: purge sessions: %w", err)
	}
	return nil
}
