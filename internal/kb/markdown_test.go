package kb

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// allowedTags are the elements the renderer may produce.
var allowedTags = map[string]bool{
	"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "em": true, "strong": true, "del": true,
	"a": true, "img": true, "code": true, "pre": true, "blockquote": true, "ul": true, "ol": true, "li": true, "hr": true, "br": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "input": true,
}

// checkSafe parses out as a browser would and fails on any element outside
// the allowlist, any event handler or style attribute, and any href or src
// outside the allowed schemes.
func checkSafe(t testing.TB, src, out string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
			continue
		}
		tok := z.Token()
		if !allowedTags[tok.Data] {
			t.Fatalf("element <%s> in output of %q:\n%s", tok.Data, src, out)
		}
		for _, a := range tok.Attr {
			switch a.Key {
			case "href":
				if tok.Data != "a" || !allowedURL(a.Val, false) {
					t.Fatalf("href %q in output of %q:\n%s", a.Val, src, out)
				}
			case "src":
				if tok.Data != "img" || !allowedURL(a.Val, true) {
					t.Fatalf("src %q in output of %q:\n%s", a.Val, src, out)
				}
			case "alt", "title", "rel", "align", "start", "type", "checked", "disabled", "class":
			default:
				t.Fatalf("attribute %s=%q in output of %q:\n%s", a.Key, a.Val, src, out)
			}
		}
	}
}

func TestRenderHostile(t *testing.T) {
	r := NewRenderer()
	for _, c := range []struct {
		src     string
		mustNot []string // substrings the output must not contain (lower-cased)
		must    []string
	}{
		{`<script>alert(1)</script>`, []string{"<script"}, nil},
		{"hello <img src=x onerror=alert(1)> world", []string{"<img", "onerror"}, []string{"hello"}},
		{"<div>\n<iframe src=\"https://evil\"></iframe>\n</div>", []string{"<iframe", "<div"}, nil},
		{`[click](javascript:alert(1))`, []string{"javascript:", "href"}, []string{"click"}},
		{`[click](JaVaScRiPt:alert(1))`, []string{"javascript:", "href"}, []string{"click"}},
		{`[click](java&#9;script:alert(1))`, []string{"href"}, []string{"click"}},
		{`[click](&#106;avascript:alert(1))`, []string{"href"}, []string{"click"}},
		{`[click](vbscript:msgbox)`, []string{"href"}, nil},
		{`[click](data:text/html;base64,PHNjcmlwdD4=)`, []string{"href", "data:"}, nil},
		{`[click](file:///etc/passwd)`, []string{"href"}, nil},
		{`<javascript:alert(1)>`, []string{"href"}, nil},
		{"[x]: javascript:alert(1)\n\n[ref][x]", []string{"href"}, []string{"ref"}},
		{`![cat](http://example.com/cat.png)`, []string{"<img"}, []string{"cat"}},
		{`![cat](data:image/png;base64,AAAA)`, []string{"<img"}, []string{"cat"}},
		{`![cat](//evil.example/cat.png)`, []string{"<img"}, nil},
		{`![x"onerror="alert(1)](https://ok.example/a.png)`, []string{`"onerror`}, []string{`src="https://ok.example/a.png"`}},
		{`[a](https://ok.example/?q="><script>)`, []string{"<script"}, nil},
		{`[mail](mailto:help@example.com)`, nil, []string{`href="mailto:help@example.com"`}},
		{`[rel](/kb/articles/3)`, nil, []string{`href="/kb/articles/3"`, `rel="nofollow noopener noreferrer"`}},
		{`[web](https://example.com/a)`, nil, []string{`href="https://example.com/a"`}},
		{`![ok](/static/icon.svg)`, nil, []string{`<img src="/static/icon.svg" alt="ok">`}},
		{"```html\n<script>alert(1)</script>\n```", []string{"<script"}, []string{"&lt;script&gt;"}},
		{"| a | b |\n|---|---|\n| <b>x</b> | y |", []string{"<b>"}, []string{"<table>"}},
		{"<!-- comment --><style>body{}</style>", []string{"<style", "<!--"}, nil},
		{"www.example.com and https://example.org", nil, []string{`href="http://www.example.com"`, `href="https://example.org"`}},
	} {
		out, err := r.Render(c.src)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		lower := strings.ToLower(string(out))
		for _, bad := range c.mustNot {
			if strings.Contains(lower, strings.ToLower(bad)) {
				t.Errorf("%q renders %q, containing %q", c.src, out, bad)
			}
		}
		for _, good := range c.must {
			if !strings.Contains(string(out), good) {
				t.Errorf("%q renders %q, missing %q", c.src, out, good)
			}
		}
		checkSafe(t, c.src, string(out))
	}
}

func TestAllowedURL(t *testing.T) {
	for _, c := range []struct {
		u           string
		link, image bool
	}{
		{"https://a.example/x", true, true},
		{"http://a.example/x", true, false},
		{"mailto:a@b", true, false},
		{"/relative/path", true, true},
		{"page#frag", true, true},
		{"?q=1", true, true},
		{"a/b:c", true, true}, // the colon is in the path: relative
		{"//host/x", true, false},
		{"javascript:alert(1)", false, false},
		{" JAVASCRIPT:alert(1)", false, false},
		{"java\tscript:alert(1)", false, false},
		{"java\nscript:x", false, false},
		{"data:image/png;base64,AA", false, false},
		{`\\host\share`, false, false},
		{"ftp://x", false, false},
	} {
		if got := allowedURL(c.u, false); got != c.link {
			t.Errorf("link %q: %v, want %v", c.u, got, c.link)
		}
		if got := allowedURL(c.u, true); got != c.image {
			t.Errorf("image %q: %v, want %v", c.u, got, c.image)
		}
	}
}

// FuzzRender feeds the renderer arbitrary Markdown: it must not fail or
// panic, and its output must pass the same allowlist as the hostile tests.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"# t\n\n*a* [l](https://x) ![i](/i.png)", "<script>x</script>", "[a](javascript:b)", "<a href=\"javascript:x\">y</a>",
		"| a |\n|---|\n| <img src=x> |", "[x]: data:text/html,1\n[x]", "`<b>`", "- [ ] task\n- [x] done", "<https://a.b>", "a@b.example"} {
		f.Add(s)
	}
	r := NewRenderer()
	f.Fuzz(func(t *testing.T, src string) {
		out, err := r.Render(src)
		if err != nil {
			t.Fatal(err)
		}
		checkSafe(t, src, string(out))
	})
}

func TestTermsAndSnippet(t *testing.T) {
	got := strings.Join(Terms(`"VPN" OR -printer* NEAR(x y) AND not: héllo col:umn ) ( ^ ' ; -- vpn`), ",")
	if got != "vpn,printer,x,y,héllo,col,umn" {
		t.Fatalf("terms: %s", got)
	}
	if len(Terms(strings.Repeat("word ", 100)+strings.Repeat("a b c d e f g h i j k l m n o p q r s ", 2))) != MaxTerms {
		t.Fatal("terms are not capped")
	}
	parts := snippetParts("a " + markStart + "vpn" + markEnd + " b" + markEnd + markStart)
	if len(parts) != 3 || !parts[1].Match || parts[1].Text != "vpn" || parts[0].Match || parts[2].Text != " b" {
		t.Fatalf("parts: %+v", parts)
	}
}
