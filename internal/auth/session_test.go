package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// noLimits keeps the login limiter out of tests about other things.
var noLimits = Options{LoginMaxFailuresPerUser: 1000, LoginMaxFailuresPerIP: 1000}

func TestLogin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := WithActor(context.Background(), Actor{Via: ViaUI, Addr: "ignored", RequestID: "req-1"})
		clk := newClock()
		opts := noLimits
		opts.Now = clk.Now
		s := newService(t, db, opts)
		u := mustCreateUser(t, s, "gina", RoleOperator)

		ua := "x" + strings.Repeat("€", 200) // 601 bytes: a cut at 300 would split a rune
		raw, p, err := s.Login(ctx, "gina", testPassword, "198.51.100.7", ua)
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if !strings.HasPrefix(raw, "ods_") || len(raw) < 40 {
			t.Errorf("session token %q", raw)
		}
		if p.Kind != ActorUser || p.UserID != u.ID || p.Name != "gina" || p.Role != RoleOperator || p.CSRF == "" || p.MustChangePassword {
			t.Errorf("Login principal = %+v", p)
		}
		got, err := s.SessionPrincipal(ctx, raw)
		if err != nil {
			t.Fatalf("SessionPrincipal: %v", err)
		}
		if got != p {
			t.Errorf("SessionPrincipal = %+v, want %+v", got, p)
		}
		// The raw token is stored only hashed.
		if n := countRows(t, db, `SELECT COUNT(*) FROM sessions WHERE id_hash = $1`, raw); n != 0 {
			t.Error("raw session token stored")
		}
		var storedUA, storedAddr string
		if err := db.R.QueryRowContext(ctx, `SELECT user_agent, remote_addr FROM sessions WHERE id_hash = $1`, hashSecret(raw)).Scan(&storedUA, &storedAddr); err != nil {
			t.Fatal(err)
		}
		if len(storedUA) > 300 || !utf8.ValidString(storedUA) || !strings.HasPrefix(ua, storedUA) || storedAddr != "198.51.100.7" {
			t.Errorf("stored user agent %d bytes (valid %v), addr %q", len(storedUA), utf8.ValidString(storedUA), storedAddr)
		}
		if u, _ := s.GetUser(ctx, u.ID); u.LastLoginAt == nil || !u.LastLoginAt.Equal(clk.Now()) {
			t.Errorf("LastLoginAt = %v, want %v", u.LastLoginAt, clk.Now())
		}
		es, _, _ := ListAudit(ctx, db, AuditFilter{Action: "session.login"})
		if len(es) != 1 {
			t.Fatalf("%d session.login rows", len(es))
		}
		if e := es[0]; e.ActorName != "gina" || e.ActorID != u.ID || e.ActorKind != ActorUser || e.SourceAddr != "198.51.100.7" ||
			e.RequestID != "req-1" || e.Via != ViaUI || e.TargetID != itoa(u.ID) {
			t.Errorf("login audit = %+v", e)
		}

		// Two logins are two sessions with their own CSRF tokens.
		raw2, p2, err := s.Login(ctx, "gina", testPassword, "198.51.100.7", "\xff\x00bad agent")
		if err != nil {
			t.Fatalf("second Login (hostile user agent): %v", err)
		}
		if raw2 == raw || p2.CSRF == p.CSRF {
			t.Error("second session repeats the first's secrets")
		}

		// Logout ends one session and is audited against the user.
		if err := s.Logout(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionPrincipal(ctx, raw); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("after Logout: %v", err)
		}
		if _, err := s.SessionPrincipal(ctx, raw2); err != nil {
			t.Errorf("other session after Logout: %v", err)
		}
		es, _, _ = ListAudit(ctx, db, AuditFilter{Action: "session.logout"})
		if len(es) != 1 || es[0].TargetID != itoa(u.ID) || es[0].ActorName != "gina" {
			t.Errorf("logout audit = %+v", es)
		}
		// Logging out twice, or with nonsense, is harmless and unaudited.
		for _, r := range []string{raw, "", "ods_nothing", strings.Repeat("x", 10000), "\xff"} {
			if err := s.Logout(ctx, r); err != nil {
				t.Errorf("Logout(%.10q) = %v", r, err)
			}
		}
		if got := auditActions(t, db, AuditFilter{Action: "session.logout"}); len(got) != 1 {
			t.Errorf("logout audit rows = %v", got)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		s := newService(t, db, noLimits)
		mustCreateUser(t, s, "hank", RoleViewer)
		off := mustCreateUser(t, s, "ivy", RoleViewer)
		mustCreateUser(t, s, "boss", RoleAdmin)
		if _, err := s.UpdateUser(ctx, off.ID, UserUpdate{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		tests := []struct{ name, user, pass string }{
			{"wrong password", "hank", "wrong password"},
			{"empty password", "hank", ""},
			{"password prefix", "hank", testPassword[:10]},
			{"password case", "hank", strings.ToUpper(testPassword)},
			{"unknown user", "nobody", testPassword},
			{"empty username", "", testPassword},
			{"username space", "hank ", testPassword},
			{"disabled user", "ivy", testPassword},
			{"long username", strings.Repeat("h", 65), testPassword},
			{"huge username", strings.Repeat("h", 1<<20), testPassword},
			{"huge password", "hank", strings.Repeat("p", 1<<20)},
			{"invalid utf-8 username", "h\xffnk", testPassword},
			{"nul username", "hank\x00", testPassword},
			{"sql username", "' OR 1=1 --", testPassword},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				raw, p, err := s.Login(ctx, tt.user, tt.pass, "203.0.113.5", "")
				if !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("Login = %v, want ErrInvalidCredentials", err)
				}
				if raw != "" || p != (Principal{}) {
					t.Errorf("failed Login returned %q, %+v", raw, p)
				}
			})
		}
		// Every failure is audited, even with hostile bytes in the username.
		if got := auditActions(t, db, AuditFilter{Action: "session.login_failed"}); len(got) != len(tests) {
			t.Errorf("%d session.login_failed rows, want %d", len(got), len(tests))
		}
		es, _, _ := ListAudit(ctx, db, AuditFilter{Action: "session.login_failed", Actor: "nobody"})
		if len(es) != 1 || es[0].SourceAddr != "203.0.113.5" || es[0].TargetID != "nobody" {
			t.Errorf("failed login audit = %+v", es)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM sessions`); n != 0 {
			t.Errorf("%d sessions after failed logins", n)
		}
		// Usernames are matched case-insensitively, as people type them.
		if _, p, err := s.Login(ctx, "HANK", testPassword, "203.0.113.9", "ua"); err != nil || p.Name != "hank" {
			t.Errorf("Login as HANK = %+v, %v; want user hank", p, err)
		}
	})
}

func TestSessionPrincipalGarbage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := newService(t, db, Options{})
		for _, raw := range []string{"", "ods_", "ods_" + RandomSecret(32), strings.Repeat("a", 129), strings.Repeat("a", 1<<20), "\x00", "\xff\xfe", "' OR 1=1 --"} {
			if _, err := s.SessionPrincipal(context.Background(), raw); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("SessionPrincipal(%.12q) = %v, want ErrUnauthenticated", raw, err)
			}
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		s := newService(t, db, Options{SessionTTL: time.Hour, Now: clk.Now})
		if s.SessionTTL() != time.Hour {
			t.Fatalf("SessionTTL() = %s", s.SessionTTL())
		}
		mustCreateUser(t, s, "jack", RoleViewer)
		old, _, err := s.Login(ctx, "jack", testPassword, "", "")
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(30 * time.Minute)
		young, _, err := s.Login(ctx, "jack", testPassword, "", "")
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(30*time.Minute - time.Millisecond)
		if _, err := s.SessionPrincipal(ctx, old); err != nil {
			t.Fatalf("session just before expiry: %v", err)
		}
		clk.Advance(time.Millisecond)
		if _, err := s.SessionPrincipal(ctx, old); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("session at expiry: %v, want ErrUnauthenticated", err)
		}
		if _, err := s.SessionPrincipal(ctx, young); err != nil {
			t.Errorf("younger session: %v", err)
		}
		if err := s.PurgeExpiredSessions(ctx); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM sessions`); n != 1 {
			t.Errorf("%d sessions after purge, want 1", n)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM sessions WHERE id_hash = $1`, hashSecret(young)); n != 1 {
			t.Error("purge deleted the live session")
		}
		clk.Advance(time.Hour)
		if err := s.PurgeExpiredSessions(ctx); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM sessions`); n != 0 {
			t.Errorf("%d sessions after second purge", n)
		}
	})
}

func TestRunStops(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := newService(t, db, Options{TokenCacheTTL: time.Minute})
		ctx := adminCtx()
		raw, tok, err := s.CreateToken(ctx, NewToken{Name: "run", Role: RoleViewer})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, raw); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(rctx); close(done) }()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		// Stopping writes the pending last-use times.
		got, err := s.GetToken(ctx, tok.ID)
		if err != nil || got.LastUsedAt == nil {
			t.Errorf("after Run stopped: %+v, %v", got, err)
		}
	})
}
