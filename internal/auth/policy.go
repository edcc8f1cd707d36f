package auth

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Policy is the sign-in policy admins set: which roles must use two-factor
// sign-in, and what a new password must be.
type Policy struct {
	// TwoFactorRoles must enrol a second factor; they are sent to enrol
	// right after signing in with their password.
	TwoFactorRoles []Role `json:"two_factor_roles"`
	// MinPasswordLen is the shortest new password (at least MinPasswordLen).
	MinPasswordLen int `json:"min_password_len"`
	// RefuseCommon refuses passwords from a list of the most common ones.
	RefuseCommon bool `json:"refuse_common"`
}

// DefaultPolicy is the policy until an admin changes it.
func DefaultPolicy() Policy {
	return Policy{TwoFactorRoles: []Role{}, MinPasswordLen: MinPasswordLen, RefuseCommon: true}
}

func (p Policy) requiresTwoFactor(r Role) bool { return slices.Contains(p.TwoFactorRoles, r) }

// maxPolicyPasswordLen bounds the minimum length an admin may demand.
const maxPolicyPasswordLen = 64

// Policy returns the current sign-in policy.
func (s *Service) Policy() Policy {
	if p := s.policy.Load(); p != nil {
		return *p
	}
	return DefaultPolicy()
}

// LoadPolicy reads the policy from the database; Run calls it every
// minute so that every node follows a change.
func (s *Service) LoadPolicy(ctx context.Context) error {
	p := DefaultPolicy()
	rows, err := s.db.R.QueryContext(ctx, `SELECT key, value FROM security_settings WHERE key IN ('two_factor_roles', 'min_password_len', 'refuse_common')`)
	if err != nil {
		return fmt.Errorf("auth: load policy: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("auth: load policy: %w", err)
		}
		switch k {
		case "two_factor_roles":
			for _, r := range strings.Split(v, ",") {
				if Role(r).Level() > 0 {
					p.TwoFactorRoles = append(p.TwoFactorRoles, Role(r))
				}
			}
		case "min_password_len":
			if n, err := strconv.Atoi(v); err == nil && n >= MinPasswordLen && n <= maxPolicyPasswordLen {
				p.MinPasswordLen = n
			}
		case "refuse_common":
			p.RefuseCommon = v == "true"
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("auth: load policy: %w", err)
	}
	s.policy.Store(&p)
	return nil
}

// SetPolicy validates and stores a new policy, audited.
func (s *Service) SetPolicy(ctx context.Context, p Policy) (Policy, error) {
	roles := make([]string, 0, len(p.TwoFactorRoles))
	for i, r := range p.TwoFactorRoles {
		if _, err := ParseRole(fmt.Sprintf("two_factor_roles[%d]", i), string(r)); err != nil {
			return Policy{}, err
		}
		if !slices.Contains(roles, string(r)) {
			roles = append(roles, string(r))
		}
	}
	if p.MinPasswordLen < MinPasswordLen || p.MinPasswordLen > maxPolicyPasswordLen {
		return Policy{}, valid.Errorf("min_password_len", "must be from %d to %d", MinPasswordLen, maxPolicyPasswordLen)
	}
	p.TwoFactorRoles = make([]Role, len(roles))
	for i, r := range roles {
		p.TwoFactorRoles[i] = Role(r)
	}
	vals := map[string]string{"two_factor_roles": strings.Join(roles, ","), "min_password_len": strconv.Itoa(p.MinPasswordLen),
		"refuse_common": strconv.FormatBool(p.RefuseCommon)}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, k := range []string{"two_factor_roles", "min_password_len", "refuse_common"} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO security_settings (key, value) VALUES ($1, $2)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, vals[k]); err != nil {
				return fmt.Errorf("auth: save policy: %w", store.MapError(err))
			}
		}
		return Audit(ctx, tx, "security.policy", "policy", "", fmt.Sprintf("two_factor_roles=%s min_password_len=%d refuse_common=%t",
			vals["two_factor_roles"], p.MinPasswordLen, p.RefuseCommon))
	})
	if err != nil {
		return Policy{}, err
	}
	s.policy.Store(&p)
	return p, nil
}

// commonPasswords are among the most used passwords of ten characters or
// more (from public breach corpora), and opsdeck's own name: the guesses an
// attacker tries first.
var commonPasswords = []string{
	"1234567890", "12345678910", "123456789a", "0123456789", "1111111111", "0000000000", "1q2w3e4r5t",
	"qwertyuiop", "1qaz2wsx3edc", "password12", "password123", "password1234", "password!1", "passw0rd123",
	"iloveyou12", "letmein123", "welcome123", "welcome2024", "welcome2025", "welcome2026", "changeme123", "changeme!!",
	"administrator", "admin12345", "admin123456", "qwerty12345", "qwerty123456", "abcdefghij", "abc1234567",
	"sunshine123", "football123", "princess123", "trustno1trustno1", "opsdeck123", "opsdeckadmin", "superman123",
}

// CheckNewPassword applies the policy to a new password for username: the
// length limits, not the username, not a common password.
func (s *Service) CheckNewPassword(field, username, pw string) error {
	if err := ValidPassword(field, pw); err != nil {
		return err
	}
	p := s.Policy()
	if n := len([]rune(pw)); n < p.MinPasswordLen {
		return valid.Errorf(field, "must be at least %d characters", p.MinPasswordLen)
	}
	lower := strings.ToLower(pw)
	if username != "" && strings.EqualFold(strings.TrimSpace(pw), username) {
		return valid.Errorf(field, "must not be the username")
	}
	if p.RefuseCommon && slices.Contains(commonPasswords, lower) {
		return valid.Errorf(field, "is one of the most common passwords; choose another")
	}
	return nil
}
