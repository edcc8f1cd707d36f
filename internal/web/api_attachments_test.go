package web

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// upload posts one file as multipart with a token.
func (e *testEnv) upload(path, token, filename string, data []byte) *http.Response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		e.t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", e.http.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestServiceDeskAttachments(t *testing.T) {
	e := newTestEnv(t)
	req := e.tokens[auth.RoleRequester]
	_, mallory := e.extraUser("mallory", auth.RoleRequester)
	tk := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", auth.RoleRequester, `{"subject":"printer jam"}`), http.StatusCreated)
	base := fmt.Sprintf("/api/v1/tickets/%d/attachments", tk.ID)
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	at := decodeAs[struct {
		ID          int64
		ContentType string `json:"content_type"`
	}](t, e.upload(base, req, "jam é.png", png), http.StatusCreated)
	if at.ContentType != "image/png" {
		t.Fatalf("stored type %q", at.ContentType)
	}
	// Wrong types and oversize are refused naming the file.
	for _, c := range []struct {
		name   string
		data   []byte
		status int
	}{
		{"evil.png", []byte("<html><body onload=alert(1)>"), 422},
		{"evil.svg", []byte("<svg onload=alert(1)></svg>"), 422},
		{"big.txt", bytes.Repeat([]byte("a"), 10<<20+1), 422},
		{"huge.bin", bytes.Repeat([]byte("a"), 11<<20), 422},
	} {
		r := e.upload(base, req, c.name, c.data)
		body := readBody(t, r)
		if r.StatusCode != c.status || !strings.Contains(body, `"field":"file"`) {
			t.Errorf("%s: %d %s", c.name, r.StatusCode, body)
		}
	}
	// Download: safe type, attachment, sandboxed, nosniff.
	r := e.do("GET", fmt.Sprintf("%s/%d", base, at.ID), auth.RoleOperator, "")
	body := readBody(t, r)
	h := r.Header
	if r.StatusCode != 200 || body != string(png) || h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), `attachment; filename="jam _.png"; filename*=UTF-8''jam%20%C3%A9.png`) ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download: %d %v", r.StatusCode, h)
	}
	// Another requester guesses: 404 everywhere.
	for _, c := range []struct{ method, path string }{{"GET", base}, {"GET", fmt.Sprintf("%s/%d", base, at.ID)}} {
		if r := e.doToken(c.method, c.path, mallory, ""); r.StatusCode != http.StatusNotFound {
			t.Errorf("mallory %s %s: %d", c.method, c.path, r.StatusCode)
		}
	}
	if r := e.upload(base, mallory, "x.txt", []byte("hello")); r.StatusCode != http.StatusNotFound {
		t.Errorf("mallory uploaded: %d", r.StatusCode)
	}
	// The ticket page lists the file for its requester, with a download link.
	b := signedIn(t, e, auth.RoleRequester)
	p := b.get(fmt.Sprintf("/tickets/%d", tk.ID))
	if !strings.Contains(p.body, fmt.Sprintf(`/tickets/%d/attachments/%d`, tk.ID, at.ID)) || !strings.Contains(p.body, "jam é.png") {
		t.Fatal("the ticket page does not list the file")
	}
	if d := b.get(fmt.Sprintf("/tickets/%d/attachments/%d", tk.ID, at.ID)); d.status != 200 || !strings.HasPrefix(d.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("UI download: %d", d.status)
	}
	// The page's upload form: multipart with the CSRF token; a refused file
	// comes back with the error beside the field.
	b.get(fmt.Sprintf("/tickets/%d", tk.ID))
	form := func(name string, data []byte) loaded {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf_token", b.csrf)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(data)
		mw.Close()
		rq, _ := http.NewRequest("POST", e.http.URL+fmt.Sprintf("/tickets/%d/attachments", tk.ID), &buf)
		rq.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(rq)
	}
	if p := form("notes.txt", []byte("error 42 at boot")); p.status != http.StatusSeeOther {
		t.Fatalf("UI upload: %d %s", p.status, p.body)
	}
	if p := form("page.html", []byte("<!doctype html><script>alert(1)</script>")); p.status != http.StatusUnprocessableEntity || p.fieldError("file") == "" {
		t.Fatalf("UI upload of HTML: %d %q", p.status, p.fieldError("file"))
	}
}
