package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func wantRateLimited(t testing.TB, err error) time.Duration {
	t.Helper()
	var rl *RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("error = %v, want *RateLimitedError", err)
	}
	if rl.RetryAfter <= 0 {
		t.Fatalf("RetryAfter = %s, want > 0", rl.RetryAfter)
	}
	if !strings.Contains(rl.Error(), "try again") {
		t.Errorf("Error() = %q", rl.Error())
	}
	return rl.RetryAfter
}

func TestLoginRateLimitPerUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		s := newService(t, db, Options{LoginMaxFailuresPerUser: 3, LoginMaxFailuresPerIP: 100, LoginFailureWindow: 10 * time.Minute, Now: clk.Now})
		mustCreateUser(t, s, "kim", RoleViewer)
		mustCreateUser(t, s, "lee", RoleViewer)

		// Failures at t, t+5m, t+6m.
		for i, step := range []time.Duration{0, 5 * time.Minute, time.Minute} {
			clk.Advance(step)
			if _, _, err := s.Login(ctx, "kim", "wrong password", fmt.Sprintf("192.0.2.%d", i), ""); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		// Now even the right password is refused, from any address, until the
		// first failure leaves the window 4 minutes from now.
		_, _, err := s.Login(ctx, "kim", testPassword, "192.0.2.99", "")
		if got := wantRateLimited(t, err); got != 4*time.Minute {
			t.Errorf("RetryAfter = %s, want 4m", got)
		}
		// Another user from the same addresses is not affected.
		if _, _, err := s.Login(ctx, "lee", testPassword, "192.0.2.1", ""); err != nil {
			t.Errorf("other user: %v", err)
		}
		// Refused attempts are not audited as failures and do not extend the block.
		clk.Advance(4*time.Minute - time.Second)
		_, _, err = s.Login(ctx, "kim", testPassword, "192.0.2.99", "")
		if got := wantRateLimited(t, err); got != time.Second {
			t.Errorf("RetryAfter = %s, want 1s", got)
		}
		clk.Advance(time.Second)
		if _, _, err := s.Login(ctx, "kim", testPassword, "192.0.2.99", ""); err != nil {
			t.Fatalf("after window: %v", err)
		}
		if got := auditActions(t, db, AuditFilter{Action: "session.login_failed"}); len(got) != 3 {
			t.Errorf("%d failed-login rows, want 3", len(got))
		}
	})
}

func TestLoginRateLimitSuccessResets(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		s := newService(t, db, Options{LoginMaxFailuresPerUser: 3, LoginMaxFailuresPerIP: 100, Now: clk.Now})
		mustCreateUser(t, s, "max", RoleViewer)
		for round := range 3 {
			for i := range 2 {
				if _, _, err := s.Login(ctx, "max", "wrong password", "192.0.2.1", ""); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("round %d failure %d: %v", round, i, err)
				}
			}
			if _, _, err := s.Login(ctx, "max", testPassword, "192.0.2.1", ""); err != nil {
				t.Fatalf("round %d: success refused: %v", round, err)
			}
		}
	})
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		s := newService(t, db, Options{LoginMaxFailuresPerUser: 100, LoginMaxFailuresPerIP: 4, LoginFailureWindow: time.Minute, Now: clk.Now})
		mustCreateUser(t, s, "nina", RoleViewer)
		// A spray of different usernames from one address.
		for i := range 4 {
			if _, _, err := s.Login(ctx, fmt.Sprintf("guess%d", i), "password123", "192.0.2.50", ""); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("spray %d: %v", i, err)
			}
		}
		_, _, err := s.Login(ctx, "nina", testPassword, "192.0.2.50", "")
		wantRateLimited(t, err)
		// The same address with a port, and the same IPv6 /64, count as one.
		_, _, err = s.Login(ctx, "nina", testPassword, "192.0.2.50:41234", "")
		wantRateLimited(t, err)
		if _, _, err := s.Login(ctx, "nina", testPassword, "192.0.2.51", ""); err != nil {
			t.Errorf("other address: %v", err)
		}
		clk.Advance(time.Minute)
		if _, _, err := s.Login(ctx, "nina", testPassword, "192.0.2.50", ""); err != nil {
			t.Errorf("after window: %v", err)
		}

		for i := range 4 {
			addr := fmt.Sprintf("[2001:db8:1:2::%x]:5000", i+1)
			if _, _, err := s.Login(ctx, fmt.Sprintf("v6guess%d", i), "password123", addr, ""); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("v6 spray %d: %v", i, err)
			}
		}
		_, _, err = s.Login(ctx, "nina", testPassword, "2001:db8:1:2:ffff::1", "")
		wantRateLimited(t, err)
		if _, _, err := s.Login(ctx, "nina", testPassword, "2001:db8:1:3::1", ""); err != nil {
			t.Errorf("other /64: %v", err)
		}
	})
}

