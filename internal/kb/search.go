package kb

import (
	"context"
	"strings"
	"unicode"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// MaxQuery caps a search string; MaxTerms caps the words used from it.
const (
	MaxQuery = 500
	MaxTerms = 16
)

// Query is a full-text search.
type Query struct {
	Text string
	// Any matches articles with any of the words (suggestions from a
	// ticket subject); otherwise all words must match.
	Any   bool
	Limit int
}

// Hit is an article found by a search, best first.
type Hit struct {
	Article
	Rank float64 `json:"rank"`
	// Snippet is plain text of the body around the matches (its start
	// when only the title matched); Parts is the same text cut
	// into matched and unmatched pieces for highlighting.
	Snippet string        `json:"snippet"`
	Parts   []SnippetPart `json:"-"`
}

// SnippetPart is a piece of a snippet, Match when it is a matched word.
type SnippetPart struct {
	Text  string
	Match bool
}

// Markers the databases put around matched words in a snippet; control
// characters that valid.Text keeps out of titles and unlikely in bodies.
const (
	markStart = "\x02"
	markEnd   = "\x03"
)

// Terms splits a user's query into the words both engines index: runs of
// letters and digits, lower-cased, at most MaxTerms, without the words the
// query syntaxes treat as operators. Everything else (quotes, stars,
// parentheses, colons, minus signs) is a separator, so no input is FTS5 or
// tsquery syntax.
func Terms(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	out := make([]string, 0, len(words))
	seen := map[string]bool{}
	for _, w := range words {
		if w == "or" || w == "and" || w == "not" || w == "near" || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) == MaxTerms {
			break
		}
	}
	return out
}

// Search finds articles matching q, ranked best first, with a snippet.
// Readers who may not see drafts get published articles only.
func (s *Service) Search(ctx context.Context, q Query) ([]Hit, error) {
	if len(q.Text) > MaxQuery {
		return nil, valid.Errorf("q", "must be at most %d characters", MaxQuery)
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 20
	}
	terms := Terms(q.Text)
	if len(terms) == 0 {
		return []Hit{}, nil
	}
	var sqlText, match string
	if s.db.Dialect == store.Postgres {
		// websearch_to_tsquery never fails on any input; the terms are
		// plain words, joined by its "or" keyword for Any.
		sep := " "
		if q.Any {
			sep = " or "
		}
		match = strings.Join(terms, sep)
		sqlText = `SELECT ` + articleCols + `, ts_rank_cd(a.search, q) AS rank,
			ts_headline('english', a.body, q, 'StartSel=` + markStart + `, StopSel=` + markEnd + `, MaxWords=30, MinWords=10, MaxFragments=1')
			` + articleFrom + `, websearch_to_tsquery('english', $1) q
			WHERE a.search @@ q AND ($2 OR a.status = 'published')
			ORDER BY rank DESC, a.id DESC LIMIT $3`
	} else {
		// Each term quoted: FTS5 reads it as a string, never as syntax.
		quoted := make([]string, len(terms))
		for i, t := range terms {
			quoted[i] = `"` + t + `"`
		}
		sep := " "
		if q.Any {
			sep = " OR "
		}
		match = strings.Join(quoted, sep)
		// bm25 is lower for better matches; title words count ten times.
		// The best ids are picked first so snippet() runs for the page
		// only, not for every match.
		sqlText = `WITH top AS (SELECT kb_articles_fts.rowid AS id, bm25(kb_articles_fts, 10.0, 1.0) AS score
				FROM kb_articles_fts JOIN kb_articles a ON a.id = kb_articles_fts.rowid
				WHERE kb_articles_fts MATCH $1 AND ($2 OR a.status = 'published')
				ORDER BY score, a.id DESC LIMIT $3)
			SELECT ` + articleCols + `, -top.score AS rank,
			snippet(kb_articles_fts, 1, '` + markStart + `', '` + markEnd + `', ' … ', 24)
			FROM top JOIN kb_articles_fts ON kb_articles_fts.rowid = top.id JOIN kb_articles a ON a.id = top.id
			LEFT JOIN kb_categories c ON c.id = a.category_id LEFT JOIN users u ON u.id = a.author_id
			WHERE kb_articles_fts MATCH $1
			ORDER BY top.score, a.id DESC`
	}
	rows, err := s.db.R.QueryContext(ctx, sqlText, match, CanWrite(ctx), q.Limit)
	if err != nil {
		return nil, wrap("search", err)
	}
	defer rows.Close()
	out := []Hit{}
	for rows.Next() {
		var h Hit
		var snip string
		if err := scanArticle(rows, &h.Article, &h.Rank, &snip); err != nil {
			return nil, wrap("search", err)
		}
		h.Parts = snippetParts(snip)
		var b strings.Builder
		for _, p := range h.Parts {
			b.WriteString(p.Text)
		}
		h.Snippet = b.String()
		out = append(out, h)
	}
	return out, wrap("search", rows.Err())
}

// snippetParts cuts a marked snippet into pieces; stray markers from the
// source text are dropped.
func snippetParts(s string) []SnippetPart {
	var out []SnippetPart
	match := false
	for s != "" {
		i := strings.IndexAny(s, markStart+markEnd)
		if i < 0 {
			i = len(s)
		}
		if i > 0 {
			out = append(out, SnippetPart{Text: s[:i], Match: match})
		}
		if i == len(s) {
			break
		}
		match = s[i:i+1] == markStart
		s = s[i+1:]
	}
	return out
}
