package kb

import (
	"context"
	"database/sql"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Article is one knowledge-base article. Body is Markdown; HTML is its
// safe rendering, filled by Article (not by lists).
type Article struct {
	ID           int64         `json:"id"`
	Title        string        `json:"title"`
	Body         string        `json:"body,omitempty"`
	HTML         template.HTML `json:"html,omitempty"`
	CategoryID   int64         `json:"category_id,omitempty"`
	CategoryName string        `json:"category,omitempty"`
	Status       Status        `json:"status"`
	AuthorID     int64         `json:"author_id,omitempty"`
	AuthorName   string        `json:"author,omitempty"`
	Revision     int           `json:"revision"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	PublishedAt  *time.Time    `json:"published_at,omitempty"`
	// SolvedTickets counts the tickets linked to this article as solved by
	// it (filled by Article).
	SolvedTickets int `json:"solved_tickets"`
}

// ArticleInput is what a writer sends: the whole article.
type ArticleInput struct {
	Title      string `json:"title"`
	Body       string `json:"body"`
	CategoryID int64  `json:"category_id"`
	Status     Status `json:"status"`
}

// Check validates and normalises the input; errors name the field.
func (in *ArticleInput) Check() error {
	in.Title = strings.TrimSpace(in.Title)
	if err := valid.Text("title", in.Title, true, MaxTitle, false); err != nil {
		return err
	}
	if err := valid.Text("body", in.Body, false, MaxBody, true); err != nil {
		return err
	}
	if in.CategoryID < 0 {
		return valid.Errorf("category_id", "must be a category id")
	}
	if in.Status == "" {
		in.Status = Draft
	}
	if in.Status != Draft && in.Status != Published {
		return valid.Errorf("status", "must be draft or published")
	}
	return nil
}

// Revision is one saved version of an article.
type Revision struct {
	Revision   int       `json:"revision"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	Status     Status    `json:"status"`
	AuthorID   int64     `json:"author_id,omitempty"`
	AuthorName string    `json:"author,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// ListFilter selects articles: by category (-1 for none), status (writers
// only; readers always get published), after a cursor id, newest first.
type ListFilter struct {
	CategoryID int64
	Status     Status
	After      int64
	Limit      int
}

const articleCols = `a.id, a.title, COALESCE(a.category_id, 0), COALESCE(c.name, ''), a.status, COALESCE(a.author_id, 0),
	COALESCE(u.username, ''), a.revision, a.created_at, a.updated_at, a.published_at`

const articleFrom = ` FROM kb_articles a LEFT JOIN kb_categories c ON c.id = a.category_id LEFT JOIN users u ON u.id = a.author_id`

func scanArticle(sc interface{ Scan(...any) error }, a *Article, extra ...any) error {
	var pub store.NullTime
	if err := sc.Scan(append([]any{&a.ID, &a.Title, &a.CategoryID, &a.CategoryName, &a.Status, &a.AuthorID, &a.AuthorName,
		&a.Revision, &a.CreatedAt, &a.UpdatedAt, &pub}, extra...)...); err != nil {
		return err
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	if pub.Valid {
		t := pub.Time.UTC()
		a.PublishedAt = &t
	}
	return nil
}

// Articles lists articles newest first (by id), Limit+1 read so the caller
// knows whether there is a next page: it gets at most Limit and the next
// cursor id (0 at the end).
func (s *Service) Articles(ctx context.Context, f ListFilter) ([]Article, int64, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	status := string(f.Status)
	if !CanWrite(ctx) {
		status = string(Published)
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+articleCols+articleFrom+`
		WHERE ($1 = '' OR a.status = $1) AND ($2 = 0 OR a.id < $2)
		AND ($3 = 0 OR ($3 < 0 AND a.category_id IS NULL) OR a.category_id = $3)
		ORDER BY a.id DESC LIMIT $4`, status, f.After, f.CategoryID, f.Limit+1)
	if err != nil {
		return nil, 0, wrap("list articles", err)
	}
	defer rows.Close()
	out := []Article{}
	for rows.Next() {
		var a Article
		if err := scanArticle(rows, &a); err != nil {
			return nil, 0, wrap("list articles", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("list articles", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// Article returns one article with its body rendered. A draft is not found
// for a reader who may not see drafts.
func (s *Service) Article(ctx context.Context, id int64) (Article, error) {
	var a Article
	err := scanArticle(s.db.R.QueryRowContext(ctx, `SELECT `+articleCols+`, a.body,
		(SELECT COUNT(*) FROM kb_ticket_articles t WHERE t.article_id = a.id)`+articleFrom+` WHERE a.id = $1`, id), &a, &a.Body, &a.SolvedTickets)
	if err == nil && a.Status != Published && !CanWrite(ctx) {
		err = store.ErrNotFound
	}
	if err != nil {
		return Article{}, wrap("article "+strconv.FormatInt(id, 10), err)
	}
	if a.HTML, err = s.md.Render(a.Body); err != nil {
		return Article{}, err
	}
	return a, nil
}

// CreateArticle saves a new article as revision 1, authored by the caller.
func (s *Service) CreateArticle(ctx context.Context, in ArticleInput) (Article, error) {
	return s.save(ctx, 0, in)
}

// UpdateArticle replaces an article's title, body, category and status,
// keeping the old version in the revision history.
func (s *Service) UpdateArticle(ctx context.Context, id int64, in ArticleInput) (Article, error) {
	if id <= 0 {
		return Article{}, valid.Errorf("id", "must be a positive number")
	}
	return s.save(ctx, id, in)
}

func (s *Service) save(ctx context.Context, id int64, in ArticleInput) (Article, error) {
	if !CanWrite(ctx) {
		return Article{}, ErrForbidden
	}
	if err := in.Check(); err != nil {
		return Article{}, err
	}
	actor := auth.ActorFrom(ctx)
	var author any
	if actor.UserID > 0 {
		author = actor.UserID
	}
	var category any
	if in.CategoryID > 0 {
		category = in.CategoryID
	}
	now := s.now()
	var pub any
	if in.Status == Published {
		pub = now
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if in.CategoryID > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM kb_categories WHERE id = $1`, in.CategoryID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return valid.Errorf("category_id", "is not a category")
			}
		}
		rev := 1
		action := "kb_article.create"
		if id == 0 {
			if err := tx.QueryRowContext(ctx, `INSERT INTO kb_articles (title, body, category_id, status, author_id, revision, created_at, updated_at, published_at)
				VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7) RETURNING id`, in.Title, in.Body, category, string(in.Status), author, now, pub).Scan(&id); err != nil {
				return err
			}
		} else {
			action = "kb_article.update"
			var old string
			if err := tx.QueryRowContext(ctx, `SELECT revision, status FROM kb_articles WHERE id = $1`+s.forUpdate(), id).Scan(&rev, &old); err != nil {
				return err
			}
			rev++
			if in.Status == Published && old != string(Published) {
				action = "kb_article.publish"
			}
			// published_at: set on publishing, kept while published, cleared on unpublishing.
			if _, err := tx.ExecContext(ctx, `UPDATE kb_articles SET title = $1, body = $2, category_id = $3, status = $4, revision = $5,
				updated_at = $6, published_at = CASE WHEN $4 = 'published' THEN COALESCE(published_at, $7) ELSE NULL END WHERE id = $8`,
				in.Title, in.Body, category, string(in.Status), rev, now, now, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kb_revisions (article_id, revision, title, body, status, author_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, rev, in.Title, in.Body, string(in.Status), author, now); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, action, "kb_article", strconv.FormatInt(id, 10), in.Title+" (revision "+strconv.Itoa(rev)+", "+string(in.Status)+")")
	})
	if err != nil {
		return Article{}, wrap("save article", err)
	}
	return s.Article(ctx, id)
}

