package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/kb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

type apiArticle struct {
	ID            int64  `json:"id"`
	Title         string `json:"title"`
	Body          string `json:"body"`
	HTML          string `json:"html"`
	Status        string `json:"status"`
	Revision      int    `json:"revision"`
	CategoryID    int64  `json:"category_id"`
	Snippet       string `json:"snippet"`
	SolvedTickets int    `json:"solved_tickets"`
}

type apiArticlePage struct {
	Data       []apiArticle `json:"data"`
	NextCursor string       `json:"next_cursor"`
}

func TestKBAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		cat := decodeAs[struct{ ID int64 }](t, e.do("POST", "/api/v1/kb/categories", auth.RoleOperator, `{"name":"Network"}`), http.StatusCreated)
		body := fmt.Sprintf(`{"title":"VPN drops every hour","body":"Reinstall the **client**. <script>alert(1)</script> [x](javascript:alert(1))","category_id":%d}`, cat.ID)
		a := decodeAs[apiArticle](t, e.do("POST", "/api/v1/kb/articles", auth.RoleOperator, body), http.StatusCreated)
		if a.Status != "draft" || a.Revision != 1 || a.CategoryID != cat.ID {
			t.Fatalf("created: %+v", a)
		}
		if strings.Contains(a.HTML, "<script") || strings.Contains(a.HTML, "javascript:") || !strings.Contains(a.HTML, "<strong>client</strong>") {
			t.Fatalf("html: %s", a.HTML)
		}
		path := fmt.Sprintf("/api/v1/kb/articles/%d", a.ID)
		// Requesters and viewers do not see the draft anywhere.
		for _, role := range []auth.Role{auth.RoleRequester, auth.RoleViewer} {
			if resp := e.do("GET", path, role, ""); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("%s reads the draft: %d", role, resp.StatusCode)
			}
			if l := decodeAs[apiArticlePage](t, e.do("GET", "/api/v1/kb/articles", role, ""), http.StatusOK); len(l.Data) != 0 {
				t.Fatalf("%s lists drafts: %+v", role, l)
			}
			if l := decodeAs[apiArticlePage](t, e.do("GET", "/api/v1/kb/search?q=vpn", role, ""), http.StatusOK); len(l.Data) != 0 {
				t.Fatalf("%s finds drafts: %+v", role, l)
			}
		}
		// Writing needs operator.
		for _, c := range []struct{ method, path, body string }{{"POST", "/api/v1/kb/articles", `{"title":"x"}`}, {"PUT", path, `{"title":"x"}`},
			{"DELETE", path, ""}, {"POST", "/api/v1/kb/categories", `{"name":"y"}`}, {"GET", path + "/revisions", ""}} {
			if resp := e.do(c.method, c.path, auth.RoleViewer, c.body); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("viewer %s %s: %d", c.method, c.path, resp.StatusCode)
			}
		}
		pub := decodeAs[apiArticle](t, e.do("PUT", path, auth.RoleOperator, `{"title":"VPN drops every hour","body":"Reinstall the client.","status":"published"}`), http.StatusOK)
		if pub.Status != "published" || pub.Revision != 2 {
			t.Fatalf("published: %+v", pub)
		}
		hits := decodeAs[apiArticlePage](t, e.do("GET", "/api/v1/kb/search?q="+url.QueryEscape(`"vpn" OR drops*`), auth.RoleRequester, ""), http.StatusOK)
		if len(hits.Data) != 1 || hits.Data[0].ID != a.ID || !strings.Contains(hits.Data[0].Snippet, "Reinstall") {
			t.Fatalf("search: %+v", hits)
		}
		if got := decodeAs[apiArticle](t, e.do("GET", path, auth.RoleRequester, ""), http.StatusOK); got.Title != "VPN drops every hour" {
			t.Fatalf("requester get: %+v", got)
		}
		revs := decodeAs[struct{ Data []struct{ Revision int } }](t, e.do("GET", path+"/revisions", auth.RoleOperator, ""), http.StatusOK)
		if len(revs.Data) != 2 {
			t.Fatalf("revisions: %+v", revs)
		}
		cats := decodeAs[struct{ Data []struct{ Name string } }](t, e.do("GET", "/api/v1/kb/categories", auth.RoleRequester, ""), http.StatusOK)
		if len(cats.Data) != 1 || cats.Data[0].Name != "Network" {
			t.Fatalf("categories: %+v", cats)
		}
		// Bad input names the field; unknown fields and garbage are refused.
		for _, c := range []struct{ body, field string }{{`{"title":""}`, "title"}, {`{"title":"x","status":"live"}`, "status"},
			{`{"title":"x","category_id":999}`, "category_id"}} {
			er := decodeAs[apiError2](t, e.do("POST", "/api/v1/kb/articles", auth.RoleOperator, c.body), http.StatusUnprocessableEntity)
			if er.Error.Field != c.field {
				t.Fatalf("%s: field %q", c.body, er.Error.Field)
			}
		}
		for _, bad := range []string{`{"title":"x","html":"<b>"}`, `not json`, `{"title":1}`} {
			if resp := e.do("POST", "/api/v1/kb/articles", auth.RoleOperator, bad); resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("%s: %d", bad, resp.StatusCode)
			}
		}
		for _, q := range []string{"/api/v1/kb/search?q=" + strings.Repeat("a", 501), "/api/v1/kb/articles?cursor=zzz", "/api/v1/kb/articles?category=x",
			"/api/v1/kb/search?limit=0"} {
			if resp := e.do("GET", q, auth.RoleRequester, ""); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %d", q, resp.StatusCode)
			}
		}
		// Pagination by cursor.
		for i := range 3 {
			decodeAs[apiArticle](t, e.do("POST", "/api/v1/kb/articles", auth.RoleOperator, fmt.Sprintf(`{"title":"Extra %d","status":"published"}`, i)), http.StatusCreated)
		}
		p1 := decodeAs[apiArticlePage](t, e.do("GET", "/api/v1/kb/articles?limit=3", auth.RoleRequester, ""), http.StatusOK)
		p2 := decodeAs[apiArticlePage](t, e.do("GET", "/api/v1/kb/articles?limit=3&cursor="+p1.NextCursor, auth.RoleRequester, ""), http.StatusOK)
		if len(p1.Data) != 3 || p1.NextCursor == "" || len(p2.Data) != 1 || p2.NextCursor != "" || p2.Data[0].ID != a.ID {
			t.Fatalf("pages: %+v %+v", p1, p2)
		}
		if resp := e.do("DELETE", path, auth.RoleOperator, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if resp := e.do("DELETE", fmt.Sprintf("/api/v1/kb/categories/%d", cat.ID), auth.RoleOperator, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete category: %d", resp.StatusCode)
		}
	})
}

