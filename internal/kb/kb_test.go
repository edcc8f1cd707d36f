package kb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
	"github.com/opsdeck/opsdeck/internal/valid"
)

type fixture struct {
	t     testing.TB
	db    *store.DB
	svc   *Service
	now   time.Time
	users map[string]int64
	roles map[string]auth.Role
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, now: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), users: map[string]int64{}, roles: map[string]auth.Role{}}
	f.svc = New(db, Options{Now: func() time.Time { return f.now }})
	for name, role := range map[string]auth.Role{"admin": auth.RoleAdmin, "agent": auth.RoleOperator, "viewer": auth.RoleViewer, "alice": auth.RoleRequester} {
		var id int64
		if err := db.W.QueryRowContext(context.Background(), `INSERT INTO users (username, role, password_hash, created_at, updated_at)
			VALUES ($1, $2, 'x', $3, $3) RETURNING id`, name, string(role), time.Now().UTC()).Scan(&id); err != nil {
			t.Fatalf("user %s: %v", name, err)
		}
		f.users[name], f.roles[name] = id, role
	}
	return f
}

func (f *fixture) as(name string) context.Context {
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: f.users[name], Name: name, Role: f.roles[name]}, Via: auth.ViaAPI})
}

func (f *fixture) article(title, body string, st Status) Article {
	f.t.Helper()
	a, err := f.svc.CreateArticle(f.as("agent"), ArticleInput{Title: title, Body: body, Status: st})
	if err != nil {
		f.t.Fatalf("create article %q: %v", title, err)
	}
	return a
}

func assertField(t *testing.T, err error, field string) {
	t.Helper()
	ve, ok := valid.As(err)
	if !ok || ve.Field != field {
		t.Fatalf("want a validation error on %q, got %v", field, err)
	}
}

