// Package auth is opsdeck's identity and access: users and their roles,
// password hashing, browser sessions with CSRF tokens, API tokens, login rate
// limits, and the audit log every change of state is written to.
package auth

import "github.com/opsdeck/opsdeck/internal/valid"

// Role is what a caller may do. Roles are ordered: each includes the ones
// below it.
type Role string

// The roles, lowest first. RoleNone is used by routes open to anyone.
const (
	RoleNone      Role = ""
	RoleRequester Role = "requester"
	RoleViewer    Role = "viewer"
	RoleOperator  Role = "operator"
	RoleAdmin     Role = "admin"
)

// AllRoles returns every assignable role, highest first, for forms and help.
func AllRoles() []Role { return []Role{RoleAdmin, RoleOperator, RoleViewer, RoleRequester} }

// Level orders roles; RoleNone and unknown roles are 0.
func (r Role) Level() int {
	switch r {
	case RoleRequester:
		return 1
	case RoleViewer:
		return 2
	case RoleOperator:
		return 3
	case RoleAdmin:
		return 4
	}
	return 0
}

// Allows reports whether a caller holding r may use something that needs need.
func (r Role) Allows(need Role) bool { return r.Level() >= need.Level() }

// ParseRole checks a role name from outside input.
func ParseRole(field, s string) (Role, error) {
	r := Role(s)
	if r.Level() == 0 {
		return RoleNone, valid.Errorf(field, "must be one of admin, operator, viewer, requester")
	}
	return r, nil
}
