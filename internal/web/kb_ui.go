package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/kb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// kbNotices are the knowledge base's redirect confirmations (?notice=).
var kbNotices = map[string]string{
	"article-created":  "The article was saved. Drafts are seen by operators only; publish it when it is ready.",
	"article-saved":    "The article was saved; the previous version is kept in its history.",
	"article-deleted":  "The article was deleted with its history.",
	"category-created": "The category was added.",
	"category-deleted": "The category was deleted; its articles stay, without a category.",
	"article-linked":   "The article is linked as the one that solved this ticket.",
	"article-unlinked": "The link to the article was removed.",
}

var kbLabels = map[string]string{"title": "Title", "body": "Text", "category_id": "Category", "status": "Status", "name": "Name",
	"q": "Search", "category": "Category", "cursor": "Page", "limit": "Page size"}

func (s *Server) kbUIRoutes() []Route {
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	rs := []Route{
		ui("GET", "/kb", auth.RoleRequester, s.kbListPage),
		ui("GET", "/kb/search", auth.RoleRequester, s.kbSearchPage),
		ui("GET", "/kb/articles/{id}", auth.RoleRequester, s.kbArticlePage),
		ui("GET", "/kb/articles/{id}/edit", auth.RoleOperator, s.kbEditPage),
		ui("POST", "/kb/articles/{id}/edit", auth.RoleOperator, s.kbSaveUI),
		ui("GET", "/kb/new", auth.RoleOperator, s.kbEditPage),
		ui("POST", "/kb/new", auth.RoleOperator, s.kbSaveUI),
		ui("POST", "/kb/articles/{id}/delete", auth.RoleOperator, s.kbDeleteUI),
		ui("POST", "/kb/categories", auth.RoleOperator, s.kbCategoryUI),
		ui("POST", "/kb/categories/{id}/delete", auth.RoleOperator, s.kbDeleteCategoryUI),
	}
	if s.opts.ServiceDesk != nil {
		rs = append(rs,
			ui("POST", "/tickets/{id}/articles", auth.RoleOperator, s.linkTicketArticleUI),
			ui("POST", "/tickets/{id}/articles/{aid}/delete", auth.RoleOperator, s.unlinkTicketArticleUI),
			Route{Method: "GET", Path: "/api/v1/tickets/{id}/articles", Role: auth.RoleRequester, Surface: SurfaceAPI, Handler: s.apiTicketArticles},
			Route{Method: "POST", Path: "/api/v1/tickets/{id}/articles", Role: auth.RoleOperator, Surface: SurfaceAPI, Handler: s.apiLinkTicketArticle},
			Route{Method: "DELETE", Path: "/api/v1/tickets/{id}/articles/{aid}", Role: auth.RoleOperator, Surface: SurfaceAPI, Handler: s.apiUnlinkTicketArticle},
		)
	}
	return rs
}

// kbList is the data of the knowledge base's front page.
type kbList struct {
	Writer            bool
	Categories        []kb.Category
	Category, Status  string
	CategoryName      string
	Articles          []kb.Article
	FirstURL, NextURL string
	Filtered          bool
	NewCategory       string
	Errors            fieldErrors
}

func (s *Server) kbListPage(w http.ResponseWriter, r *http.Request) {
	s.renderKBList(w, r, http.StatusOK, "", fieldErrors{})
}

func (s *Server) renderKBList(w http.ResponseWriter, r *http.Request, status int, newCategory string, errs fieldErrors) {
	ctx := r.Context()
	q := r.URL.Query()
	d := kbList{Writer: kb.CanWrite(ctx), Category: q.Get("category"), Status: q.Get("status"), NewCategory: newCategory, Errors: errs}
	f, err := articleFilter(r)
	if err != nil {
		formError(err, d.Errors, kbLabels)
		status = http.StatusUnprocessableEntity
		f = kb.ListFilter{}
	}
	d.Filtered = f.CategoryID != 0 || f.Status != ""
	if d.Categories, err = s.opts.KB.Categories(ctx); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, c := range d.Categories {
		if c.ID == f.CategoryID {
			d.CategoryName = c.Name
		}
	}
	var next int64
	if d.Articles, next, err = s.opts.KB.Articles(ctx, f); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if next != 0 {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("cursor", encodeCursor(next))
		d.NextURL = "/kb?" + nq.Encode()
	}
	if q.Get("cursor") != "" {
		q.Del("cursor")
		d.FirstURL = "/kb?" + q.Encode()
	}
	s.render(w, r, status, "kb_list", s.newView(r, "Knowledge base", "kb", d))
}