func TestKBUI(t *testing.T) {
	e := newTestEnv(t)
	op := signedIn(t, e, auth.RoleOperator)
	if p := op.get("/kb"); p.status != http.StatusOK || !strings.Contains(p.body, "No articles yet") || !strings.Contains(p.body, `href="/kb"`) {
		t.Fatalf("empty kb: %d", p.status)
	}
	p := op.post("/kb/categories", url.Values{"name": {""}})
	if p.status != http.StatusUnprocessableEntity || p.fieldError("name") == "" {
		t.Fatalf("blank category: %d %q", p.status, p.fieldError("name"))
	}
	p = op.post("/kb/categories", url.Values{"name": {"Network"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("category: %d %s", p.status, p.body)
	}
	if p = op.post("/kb/categories", url.Values{"name": {"Network"}}); p.status != http.StatusUnprocessableEntity || p.fieldError("name") == "" {
		t.Fatalf("duplicate category: %d", p.status)
	}
	op.get("/kb/new")
	// Preview renders on the server, escapes HTML, saves nothing.
	md := "Reinstall the **client**.\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(1))"
	p = op.post("/kb/new", url.Values{"title": {hostile}, "body": {md}, "status": {"draft"}, "action": {"preview"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "<strong>client</strong>") || strings.Contains(p.body, "<script>alert") ||
		strings.Contains(p.body, `href="javascript`) || !strings.Contains(p.body, "not saved yet") {
		t.Fatalf("preview: %d %s", p.status, p.body)
	}
	opCtx := auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: e.users[auth.RoleOperator].ID, Role: auth.RoleOperator}})
	if l, _, _ := e.srv.opts.KB.Articles(opCtx, kb.ListFilter{}); len(l) != 0 {
		t.Fatal("preview saved the article")
	}
	if p = op.post("/kb/new", url.Values{"title": {""}, "body": {md}, "action": {"save"}}); p.status != http.StatusUnprocessableEntity || p.fieldError("title") == "" {
		t.Fatalf("blank title: %d", p.status)
	}
	if p = op.post("/kb/new", url.Values{"title": {"x"}, "category_id": {"abc"}, "action": {"save"}}); p.status != http.StatusUnprocessableEntity || p.fieldError("category_id") == "" {
		t.Fatalf("bad category: %d", p.status)
	}
	p = op.post("/kb/new", url.Values{"title": {hostile}, "body": {md}, "status": {"draft"}, "action": {"save"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/kb/articles/") {
		t.Fatalf("save: %d %s", p.status, p.location())
	}
	articlePath := strings.SplitN(p.location(), "?", 2)[0]
	page := op.get(p.location())
	if page.status != http.StatusOK || strings.Contains(page.body, "<script>alert") || !strings.Contains(page.body, "&lt;script&gt;") ||
		!strings.Contains(page.body, "History") || !strings.Contains(page.body, "draft") {
		t.Fatalf("article page: %d", page.status)
	}
	req := signedIn(t, e, auth.RoleRequester)
	if p := req.get(articlePath); p.status != http.StatusNotFound {
		t.Fatalf("requester reads a draft: %d", p.status)
	}
	if p := req.get(articlePath + "/edit"); p.status != http.StatusForbidden {
		t.Fatalf("requester opens the editor: %d", p.status)
	}
	op.get(articlePath + "/edit")
	if p := op.post(articlePath+"/edit", url.Values{"title": {"VPN drops every hour"}, "body": {"Reinstall the client."}, "status": {"published"}, "action": {"save"}}); p.status != http.StatusSeeOther {
		t.Fatalf("publish: %d", p.status)
	}
	// The requester finds it: list, search with highlight, article page.
	if p := req.get("/kb"); !strings.Contains(p.body, "VPN drops every hour") || strings.Contains(p.body, "New article") {
		t.Fatalf("requester list: %s", p.body)
	}
	s := req.get("/kb/search?q=" + url.QueryEscape(`vpn" OR (client`))
	if s.status != http.StatusOK || !strings.Contains(s.body, "<mark>client</mark>") || !strings.Contains(s.body, "VPN drops every hour") {
		t.Fatalf("search: %d %s", s.status, s.body)
	}
	if s := req.get("/kb/search?q=nothingmatches"); !strings.Contains(s.body, "No article matches") {
		t.Fatal("empty search state")
	}
	if s := req.get("/kb/search?q=" + strings.Repeat("a", 501)); s.status != http.StatusUnprocessableEntity || s.fieldError("q") == "" {
		t.Fatalf("long query: %d", s.status)
	}
	if a := req.get(articlePath); a.status != http.StatusOK || strings.Contains(a.body, "History") || strings.Contains(a.body, "/edit") {
		t.Fatalf("requester article: %d", a.status)
	}
	op.get(articlePath)
	if p := op.post(articlePath+"/delete", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if p := op.get(articlePath); p.status != http.StatusNotFound {
		t.Fatalf("deleted article: %d", p.status)
	}
}

// TestKBTicketSuggestions walks the no-script path: "Find answers" shows
// the published articles matching the subject, keeps what was typed, and
// opens no ticket; drafts are never suggested.
func TestKBTicketSuggestions(t *testing.T) {
	e := newTestEnv(t)
	decodeAs[apiArticle](t, e.do("POST", "/api/v1/kb/articles", auth.RoleOperator, `{"title":"VPN drops every hour","body":"Reinstall the client.","status":"published"}`), http.StatusCreated)
	decodeAs[apiArticle](t, e.do("POST", "/api/v1/kb/articles", auth.RoleOperator, `{"title":"VPN secret draft","body":"internal"}`), http.StatusCreated)
	req := signedIn(t, e, auth.RoleRequester)
	if p := req.get("/tickets/new"); !strings.Contains(p.body, `value="suggest"`) || !strings.Contains(p.body, "data-kb-suggest") {
		t.Fatal("the form has no Find answers button")
	}
	p := req.post("/tickets/new", url.Values{"subject": {"My VPN keeps dropping <b>"}, "description": {"since Monday"}, "type": {"incident"}, "action": {"suggest"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "VPN drops every hour") || strings.Contains(p.body, "VPN secret draft") {
		t.Fatalf("suggestions: %d %s", p.status, p.body)
	}
	if !strings.Contains(p.body, "since Monday") || !strings.Contains(p.body, "My VPN keeps dropping &lt;b&gt;") {
		t.Fatal("the form lost what was typed")
	}
	if l := decodeAs[struct{ Data []apiTicket }](t, e.do("GET", "/api/v1/tickets", auth.RoleAdmin, ""), http.StatusOK); len(l.Data) != 0 {
		t.Fatalf("Find answers opened a ticket: %+v", l)
	}
	if p := req.post("/tickets/new", url.Values{"subject": {"Printer on fire"}, "action": {"suggest"}}); !strings.Contains(p.body, "No article matches") {
		t.Fatal("no-match state")
	}
	if p := req.post("/tickets/new", url.Values{"subject": {"My VPN keeps dropping"}, "type": {"incident"}}); p.status != http.StatusSeeOther {
		t.Fatalf("sending still works: %d", p.status)
	}
	// The script's call: any word, published only.
	hits := decodeAs[apiArticlePage](t, e.do("GET", "/api/v1/kb/search?any=1&q="+url.QueryEscape("my vpn keeps dropping"), auth.RoleRequester, ""), http.StatusOK)
	if len(hits.Data) != 1 || hits.Data[0].Title != "VPN drops every hour" {
		t.Fatalf("api suggestions: %+v", hits)
	}
}

// TestKBTicketLinks links the article that solved a ticket from the API
// and the ticket page, shows it to the ticket's requester only, counts it
// on the article page, and removes it.
func TestKBTicketLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTestEnvOn(t, db)
		a := decodeAs[apiArticle](t, e.do("POST", "/api/v1/kb/articles", auth.RoleOperator, `{"title":"VPN drops every hour","status":"published"}`), http.StatusCreated)
		tk := decodeAs[apiTicket](t, e.do("POST", "/api/v1/tickets", auth.RoleRequester, `{"subject":"my vpn drops"}`), http.StatusCreated)
		_, otherToken := e.extraUser("mallory", auth.RoleRequester)
		base := fmt.Sprintf("/api/v1/tickets/%d/articles", tk.ID)
		if resp := e.do("POST", base, auth.RoleOperator, fmt.Sprintf(`{"article_id":%d}`, a.ID)); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("link: %d %s", resp.StatusCode, readBody(t, resp))
		}
		er := decodeAs[apiError2](t, e.do("POST", base, auth.RoleOperator, `{"article_id":99999}`), http.StatusUnprocessableEntity)
		if er.Error.Field != "article_id" {
			t.Fatalf("bad article: %+v", er)
		}
		if resp := e.do("POST", "/api/v1/tickets/99999/articles", auth.RoleOperator, fmt.Sprintf(`{"article_id":%d}`, a.ID)); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("missing ticket: %d", resp.StatusCode)
		}
		if resp := e.do("POST", base, auth.RoleRequester, fmt.Sprintf(`{"article_id":%d}`, a.ID)); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("requester links: %d", resp.StatusCode)
		}
		if l := decodeAs[apiArticlePage](t, e.do("GET", base, auth.RoleRequester, ""), http.StatusOK); len(l.Data) != 1 || l.Data[0].ID != a.ID {
			t.Fatalf("requester sees links: %+v", l)
		}
		// Another requester guessing the ticket id gets 404.
		req, _ := http.NewRequest("GET", e.http.URL+base, nil)
		req.Header.Set("Authorization", "Bearer "+otherToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("other requester: %d", resp.StatusCode)
		}
		if got := decodeAs[apiArticle](t, e.do("GET", fmt.Sprintf("/api/v1/kb/articles/%d", a.ID), auth.RoleRequester, ""), http.StatusOK); got.SolvedTickets != 1 {
			t.Fatalf("solved count: %+v", got)
		}
		// The ticket page: the requester sees the link, the operator can remove it and link again.
		ticketPath := fmt.Sprintf("/tickets/%d", tk.ID)
		rq := signedIn(t, e, auth.RoleRequester)
		if p := rq.get(ticketPath); !strings.Contains(p.body, "Solved by") || !strings.Contains(p.body, fmt.Sprintf(`href="/kb/articles/%d"`, a.ID)) ||
			strings.Contains(p.body, `action="`+ticketPath+`/articles"`) {
			t.Fatalf("requester ticket page: %s", p.body)
		}
		op := signedIn(t, e, auth.RoleOperator)
		op.get(ticketPath)
		if p := op.post(fmt.Sprintf("%s/articles/%d/delete", ticketPath, a.ID), url.Values{}); p.status != http.StatusSeeOther {
			t.Fatalf("unlink: %d", p.status)
		}
		page := op.get(ticketPath)
		if !strings.Contains(page.body, "No article linked yet") || !strings.Contains(page.body, "Articles matching the subject") {
			t.Fatalf("operator page after unlink: %s", page.body)
		}
		if p := op.post(ticketPath+"/articles", url.Values{"article_id": {"abc"}}); p.status != http.StatusUnprocessableEntity || p.fieldError("article_id") == "" {
			t.Fatalf("bad number: %d", p.status)
		}
		if p := op.post(ticketPath+"/articles", url.Values{"article_id": {fmt.Sprintf("#%d", a.ID)}}); p.status != http.StatusSeeOther {
			t.Fatalf("link from the page: %d", p.status)
		}
		if p := op.get(fmt.Sprintf("/kb/articles/%d", a.ID)); !strings.Contains(p.body, "solved 1 ticket") {
			t.Fatal("article page has no solved count")
		}
		if resp := e.do("DELETE", fmt.Sprintf("%s/%d", base, a.ID), auth.RoleOperator, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("api unlink: %d", resp.StatusCode)
		}
	})
}
