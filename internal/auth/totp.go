package auth

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // RFC 6238 TOTP as authenticator apps implement it uses HMAC-SHA1
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters: those every authenticator app supports (RFC 6238 with
// HMAC-SHA1, 30-second steps, 6 digits).
const (
	totpStep   = 30
	totpDigits = 6
	// totpSkew accepts a code of the step before or after the current
	// one, for clocks a little apart.
	totpSkew = 1
)

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// hotp is RFC 4226's HOTP value of counter under key, with digits digits.
func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// totpStepAt is the RFC 6238 time step of t.
func totpStepAt(t time.Time) uint64 { return uint64(t.Unix()) / totpStep }

// TOTPCode returns the code of a base32 secret at t, as an authenticator
// app shows it. Tests and the CLI use it; logins use verifyTOTP.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return "", err
	}
	return hotp(key, totpStepAt(t), totpDigits), nil
}

func decodeTOTPSecret(secret string) ([]byte, error) {
	key, err := totpEncoding.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil || len(key) < 10 {
		return nil, fmt.Errorf("auth: malformed TOTP secret")
	}
	return key, nil
}

// verifyTOTP checks code against key around now and returns the step it
// matched. Steps at or before after are refused, so a code cannot be used
// twice (RFC 6238 section 5.2).
func verifyTOTP(key []byte, code string, now time.Time, after uint64) (uint64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits {
		return 0, false
	}
	cur := totpStepAt(now)
	for d := -totpSkew; d <= totpSkew; d++ {
		step := uint64(int64(cur) + int64(d))
		if step <= after {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(key, step, totpDigits)), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newTOTPSecret returns a random 160-bit secret in base32, the length RFC
// 4226 recommends.
func newTOTPSecret() string {
	return strings.ToUpper(RandomSecret(20))
}

// TOTPURL is the otpauth:// URL authenticator apps read (from a QR code or
// pasted), naming the account as issuer:username.
func TOTPURL(issuer, username, secret string) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(username)
	q := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + label + "?" + q.Encode()
}