// kbSearch is the data of the search page.
type kbSearch struct {
	Q      string
	Hits   []kb.Hit
	Errors fieldErrors
}

func (s *Server) kbSearchPage(w http.ResponseWriter, r *http.Request) {
	d := kbSearch{Q: r.URL.Query().Get("q"), Errors: fieldErrors{}}
	status := http.StatusOK
	hits, err := s.opts.KB.Search(r.Context(), kb.Query{Text: d.Q, Limit: 30})
	switch {
	case err == nil:
		d.Hits = hits
	case formError(err, d.Errors, kbLabels):
		status = http.StatusUnprocessableEntity
	default:
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, status, "kb_search", s.newView(r, "Search the knowledge base", "kb", d))
}

// kbArticleView is the data of an article page.
type kbArticleView struct {
	Writer    bool
	A         kb.Article
	Revisions []kb.Revision
}

func (s *Server) kbArticlePage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such article.")
		return
	}
	d := kbArticleView{Writer: kb.CanWrite(r.Context())}
	if d.A, err = s.opts.KB.Article(r.Context(), id); err != nil {
		s.kbUIFail(w, r, err)
		return
	}
	if d.Writer {
		if d.Revisions, err = s.opts.KB.Revisions(r.Context(), id); err != nil {
			s.kbUIFail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "kb_article", s.newView(r, d.A.Title, "kb", d))
}

// kbUIFail answers a missing article with 404 and anything else as a
// server error.
func (s *Server) kbUIFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "There is no such article, or it is not published.")
	case errors.Is(err, kb.ErrForbidden):
		s.renderError(w, r, http.StatusForbidden, "Your role may not change the knowledge base.")
	default:
		s.serverError(w, r, SurfaceUI, err)
	}
}

// kbEdit is the editor: the fields as typed, the categories, and the
// server-rendered preview when the Preview button was pressed.
type kbEdit struct {
	ID         int64
	Title      string
	Body       string
	CategoryID string
	Status     string
	Categories []kb.Category
	Preview    template.HTML
	Previewed  bool
	Errors     fieldErrors
}

func (s *Server) kbEditPage(w http.ResponseWriter, r *http.Request) {
	d := kbEdit{Status: string(kb.Draft), Errors: fieldErrors{}}
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			s.renderError(w, r, http.StatusNotFound, "There is no such article.")
			return
		}
		a, err := s.opts.KB.Article(r.Context(), id)
		if err != nil {
			s.kbUIFail(w, r, err)
			return
		}
		d.ID, d.Title, d.Body, d.Status = a.ID, a.Title, a.Body, string(a.Status)
		if a.CategoryID > 0 {
			d.CategoryID = strconv.FormatInt(a.CategoryID, 10)
		}
	} else if c := r.URL.Query().Get("category"); c != "" {
		d.CategoryID = c
	}
	s.renderKBEdit(w, r, http.StatusOK, d)
}

