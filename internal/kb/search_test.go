package kb

import (
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func titles(hs []Hit) string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Title)
	}
	return strings.Join(out, "|")
}

func TestSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		vpn := f.article("VPN connection drops", "When the VPN disconnects every few minutes, reinstall the client.", Published)
		f.article("Printer jams", "Open the tray and remove the paper. Mention of vpn here only once.", Published)
		f.article("Secret draft about VPN", "Not ready.", Draft)
		f.article("Email setup", "Configure Outlook with the server name.", Published)

		// Matching, ranking (title beats body) and drafts hidden from requesters.
		hits, err := f.svc.Search(f.as("alice"), Query{Text: "vpn"})
		if err != nil {
			t.Fatal(err)
		}
		if got := titles(hits); got != "VPN connection drops|Printer jams" {
			t.Fatalf("requester hits: %s", got)
		}
		if hits[0].Rank <= hits[1].Rank || hits[0].ID != vpn.ID {
			t.Fatalf("ranking: %+v", hits)
		}
		// A snippet marks the matched word.
		var marked bool
		for _, p := range hits[0].Parts {
			marked = marked || (p.Match && strings.EqualFold(p.Text, "vpn"))
		}
		if !marked || !strings.Contains(strings.ToLower(hits[0].Snippet), "vpn") || strings.ContainsAny(hits[0].Snippet, markStart+markEnd) {
			t.Fatalf("snippet: %q %+v", hits[0].Snippet, hits[0].Parts)
		}
		// Operators see drafts.
		if hits, _ := f.svc.Search(f.as("agent"), Query{Text: "vpn"}); len(hits) != 3 {
			t.Fatalf("agent hits: %s", titles(hits))
		}
		// Stemming: "disconnecting" finds "disconnects", "connections" finds "connection".
		for _, q := range []string{"disconnecting", "connections", "reinstalled"} {
			if hits, err := f.svc.Search(f.as("alice"), Query{Text: q}); err != nil || titles(hits) != "VPN connection drops" {
				t.Fatalf("stemmed %q: %s %v", q, titles(hits), err)
			}
		}
		// All words by default; any word for suggestions.
		if hits, _ := f.svc.Search(f.as("alice"), Query{Text: "vpn outlook"}); len(hits) != 0 {
			t.Fatalf("all-words: %s", titles(hits))
		}
		if hits, _ := f.svc.Search(f.as("alice"), Query{Text: "my vpn and outlook", Any: true}); len(hits) != 3 {
			t.Fatalf("any-word: %s", titles(hits))
		}
		// Kept current on every write: an edit changes what matches, a
		// delete removes it, unpublishing hides it.
		if _, err := f.svc.UpdateArticle(f.as("agent"), vpn.ID, ArticleInput{Title: "Tunnel keeps dropping", Body: "Reinstall the client.", Status: Published}); err != nil {
			t.Fatal(err)
		}
		if hits, _ := f.svc.Search(f.as("alice"), Query{Text: "tunnel"}); titles(hits) != "Tunnel keeps dropping" {
			t.Fatalf("after edit: %s", titles(hits))
		}
		if hits, _ := f.svc.Search(f.as("alice"), Query{Text: "disconnects"}); len(hits) != 0 {
			t.Fatalf("old words still match: %s", titles(hits))
		}
		if _, err := f.svc.UpdateArticle(f.as("agent"), vpn.ID, ArticleInput{Title: "Tunnel keeps dropping", Status: Draft}); err != nil {
			t.Fatal(err)
		}
		if hits, _ := f.svc.Search(f.as("alice"), Query{Text: "tunnel"}); len(hits) != 0 {
			t.Fatalf("unpublished still found: %s", titles(hits))
		}
		if err := f.svc.DeleteArticle(f.as("agent"), vpn.ID); err != nil {
			t.Fatal(err)
		}
		if hits, _ := f.svc.Search(f.as("agent"), Query{Text: "tunnel"}); len(hits) != 0 {
			t.Fatalf("deleted still found: %s", titles(hits))
		}
	})
}

// TestSearchHostile sends query syntax, quotes and garbage: none may
// fail, and words inside still match.
func TestSearchHostile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.article("Printer jams", "Remove the paper.", Published)
		for _, q := range []string{`"`, `printer"`, `"printer`, `printer*`, `*`, `printer AND`, `OR`, `NOT printer`, `NEAR(printer paper)`,
			`title:printer`, `{title}: printer`, `printer -paper`, `(printer`, `printer)`, `^printer`, `printer'; DROP TABLE kb_articles; --`,
			`!printer & | <-> :*`, `'`, `\`, "\x00printer", "printer\u2028", strings.Repeat("(", 400), `printer:*`, `¿printer?`} {
			hits, err := f.svc.Search(f.as("alice"), Query{Text: q})
			if err != nil {
				t.Fatalf("query %q: %v", q, err)
			}
			if strings.Contains(strings.ToLower(q), "printer") && !strings.Contains(q, "paper") && !strings.Contains(q, "DROP") && !strings.Contains(q, "title") && len(hits) != 1 {
				t.Fatalf("query %q: %s", q, titles(hits))
			}
			if _, err := f.svc.Search(f.as("alice"), Query{Text: q, Any: true}); err != nil {
				t.Fatalf("any query %q: %v", q, err)
			}
		}
		if hits, err := f.svc.Search(f.as("alice"), Query{Text: "   "}); err != nil || len(hits) != 0 {
			t.Fatalf("blank: %v %v", hits, err)
		}
		_, err := f.svc.Search(f.as("alice"), Query{Text: strings.Repeat("a", MaxQuery+1)})
		assertField(t, err, "q")
		// The table survived.
		if hits, _ := f.svc.Search(f.as("alice"), Query{Text: "paper"}); len(hits) != 1 {
			t.Fatal("article lost")
		}
	})
}

// FuzzSearch sends arbitrary query strings to SQLite FTS5: none may cause
// an error (FTS5 syntax is never passed through).
func FuzzSearch(f *testing.F) {
	for _, s := range []string{`"`, `a OR`, `NEAR(a b)`, `col:x`, `*`, `-x`, `(`, `^a`, `a AND NOT b`, "\x00", `'`, `{a b}: c`} {
		f.Add(s)
	}
	db := storetest.SQLite(f)
	fx := newFixture(f, db)
	fx.article("Printer jams", "Remove the paper.", Published)
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > MaxQuery {
			return
		}
		for _, anyWord := range []bool{false, true} {
			if _, err := fx.svc.Search(fx.as("alice"), Query{Text: q, Any: anyWord}); err != nil {
				t.Fatalf("%q: %v", q, err)
			}
		}
	})
}