func auditCount(t *testing.T, db *store.DB, action string) int {
	t.Helper()
	var n int
	if err := db.R.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestArticleLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		cat, err := f.svc.SaveCategory(f.as("agent"), Category{Name: "  VPN  "})
		if err != nil || cat.Name != "VPN" {
			t.Fatalf("category: %+v %v", cat, err)
		}
		a, err := f.svc.CreateArticle(f.as("agent"), ArticleInput{Title: "Reset the VPN client", Body: "Open **Settings**.", CategoryID: cat.ID})
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != Draft || a.Revision != 1 || a.AuthorName != "agent" || a.CategoryName != "VPN" || a.PublishedAt != nil {
			t.Fatalf("new article: %+v", a)
		}
		if !strings.Contains(string(a.HTML), "<strong>Settings</strong>") {
			t.Fatalf("html: %s", a.HTML)
		}
		// A requester does not see the draft, in the list, by id or in a category count.
		if _, err := f.svc.Article(f.as("alice"), a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("requester reads a draft: %v", err)
		}
		if list, _, _ := f.svc.Articles(f.as("alice"), ListFilter{}); len(list) != 0 {
			t.Fatalf("requester lists drafts: %+v", list)
		}
		if cs, _ := f.svc.Categories(f.as("alice")); len(cs) != 1 || cs[0].Articles != 0 {
			t.Fatalf("requester category counts: %+v", cs)
		}
		// Nor may a requester or viewer write.
		for _, who := range []string{"alice", "viewer"} {
			if _, err := f.svc.CreateArticle(f.as(who), ArticleInput{Title: "x"}); !errors.Is(err, ErrForbidden) {
				t.Fatalf("%s creates: %v", who, err)
			}
			if _, err := f.svc.UpdateArticle(f.as(who), a.ID, ArticleInput{Title: "x"}); !errors.Is(err, ErrForbidden) {
				t.Fatalf("%s updates: %v", who, err)
			}
			if err := f.svc.DeleteArticle(f.as(who), a.ID); !errors.Is(err, ErrForbidden) {
				t.Fatalf("%s deletes: %v", who, err)
			}
		}
		f.now = f.now.Add(time.Hour)
		pub, err := f.svc.UpdateArticle(f.as("admin"), a.ID, ArticleInput{Title: "Reset the VPN client", Body: "Open **Settings**, then Reset.", CategoryID: cat.ID, Status: Published})
		if err != nil {
			t.Fatal(err)
		}
		if pub.Revision != 2 || pub.PublishedAt == nil || !pub.PublishedAt.Equal(f.now) || !pub.UpdatedAt.Equal(f.now) || !pub.CreatedAt.Equal(f.now.Add(-time.Hour)) {
			t.Fatalf("published: %+v", pub)
		}
		if got, err := f.svc.Article(f.as("alice"), a.ID); err != nil || got.Title != "Reset the VPN client" {
			t.Fatalf("requester reads published: %+v %v", got, err)
		}
		if list, _, _ := f.svc.Articles(f.as("alice"), ListFilter{CategoryID: cat.ID}); len(list) != 1 {
			t.Fatalf("requester list by category: %+v", list)
		}
		// Editing a published article keeps its first publication time.
		f.now = f.now.Add(time.Hour)
		again, err := f.svc.UpdateArticle(f.as("agent"), a.ID, ArticleInput{Title: "Reset the VPN client", Body: "v3", Status: Published})
		if err != nil || again.Revision != 3 || !again.PublishedAt.Equal(f.now.Add(-time.Hour)) || again.CategoryID != 0 {
			t.Fatalf("edit published: %+v %v", again, err)
		}
		revs, err := f.svc.Revisions(f.as("agent"), a.ID)
		if err != nil || len(revs) != 3 || revs[0].Revision != 3 || revs[0].Body != "v3" || revs[2].Status != Draft || revs[1].AuthorName != "admin" {
			t.Fatalf("revisions: %+v %v", revs, err)
		}
		if _, err := f.svc.Revisions(f.as("alice"), a.ID); !errors.Is(err, ErrForbidden) {
			t.Fatalf("requester reads revisions: %v", err)
		}
		if n := auditCount(t, db, "kb_article.publish"); n != 1 {
			t.Fatalf("publish audited %d times", n)
		}
		if n := auditCount(t, db, "kb_article.update"); n != 1 {
			t.Fatalf("update audited %d times", n)
		}
		// Deleting the category leaves the article, uncategorised.
		if _, err := f.svc.UpdateArticle(f.as("agent"), a.ID, ArticleInput{Title: "t", CategoryID: cat.ID, Status: Published}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteCategory(f.as("agent"), cat.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.Article(f.as("agent"), a.ID); err != nil || got.CategoryID != 0 {
			t.Fatalf("after category delete: %+v %v", got, err)
		}
		if list, _, _ := f.svc.Articles(f.as("agent"), ListFilter{CategoryID: -1}); len(list) != 1 {
			t.Fatalf("uncategorised list: %+v", list)
		}
		if err := f.svc.DeleteArticle(f.as("agent"), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Article(f.as("agent"), a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted article: %v", err)
		}
		if err := f.svc.DeleteArticle(f.as("agent"), a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

func TestArticleValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := f.as("agent")
		for _, c := range []struct {
			in    ArticleInput
			field string
		}{
			{ArticleInput{Title: "  "}, "title"},
			{ArticleInput{Title: strings.Repeat("x", MaxTitle+1)}, "title"},
			{ArticleInput{Title: "a\nb"}, "title"},
			{ArticleInput{Title: "ok", Body: strings.Repeat("x", MaxBody+1)}, "body"},
			{ArticleInput{Title: "ok", Status: "live"}, "status"},
			{ArticleInput{Title: "ok", CategoryID: 999}, "category_id"},
			{ArticleInput{Title: "ok", CategoryID: -2}, "category_id"},
		} {
			_, err := f.svc.CreateArticle(ctx, c.in)
			assertField(t, err, c.field)
		}
		if _, err := f.svc.UpdateArticle(ctx, 12345, ArticleInput{Title: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}
		_, err := f.svc.SaveCategory(ctx, Category{Name: ""})
		assertField(t, err, "name")
		if _, err := f.svc.SaveCategory(ctx, Category{Name: "VPN"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SaveCategory(ctx, Category{Name: "VPN"}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate category: %v", err)
		}
		if _, err := f.svc.SaveCategory(f.as("alice"), Category{Name: "Mine"}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("requester category: %v", err)
		}
	})
}

func TestArticlePagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for i := range 5 {
			f.article("Article "+string(rune('A'+i)), "", Published)
		}
		var seen []string
		var after int64
		for {
			list, next, err := f.svc.Articles(f.as("alice"), ListFilter{Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range list {
				seen = append(seen, a.Title)
			}
			if next == 0 {
				break
			}
			after = next
		}
		if strings.Join(seen, ",") != "Article E,Article D,Article C,Article B,Article A" {
			t.Fatalf("pages: %v", seen)
		}
	})
}

func TestTicketLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		var ticket int64
		if err := db.W.QueryRowContext(ctx, `INSERT INTO sd_tickets (type, status, subject, requester_id, impact, urgency, priority, created_at, updated_at)
			VALUES ('incident', 'new', 'vpn', $1, 2, 2, 3, $2, $2) RETURNING id`, f.users["alice"], f.now).Scan(&ticket); err != nil {
			t.Fatal(err)
		}
		pub := f.article("VPN", "", Published)
		draft := f.article("VPN internal", "", Draft)
		for _, id := range []int64{pub.ID, draft.ID, pub.ID} {
			if err := f.svc.LinkTicket(f.as("agent"), ticket, id); err != nil {
				t.Fatal(err)
			}
		}
		if n := auditCount(t, db, "ticket.article_link"); n != 2 {
			t.Fatalf("links audited %d times", n)
		}
		if err := f.svc.LinkTicket(f.as("alice"), ticket, pub.ID); !errors.Is(err, ErrForbidden) {
			t.Fatalf("requester links: %v", err)
		}
		assertField(t, f.svc.LinkTicket(f.as("agent"), ticket, 9999), "article_id")
		if err := f.svc.LinkTicket(f.as("agent"), 9999, pub.ID); !errors.Is(err, store.ErrReference) {
			t.Fatalf("missing ticket: %v", err)
		}
		if as, _ := f.svc.TicketArticles(f.as("agent"), ticket); len(as) != 2 {
			t.Fatalf("agent links: %+v", as)
		}
		if as, _ := f.svc.TicketArticles(f.as("alice"), ticket); len(as) != 1 || as[0].ID != pub.ID {
			t.Fatalf("requester links: %+v", as)
		}
		if a, _ := f.svc.Article(f.as("alice"), pub.ID); a.SolvedTickets != 1 {
			t.Fatalf("solved count: %d", a.SolvedTickets)
		}
		if err := f.svc.UnlinkTicket(f.as("agent"), ticket, pub.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.UnlinkTicket(f.as("agent"), ticket, pub.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unlink twice: %v", err)
		}
		if a, _ := f.svc.Article(f.as("alice"), pub.ID); a.SolvedTickets != 0 {
			t.Fatalf("solved count after unlink: %d", a.SolvedTickets)
		}
	})
}
