package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func ptr[T any](v T) *T { return &v }

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	// Validation runs before any database access, so one engine is enough
	// for the table; the engine-dependent cases follow in TestCreateUser.
	s := newService(t, storetest.SQLite(t), Options{})
	ok := NewUser{Username: "alice", Name: "Alice", Email: "alice@example.com", Role: RoleViewer, Password: testPassword}
	tests := []struct {
		name  string
		edit  func(*NewUser)
		field string
	}{
		{"username empty", func(u *NewUser) { u.Username = "" }, "username"},
		{"username upper case", func(u *NewUser) { u.Username = "Alice" }, "username"},
		{"username leading dot", func(u *NewUser) { u.Username = ".alice" }, "username"},
		{"username leading dash", func(u *NewUser) { u.Username = "-alice" }, "username"},
		{"username leading underscore", func(u *NewUser) { u.Username = "_alice" }, "username"},
		{"username space", func(u *NewUser) { u.Username = "al ice" }, "username"},
		{"username slash", func(u *NewUser) { u.Username = "al/ice" }, "username"},
		{"username at", func(u *NewUser) { u.Username = "alice@example.com" }, "username"},
		{"username non-ascii", func(u *NewUser) { u.Username = "älice" }, "username"},
		{"username trailing newline", func(u *NewUser) { u.Username = "alice\n" }, "username"},
		{"username nul", func(u *NewUser) { u.Username = "ali\x00ce" }, "username"},
		{"username 65 chars", func(u *NewUser) { u.Username = strings.Repeat("a", 65) }, "username"},
		{"name control char", func(u *NewUser) { u.Name = "Al\x07ice" }, "name"},
		{"name newline", func(u *NewUser) { u.Name = "Al\nice" }, "name"},
		{"name escape sequence", func(u *NewUser) { u.Name = "\x1b[31mAlice" }, "name"},
		{"name invalid utf-8", func(u *NewUser) { u.Name = "Al\xffice" }, "name"},
		{"name too long", func(u *NewUser) { u.Name = strings.Repeat("é", 201) }, "name"},
		{"email no at", func(u *NewUser) { u.Email = "alice.example.com" }, "email"},
		{"email display name", func(u *NewUser) { u.Email = "Alice <alice@example.com>" }, "email"},
		{"email spaces", func(u *NewUser) { u.Email = " alice@example.com" }, "email"},
		{"email newline", func(u *NewUser) { u.Email = "alice@example.com\nBcc: x@y.z" }, "email"},
		{"email too long", func(u *NewUser) { u.Email = strings.Repeat("a", 250) + "@example.com" }, "email"},
		{"role empty", func(u *NewUser) { u.Role = "" }, "role"},
		{"role unknown", func(u *NewUser) { u.Role = "root" }, "role"},
		{"role capitalised", func(u *NewUser) { u.Role = "Admin" }, "role"},
		{"password empty", func(u *NewUser) { u.Password = "" }, "password"},
		{"password 9 chars", func(u *NewUser) { u.Password = "123456789" }, "password"},
		{"password 9 runes in 18 bytes", func(u *NewUser) { u.Password = strings.Repeat("ä", 9) }, "password"},
		{"password too long", func(u *NewUser) { u.Password = strings.Repeat("p", MaxPasswordLen+1) }, "password"},
		{"password huge", func(u *NewUser) { u.Password = strings.Repeat("p", 1<<20) }, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			tt.edit(&in)
			_, err := s.CreateUser(context.Background(), in)
			wantField(t, err, tt.field)
		})
	}
	if n, _ := s.CountUsers(context.Background()); n != 0 {
		t.Fatalf("%d users created by invalid input", n)
	}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		s := newService(t, db, Options{})
		valids := []NewUser{
			{Username: "a", Role: RoleRequester, Password: strings.Repeat("ä", MinPasswordLen)},
			{Username: strings.Repeat("z", 64), Role: RoleViewer, Password: strings.Repeat("p", MaxPasswordLen)},
			{Username: "j.doe_2-x", Name: "Jane Doe-Ünal", Email: "jane+ops@example.co.uk", Role: RoleOperator, Password: testPassword, MustChangePassword: true},
			{Username: "0admin", Name: strings.Repeat("é", 200), Role: RoleAdmin, Password: testPassword},
		}
		for _, in := range valids {
			u, err := s.CreateUser(ctx, in)
			if err != nil {
				t.Fatalf("CreateUser(%q): %v", in.Username, err)
			}
			if u.ID == 0 || u.Username != in.Username || u.Role != in.Role || u.MustChangePassword != in.MustChangePassword || u.Disabled {
				t.Errorf("CreateUser(%q) = %+v", in.Username, u)
			}
			got, err := s.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != in.Username || got.Name != in.Name || got.Email != in.Email || got.Role != in.Role ||
				got.MustChangePassword != in.MustChangePassword || got.LastLoginAt != nil || got.CreatedAt.IsZero() {
				t.Errorf("GetUser = %+v, want %+v", got, in)
			}
			if ok, err := CheckPassword(got.passwordHash, in.Password); !ok || err != nil {
				t.Errorf("stored hash does not verify: %v %v", ok, err)
			}
			byName, err := s.GetUserByName(ctx, in.Username)
			if err != nil || byName.ID != u.ID {
				t.Errorf("GetUserByName(%q) = %+v, %v", in.Username, byName, err)
			}
		}
		// Duplicate usernames are a field error, not a database error.
		_, err := s.CreateUser(ctx, NewUser{Username: "a", Role: RoleAdmin, Password: testPassword})
		wantField(t, err, "username")

		list, err := s.ListUsers(ctx)
		if err != nil || len(list) != len(valids) {
			t.Fatalf("ListUsers = %d users, %v", len(list), err)
		}
		for i := 1; i < len(list); i++ {
			if list[i-1].Username >= list[i].Username {
				t.Errorf("ListUsers not ordered: %q before %q", list[i-1].Username, list[i].Username)
			}
		}
		if n, err := s.CountUsers(ctx); n != len(valids) || err != nil {
			t.Errorf("CountUsers = %d, %v", n, err)
		}
		if got := auditActions(t, db, AuditFilter{Action: "user.create"}); len(got) != len(valids) {
			t.Errorf("%d user.create audit rows, want %d", len(got), len(valids))
		}
		es, _, _ := ListAudit(ctx, db, AuditFilter{Action: "user.create", Limit: 1})
		if len(es) != 1 || es[0].ActorName != "root" || es[0].TargetKind != "user" || !strings.Contains(es[0].Detail, "role=admin") {
			t.Errorf("audit entry = %+v", es)
		}

		for _, name := range []string{"nobody", "", "A", "x\xff", "x\x00y", strings.Repeat("a", 1000)} {
			if _, err := s.GetUserByName(ctx, name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetUserByName(%q) = %v, want ErrNotFound", name, err)
			}
		}
		if _, err := s.GetUser(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUser(999999) = %v, want ErrNotFound", err)
		}
	})
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		s := newService(t, db, Options{})
		mustCreateUser(t, s, "boss", RoleAdmin)
		u := mustCreateUser(t, s, "bob", RoleViewer)

		bad := []struct {
			up    UserUpdate
			field string
		}{
			{UserUpdate{Name: ptr("Bob\x00")}, "name"},
			{UserUpdate{Name: ptr("Bob\r")}, "name"},
			{UserUpdate{Name: ptr(strings.Repeat("b", 201))}, "name"},
			{UserUpdate{Email: ptr("bob")}, "email"},
			{UserUpdate{Email: ptr("<bob@example.com>")}, "email"},
			{UserUpdate{Role: ptr(Role("god"))}, "role"},
			{UserUpdate{Role: ptr(RoleNone)}, "role"},
		}
		for _, tt := range bad {
			_, err := s.UpdateUser(ctx, u.ID, tt.up)
			wantField(t, err, tt.field)
		}

		got, err := s.UpdateUser(ctx, u.ID, UserUpdate{Name: ptr("Bob B."), Email: ptr("bob@example.com"), Role: ptr(RoleOperator)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Bob B." || got.Email != "bob@example.com" || got.Role != RoleOperator || got.Disabled {
			t.Errorf("UpdateUser = %+v", got)
		}
		re, _ := s.GetUser(ctx, u.ID)
		if re.Name != "Bob B." || re.Email != "bob@example.com" || re.Role != RoleOperator || re.Username != "bob" {
			t.Errorf("after update GetUser = %+v", re)
		}
		// Unset fields stay as they are; an empty email clears it.
		got, err = s.UpdateUser(ctx, u.ID, UserUpdate{Email: ptr("")})
		if err != nil || got.Name != "Bob B." || got.Email != "" || got.Role != RoleOperator {
			t.Errorf("partial update = %+v, %v", got, err)
		}

		es, _, _ := ListAudit(ctx, db, AuditFilter{Action: "user.update", TargetID: itoa(u.ID)})
		if len(es) != 2 {
			t.Fatalf("%d user.update rows, want 2", len(es))
		}
		if d := es[1].Detail; !strings.Contains(d, `role: "viewer" -> "operator"`) || !strings.Contains(d, `name: "bob" -> "Bob B."`) {
			t.Errorf("audit detail = %q", d)
		}

		if _, err := s.UpdateUser(ctx, 424242, UserUpdate{Name: ptr("x")}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestLastAdminGuard(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		s := newService(t, db, Options{})
		a := mustCreateUser(t, s, "alpha", RoleAdmin)
		// A disabled admin does not count.
		off := mustCreateUser(t, s, "off", RoleAdmin)
		if _, err := s.UpdateUser(ctx, off.ID, UserUpdate{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}

		for _, up := range []UserUpdate{
			{Role: ptr(RoleOperator)},
			{Role: ptr(RoleRequester)},
			{Disabled: ptr(true)},
			{Role: ptr(RoleViewer), Disabled: ptr(true)},
			{Name: ptr("renamed"), Disabled: ptr(true)},
		} {
			if _, err := s.UpdateUser(ctx, a.ID, up); !errors.Is(err, ErrLastAdmin) {
				t.Errorf("UpdateUser(only admin, %+v) = %v, want ErrLastAdmin", up, err)
			}
		}
		if got, _ := s.GetUser(ctx, a.ID); got.Role != RoleAdmin || got.Disabled || got.Name != "alpha" {
			t.Fatalf("refused update changed the user: %+v", got)
		}
		// Changes that keep the admin an enabled admin are fine.
		for _, up := range []UserUpdate{{Name: ptr("Alpha")}, {Role: ptr(RoleAdmin)}, {Disabled: ptr(false)}} {
			if _, err := s.UpdateUser(ctx, a.ID, up); err != nil {
				t.Errorf("UpdateUser(only admin, %+v) = %v", up, err)
			}
		}

		// With a second enabled admin, the first may go; then the second is last.
		b := mustCreateUser(t, s, "bravo", RoleAdmin)
		if _, err := s.UpdateUser(ctx, a.ID, UserUpdate{Role: ptr(RoleOperator)}); err != nil {
			t.Fatalf("demote with another admin: %v", err)
		}
		if _, err := s.UpdateUser(ctx, b.ID, UserUpdate{Disabled: ptr(true)}); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("disable last admin = %v, want ErrLastAdmin", err)
		}
		// Re-enabling the disabled admin frees bravo.
		if _, err := s.UpdateUser(ctx, off.ID, UserUpdate{Disabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateUser(ctx, b.ID, UserUpdate{Disabled: ptr(true)}); err != nil {
			t.Errorf("disable admin with another enabled: %v", err)
		}
	})
}

// TestLastAdminGuardConcurrent demotes two admins at once, many times: one of
// the two changes must be refused, or the installation is left without an
// admin (write skew under READ COMMITTED on PostgreSQL).
func TestLastAdminGuardConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		s := newService(t, db, Options{})
		a := mustCreateUser(t, s, "alpha", RoleAdmin)
		b := mustCreateUser(t, s, "bravo", RoleAdmin)
		for round := range 20 {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for i, id := range []int64{a.ID, b.ID} {
				wg.Go(func() {
					<-start
					up := UserUpdate{Role: ptr(RoleOperator)}
					if (round+i)%2 == 1 {
						up = UserUpdate{Disabled: ptr(true)}
					}
					_, errs[i] = s.UpdateUser(ctx, id, up)
				})
			}
			close(start)
			wg.Wait()
			refused := 0
			for _, err := range errs {
				switch {
				case err == nil:
				case errors.Is(err, ErrLastAdmin):
					refused++
				default:
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if n := countRows(t, db, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled`); n != 1 || refused != 1 {
				t.Fatalf("round %d: %d enabled admins left, %d refusals (errors %v)", round, n, refused, errs)
			}
			for _, id := range []int64{a.ID, b.ID} {
				if _, err := s.UpdateUser(ctx, id, UserUpdate{Role: ptr(RoleAdmin), Disabled: ptr(false)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func TestDisableUserEndsAccess(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		s := newService(t, db, Options{TokenCacheTTL: time.Hour})
		mustCreateUser(t, s, "boss", RoleAdmin)
		u := mustCreateUser(t, s, "carol", RoleOperator)
		sess1, _, err := s.Login(ctx, "carol", testPassword, "192.0.2.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		sess2, _, err := s.Login(ctx, "carol", testPassword, "192.0.2.2", "test")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := s.CreateToken(ctx, NewToken{Name: "carol's", Role: RoleOperator, UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok); err != nil { // now cached
			t.Fatal(err)
		}

		if _, err := s.UpdateUser(ctx, u.ID, UserUpdate{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		for _, raw := range []string{sess1, sess2} {
			if _, err := s.SessionPrincipal(ctx, raw); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("session of disabled user: %v, want ErrUnauthenticated", err)
			}
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, u.ID); n != 0 {
			t.Errorf("%d sessions left for disabled user", n)
		}
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("token of disabled user: %v, want ErrUnauthenticated", err)
		}
		// Another Service (another node, or the CLI) sees the same.
		other := newService(t, db, Options{TokenCacheTTL: time.Hour})
		if _, err := other.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("token of disabled user on a fresh service: %v", err)
		}
		if _, _, err := s.Login(ctx, "carol", testPassword, "192.0.2.3", "test"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("disabled user login: %v, want ErrInvalidCredentials", err)
		}

		// Enabling again restores the token but not the old sessions.
		if _, err := s.UpdateUser(ctx, u.ID, UserUpdate{Disabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Errorf("token after re-enable: %v", err)
		}
		if _, err := s.SessionPrincipal(ctx, sess1); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("old session after re-enable: %v", err)
		}
	})
}

func TestRoleChangeEndsSessions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		s := newService(t, db, Options{})
		u := mustCreateUser(t, s, "dave", RoleOperator)
		raw, _, err := s.Login(ctx, "dave", testPassword, "192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}
		// A change that leaves the role alone keeps the session.
		if _, err := s.UpdateUser(ctx, u.ID, UserUpdate{Name: ptr("Dave")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionPrincipal(ctx, raw); err != nil {
			t.Fatalf("session after rename: %v", err)
		}
		if _, err := s.UpdateUser(ctx, u.ID, UserUpdate{Role: ptr(RoleViewer)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionPrincipal(ctx, raw); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("session after role change: %v, want ErrUnauthenticated", err)
		}
	})
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := adminCtx()
		s := newService(t, db, Options{})
		u := mustCreateUser(t, s, "erin", RoleViewer)
		keep, _, err := s.Login(ctx, "erin", testPassword, "192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}
		drop, _, err := s.Login(ctx, "erin", testPassword, "192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}

		wantField(t, s.SetPassword(ctx, u.ID, "short", false, keep), "password")
		wantField(t, s.SetPassword(ctx, u.ID, strings.Repeat("x", MaxPasswordLen+1), false, keep), "password")
		if err := s.SetPassword(ctx, 99999, "another password", false, ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetPassword(unknown user) = %v, want ErrNotFound", err)
		}

		if err := s.SetPassword(ctx, u.ID, "another password", true, keep); err != nil {
			t.Fatal(err)
		}
		p, err := s.SessionPrincipal(ctx, keep)
		if err != nil {
			t.Fatalf("kept session: %v", err)
		}
		if !p.MustChangePassword {
			t.Error("kept session does not show MustChangePassword")
		}
		if _, err := s.SessionPrincipal(ctx, drop); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("other session: %v, want ErrUnauthenticated", err)
		}
		if _, _, err := s.Login(ctx, "erin", testPassword, "192.0.2.1", ""); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("old password: %v", err)
		}
		if _, p, err := s.Login(ctx, "erin", "another password", "192.0.2.1", ""); err != nil || !p.MustChangePassword {
			t.Errorf("new password: %+v, %v", p, err)
		}
		// Without a session to keep, every session ends.
		if err := s.SetPassword(ctx, u.ID, "third password", false, ""); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, u.ID); n != 0 {
			t.Errorf("%d sessions after SetPassword without keep", n)
		}
		if got := auditActions(t, db, AuditFilter{Action: "user.password"}); len(got) != 2 {
			t.Errorf("user.password rows = %v", got)
		}
	})
}

func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		s := newService(t, db, Options{})
		u, err := s.CreateUser(ctx, NewUser{Username: "frank", Role: RoleViewer, Password: testPassword, MustChangePassword: true})
		if err != nil {
			t.Fatal(err)
		}
		keep, _, _ := s.Login(ctx, "frank", testPassword, "192.0.2.1", "")
		other, _, _ := s.Login(ctx, "frank", testPassword, "192.0.2.1", "")

		tests := []struct {
			current, next, field string
		}{
			{"wrong password", "brand new password", "current_password"},
			{"", "brand new password", "current_password"},
			{strings.Repeat("x", 1<<20), "brand new password", "current_password"},
			{testPassword, testPassword, "new_password"},
			{testPassword, "short", "new_password"},
			{testPassword, strings.Repeat("n", MaxPasswordLen+1), "new_password"},
		}
		for _, tt := range tests {
			wantField(t, s.ChangeOwnPassword(ctx, u.ID, tt.current, tt.next, keep), tt.field)
		}
		if err := s.ChangeOwnPassword(ctx, 99999, testPassword, "brand new password", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}

		if err := s.ChangeOwnPassword(ctx, u.ID, testPassword, "brand new password", keep); err != nil {
			t.Fatal(err)
		}
		p, err := s.SessionPrincipal(ctx, keep)
		if err != nil || p.MustChangePassword {
			t.Errorf("kept session = %+v, %v; want MustChangePassword cleared", p, err)
		}
		if _, err := s.SessionPrincipal(ctx, other); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("other session: %v", err)
		}
		if _, _, err := s.Login(ctx, "frank", "brand new password", "192.0.2.9", ""); err != nil {
			t.Errorf("login with new password: %v", err)
		}
	})
}

func TestChangeOwnPasswordRateLimited(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		clk := newClock()
		s := newService(t, db, Options{LoginMaxFailuresPerUser: 3, Now: clk.Now})
		u := mustCreateUser(t, s, "gus", RoleViewer)
		ctx := WithActor(context.Background(), Actor{Principal: Principal{Kind: ActorUser, UserID: u.ID, Name: "gus", Role: RoleViewer}, Addr: "192.0.2.8"})
		for range 3 {
			wantField(t, s.ChangeOwnPassword(ctx, u.ID, "a wrong guess", "brand new password", ""), "current_password")
		}
		// Now even the right password is refused, and logins too.
		err := s.ChangeOwnPassword(ctx, u.ID, testPassword, "brand new password", "")
		wantField(t, err, "current_password")
		wantRateLimited(t, err)
		_, _, err = s.Login(ctx, "gus", testPassword, "192.0.2.9", "")
		wantRateLimited(t, err)
		clk.Advance(15 * time.Minute)
		if err := s.ChangeOwnPassword(ctx, u.ID, testPassword, "brand new password", ""); err != nil {
			t.Errorf("after the window: %v", err)
		}
	})
}

func TestEnsureAdmin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		s := newService(t, db, Options{})
		created, pw, err := s.EnsureAdmin(ctx, "")
		if err != nil || !created {
			t.Fatalf("EnsureAdmin = %v, %q, %v", created, pw, err)
		}
		if len(pw) < MinPasswordLen {
			t.Errorf("generated password %q too short", pw)
		}
		u, err := s.GetUserByName(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != RoleAdmin || !u.MustChangePassword || u.Disabled {
			t.Errorf("admin = %+v", u)
		}
		if _, p, err := s.Login(ctx, "admin", pw, "127.0.0.1", ""); err != nil || !p.MustChangePassword || p.Role != RoleAdmin {
			t.Errorf("login with generated password: %+v, %v", p, err)
		}
		es, _, _ := ListAudit(ctx, db, AuditFilter{Action: "user.create"})
		if len(es) != 1 || es[0].ActorKind != ActorSystem || es[0].Via != ViaSystem {
			t.Errorf("audit = %+v", es)
		}

		created, pw2, err := s.EnsureAdmin(ctx, "")
		if err != nil || created || pw2 != "" {
			t.Errorf("second EnsureAdmin = %v, %q, %v; want no-op", created, pw2, err)
		}
		if n, _ := s.CountUsers(ctx); n != 1 {
			t.Errorf("%d users", n)
		}
	})
}

func TestEnsureAdminGivenPassword(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		s := newService(t, db, Options{})
		if _, _, err := s.EnsureAdmin(ctx, "short"); err == nil {
			t.Fatal("EnsureAdmin accepted a short password")
		} else {
			wantField(t, err, "password")
		}
		created, pw, err := s.EnsureAdmin(ctx, testPassword)
		if err != nil || !created || pw != testPassword {
			t.Fatalf("EnsureAdmin = %v, %q, %v", created, pw, err)
		}
		u, _ := s.GetUserByName(ctx, "admin")
		if u.MustChangePassword {
			t.Error("given password marked for change")
		}
	})
}

// TestEnsureAdminConcurrent starts two nodes on one empty database at once:
// one creates the admin, the other must not fail.
func TestEnsureAdminConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		var wg sync.WaitGroup
		created := make([]bool, 4)
		errs := make([]error, 4)
		for i := range created {
			s := newService(t, db, Options{})
			wg.Go(func() { created[i], _, errs[i] = s.EnsureAdmin(ctx, testPassword) })
		}
		wg.Wait()
		n := 0
		for i := range created {
			if errs[i] != nil {
				t.Errorf("EnsureAdmin: %v", errs[i])
			}
			if created[i] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d EnsureAdmin calls report creating the admin", n)
		}
	})
}
