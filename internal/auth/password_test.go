package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHashPasswordRoundtrip(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{
		testPassword,
		"ünïcödé pässwörd ☃",
		strings.Repeat("x", MaxPasswordLen),
		"with\x00nul and \xff invalid utf-8",
	} {
		h, err := HashPassword(pw)
		if err != nil {
			t.Fatalf("HashPassword: %v", err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("hash %q: unexpected form", h)
		}
		if strings.Contains(h, pw) {
			t.Errorf("hash contains the password")
		}
		ok, err := CheckPassword(h, pw)
		if err != nil || !ok {
			t.Errorf("CheckPassword(right) = %v, %v; want true, nil", ok, err)
		}
		for _, wrong := range []string{"", pw + "x", pw[:len(pw)-1], strings.ToUpper(pw)} {
			if wrong == pw {
				continue
			}
			ok, err := CheckPassword(h, wrong)
			if err != nil || ok {
				t.Errorf("CheckPassword(%q) = %v, %v; want false, nil", wrong, ok, err)
			}
		}
	}
}

func TestHashPasswordSalted(t *testing.T) {
	t.Parallel()
	a, _ := HashPassword(testPassword)
	b, _ := HashPassword(testPassword)
	if a == b {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	t.Parallel()
	b64 := base64.RawStdEncoding.EncodeToString
	salt := b64([]byte("somesaltsomesalt"))
	key := b64(make([]byte, 32))
	good := "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key
	if _, err := CheckPassword(good, "x"); err != nil {
		t.Fatalf("control hash rejected: %v", err)
	}
	cases := map[string]string{
		"empty":              "",
		"dollar":             "$",
		"plain text":         "hunter2",
		"bcrypt":             "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":            "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"argon2d":            "$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"no leading dollar":  "argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"missing part":       "$argon2id$v=19$m=19456,t=2,p=1$" + key,
		"extra part":         good + "$x",
		"trailing dollar":    good + "$",
		"old version":        "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"version junk":       "$argon2id$v=19junk$m=19456,t=2,p=1$" + salt + "$" + key,
		"version missing":    "$argon2id$$m=19456,t=2,p=1$" + salt + "$" + key,
		"version huge":       "$argon2id$v=99999999999999999999$m=19456,t=2,p=1$" + salt + "$" + key,
		"m zero":             "$argon2id$v=19$m=0,t=2,p=1$" + salt + "$" + key,
		"t zero":             "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"p zero":             "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"m negative":         "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key,
		"t negative":         "$argon2id$v=19$m=19456,t=-2,p=1$" + salt + "$" + key,
		"p overflow":         "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key,
		"p many":             "$argon2id$v=19$m=19456,t=2,p=255$" + salt + "$" + key,
		"m overflow":         "$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + key,
		"m 4 GiB":            "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"m 1 GiB":            "$argon2id$v=19$m=1048576,t=2,p=1$" + salt + "$" + key,
		"t huge":             "$argon2id$v=19$m=19456,t=1000000,p=1$" + salt + "$" + key,
		"t 17":               "$argon2id$v=19$m=19456,t=17,p=1$" + salt + "$" + key,
		"params reordered":   "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"params trailing":    "$argon2id$v=19$m=19456,t=2,p=1,k=3$" + salt + "$" + key,
		"params spaces":      "$argon2id$v=19$m= 19456,t=2,p=1$" + salt + "$" + key,
		"params plus":        "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key,
		"params hex":         "$argon2id$v=19$m=0x4c00,t=2,p=1$" + salt + "$" + key,
		"params empty":       "$argon2id$v=19$$" + salt + "$" + key,
		"salt bad base64":    "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key,
		"salt padded":        "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
		"salt empty":         "$argon2id$v=19$m=19456,t=2,p=1$$" + key,
		"salt short":         "$argon2id$v=19$m=19456,t=2,p=1$" + b64([]byte("1234")) + "$" + key,
		"salt huge":          "$argon2id$v=19$m=19456,t=2,p=1$" + b64(make([]byte, 4096)) + "$" + key,
		"key bad base64":     "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$****",
		"key empty":          "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
		"key one byte":       "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + b64([]byte{7}),
		"key short":          "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + b64(make([]byte, 8)),
		"key too long":       "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + b64(make([]byte, 200)),
		"nul byte":           "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "\x00$" + key,
		"invalid utf-8":      "$argon2id\xff$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"many dollars":       strings.Repeat("$", 1<<20),
		"long garbage":       strings.Repeat("a", 1<<20),
		"long after prefix":  "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.Repeat("A", 1<<20),
		"unicode digits":     "$argon2id$v=١٩$m=19456,t=2,p=1$" + salt + "$" + key,
		"newline in params":  "$argon2id$v=19$m=19456,\nt=2,p=1$" + salt + "$" + key,
		"whitespace version": "$argon2id$v= 19$m=19456,t=2,p=1$" + salt + "$" + key,
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			ok, err := CheckPassword(h, testPassword)
			if ok || err == nil {
				t.Fatalf("CheckPassword = %v, %v; want false and an error", ok, err)
			}
			if !errors.Is(err, errBadHash) {
				t.Errorf("error = %v, want errBadHash", err)
			}
			// A malformed hash must be refused before any key derivation.
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestDummyHashParses(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"", testPassword, "somesaltsomesalt"} {
		ok, err := CheckPassword(dummyHash, pw)
		if err != nil {
			t.Fatalf("CheckPassword(dummyHash) error: %v", err)
		}
		if ok {
			t.Fatalf("dummyHash matched %q", pw)
		}
	}
	// The dummy must cost what a real hash costs, or unknown usernames are
	// told apart by timing.
	real, _ := HashPassword(testPassword)
	if got, want := dummyHash[:strings.LastIndex(dummyHash[:strings.LastIndex(dummyHash, "$")], "$")],
		real[:strings.LastIndex(real[:strings.LastIndex(real, "$")], "$")]; got != want {
		t.Errorf("dummyHash parameters %q differ from HashPassword's %q", got, want)
	}
}

func TestCheckPasswordHostileInput(t *testing.T) {
	t.Parallel()
	h, err := HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{MaxPasswordLen + 1, 1 << 16, 8 << 20} {
		pw := strings.Repeat("p", n)
		start := time.Now()
		ok, err := CheckPassword(h, pw)
		if ok || err != nil {
			t.Errorf("len %d: CheckPassword = %v, %v; want false, nil", n, ok, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("len %d: took %s", n, d)
		}
	}
	// A password as long as allowed still works.
	long := strings.Repeat("€", MaxPasswordLen/3)
	lh, err := HashPassword(long)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := CheckPassword(lh, long); !ok || err != nil {
		t.Errorf("max-length password: %v, %v", ok, err)
	}
}

func TestRandomSecret(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		s := RandomSecret(32)
		if len(s) != 52 {
			t.Fatalf("RandomSecret(32) = %q: length %d, want 52", s, len(s))
		}
		if strings.ToLower(s) != s || strings.ContainsAny(s, "=+/") {
			t.Fatalf("RandomSecret(32) = %q: not lower-case unpadded base32", s)
		}
		if seen[s] {
			t.Fatal("RandomSecret repeated itself")
		}
		seen[s] = true
	}
}

func FuzzDecodeHash(f *testing.F) {
	f.Add(dummyHash)
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$$")
	f.Add("$argon2id$v=19$m=4294967295,t=16,p=255$AAAA$AAAA")
	f.Fuzz(func(t *testing.T, h string) {
		p, err := decodeHash(h)
		if err != nil {
			return
		}
		if p.time == 0 || p.memory == 0 || p.threads == 0 || p.time > maxArgonTime || p.memory > maxArgonMemory || p.threads > maxArgonThreads {
			t.Fatalf("decodeHash(%q) accepted out-of-range parameters %+v", h, p)
		}
		if len(p.salt) < 8 || len(p.key) < 16 || len(p.key) > 128 {
			t.Fatalf("decodeHash(%q) accepted salt %d / key %d bytes", h, len(p.salt), len(p.key))
		}
	})
}
