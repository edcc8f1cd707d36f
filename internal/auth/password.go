package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's baseline (19 MiB, 2 passes, 1 lane). The
// parameters are stored in every hash, so raising them later only affects new
// hashes and old ones keep verifying.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	// MaxPasswordLen bounds the work an attacker can force per attempt.
	MaxPasswordLen = 256
	// MinPasswordLen is the shortest password accepted.
	MinPasswordLen = 10
)

var errBadHash = errors.New("auth: malformed password hash")

// HashPassword returns an argon2id hash in PHC string form.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Bounds on the parameters CheckPassword accepts from a stored hash. They
// leave room to raise the costs later, but a corrupted or planted hash cannot
// make one login allocate gigabytes or run for minutes.
const (
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	maxHashLen      = 512
)

// argonHash is a decoded PHC string.
type argonHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// decodeHash parses "$argon2id$v=19$m=M,t=T,p=P$SALT$KEY" strictly: every
// number in decimal without sign or spaces, parameters in that order and
// within bounds, a salt of at least 8 bytes and a key of 16 to 128 bytes.
func decodeHash(hash string) (argonHash, error) {
	var h argonHash
	if len(hash) > maxHashLen {
		return h, errBadHash
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return h, errBadHash
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, errBadHash
	}
	num := func(s, prefix string, bits int, max uint64) (uint64, bool) {
		digits, ok := strings.CutPrefix(s, prefix)
		if !ok || digits == "" || digits[0] == '+' {
			return 0, false
		}
		n, err := strconv.ParseUint(digits, 10, bits)
		return n, err == nil && n > 0 && n <= max
	}
	m, okM := num(params[0], "m=", 32, maxArgonMemory)
	t, okT := num(params[1], "t=", 32, maxArgonTime)
	p, okP := num(params[2], "p=", 8, maxArgonThreads)
	if !okM || !okT || !okP {
		return h, errBadHash
	}
	h.memory, h.time, h.threads = uint32(m), uint32(t), uint8(p)
	b64 := base64.RawStdEncoding
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return h, errBadHash
	}
	// A short key would let many passwords match by chance.
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return h, errBadHash
	}
	return h, nil
}

// CheckPassword reports whether password matches hash, in constant time with
// respect to the key comparison. A malformed hash is an error; a password
// longer than MaxPasswordLen never matches, since none can have been set.
func CheckPassword(hash, password string) (bool, error) {
	h, err := decodeHash(hash)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// dummyHash is verified against when a login names no known user, so that
// unknown and known usernames take the same time to refuse.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$qcgk5pmhB1hTqHFOdYF5JwwDEB+6LHhP/LvSGaE8mSk"

// RandomSecret returns n random bytes as unpadded base32 text, lower case:
// safe in URLs, headers and terminals.
func RandomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms; a failure here
		// means the system is unusable for any secret.
		panic("auth: crypto/rand: " + err.Error())
	}
	return strings.ToLower(base32NoPad.EncodeToString(b))
}
