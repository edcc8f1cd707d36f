// Package kb is the service desk's knowledge base: Markdown articles in
// categories, drafts and published versions with a revision history,
// full-text search over SQLite FTS5 or PostgreSQL tsvector behind one Go
// API, and links from tickets to the articles that solved them.
package kb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ErrForbidden means the caller may not do this (a requester writing, or
// reading a draft).
var ErrForbidden = errors.New("kb: not allowed")

// Limits of an article's fields.
const (
	MaxTitle = 200
	MaxBody  = 200_000
	MaxName  = 100
)

// Status is an article's state: drafts are seen by operators only.
type Status string

// The statuses.
const (
	Draft     Status = "draft"
	Published Status = "published"
)

// Options configures the Service.
type Options struct {
	Now func() time.Time
}

// Service runs the knowledge base.
type Service struct {
	db  *store.DB
	md  *Renderer
	now func() time.Time
}

// New returns a Service.
func New(db *store.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{db: db, md: NewRenderer(), now: func() time.Time { return opts.Now().UTC().Truncate(time.Second) }}
}

// Renderer returns the service's Markdown renderer (for previews).
func (s *Service) Renderer() *Renderer { return s.md }

// CanWrite says whether the caller in ctx may write articles and see
// drafts: operators and admins.
func CanWrite(ctx context.Context) bool {
	return auth.ActorFrom(ctx).Role.Allows(auth.RoleOperator)
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrForbidden) {
		return err
	}
	if _, ok := valid.As(err); ok {
		return err
	}
	return fmt.Errorf("kb: %s: %w", op, store.MapError(err))
}

// Category groups articles.
type Category struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Articles    int       `json:"articles"` // articles the caller can see
	UpdatedAt   time.Time `json:"updated_at"`
}

// Categories lists categories by name with the number of articles the
// caller may read in each.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, c.name, c.description, c.updated_at,
		(SELECT COUNT(*) FROM kb_articles a WHERE a.category_id = c.id AND ($1 OR a.status = 'published'))
		FROM kb_categories c ORDER BY c.name`, CanWrite(ctx))
	if err != nil {
		return nil, wrap("list categories", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.ID, &c.Name, &c.Description, &c.UpdatedAt, &c.Articles); err != nil {
			return nil, wrap("list categories", err)
		}
		c.UpdatedAt = c.UpdatedAt.UTC()
		out = append(out, c)
	}
	return out, wrap("list categories", rows.Err())
}

// Category returns one category.
func (s *Service) Category(ctx context.Context, id int64) (Category, error) {
	var c Category
	err := s.db.R.QueryRowContext(ctx, `SELECT id, name, description, updated_at FROM kb_categories WHERE id = $1`, id).
		Scan(&c.ID, &c.Name, &c.Description, &c.UpdatedAt)
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, wrap("category "+strconv.FormatInt(id, 10), err)
}

// SaveCategory creates (ID 0) or renames a category; operators only.
func (s *Service) SaveCategory(ctx context.Context, c Category) (Category, error) {
	if !CanWrite(ctx) {
		return c, ErrForbidden
	}
	c.Name = strings.TrimSpace(c.Name)
	if err := valid.Text("name", c.Name, true, MaxName, false); err != nil {
		return c, err
	}
	if err := valid.Text("description", c.Description, false, 1000, true); err != nil {
		return c, err
	}
	c.UpdatedAt = s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		action := "kb_category.update"
		if c.ID == 0 {
			action = "kb_category.create"
			if err := tx.QueryRowContext(ctx, `INSERT INTO kb_categories (name, description, updated_at) VALUES ($1, $2, $3) RETURNING id`,
				c.Name, c.Description, c.UpdatedAt).Scan(&c.ID); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE kb_categories SET name = $1, description = $2, updated_at = $3 WHERE id = $4`,
				c.Name, c.Description, c.UpdatedAt, c.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
		}
		return auth.Audit(ctx, tx, action, "kb_category", strconv.FormatInt(c.ID, 10), c.Name)
	})
	return c, wrap("save category", err)
}

// DeleteCategory deletes a category; its articles stay, uncategorised.
func (s *Service) DeleteCategory(ctx context.Context, id int64) error {
	if !CanWrite(ctx) {
		return ErrForbidden
	}
	return wrap("delete category", s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM kb_categories WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return auth.Audit(ctx, tx, "kb_category.delete", "kb_category", strconv.FormatInt(id, 10), "")
	}))
}
