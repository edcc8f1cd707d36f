package web

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
)

// browser is an HTTP client that behaves like a browser on the UI: it keeps
// cookies, does not follow redirects (tests check them), and reads the CSRF
// token from the last page it loaded.
type browser struct {
	t    testing.TB
	e    *testEnv
	c    *http.Client
	csrf string
}

func newBrowser(t testing.TB, e *testEnv) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, e: e, c: c}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// loaded is a response with its body read.
type loaded struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) loaded {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body := readBody(b.t, resp)
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return loaded{status: resp.StatusCode, header: resp.Header, body: body}
}

func (b *browser) get(path string) loaded {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.e.http.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form with the current CSRF token unless the form sets
// csrf_token itself.
func (b *browser) post(path string, form url.Values) loaded {
	b.t.Helper()
	return b.postWith(path, form, nil)
}

func (b *browser) postWith(path string, form url.Values, header http.Header) loaded {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf)
	}
	req, err := http.NewRequest("POST", b.e.http.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	return b.do(req)
}

// login signs in through the form and expects success.
func (b *browser) login(username, password string) {
	b.t.Helper()
	b.get("/login")
	p := b.post("/login", url.Values{"username": {username}, "password": {password}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("login %s: status %d: %s", username, p.status, p.body)
	}
	b.get("/")
}

// signedIn returns a browser signed in as the test user with role.
func signedIn(t testing.TB, e *testEnv, role auth.Role) *browser {
	t.Helper()
	b := newBrowser(t, e)
	b.login(e.users[role].Username, testPassword)
	return b
}

// cookie returns the named cookie from a response's Set-Cookie headers.
func (p loaded) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// fieldError returns the error shown beside a form field, or "".
func (p loaded) fieldError(field string) string {
	re := regexp.MustCompile(`id="f-` + regexp.QuoteMeta(field) + `-error"><span class="icon" aria-hidden="true">!</span> ([^<]*)</p>`)
	if m := re.FindStringSubmatch(p.body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func (p loaded) location() string { return p.header.Get("Location") }

// decodeInto decodes a JSON response body into v or fails the test.
func decodeInto(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode: %v", err)
	}
}
