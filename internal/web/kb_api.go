package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/kb"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// The knowledge base: requesters and up read published articles and
// search them; operators write and see drafts.

func (s *Server) kbRoutes() []Route {
	if s.opts.KB == nil {
		return nil
	}
	api := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceAPI, Handler: h}
	}
	rs := []Route{
		api("GET", "/api/v1/kb/articles", auth.RoleRequester, s.apiListArticles),
		api("POST", "/api/v1/kb/articles", auth.RoleOperator, s.apiSaveArticle),
		api("GET", "/api/v1/kb/articles/{id}", auth.RoleRequester, s.apiGetArticle),
		api("PUT", "/api/v1/kb/articles/{id}", auth.RoleOperator, s.apiSaveArticle),
		api("DELETE", "/api/v1/kb/articles/{id}", auth.RoleOperator, s.apiDeleteArticle),
		api("GET", "/api/v1/kb/articles/{id}/revisions", auth.RoleOperator, s.apiArticleRevisions),
		api("GET", "/api/v1/kb/search", auth.RoleRequester, s.apiSearchKB),
		api("GET", "/api/v1/kb/categories", auth.RoleRequester, s.apiListKBCategories),
		api("POST", "/api/v1/kb/categories", auth.RoleOperator, s.apiSaveKBCategory),
		api("PUT", "/api/v1/kb/categories/{id}", auth.RoleOperator, s.apiSaveKBCategory),
		api("DELETE", "/api/v1/kb/categories/{id}", auth.RoleOperator, s.apiDeleteKBCategory),
	}
	return append(rs, s.kbUIRoutes()...)
}

// kbFail answers kb's own refusal, then the common errors.
func (s *Server) kbFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, kb.ErrForbidden) {
		writeError(w, http.StatusForbidden, "forbidden", "your role may not change the knowledge base", "")
		return
	}
	s.apiFail(w, r, err)
}

// articleFilter reads a list's filters, the same for the API and the UI:
// category (id or "none"), status (writers only), cursor, limit.
func articleFilter(r *http.Request) (kb.ListFilter, error) {
	q := r.URL.Query()
	var f kb.ListFilter
	switch c := q.Get("category"); c {
	case "":
	case "none":
		f.CategoryID = -1
	default:
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			return f, valid.Errorf("category", "must be a category id or none")
		}
		f.CategoryID = id
	}
	switch st := kb.Status(q.Get("status")); st {
	case "", kb.Draft, kb.Published:
		f.Status = st
	default:
		return f, valid.Errorf("status", "must be draft or published")
	}
	var err error
	if f.After, err = decodeCursor(q.Get("cursor")); err != nil {
		return f, err
	}
	f.Limit, err = queryLimit(r, 50, 200)
	return f, err
}

func (s *Server) apiListArticles(w http.ResponseWriter, r *http.Request) {
	f, err := articleFilter(r)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	as, next, err := s.opts.KB.Articles(r.Context(), f)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[kb.Article]{Data: as, NextCursor: encodeCursor(next)})
}

func (s *Server) apiGetArticle(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	a, err := s.opts.KB.Article(r.Context(), id)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) apiSaveArticle(w http.ResponseWriter, r *http.Request) {
	id, ok := s.optionalPathID(w, r)
	if !ok {
		return
	}
	var in kb.ArticleInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	var a kb.Article
	var err error
	if id == 0 {
		a, err = s.opts.KB.CreateArticle(r.Context(), in)
	} else {
		a, err = s.opts.KB.UpdateArticle(r.Context(), id, in)
	}
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	s.saved(w, "/api/v1/kb/articles/", id, a.ID, a)
}

func (s *Server) apiDeleteArticle(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.KB.DeleteArticle(r.Context(), id)
	}
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiArticleRevisions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	revs, err := s.opts.KB.Revisions(r.Context(), id)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[kb.Revision]{Data: revs})
}

// apiSearchKB answers ?q= (all words) or ?q=&any=1 (any word, for
// suggestions), best first, with a plain-text snippet.
func (s *Server) apiSearchKB(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r, 10, 50)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	q := r.URL.Query()
	hits, err := s.opts.KB.Search(r.Context(), kb.Query{Text: q.Get("q"), Any: q.Get("any") == "1" || q.Get("any") == "true", Limit: limit})
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[kb.Hit]{Data: hits})
}

func (s *Server) apiListKBCategories(w http.ResponseWriter, r *http.Request) {
	cs, err := s.opts.KB.Categories(r.Context())
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[kb.Category]{Data: cs})
}

func (s *Server) apiSaveKBCategory(w http.ResponseWriter, r *http.Request) {
	id, ok := s.optionalPathID(w, r)
	if !ok {
		return
	}
	var in kb.Category
	if !s.decodeJSON(w, r, &in) {
		return
	}
	in.ID = id
	c, err := s.opts.KB.SaveCategory(r.Context(), in)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	s.saved(w, "/api/v1/kb/categories/", id, c.ID, c)
}

func (s *Server) apiDeleteKBCategory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.KB.DeleteCategory(r.Context(), id)
	}
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
