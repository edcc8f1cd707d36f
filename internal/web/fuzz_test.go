package web

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
)

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }

// FuzzDecodeJSON feeds arbitrary bodies to the API's JSON decoder: it must
// never panic, and every refusal is a *badRequest with a 4xx status.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"username":"a","role":"viewer","password":"x"}`, `{}`, `[]`, `null`, `{"name":1}`,
		`{"expires_at":"2026-01-01T00:00:00Z"}`, `{"expires_at":"x"}`, `{"a":}`, "\xff\xfe", `{"name":"` + "\u0000" + `"}`,
		`{"disabled":"yes"}`, `{"role":{"x":1}}`, `{} {}`, `  `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst struct {
			Username  string     `json:"username"`
			Role      auth.Role  `json:"role"`
			Password  string     `json:"password"`
			Disabled  *bool      `json:"disabled"`
			ExpiresAt *time.Time `json:"expires_at"`
		}
		err := decodeJSONBytes(body, &dst)
		if err == nil {
			return
		}
		var br *badRequest
		if !errors.As(err, &br) || br.status < 400 || br.status > 499 || br.msg == "" {
			t.Fatalf("decode %q: %v is not a 4xx badRequest", body, err)
		}
	})
}
