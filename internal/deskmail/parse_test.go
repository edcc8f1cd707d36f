package deskmail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseHostile(t *testing.T) {
	deep := "Content-Type: multipart/mixed; boundary=b0\n\n"
	for i := 0; i < 30; i++ {
		deep += fmt.Sprintf("--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i+1)
	}
	deep += "--b30\nContent-Type: text/plain\n\ndeep text\n"
	many := "Content-Type: multipart/mixed; boundary=B\n\n"
	for i := 0; i < 300; i++ {
		many += "--B\nContent-Type: text/plain\n\npart\n"
	}
	many += "--B--\n"
	zeros := base64.StdEncoding.EncodeToString(make([]byte, 2<<20))
	for _, c := range []struct {
		name, raw string
		check     func(t *testing.T, m *Message)
	}{
		{"broken multipart: no boundary", "From: a@b.example\nContent-Type: multipart/mixed\n\nhello\n", func(t *testing.T, m *Message) {}},
		{"broken multipart: never closed", "From: a@b.example\nContent-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\n\nfirst\n--X\nContent-Type: text/pl",
			func(t *testing.T, m *Message) {
				if !strings.Contains(m.Text, "first") {
					t.Fatalf("text %q", m.Text)
				}
			}},
		{"huge header", "From: a@b.example\nSubject: " + strings.Repeat("s", 300<<10) + "\n\nbody\n", nil},
		{"huge subject within limits", "From: a@b.example\nSubject: " + strings.Repeat("é", 5000) + "\n\nbody\n", func(t *testing.T, m *Message) {
			if len(m.Subject) > maxSubjectLen || !utf8.ValidString(m.Subject) {
				t.Fatalf("subject %d bytes", len(m.Subject))
			}
		}},
		{"nested too deep", "From: a@b.example\n" + deep, func(t *testing.T, m *Message) {
			if len(m.Notes) == 0 {
				t.Fatal("no note on dropped deep parts")
			}
		}},
		{"too many parts", "From: a@b.example\n" + many, func(t *testing.T, m *Message) {
			if strings.Count(m.Text, "part") > maxParts {
				t.Fatalf("%d parts read", strings.Count(m.Text, "part"))
			}
		}},
		{"nested message", "From: a@b.example\nContent-Type: multipart/mixed; boundary=Q\n\n--Q\nContent-Type: text/plain\n\nsee below\n--Q\nContent-Type: message/rfc822\n\nFrom: x@y\nSubject: inner\n\ninner body\n--Q--\n",
			func(t *testing.T, m *Message) {
				if len(m.Files) != 1 || !strings.HasSuffix(m.Files[0].Name, ".eml") {
					t.Fatalf("files %+v", m.Files)
				}
			}},
		{"bad charset", "From: a@b.example\nContent-Type: text/plain; charset=x-klingon\n\nqapla\n", func(t *testing.T, m *Message) {
			if !strings.Contains(m.Text, "qapla") {
				t.Fatalf("text %q", m.Text)
			}
		}},
		{"invalid utf-8 in a utf-8 part", "From: a@b.example\nContent-Type: text/plain; charset=utf-8\n\nbad \xff\xfe bytes\n", func(t *testing.T, m *Message) {
			if !utf8.ValidString(m.Text) {
				t.Fatal("invalid UTF-8 kept")
			}
		}},
		{"bad transfer encoding", "From: a@b.example\nContent-Transfer-Encoding: x-rot13\n\nuryyb\n", nil},
		{"broken base64", "From: a@b.example\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!not base64###\n", nil},
		{"base64 zeros bomb", "From: a@b.example\nContent-Type: multipart/mixed; boundary=Z\n\n--Z\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=zeros.bin\nContent-Transfer-Encoding: base64\n\n" + zeros + "\n--Z--\n",
			func(t *testing.T, m *Message) {
				if len(m.Files) != 1 || len(m.Files[0].Data) != 2<<20 {
					t.Fatalf("files %d", len(m.Files))
				}
			}},
		{"html only with script", "From: a@b.example\nContent-Type: text/html\n\n<html><head><style>p{}</style><script>alert('x')</script></head><body><p>Hello &amp; <b>welcome</b></p><a href=\"javascript:alert(1)\">click</a><a href=\"https://ok.example\">ok</a><img src=x onerror=alert(2)></body></html>",
			func(t *testing.T, m *Message) {
				if strings.Contains(m.Text, "alert") || strings.Contains(m.Text, "<") || !strings.Contains(m.Text, "Hello & welcome") ||
					strings.Contains(m.Text, "javascript") || !strings.Contains(m.Text, "ok (https://ok.example)") {
					t.Fatalf("text %q", m.Text)
				}
			}},
		{"header injection in filename", "From: a@b.example\nContent-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"../../etc/passwd\r\nX: y\"\n\n%PDF-1.4\n--F--\n", nil},
		{"no header at all", "\n\njust a body", nil},
		{"binary garbage", "\x00\x01\x02From: \xff\n\n\x00", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(strings.ReplaceAll(c.raw, "\n", "\r\n")))
			if err != nil {
				if c.check != nil {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n") {
				t.Fatal("text or subject not clean")
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}

func TestReplyText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Thanks\n\nOn Mon, X wrote:\n" + ReplyMarker + "\nold", "Thanks"},
		{"Top\n> quoted\n> more\n", "Top"},
		{"", "(empty message)"},
		{"> only quote", "(empty message)"},
	} {
		if got := replyText(c.in, false); got != c.want {
			t.Errorf("replyText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzParse feeds the MIME parser arbitrary bytes: it must not panic,
// must keep its limits, and must return clean text.
func FuzzParse(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\nSubject: hi\r\n\r\nbody"))
	f.Add([]byte("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--X--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nFrom: x\r\n\r\ny"))
	f.Add([]byte("From: =?utf-8?b?w6k=?= <a@b>\r\nIn-Reply-To: <a@b> junk <c@d>\r\nReferences: <<<>>>\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if err != nil {
			return
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || len(m.Subject) > maxSubjectLen || strings.ContainsAny(m.MessageID, "\r\n") {
			t.Fatalf("unclean result %q %q", m.Subject, m.MessageID)
		}
		if len(m.Files) > maxParts || len(m.InReplyTo) > maxIDs || len(m.References) > maxIDs {
			t.Fatal("limits not kept")
		}
		_ = HTMLToText(string(bytes.ToValidUTF8(raw, nil)))
	})
}