// DeleteArticle deletes an article, its revisions and ticket links.
func (s *Service) DeleteArticle(ctx context.Context, id int64) error {
	if !CanWrite(ctx) {
		return ErrForbidden
	}
	return wrap("delete article", s.db.Tx(ctx, func(tx *sql.Tx) error {
		var title string
		if err := tx.QueryRowContext(ctx, `SELECT title FROM kb_articles WHERE id = $1`, id).Scan(&title); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kb_articles WHERE id = $1`, id); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "kb_article.delete", "kb_article", strconv.FormatInt(id, 10), title)
	}))
}

// Revisions lists an article's versions, newest first; writers only, since
// old versions may hold what a draft was not meant to show.
func (s *Service) Revisions(ctx context.Context, id int64) ([]Revision, error) {
	if !CanWrite(ctx) {
		return nil, ErrForbidden
	}
	if _, err := s.Article(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.revision, r.title, r.body, r.status, COALESCE(r.author_id, 0), COALESCE(u.username, ''), r.created_at
		FROM kb_revisions r LEFT JOIN users u ON u.id = r.author_id WHERE r.article_id = $1 ORDER BY r.revision DESC`, id)
	if err != nil {
		return nil, wrap("list revisions", err)
	}
	defer rows.Close()
	out := []Revision{}
	for rows.Next() {
		var r Revision
		if err := rows.Scan(&r.Revision, &r.Title, &r.Body, &r.Status, &r.AuthorID, &r.AuthorName, &r.CreatedAt); err != nil {
			return nil, wrap("list revisions", err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		out = append(out, r)
	}
	return out, wrap("list revisions", rows.Err())
}

// forUpdate locks the row a PostgreSQL SELECT reads; SQLite's single
// writer already serialises the read-modify-write.
func (s *Service) forUpdate() string {
	if s.db.Dialect == store.Postgres {
		return " FOR UPDATE"
	}
	return ""
}
