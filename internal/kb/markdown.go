package kb

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// Renderer turns article Markdown into HTML that is safe to put in a page.
// It is goldmark (CommonMark plus GitHub tables, strikethrough, autolinks
// and task lists) without html.WithUnsafe, so raw HTML in the source is
// dropped, plus an allowlist of URL schemes applied to the syntax tree:
// links may point to http, https, mailto or a relative path; images only
// to https or a relative path. A link with any other destination keeps its
// text and loses the link; an image keeps its alt text.
type Renderer struct {
	md goldmark.Markdown
}

// NewRenderer returns a Renderer; it is safe for concurrent use.
func NewRenderer() *Renderer {
	return &Renderer{md: goldmark.New(
		goldmark.WithExtensions(extension.GFM),
	)}
}

// Render returns the HTML of src.
func (r *Renderer) Render(src string) (template.HTML, error) {
	source := []byte(src)
	doc := r.md.Parser().Parse(text.NewReader(source))
	sanitize(doc, source)
	var buf bytes.Buffer
	if err := r.md.Renderer().Render(&buf, source, doc); err != nil {
		return "", fmt.Errorf("kb: render markdown: %w", err)
	}
	// Rendered from an escaped tree with vetted URLs; see sanitize.
	return template.HTML(buf.String()), nil //nolint:gosec
}

// sanitize rewrites the tree in place: links and images whose destinations
// fail the allowlist are replaced by their text, and kept links get
// rel="nofollow noopener noreferrer".
func sanitize(doc ast.Node, source []byte) {
	var bad []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			if !safeURL(string(n.Destination), false) {
				bad = append(bad, n)
			} else {
				n.SetAttributeString("rel", []byte("nofollow noopener noreferrer"))
			}
		case *ast.AutoLink:
			url := string(n.URL(source))
			if n.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(strings.ToLower(url), "mailto:") {
				url = "mailto:" + url
			}
			if !safeURL(url, false) {
				bad = append(bad, n)
			}
		case *ast.Image:
			if !safeURL(string(n.Destination), true) {
				bad = append(bad, n)
			}
		case *ast.RawHTML, *ast.HTMLBlock:
			// Dropped by the renderer without WithUnsafe; removed here too
			// so no renderer option can let them through.
			bad = append(bad, n)
		}
		return ast.WalkContinue, nil
	})
	for _, n := range bad {
		parent := n.Parent()
		if parent == nil {
			continue
		}
		switch n := n.(type) {
		case *ast.Link:
			for c := n.FirstChild(); c != nil; {
				next := c.NextSibling()
				parent.InsertBefore(parent, n, c)
				c = next
			}
		case *ast.AutoLink:
			parent.InsertBefore(parent, n, ast.NewString(n.Label(source)))
		case *ast.Image:
			parent.InsertBefore(parent, n, ast.NewString([]byte(plainText(n, source))))
		}
		parent.RemoveChild(parent, n)
	}
}

// plainText is the text inside n (an image's alt text).
func plainText(n ast.Node, source []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(source))
		case *ast.String:
			b.Write(c.Value)
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// safeURL checks a destination as written and with its character
// references resolved, as the renderer resolves them ("java&#9;script:").
func safeURL(u string, image bool) bool {
	return allowedURL(u, image) && allowedURL(html.UnescapeString(u), image)
}

// allowedURL says whether a link (or, with image, an image source) may
// point at u: a relative reference, or http, https and mailto for links,
// https for images. Control characters and whitespace are refused outright,
// since browsers strip them ("java\tscript:"), as are backslashes and
// protocol-relative "//host" references for images.
func allowedURL(u string, image bool) bool {
	u = strings.TrimSpace(u)
	for _, r := range u {
		if r < 0x21 || r == 0x7f || r == '\\' || (r >= 0x80 && r <= 0x9f) {
			return false
		}
	}
	if image && strings.HasPrefix(u, "//") {
		return false
	}
	end := strings.IndexAny(u, "/?#")
	if end < 0 {
		end = len(u)
	}
	colon := strings.IndexByte(u[:end], ':')
	if colon < 0 {
		return true // relative: no scheme
	}
	switch strings.ToLower(u[:colon]) {
	case "https":
		return true
	case "http", "mailto":
		return !image
	}
	return false
}
