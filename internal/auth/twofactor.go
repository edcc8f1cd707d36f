package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/secret"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// SecretBox seals secrets stored in the database with a key kept outside
// it; *secret.Box is one.
type SecretBox interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
	// Reseal seals a clear value, or one under an older key, again under
	// the current key; changed is false when s was already current.
	Reseal(s string) (out string, changed bool, err error)
}

// SecondFactorRequired answers a correct password of a user with two-factor
// sign-in: LoginSecondFactor with the challenge and a code opens the session.
type SecondFactorRequired struct{ Challenge string }

func (e *SecondFactorRequired) Error() string { return "auth: a second factor is required" }

// ErrInvalidCode is a wrong, replayed or expired second-factor code.
var ErrInvalidCode = errors.New("auth: invalid code")

// Limits of the second sign-in step.
const (
	challengeTTL       = 5 * time.Minute
	challengeMaxFails  = 5
	challengeMaxOpen   = 10_000
	recoveryCodeCount  = 10
	maxCodeInputLength = 64
)

// challenge is a password that was right, waiting for its second factor.
type challenge struct {
	userID   int64
	username string
	expires  time.Time
	fails    int
}

// challengeBook holds open challenges in memory, by hashed token. They live
// five minutes: a restart only makes people type their password again.
type challengeBook struct {
	mu sync.Mutex
	m  map[string]*challenge
}

func newChallengeBook() *challengeBook { return &challengeBook{m: map[string]*challenge{}} }

func (b *challengeBook) open(u User, now time.Time) string {
	raw := "odc_" + RandomSecret(32)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m) >= challengeMaxOpen {
		b.pruneLocked(now)
		for k := range b.m { // still full: drop any, the flood's or not
			if len(b.m) < challengeMaxOpen {
				break
			}
			delete(b.m, k)
		}
	}
	b.m[hashSecret(raw)] = &challenge{userID: u.ID, username: u.Username, expires: now.Add(challengeTTL)}
	return raw
}

