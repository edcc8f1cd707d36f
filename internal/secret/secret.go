// Package secret seals secrets stored in the database (SMTP passwords,
// webhook URLs, TOTP keys) with AES-256-GCM under a key kept outside it: in
// the file secret.key in the data folder, or in OPSDECK_SECRET_KEY. A copy
// of the database alone (a backup, a dump) then reveals none of them.
//
// A sealed value reads "sbox1:KEYID:BASE64", where KEYID names the key that
// sealed it, so keys can be rotated: the key file lists the current key
// first and older ones after it, and every value is sealed again under the
// current key before the old ones are dropped.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Prefix starts every sealed value; the version in it names the format.
const Prefix = "sbox1:"

// KeyFile is the key file's name in the data folder.
const KeyFile = "secret.key"

// EnvKey is the variable that holds the keys instead of the file.
const EnvKey = "OPSDECK_SECRET_KEY"

// keyLen is AES-256's key length.
const keyLen = 32

// ErrNotSealed is Open's answer to a value that is not sealed.
var ErrNotSealed = errors.New("secret: value is not sealed")

// ErrUnknownKey means a value was sealed with a key the box does not hold:
// the key file was replaced or lost.
var ErrUnknownKey = errors.New("secret: sealed with a key this server does not hold; restore the key file that belongs to this database")

type key struct {
	id   string
	raw  []byte
	aead cipher.AEAD
}

// Box seals and opens secrets. The zero value is unusable; use New or Load.
type Box struct {
	keys []key // keys[0] seals; all open
}

// New returns a box over keys of 32 bytes each, the first one current.
func New(keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: no key")
	}
	b := &Box{}
	for i, k := range keys {
		if len(k) != keyLen {
			return nil, fmt.Errorf("secret: key %d has %d bytes, want %d", i+1, len(k), keyLen)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		sum := sha256.Sum256(k)
		b.keys = append(b.keys, key{id: hex.EncodeToString(sum[:4]), raw: append([]byte(nil), k...), aead: aead})
	}
	return b, nil
}

// IsSealed reports whether s looks like a sealed value.
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// Seal encrypts plain under the current key. The empty string stays empty:
// it hides nothing, and "empty" keeps meaning "not set" to its callers.
func (b *Box) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	k := b.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	// The key id is authenticated with the text, so a value cannot be
	// relabelled to another key.
	out := k.aead.Seal(nonce, nonce, []byte(plain), []byte(k.id))
	return Prefix + k.id + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a sealed value. The empty string opens to itself.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, Prefix)
	if !ok {
		return "", ErrNotSealed
	}
	id, data, ok := strings.Cut(rest, ":")
	if !ok {
		return "", errors.New("secret: malformed sealed value")
	}
	k, ok := b.key(id)
	if !ok {
		return "", ErrUnknownKey
	}
	raw, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil || len(raw) < k.aead.NonceSize()+k.aead.Overhead() {
		return "", errors.New("secret: malformed sealed value")
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(k.id))
	if err != nil {
		return "", errors.New("secret: sealed value does not authenticate (corrupted, or sealed under another key)")
	}
	return string(plain), nil
}

// Current reports whether s is sealed under the current key: values that
// are not need sealing again (first start, or after a rotation).
func (b *Box) Current(s string) bool {
	rest, ok := strings.CutPrefix(s, Prefix)
	return ok && strings.HasPrefix(rest, b.keys[0].id+":")
}

// Reseal returns s sealed under the current key: a plain value is sealed, a
// value under an older key is opened and sealed again, a current one is
// returned as it is. changed reports whether it differs.
func (b *Box) Reseal(s string) (out string, changed bool, err error) {
	if s == "" || b.Current(s) {
		return s, false, nil
	}
	plain := s
	if IsSealed(s) {
		if plain, err = b.Open(s); err != nil {
			return "", false, err
		}
	}
	out, err = b.Seal(plain)
	return out, err == nil, err
}

// KeyID names the current key, for logs and the rotation command.
func (b *Box) KeyID() string { return b.keys[0].id }

func (b *Box) key(id string) (key, bool) {
	for _, k := range b.keys {
		if k.id == id {
			return k, true
		}
	}
	return key{}, false
}

// parseKeys reads keys in base64, one per line or comma-separated; '#'
// starts a comment.
func parseKeys(text string) ([][]byte, error) {
	var keys [][]byte
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("secret: a key is not base64: %w", err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("secret: no key found")
	}
	return keys, nil
}

// Load returns the box of an installation: the keys of OPSDECK_SECRET_KEY
// when env holds them, else of dataDir/secret.key, created (mode 0600) with
// a new random key when missing. created reports a new key file.
func Load(dataDir, env string) (b *Box, created bool, err error) {
	if strings.TrimSpace(env) != "" {
		keys, err := parseKeys(env)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvKey, err)
		}
		b, err := New(keys...)
		return b, false, err
	}
	path := filepath.Join(dataDir, KeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, false, fmt.Errorf("secret: %w", err)
		}
		k := NewKey()
		if err := writeKeyFile(path, [][]byte{k}, true); err != nil {
			return nil, false, err
		}
		b, err := New(k)
		return b, true, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("secret: read key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("secret: %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	keys, err := parseKeys(string(data))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	b, err = New(keys...)
	return b, false, err
}

// NewKey returns a random 256-bit key.
func NewKey() []byte {
	k := make([]byte, keyLen)
	if _, err := rand.Read(k); err != nil {
		panic("secret: crypto/rand: " + err.Error())
	}
	return k
}

const keyFileHeader = "# opsdeck secret key: seals passwords and tokens stored in the database.\n" +
	"# Back it up apart from the database; without it those secrets cannot be read.\n" +
	"# The first key seals; keys after it only open values not yet sealed again.\n"

// writeKeyFile writes keys to path with mode 0600, through a temporary file
// renamed over it, so a crash leaves the old file or the new one. With
// exclusive it fails when the file exists (two first starts at once).
func writeKeyFile(path string, keys [][]byte, exclusive bool) error {
	var b strings.Builder
	b.WriteString(keyFileHeader)
	for _, k := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k))
		b.WriteByte('\n')
	}
	if exclusive {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("secret: create key file: %w", err)
		}
		if _, err := f.WriteString(b.String()); err != nil {
			f.Close()
			return fmt.Errorf("secret: write key file: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("secret: write key file: %w", err)
		}
		return f.Close()
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("secret: write key file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("secret: replace key file: %w", err)
	}
	return nil
}

// Rotate starts a key rotation in dataDir: a new key becomes current and
// the old ones stay to open what they sealed. The caller then seals every
// stored secret again (Reseal) and calls FinishRotation.
func Rotate(dataDir string) (*Box, error) {
	path := filepath.Join(dataDir, KeyFile)
	old, _, err := Load(dataDir, "")
	if err != nil {
		return nil, err
	}
	keys := [][]byte{NewKey()}
	for _, k := range old.keys {
		keys = append(keys, k.raw)
	}
	if err := writeKeyFile(path, keys, false); err != nil {
		return nil, err
	}
	return New(keys...)
}

// FinishRotation drops every key but the current one from dataDir's key
// file, once no stored value needs them.
func FinishRotation(dataDir string, b *Box) error {
	return writeKeyFile(filepath.Join(dataDir, KeyFile), [][]byte{b.keys[0].raw}, false)
}
