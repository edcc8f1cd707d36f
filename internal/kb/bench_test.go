package kb

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// benchWords is the vocabulary of the generated articles; the first words
// are common, the last rare (Zipf-like picks).
var benchWords = strings.Fields(`the a to of and in is for on with printer vpn email password laptop network
	reset install client server account access error update windows mac phone wifi drive share folder license
	outlook teams browser certificate proxy firewall backup restore sync calendar meeting monitor keyboard
	docking station battery screen audio camera microphone token mfa authenticator ticket portal request
	kerberos ldap dhcp dns gateway subnet latency packet tunnel ipsec wireguard openvpn radius saml oauth`)

// BenchmarkSearch searches 10,000 published articles of 300 words on
// SQLite (and PostgreSQL with OPSDECK_TEST_POSTGRES): a common word, a rare
// word, all of three words, and any of a ticket subject's words (the
// suggestion query).
func BenchmarkSearch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSearch(b, storetest.SQLite(b)) })
	if os.Getenv(storetest.EnvPostgres) != "" {
		b.Run("postgres", func(b *testing.B) { benchSearch(b, storetest.Postgres(b)) })
	}
}

// BenchmarkRender renders a 10 KB article.
func BenchmarkRender(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 10_000; i++ {
		fmt.Fprintf(&sb, "## Step %d\n\nOpen **Settings**, then [the portal](https://portal.example/%d) and `reset`.\n\n- one\n- two\n\n", i, i)
	}
	src := sb.String()
	r := NewRenderer()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := r.Render(src); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSearch(b *testing.B, db *store.DB) {
	f := newFixture(b, db)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := func() string { return benchWords[min(int(rng.ExpFloat64()*12), len(benchWords)-1)] }
	text := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = zipf()
		}
		return strings.Join(w, " ")
	}
	now := time.Now().UTC()
	rows := make([][]any, 0, 10_000)
	for i := range 10_000 {
		rows = append(rows, []any{fmt.Sprintf("%s %s %d", text(4), zipf(), i), text(300), "published", 1, now, now, now})
	}
	if err := db.Tx(ctx, func(tx *sql.Tx) error {
		return db.InsertMany(ctx, tx, "kb_articles", []string{"title", "body", "status", "revision", "created_at", "updated_at", "published_at"}, rows)
	}); err != nil {
		b.Fatal(err)
	}
	reader := f.as("alice")
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"common", Query{Text: "printer"}},
		{"rare", Query{Text: "wireguard"}},
		{"three-words", Query{Text: "vpn password reset"}},
		{"suggest-any", Query{Text: "my vpn tunnel keeps dropping after the laptop sleeps", Any: true, Limit: 5}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				hits, err := f.svc.Search(reader, c.q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(hits)
			}
			if n == 0 {
				b.Fatalf("%q found nothing", c.q.Text)
			}
			b.ReportMetric(float64(n), "hits")
		})
	}
}