// get returns the live challenge of raw.
func (b *challengeBook) get(raw string, now time.Time) (challenge, bool) {
	if raw == "" || len(raw) > 128 {
		return challenge{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.m[hashSecret(raw)]
	if !ok || !now.Before(c.expires) {
		return challenge{}, false
	}
	return *c, true
}

// fail counts a wrong code; the challenge ends after challengeMaxFails.
func (b *challengeBook) fail(raw string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := hashSecret(raw)
	if c, ok := b.m[k]; ok {
		c.fails++
		if c.fails >= challengeMaxFails {
			delete(b.m, k)
		}
	}
}

func (b *challengeBook) close(raw string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, hashSecret(raw))
}

func (b *challengeBook) prune(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(now)
}

func (b *challengeBook) pruneLocked(now time.Time) {
	for k, c := range b.m {
		if !now.Before(c.expires) {
			delete(b.m, k)
		}
	}
}

// twoFactorOn reports whether the user has a confirmed second factor.
func (s *Service) twoFactorOn(ctx context.Context, userID int64) (bool, error) {
	var n int
	if err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL`, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("auth: two-factor state: %w", err)
	}
	return n > 0, nil
}

// TwoFactorState is what the enrolment page shows.
type TwoFactorState struct {
	Enabled bool `json:"enabled"`
	// Required is set when the policy requires it for the user's role.
	Required bool `json:"required"`
	// Pending is the secret of an enrolment started and not yet confirmed.
	Pending string `json:"-"`
	// RecoveryLeft counts unused recovery codes.
	RecoveryLeft int `json:"recovery_left"`
}

// TwoFactor returns the user's two-factor state.
func (s *Service) TwoFactor(ctx context.Context, userID int64) (TwoFactorState, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return TwoFactorState{}, err
	}
	st := TwoFactorState{Required: s.Policy().requiresTwoFactor(u.Role)}
	var sealed string
	var confirmed sql.NullTime
	err = s.db.R.QueryRowContext(ctx, `SELECT secret, confirmed_at FROM user_totp WHERE user_id = $1`, userID).Scan(&sealed, &confirmed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("auth: two-factor state: %w", err)
	}
	st.Enabled = confirmed.Valid
	if !st.Enabled {
		if st.Pending, err = s.openSecret(sealed); err != nil {
			return st, err
		}
	}
	if err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&st.RecoveryLeft); err != nil {
		return st, fmt.Errorf("auth: recovery codes: %w", err)
	}
	return st, nil
}

func (s *Service) sealSecret(plain string) (string, error) {
	if s.opts.Secrets == nil {
		return plain, nil
	}
	return s.opts.Secrets.Seal(plain)
}

func (s *Service) openSecret(sealed string) (string, error) {
	if s.opts.Secrets == nil || !secret.IsSealed(sealed) {
		return sealed, nil // stored before sealing was on; ResealSecrets seals it
	}
	plain, err := s.opts.Secrets.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("auth: open TOTP secret: %w", err)
	}
	return plain, nil
}

// ErrTwoFactorOn refuses to start an enrolment while one is confirmed.
var ErrTwoFactorOn = &valid.Error{Field: "code", Msg: "two-factor sign-in is already on; turn it off first"}

// StartTwoFactor begins an enrolment: a new secret replaces any pending one.
// It returns the secret for the user's authenticator app.
func (s *Service) StartTwoFactor(ctx context.Context, userID int64) (string, error) {
	if on, err := s.twoFactorOn(ctx, userID); err != nil {
		return "", err
	} else if on {
		return "", ErrTwoFactorOn
	}
	secret := newTOTPSecret()
	sealed, err := s.sealSecret(secret)
	if err != nil {
		return "", err
	}
	_, err = s.db.W.ExecContext(ctx, `INSERT INTO user_totp (user_id, secret, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, confirmed_at = NULL, last_step = 0, created_at = excluded.created_at`,
		userID, sealed, s.now().UTC())
	if err != nil {
		return "", fmt.Errorf("auth: start two-factor: %w", store.MapError(err))
	}
	return secret, nil
}

// ConfirmTwoFactor checks a code from the pending secret, turns two-factor
// sign-in on and returns new one-time recovery codes, shown only now.
func (s *Service) ConfirmTwoFactor(ctx context.Context, userID int64, code string) ([]string, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	addr, now := ActorFrom(ctx).Addr, s.now()
	if wait := s.limiter.attempt(u.Username, addr, now); wait > 0 {
		return nil, &RateLimitedError{RetryAfter: wait}
	}
	var codes []string
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var sealed string
		var confirmed sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT secret, confirmed_at FROM user_totp WHERE user_id = $1`, userID).Scan(&sealed, &confirmed)
		if errors.Is(err, sql.ErrNoRows) || confirmed.Valid {
			return valid.Errorf("code", "start the set-up again")
		}
		if err != nil {
			return fmt.Errorf("auth: confirm two-factor: %w", err)
		}
		secret, err := s.openSecret(sealed)
		if err != nil {
			return err
		}
		key, err := decodeTOTPSecret(secret)
		if err != nil {
			return err
		}
		step, ok := verifyTOTP(key, code, now, 0)
		if !ok {
			return valid.Errorf("code", "does not match; check the time on your device and type the current code")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE user_totp SET confirmed_at = $1, last_step = $2 WHERE user_id = $3`, now.UTC(), int64(step), userID); err != nil {
			return fmt.Errorf("auth: confirm two-factor: %w", err)
		}
		if codes, err = newRecoveryCodes(ctx, tx, userID); err != nil {
			return err
		}
		return Audit(ctx, tx, "user.2fa_enabled", "user", fmt.Sprint(userID), "")
	})
	if err != nil {
		return nil, err
	}
	s.limiter.succeed(u.Username, addr, now)
	return codes, nil
}

// newRecoveryCodes replaces the user's recovery codes. Codes are 50 random
// bits, so like tokens they are stored as a fast hash.
func newRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return nil, fmt.Errorf("auth: recovery codes: %w", err)
	}
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		r := RandomSecret(7)[:10]
		codes[i] = r[:5] + "-" + r[5:]
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, hashSecret(codes[i])); err != nil {
			return nil, fmt.Errorf("auth: recovery codes: %w", err)
		}
	}
	return codes, nil
}

// normalRecoveryCode reads a recovery code as typed: case and spaces do
// not matter, the dash is optional.
func normalRecoveryCode(s string) (string, bool) {
	s = strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(s))
	if len(s) != 10 {
		return "", false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return "", false
		}
	}
	return s[:5] + "-" + s[5:], true
}

// DisableTwoFactor turns the user's second factor off after checking their
// password; an admin resets another user's with ResetTwoFactor.
func (s *Service) DisableTwoFactor(ctx context.Context, userID int64, password string) error {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	addr, now := ActorFrom(ctx).Addr, s.now()
	if wait := s.limiter.attempt(u.Username, addr, now); wait > 0 {
		return &RateLimitedError{RetryAfter: wait}
	}
	if ok, err := CheckPassword(u.passwordHash, password); err != nil || !ok {
		return &valid.Error{Field: "password", Msg: "is not your current password"}
	}
	s.limiter.succeed(u.Username, addr, now)
	return s.ResetTwoFactor(ctx, userID)
}

// ResetTwoFactor removes a user's second factor and recovery codes, for a
// user who lost their device; audited.
func (s *Service) ResetTwoFactor(ctx context.Context, userID int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_totp WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("auth: reset two-factor: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_recovery_codes WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("auth: reset two-factor: %w", err)
		}
		return Audit(ctx, tx, "user.2fa_disabled", "user", fmt.Sprint(userID), "")
	})
}

// LoginSecondFactor completes a sign-in: the challenge from Login and a
// current TOTP code (or an unused recovery code) open the session. Codes
// count against the login limiter like passwords, a code is accepted once,
// and a challenge ends after five wrong codes or five minutes.
func (s *Service) LoginSecondFactor(ctx context.Context, challengeToken, code, addr, userAgent string) (string, Principal, error) {
	now := s.now()
	c, ok := s.challenges.get(challengeToken, now)
	if !ok {
		return "", Principal{}, ErrInvalidCredentials
	}
	if wait := s.limiter.attempt(c.username, addr, now); wait > 0 {
		return "", Principal{}, &RateLimitedError{RetryAfter: wait}
	}
	from, _ := actorIn(ctx)
	via := ViaUI
	if from.Via != "" {
		via = from.Via
	}
	if len(code) > maxCodeInputLength {
		code = ""
	}
	ok, err := s.checkSecondFactor(ctx, c.userID, code, now)
	if err != nil {
		s.limiter.release(c.username, addr, now)
		return "", Principal{}, err
	}
	if !ok {
		s.challenges.fail(challengeToken)
		actx := WithActor(ctx, Actor{Principal: Principal{Kind: ActorUser, UserID: c.userID, Name: c.username}, Via: via, Addr: addr, RequestID: from.RequestID})
		if aerr := Audit(actx, s.db.W, "session.login_failed", "user", c.username, "second factor"); aerr != nil {
			s.log.Error("audit failed login", "err", aerr)
		}
		return "", Principal{}, ErrInvalidCode
	}
	s.limiter.succeed(c.username, addr, now)
	s.challenges.close(challengeToken)
	u, err := s.GetUser(ctx, c.userID)
	if err != nil {
		return "", Principal{}, err
	}
	if u.Disabled {
		return "", Principal{}, ErrInvalidCredentials
	}
	return s.openSession(ctx, u, via, addr, userAgent, from.RequestID)
}

// checkSecondFactor checks a TOTP code (and records its step, so it cannot
// be replayed) or uses up a recovery code.
func (s *Service) checkSecondFactor(ctx context.Context, userID int64, code string, now time.Time) (bool, error) {
	if rc, isRecovery := normalRecoveryCode(code); isRecovery {
		res, err := s.db.W.ExecContext(ctx, `UPDATE user_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
			now.UTC(), userID, hashSecret(rc))
		if err != nil {
			return false, fmt.Errorf("auth: recovery code: %w", err)
		}
		n, _ := res.RowsAffected()
		return n == 1, nil
	}
	var sealed string
	var last int64
	err := s.db.R.QueryRowContext(ctx, `SELECT secret, last_step FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL`, userID).Scan(&sealed, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: second factor: %w", err)
	}
	secret, err := s.openSecret(sealed)
	if err != nil {
		return false, err
	}
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return false, err
	}
	step, ok := verifyTOTP(key, code, now, uint64(max(last, 0)))
	if !ok {
		return false, nil
	}
	// Only one sign-in may use a step: the update wins for one of two
	// racing requests with the same code.
	res, err := s.db.W.ExecContext(ctx, `UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1`, int64(step), userID)
	if err != nil {
		return false, fmt.Errorf("auth: second factor: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RotateSession gives the session of raw a new token and CSRF token and
// ends the user's other sessions: called when privileges change (a new
// password, a second factor turned on or off), so a token stolen before is
// worth nothing after. It returns the new raw token.
func (s *Service) RotateSession(ctx context.Context, raw string) (string, error) {
	next := "ods_" + RandomSecret(32)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, `UPDATE sessions SET id_hash = $1, csrf_token = $2 WHERE id_hash = $3 AND expires_at > $4 RETURNING user_id`,
			hashSecret(next), RandomSecret(24), hashSecret(raw), s.now().UTC()).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrUnauthenticated
		}
		if err != nil {
			return fmt.Errorf("auth: rotate session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2`, userID, hashSecret(next)); err != nil {
			return fmt.Errorf("auth: rotate session: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return next, nil
}

// ResealSecrets seals every stored TOTP secret that is in clear or under an
// older key, and returns how many changed: at start, and after a key
// rotation. Running it again changes nothing.
func (s *Service) ResealSecrets(ctx context.Context) (int, error) {
	if s.opts.Secrets == nil {
		return 0, nil
	}
	n := 0
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT user_id, secret FROM user_totp ORDER BY user_id`)
		if err != nil {
			return fmt.Errorf("auth: reseal: %w", err)
		}
		type row struct {
			id     int64
			secret string
		}
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.secret); err != nil {
				rows.Close()
				return fmt.Errorf("auth: reseal: %w", err)
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("auth: reseal: %w", err)
		}
		for _, r := range all {
			out, changed, err := s.opts.Secrets.Reseal(r.secret)
			if err != nil {
				return fmt.Errorf("auth: TOTP secret of user %d: %w", r.id, err)
			}
			if !changed {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE user_totp SET secret = $1 WHERE user_id = $2`, out, r.id); err != nil {
				return fmt.Errorf("auth: reseal: %w", err)
			}
			n++
		}
		return nil
	})
	return n, err
}