func (s *Server) renderKBEdit(w http.ResponseWriter, r *http.Request, status int, d kbEdit) {
	var err error
	if d.Categories, err = s.opts.KB.Categories(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	title := "New article"
	if d.ID != 0 {
		title = "Edit " + d.Title
	}
	s.render(w, r, status, "kb_edit", s.newView(r, title, "kb", d))
}

// kbSaveUI saves the editor's article, or with the Preview button renders
// the Markdown and shows the form again, unsaved.
func (s *Server) kbSaveUI(w http.ResponseWriter, r *http.Request) {
	d := kbEdit{Title: strings.TrimSpace(r.PostFormValue("title")), Body: r.PostFormValue("body"),
		CategoryID: r.PostFormValue("category_id"), Status: r.PostFormValue("status"), Errors: fieldErrors{}}
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			s.renderError(w, r, http.StatusNotFound, "There is no such article.")
			return
		}
		d.ID = id
	}
	in := kb.ArticleInput{Title: d.Title, Body: d.Body, Status: kb.Status(d.Status)}
	if d.CategoryID != "" {
		n, err := strconv.ParseInt(d.CategoryID, 10, 64)
		if err != nil || n <= 0 {
			d.Errors["category_id"] = "Category must be chosen from the list."
		}
		in.CategoryID = n
	}
	if r.PostFormValue("action") == "preview" {
		if err := valid.Text("body", d.Body, false, kb.MaxBody, true); err != nil {
			formError(err, d.Errors, kbLabels)
		} else {
			html, err := s.opts.KB.Renderer().Render(d.Body)
			if err != nil {
				s.serverError(w, r, SurfaceUI, err)
				return
			}
			d.Preview, d.Previewed = html, true
		}
		s.renderKBEdit(w, r, http.StatusOK, d)
		return
	}
	if len(d.Errors) == 0 {
		var a kb.Article
		var err error
		notice := "article-saved"
		if d.ID == 0 {
			a, err = s.opts.KB.CreateArticle(r.Context(), in)
			notice = "article-created"
		} else {
			a, err = s.opts.KB.UpdateArticle(r.Context(), d.ID, in)
		}
		if err == nil {
			http.Redirect(w, r, "/kb/articles/"+strconv.FormatInt(a.ID, 10)+"?notice="+notice, http.StatusSeeOther)
			return
		}
		if !formError(err, d.Errors, kbLabels) {
			s.kbUIFail(w, r, err)
			return
		}
	}
	s.renderKBEdit(w, r, http.StatusUnprocessableEntity, d)
}

func (s *Server) kbDeleteUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.KB.DeleteArticle(r.Context(), id)
	}
	if err != nil {
		s.kbUIFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/kb?notice=article-deleted", http.StatusSeeOther)
}

func (s *Server) kbCategoryUI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	c, err := s.opts.KB.SaveCategory(r.Context(), kb.Category{Name: name})
	if err == nil {
		http.Redirect(w, r, "/kb?category="+strconv.FormatInt(c.ID, 10)+"&notice=category-created", http.StatusSeeOther)
		return
	}
	errs := fieldErrors{}
	if !formError(err, errs, kbLabels) {
		s.kbUIFail(w, r, err)
		return
	}
	if errors.Is(err, store.ErrConflict) {
		errs = fieldErrors{"name": "Name is taken by another category."}
	}
	r.URL.RawQuery = ""
	s.renderKBList(w, r, http.StatusUnprocessableEntity, name, errs)
}

func (s *Server) kbDeleteCategoryUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.KB.DeleteCategory(r.Context(), id)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "There is no such category.")
			return
		}
		s.kbUIFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/kb?notice=category-deleted", http.StatusSeeOther)
}

// kbSuggestions are the published articles matching a new ticket's
// subject, shown on the new-ticket form when the requester presses
// "Find answers" (or, with the script, as they type).
type kbSuggestions struct {
	On       bool // the knowledge base is served
	Searched bool
	Hits     []kb.Hit
}

// suggestArticles re-renders the new-ticket form, unsaved, with the
// articles that match any word of its subject.
func (s *Server) suggestArticles(w http.ResponseWriter, r *http.Request, f *newTicketForm) {
	if s.opts.KB != nil && strings.TrimSpace(f.Subject) != "" {
		hits, err := s.opts.KB.Search(r.Context(), kb.Query{Text: f.Subject, Any: true, Limit: 5})
		if err != nil && !formError(err, f.Errors, map[string]string{"q": "Subject"}) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		f.KB.Searched, f.KB.Hits = true, hits
	}
	s.renderNewTicket(w, r, http.StatusOK, *f)
}

