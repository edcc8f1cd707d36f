package auth

import "testing"

func TestRoleLevelOrder(t *testing.T) {
	t.Parallel()
	order := []Role{RoleNone, RoleRequester, RoleViewer, RoleOperator, RoleAdmin}
	for i := 1; i < len(order); i++ {
		if order[i-1].Level() >= order[i].Level() {
			t.Errorf("%q (%d) not below %q (%d)", order[i-1], order[i-1].Level(), order[i], order[i].Level())
		}
	}
	for _, r := range []Role{"root", "Admin", "ADMIN", " admin", "admin ", "superuser"} {
		if r.Level() != 0 {
			t.Errorf("unknown role %q has level %d", r, r.Level())
		}
	}
	all := AllRoles()
	if len(all) != 4 || all[0] != RoleAdmin || all[3] != RoleRequester {
		t.Errorf("AllRoles() = %v", all)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Level() <= all[i].Level() {
			t.Errorf("AllRoles not highest first: %v", all)
		}
	}
}

func TestRoleAllows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		have, need Role
		want       bool
	}{
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleOperator, true},
		{RoleAdmin, RoleRequester, true},
		{RoleAdmin, RoleNone, true},
		{RoleOperator, RoleAdmin, false},
		{RoleOperator, RoleOperator, true},
		{RoleOperator, RoleViewer, true},
		{RoleViewer, RoleOperator, false},
		{RoleViewer, RoleViewer, true},
		{RoleViewer, RoleRequester, true},
		{RoleRequester, RoleViewer, false},
		{RoleRequester, RoleRequester, true},
		{RoleNone, RoleNone, true},
		{RoleNone, RoleRequester, false},
		{"bogus", RoleRequester, false},
		{"bogus", RoleNone, true},
		{RoleAdmin, "bogus", true},
	}
	for _, tt := range tests {
		if got := tt.have.Allows(tt.need); got != tt.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, r := range AllRoles() {
		got, err := ParseRole("role", string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "none", "root", "Admin", "ADMIN", " viewer", "viewer\n", "admin\x00", "operator,admin"} {
		got, err := ParseRole("the_role", s)
		if got != RoleNone {
			t.Errorf("ParseRole(%q) = %q, want none", s, got)
		}
		wantField(t, err, "the_role")
	}
}
