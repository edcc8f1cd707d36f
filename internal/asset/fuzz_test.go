package asset

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseCSV feeds the importer's parser arbitrary files: it must not
// panic, and what it accepts must be UTF-8 rows that all carry a tag cell,
// in file order, with no tag twice.
func FuzzParseCSV(f *testing.F) {
	for _, seed := range []string{
		"tag,model\nLAP-1,X1\n",
		"\xef\xbb\xbftag,owner,cost\nA,bob,1.50\nB,,\n",
		"tag\n\"a\"\"b\"\n\n",
		"tag,model\nA,\"X\n",
		"model\nX\n",
		"tag,tag\n",
		"tag\nA\nA\n",
		"tag,notes\nA,\"multi\nline\"\n",
		"\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, errs := ParseCSV(data)
		if len(errs) > 0 {
			return
		}
		seen := map[string]bool{}
		last := 0
		for _, r := range rows {
			tag, ok := r.cells["tag"]
			if !ok {
				t.Fatalf("row %d without a tag cell", r.line)
			}
			for _, v := range r.cells {
				if !utf8.ValidString(v) {
					t.Fatalf("row %d: invalid UTF-8 accepted", r.line)
				}
			}
			if r.line <= last {
				t.Fatalf("row %d after row %d", r.line, last)
			}
			last = r.line
			if tag != "" && seen[tag] {
				t.Fatalf("tag %q accepted twice", tag)
			}
			seen[tag] = true
		}
	})
}

// FuzzMatchPattern checks the license pattern matcher against a regular
// expression built from the same glob: both must agree on every name, and
// the matcher must not panic or hang on any input.
func FuzzMatchPattern(f *testing.F) {
	for _, seed := range [][2]string{
		{"libreoffice*", "libreoffice-writer"}, {"*office*", "LibreOffice"}, {"a*a*a*b", "aaaaaaaaaaaaaaaaaaaa"},
		{"python3.??", "python3.11"}, {"?", ""}, {"*", "*"}, {"é*", "ÉCRAN"}, {"\xff*", "\xfe"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 200 || len(name) > 1000 {
			return
		}
		got := MatchPattern(pattern, name)
		var re strings.Builder
		re.WriteString(`(?s)^`)
		for _, r := range strings.ToLower(pattern) {
			switch r {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`$`)
		want := regexp.MustCompile(re.String()).MatchString(string([]rune(strings.ToLower(name))))
		if got != want {
			t.Fatalf("MatchPattern(%q, %q) = %v, the regexp %s says %v", pattern, name, got, re.String(), want)
		}
		if _, err := ParsePatterns("patterns", []string{pattern}); err == nil && !utf8.ValidString(pattern) {
			t.Fatalf("accepted a pattern that is not UTF-8: %q", pattern)
		}
	})
}
