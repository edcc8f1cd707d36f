package notify

import (
	"testing"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// FuzzParseSettings feeds arbitrary bytes as the settings of every kind:
// parsing must never panic, and must either build a channel or refuse
// with a validation error that names a field.
func FuzzParseSettings(f *testing.F) {
	for _, seed := range []string{
		`{"url":"https://hooks.example/x","secret":"0123456789abcdef"}`,
		`{"host":"smtp.example.com","port":587,"from":"a@b.c","to":"x@y.z, q@r.s"}`,
		`{"url":"https://ntfy.sh/topic","priority":3}`,
		`{"bot_token":"1:ABCDEFGHIJKLMNOPQRSTUVWXYZ","chat_id":"@chan"}`,
		`{"url":"javascript:x"}`, `[]`, `null`, `{"port":"x"}`, "\x00",
	} {
		for _, k := range kindNames() {
			f.Add(k, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		ch, err := ParseSettings(kind, raw)
		if err != nil {
			if ve, ok := valid.As(err); !ok || ve.Field == "" {
				t.Fatalf("refusal without a field: %v", err)
			}
			return
		}
		if ch == nil {
			t.Fatal("nil channel without an error")
		}
	})
}

// FuzzCheckKeyAndMessage: the checks on what callers queue never panic,
// and an accepted key is safe in a header.
func FuzzCheckKeyAndMessage(f *testing.F) {
	f.Add("inc42/esc1/r0/u7", "title", "https://x.example/")
	f.Add("a b", "t\r\nX: y", "javascript:1")
	f.Fuzz(func(t *testing.T, key, title, url string) {
		if checkKey(key) == nil {
			for i := 0; i < len(key); i++ {
				if key[i] <= ' ' || key[i] >= 0x7f {
					t.Fatalf("accepted key %q", key)
				}
			}
		}
		_ = checkMessage(Message{Title: title, URL: url, Actions: []Link{{Label: title, URL: url}}})
	})
}