// kbTicketLinks is the ticket page's "Solved by" panel.
type kbTicketLinks struct {
	On      bool
	Linked  []kb.Article
	Suggest []kb.Hit // operators: articles matching the subject, not linked yet
}

// ticketKB loads the articles linked to a ticket the caller may see.
func (s *Server) ticketKB(r *http.Request, ticketID int64, subject string) (kbTicketLinks, error) {
	var l kbTicketLinks
	if s.opts.KB == nil {
		return l, nil
	}
	ctx := r.Context()
	l.On = true
	var err error
	if l.Linked, err = s.opts.KB.TicketArticles(ctx, ticketID); err != nil {
		return l, err
	}
	if !kb.CanWrite(ctx) {
		return l, nil
	}
	hits, err := s.opts.KB.Search(ctx, kb.Query{Text: subject, Any: true, Limit: 5})
	if err != nil {
		return l, err
	}
	linked := map[int64]bool{}
	for _, a := range l.Linked {
		linked[a.ID] = true
	}
	for _, h := range hits {
		if !linked[h.ID] {
			l.Suggest = append(l.Suggest, h)
		}
	}
	return l, nil
}

// visibleTicket checks that the caller may see the ticket of the path's
// {id} (the service desk answers not found otherwise) and returns its id.
func (s *Server) visibleTicket(r *http.Request) (int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, err
	}
	_, err = s.opts.ServiceDesk.Ticket(r.Context(), id)
	return id, err
}

func (s *Server) apiTicketArticles(w http.ResponseWriter, r *http.Request) {
	id, err := s.visibleTicket(r)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	as, err := s.opts.KB.TicketArticles(r.Context(), id)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[kb.Article]{Data: as})
}

func (s *Server) apiLinkTicketArticle(w http.ResponseWriter, r *http.Request) {
	id, err := s.visibleTicket(r)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	var in struct {
		ArticleID int64 `json:"article_id"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if err := s.opts.KB.LinkTicket(r.Context(), id, in.ArticleID); err != nil {
		s.kbFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiUnlinkTicketArticle(w http.ResponseWriter, r *http.Request) {
	id, err := s.visibleTicket(r)
	if err != nil {
		s.kbFail(w, r, err)
		return
	}
	aid, err := strconv.ParseInt(r.PathValue("aid"), 10, 64)
	if err != nil || aid <= 0 {
		s.kbFail(w, r, valid.Errorf("aid", "must be a positive number"))
		return
	}
	if err := s.opts.KB.UnlinkTicket(r.Context(), id, aid); err != nil {
		s.kbFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// linkTicketArticleUI links an article from the ticket page; a bad number
// shows the page again with the error beside the field.
func (s *Server) linkTicketArticleUI(w http.ResponseWriter, r *http.Request) {
	id, err := s.visibleTicket(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket, or it is not yours.")
		return
	}
	v := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("article_id")), "#")
	aid, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || aid <= 0 {
		err = valid.Errorf("article_id", "must be an article number")
	} else {
		err = s.opts.KB.LinkTicket(r.Context(), id, aid)
	}
	if err == nil {
		http.Redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"?notice=article-linked#solved-by", http.StatusSeeOther)
		return
	}
	errs := fieldErrors{}
	if !formError(err, errs, map[string]string{"article_id": "Article number"}) {
		s.kbUIFail(w, r, err)
		return
	}
	s.renderTicket(w, r, http.StatusUnprocessableEntity, ticketPageData{Errors: errs})
}

func (s *Server) unlinkTicketArticleUI(w http.ResponseWriter, r *http.Request) {
	id, err := s.visibleTicket(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket, or it is not yours.")
		return
	}
	aid, err := strconv.ParseInt(r.PathValue("aid"), 10, 64)
	if err == nil {
		err = s.opts.KB.UnlinkTicket(r.Context(), id, aid)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "That article is not linked to this ticket.")
			return
		}
		s.kbUIFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"?notice=article-unlinked#solved-by", http.StatusSeeOther)
}
