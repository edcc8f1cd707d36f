package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"smtp-pass", "https://hooks.slack.com/services/T/B/x", "ünïcødé \x00 bytes", strings.Repeat("x", 100000)} {
		s, err := b.Seal(plain)
		if err != nil || !IsSealed(s) || strings.Contains(s, plain) {
			t.Fatalf("seal %q: %q %v", plain[:min(len(plain), 20)], s[:min(len(s), 40)], err)
		}
		s2, _ := b.Seal(plain)
		if s == s2 {
			t.Error("two seals of one value are equal: the nonce is not random")
		}
		got, err := b.Open(s)
		if err != nil || got != plain {
			t.Fatalf("open: %v", err)
		}
	}
	if s, _ := b.Seal(""); s != "" {
		t.Errorf("empty sealed to %q", s)
	}
	if _, err := b.Open("plain"); !errors.Is(err, ErrNotSealed) {
		t.Errorf("open plain: %v", err)
	}
	good, _ := b.Seal("secret")
	tampered := good[:len(good)-2] + "AA"
	other, _ := New(bytes.Repeat([]byte{2}, 32))
	for name, s := range map[string]string{
		"tampered":      tampered,
		"truncated":     good[:len(Prefix)+12],
		"no key id":     Prefix + "abc",
		"bad base64":    Prefix + b.KeyID() + ":!!!",
		"relabelled":    strings.Replace(good, b.KeyID(), other.KeyID(), 1),
		"short payload": Prefix + b.KeyID() + ":AAAA",
	} {
		if _, err := b.Open(s); err == nil {
			t.Errorf("%s opened", name)
		}
	}
	if _, err := other.Open(good); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("other key: %v", err)
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
}

func TestLoadAndRotate(t *testing.T) {
	dir := t.TempDir()
	b, created, err := Load(dir, "")
	if err != nil || !created {
		t.Fatalf("first load: %v %v", created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	sealed, _ := b.Seal("hunter2hunter2")
	again, created, err := Load(dir, "")
	if err != nil || created {
		t.Fatalf("second load: %v %v", created, err)
	}
	if got, err := again.Open(sealed); err != nil || got != "hunter2hunter2" {
		t.Fatalf("reload opens: %q %v", got, err)
	}
	rotated, err := Rotate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Current(sealed) {
		t.Fatal("old value counted as current after rotation")
	}
	fresh, changed, err := rotated.Reseal(sealed)
	if err != nil || !changed || !rotated.Current(fresh) {
		t.Fatalf("reseal: %v %v", changed, err)
	}
	if _, changed, _ := rotated.Reseal(fresh); changed {
		t.Error("resealing a current value changed it")
	}
	plainSealed, changed, err := rotated.Reseal("clear-text")
	if err != nil || !changed || !rotated.Current(plainSealed) {
		t.Fatalf("seal of a clear value: %v", err)
	}
	if err := FinishRotation(dir, rotated); err != nil {
		t.Fatal(err)
	}
	final, _, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := final.Open(fresh); err != nil || got != "hunter2hunter2" {
		t.Fatalf("after rotation: %q %v", got, err)
	}
	if _, err := final.Open(sealed); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old key still opens after FinishRotation: %v", err)
	}
	// A key file others can read is refused.
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir, ""); err == nil {
		t.Error("world-readable key file accepted")
	}
	// The environment wins over the file, and garbage in it is an error.
	if _, _, err := Load(dir, "not base64!"); err == nil {
		t.Error("bad env key accepted")
	}
	if _, _, err := Load(dir, "# only a comment"); err == nil {
		t.Error("empty env key accepted")
	}
}

func FuzzOpen(f *testing.F) {
	b, _ := New(bytes.Repeat([]byte{7}, 32))
	s, _ := b.Seal("seed")
	f.Add(s)
	f.Add(Prefix + "x:y")
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = b.Open(in)
		_, _, _ = b.Reseal(in)
	})
}

func FuzzParseKeys(f *testing.F) {
	f.Add("AAAA\n# c\nBBBB,CCCC")
	f.Fuzz(func(t *testing.T, in string) {
		if keys, err := parseKeys(in); err == nil {
			_, _ = New(keys...)
		}
	})
}
