package auth

import (
	"testing"
	"time"
)

// TestTOTPVectors checks the SHA-1 vectors of RFC 6238 appendix B (8 digits)
// and their 6-digit tails.
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	cases := []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, c := range cases {
		step := totpStepAt(time.Unix(c.unix, 0))
		if got := hotp(key, step, 8); got != c.want {
			t.Errorf("T=%d: %s, want %s", c.unix, got, c.want)
		}
		if got := hotp(key, step, 6); got != c.want[2:] {
			t.Errorf("T=%d 6 digits: %s, want %s", c.unix, got, c.want[2:])
		}
	}
	// The same key through the base32 secret an app is given.
	secret := totpEncoding.EncodeToString(key)
	if got, err := TOTPCode(secret, time.Unix(59, 0)); err != nil || got != "287082" {
		t.Errorf("TOTPCode = %q %v", got, err)
	}
}

func TestVerifyTOTP(t *testing.T) {
	key := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	cur := totpStepAt(now)
	code := hotp(key, cur, 6)
	if step, ok := verifyTOTP(key, code, now, 0); !ok || step != cur {
		t.Fatalf("current code refused")
	}
	if _, ok := verifyTOTP(key, code, now, cur); ok {
		t.Error("a replayed code was accepted")
	}
	if _, ok := verifyTOTP(key, hotp(key, cur-1, 6), now, 0); !ok {
		t.Error("the previous step's code was refused")
	}
	if _, ok := verifyTOTP(key, hotp(key, cur-2, 6), now, 0); ok {
		t.Error("a code two steps old was accepted")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "\x00\x00\x00\x00\x00\x00", "９４２８７０"} {
		if _, ok := verifyTOTP(key, bad, now, 0); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := TOTPCode("not base32!", now); err == nil {
		t.Error("malformed secret accepted")
	}
}

func FuzzVerifyTOTP(f *testing.F) {
	f.Add("123456")
	f.Add(" 12 34 56 ")
	f.Fuzz(func(t *testing.T, code string) {
		_, _ = verifyTOTP([]byte("12345678901234567890"), code, time.Unix(1111111111, 0), 0)
	})
}
