package deskmail

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// blockTags start a new line in the text an HTML mail turns into.
var blockTags = map[string]bool{"p": true, "div": true, "br": true, "li": true, "tr": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "blockquote": true, "pre": true, "table": true, "ul": true, "ol": true, "hr": true}

// skipTags hold no text a reader sees.
var skipTags = map[string]bool{"script": true, "style": true, "head": true, "title": true, "noscript": true, "template": true, "svg": true}

var blankLines = regexp.MustCompile(`\n{3,}`)

// HTMLToText turns an HTML-only mail into plain text: tags dropped,
// scripts and styles dropped with their content, entities decoded, block
// elements on their own lines and links kept as "text (url)". The result
// is plain text, shown escaped like any other ticket text.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	var href string
	for b.Len() < maxTextBytes {
		switch z.Next() {
		case html.ErrorToken:
			return clean(b.String())
		case html.TextToken:
			if skip == 0 {
				b.WriteString(strings.Join(strings.Fields(string(z.Text())), " "))
				if t := z.Raw(); len(t) > 0 && (t[len(t)-1] == ' ' || t[len(t)-1] == '\n') {
					b.WriteByte(' ')
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if skipTags[tag] {
				if t := z.Token(); t.Type == html.StartTagToken {
					skip++
				}
				continue
			}
			if blockTags[tag] {
				b.WriteByte('\n')
			}
			if tag == "li" {
				b.WriteString("- ")
			}
			if tag == "a" && hasAttr {
				href = ""
				for {
					k, v, more := z.TagAttr()
					if string(k) == "href" && (strings.HasPrefix(string(v), "http://") || strings.HasPrefix(string(v), "https://") || strings.HasPrefix(string(v), "mailto:")) {
						href = string(v)
					}
					if !more {
						break
					}
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if skipTags[tag] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if tag == "a" && href != "" && skip == 0 {
				b.WriteString(" (" + href + ")")
				href = ""
			}
			if blockTags[tag] {
				b.WriteByte('\n')
			}
		}
	}
	return clean(b.String())
}

func clean(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
