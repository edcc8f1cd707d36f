package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestTwoFactorLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		s := newService(t, db, Options{Now: clk.Now})
		ctx := adminCtx()
		u := mustCreateUser(t, s, "tess", RoleOperator)

		// Enrol: a wrong code is refused, the right one turns it on.
		secret, err := s.StartTwoFactor(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmTwoFactor(ctx, u.ID, "000000"); err == nil {
			t.Fatal("wrong code confirmed the enrolment")
		}
		code, _ := TOTPCode(secret, clk.Now())
		recovery, err := s.ConfirmTwoFactor(ctx, u.ID, code)
		if err != nil || len(recovery) != recoveryCodeCount {
			t.Fatalf("confirm: %v %v", recovery, err)
		}
		if _, err := s.StartTwoFactor(ctx, u.ID); !errors.Is(err, ErrTwoFactorOn) {
			t.Errorf("second start: %v", err)
		}

		// The password alone now yields a challenge, not a session.
		_, _, err = s.Login(ctx, "tess", testPassword, "10.0.0.1", "t")
		var need *SecondFactorRequired
		if !errors.As(err, &need) || need.Challenge == "" {
			t.Fatalf("login with password only: %v", err)
		}
		// The code used to confirm is in the same step: refused as a replay.
		if _, _, err := s.LoginSecondFactor(ctx, need.Challenge, code, "10.0.0.1", "t"); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("replayed code: %v", err)
		}
		clk.Advance(30 * time.Second)
		code, _ = TOTPCode(secret, clk.Now())
		raw, p, err := s.LoginSecondFactor(ctx, need.Challenge, code, "10.0.0.1", "t")
		if err != nil || raw == "" || p.UserID != u.ID {
			t.Fatalf("second factor: %v", err)
		}
		// The challenge is spent.
		if _, _, err := s.LoginSecondFactor(ctx, need.Challenge, code, "10.0.0.1", "t"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("spent challenge: %v", err)
		}
		// A recovery code works once.
		_, _, err = s.Login(ctx, "tess", testPassword, "10.0.0.1", "t")
		errors.As(err, &need)
		if _, _, err := s.LoginSecondFactor(ctx, need.Challenge, strings.ToUpper(recovery[0]), "10.0.0.1", "t"); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		_, _, err = s.Login(ctx, "tess", testPassword, "10.0.0.1", "t")
		errors.As(err, &need)
		if _, _, err := s.LoginSecondFactor(ctx, need.Challenge, recovery[0], "10.0.0.1", "t"); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("reused recovery code: %v", err)
		}
		// Hostile codes are refused without error.
		for _, bad := range []string{"", strings.Repeat("9", 5000), "\x00\xff", "12345'; DROP TABLE users;--", "abcde-fghij"} {
			if _, _, err := s.LoginSecondFactor(ctx, need.Challenge, bad, "10.0.0.1", "t"); err != nil && !errors.Is(err, ErrInvalidCode) && !errors.Is(err, ErrInvalidCredentials) {
				var rl *RateLimitedError
				if !errors.As(err, &rl) {
					t.Errorf("code %q: %v", bad, err)
				}
			}
		}
		clk.Advance(16 * time.Minute) // the failures above reached the limit
		// Turning it off needs the password.
		if err := s.DisableTwoFactor(ctx, u.ID, "wrong"); err == nil {
			t.Error("disabled with a wrong password")
		}
		if err := s.DisableTwoFactor(ctx, u.ID, testPassword); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Login(ctx, "tess", testPassword, "10.0.0.2", "t"); err != nil {
			t.Errorf("login after disabling: %v", err)
		}
	})
}

func TestTwoFactorPolicyAndRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db, Options{})
		ctx := adminCtx()
		mustCreateUser(t, s, "olga", RoleOperator)
		if _, err := s.SetPolicy(ctx, Policy{TwoFactorRoles: []Role{"root"}, MinPasswordLen: 12}); err == nil {
			t.Error("unknown role accepted")
		}
		if _, err := s.SetPolicy(ctx, Policy{MinPasswordLen: 4}); err == nil {
			t.Error("short minimum accepted")
		}
		if _, err := s.SetPolicy(ctx, Policy{TwoFactorRoles: []Role{RoleAdmin, RoleOperator}, MinPasswordLen: 16, RefuseCommon: true}); err != nil {
			t.Fatal(err)
		}
		other := newService(t, db, Options{})
		if err := other.LoadPolicy(ctx); err != nil || other.Policy().MinPasswordLen != 16 || len(other.Policy().TwoFactorRoles) != 2 {
			t.Fatalf("loaded policy = %+v %v", other.Policy(), err)
		}
		raw, p, err := s.Login(ctx, "olga", testPassword, "10.0.0.1", "t")
		if err != nil || !p.MustEnrolTwoFactor {
			t.Fatalf("operator without 2FA: %+v %v", p, err)
		}
		if sp, err := s.SessionPrincipal(ctx, raw); err != nil || !sp.MustEnrolTwoFactor {
			t.Fatalf("session principal = %+v %v", sp, err)
		}
		raw2, _, _ := s.Login(ctx, "olga", testPassword, "10.0.0.2", "t")
		next, err := s.RotateSession(ctx, raw)
		if err != nil || next == raw {
			t.Fatalf("rotate: %v", err)
		}
		for _, old := range []string{raw, raw2} {
			if _, err := s.SessionPrincipal(ctx, old); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("old session still valid: %v", err)
			}
		}
		if _, err := s.SessionPrincipal(ctx, next); err != nil {
			t.Errorf("rotated session: %v", err)
		}
		for pw, want := range map[string]string{
			"short-but-ok1":            "password", // under 16
			"OLGAOLGAOLGAOLGA1":        "",
			"qwertyuiop":               "password",
			"a perfectly fine phrase!": "",
		} {
			_, err := s.CreateUser(ctx, NewUser{Username: "n" + itoa(int64(len(pw))), Role: RoleViewer, Password: strings.Replace(pw, "olga", "n"+itoa(int64(len(pw))), 1)})
			if want == "" && err != nil {
				t.Errorf("%q refused: %v", pw, err)
			}
			if want != "" {
				wantField(t, err, want)
			}
		}
		_, err = s.CreateUser(ctx, NewUser{Username: "sixteen-chars-ab", Role: RoleViewer, Password: "Sixteen-Chars-AB"})
		wantField(t, err, "password")
	})
}
