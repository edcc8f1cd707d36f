package auth

import (
	"context"
	"fmt"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// EnsureAdmin creates the first user, "admin", when there are no users.
// With password empty it generates one and marks it for change at first
// login; the caller prints it once. It reports whether it created the user
// and the password it used.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (created bool, used string, err error) {
	n, err := s.CountUsers(ctx)
	if err != nil {
		return false, "", err
	}
	if n > 0 {
		return false, "", nil
	}
	mustChange := false
	if password == "" {
		password = RandomSecret(12)
		mustChange = true
	}
	if _, err := s.CreateUser(ctx, NewUser{Username: "admin", Name: "Administrator", Role: RoleAdmin, Password: password, MustChangePassword: mustChange}); err != nil {
		// Another node starting on the same database made it first.
		if ve, ok := valid.As(err); ok && ve.Field == "username" {
			return false, "", nil
		}
		return false, "", fmt.Errorf("auth: create first admin: %w", err)
	}
	return true, password, nil
}