// TestLoginRateLimitConcurrent fires many wrong guesses at once: the limit
// must hold even when every guess checks the limiter before any has failed.
func TestLoginRateLimitConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		s := newService(t, db, Options{LoginMaxFailuresPerUser: 3, LoginMaxFailuresPerIP: 100})
		mustCreateUser(t, s, "olga", RoleViewer)
		var wg sync.WaitGroup
		var mu sync.Mutex
		checked, limited := 0, 0
		start := make(chan struct{})
		for i := range 30 {
			wg.Go(func() {
				<-start
				_, _, err := s.Login(ctx, "olga", "wrong password", fmt.Sprintf("192.0.2.%d", i), "")
				mu.Lock()
				defer mu.Unlock()
				var rl *RateLimitedError
				switch {
				case errors.Is(err, ErrInvalidCredentials):
					checked++
				case errors.As(err, &rl):
					limited++
				default:
					t.Errorf("Login: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if checked > 3 || checked+limited != 30 {
			t.Errorf("%d guesses checked, %d limited; want at most 3 checked", checked, limited)
		}
	})
}

func TestLoginLimiterUnit(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(2, 3, time.Minute)
	// Two failures for "u" block it; the address has room for one more.
	for i := range 2 {
		if w := l.attempt("u", "a", t0.Add(time.Duration(i)*time.Second)); w != 0 {
			t.Fatalf("attempt %d refused (%s)", i, w)
		}
	}
	if w := l.attempt("u", "b", t0.Add(10*time.Second)); w != 50*time.Second {
		t.Errorf("blocked user wait = %s, want 50s", w)
	}
	if w := l.attempt("v", "a", t0.Add(10*time.Second)); w != 0 {
		t.Errorf("third attempt from address refused: %s", w)
	}
	if w := l.attempt("w", "a", t0.Add(11*time.Second)); w != 49*time.Second {
		t.Errorf("blocked address wait = %s, want 49s", w)
	}
	// A success takes its own attempt back from the address and clears the user.
	l2 := newLoginLimiter(2, 2, time.Minute)
	l2.attempt("u", "a", t0)
	l2.succeed("u", "a", t0)
	l2.attempt("u", "a", t0)
	l2.succeed("u", "a", t0)
	if w := l2.attempt("u", "a", t0); w != 0 {
		t.Errorf("after successes: refused %s", w)
	}
	if w := l2.attempt("x", "a", t0); w != 0 {
		t.Errorf("after successes: address refused %s", w)
	}
	if w := l2.attempt("y", "a", t0); w == 0 {
		t.Error("address over limit not refused")
	}
	// release takes an attempt back from both counts.
	l3 := newLoginLimiter(1, 1, time.Minute)
	l3.attempt("u", "a", t0)
	l3.release("u", "a", t0)
	if w := l3.attempt("u", "a", t0); w != 0 {
		t.Errorf("after release: refused %s", w)
	}
	// prune forgets what left the window.
	l3.prune(t0.Add(time.Minute))
	if n := len(l3.fails); n != 0 {
		t.Errorf("%d keys after prune", n)
	}
}

func TestLoginLimiterOutOfOrder(t *testing.T) {
	t.Parallel()
	// Callers read the clock before taking the lock, so times can arrive
	// slightly out of order; the count must still expire correctly.
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(3, 100, time.Minute)
	l.attempt("u", "a", t0.Add(2*time.Second))
	l.attempt("u", "a", t0)
	l.attempt("u", "a", t0.Add(time.Second))
	if w := l.attempt("u", "a", t0.Add(3*time.Second)); w != 57*time.Second {
		t.Errorf("wait = %s, want 57s (until the oldest leaves)", w)
	}
	if w := l.attempt("u", "a", t0.Add(time.Minute)); w != 0 {
		t.Errorf("after oldest left: refused %s", w)
	}
}

func TestLoginLimiterAddrKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b string }{
		{"192.0.2.1", "192.0.2.1:1234"},
		{"[2001:db8::1]:80", "2001:db8::2"},
		{"2001:db8:0:0:ffff::1", "2001:db8::"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"", ""},
	}
	for _, tt := range tests {
		if addrKey(tt.a) != addrKey(tt.b) {
			t.Errorf("addrKey(%q) = %q differs from addrKey(%q) = %q", tt.a, addrKey(tt.a), tt.b, addrKey(tt.b))
		}
	}
	for _, pair := range [][2]string{{"192.0.2.1", "192.0.2.2"}, {"2001:db8:0:1::1", "2001:db8:0:2::1"}, {"unix", "other"}} {
		if addrKey(pair[0]) == addrKey(pair[1]) {
			t.Errorf("addrKey(%q) == addrKey(%q)", pair[0], pair[1])
		}
	}
	for _, k := range []string{addrKey(strings.Repeat("x", 1<<20)), userKey(strings.Repeat("u", 1<<20))} {
		if len(k) > 80 {
			t.Errorf("key of %d bytes", len(k))
		}
	}
	if userKey(strings.Repeat("u", 1000)) == userKey(strings.Repeat("u", 1001)) {
		t.Error("long usernames share a key")
	}
}

// TestLoginLimiterFlood sprays failures from ever new usernames and addresses
// and checks that the limiter's memory stays bounded, while a user that is
// already blocked stays blocked.
func TestLoginLimiterFlood(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(5, 20, 15*time.Minute)
	l.maxKeys = 1000
	for i := range 5 {
		l.attempt("admin", "198.51.100.1", t0.Add(time.Duration(i)*time.Millisecond))
	}
	long := strings.Repeat("z", 4096)
	for i := range 50_000 {
		now := t0.Add(time.Duration(i) * time.Microsecond)
		l.attempt(fmt.Sprintf("user%d%s", i, long[:i%4096]), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), now)
		if i%10_000 == 0 {
			l.mu.Lock()
			n := len(l.fails)
			l.mu.Unlock()
			if n > l.maxKeys {
				t.Fatalf("after %d attempts: %d keys, cap %d", i, n, l.maxKeys)
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.fails); n > l.maxKeys {
		t.Fatalf("%d keys, cap %d", n, l.maxKeys)
	}
	bytes := 0
	for k, ts := range l.fails {
		if len(ts) > 20 {
			t.Fatalf("key %.20q holds %d times", k, len(ts))
		}
		bytes += len(k)
	}
	if bytes > l.maxKeys*80 {
		t.Errorf("keys hold %d bytes", bytes)
	}
	if len(l.fails[userKey("admin")]) != 5 {
		t.Error("the flood evicted a blocked user")
	}
}
