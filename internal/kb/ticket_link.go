package kb

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// The links from tickets to the articles that solved them. The caller
// (the web layer) checks first that the caller may see the ticket: the
// service desk owns ticket isolation.

// LinkTicket records that the article solved the ticket; linking twice is
// a no-op. Operators only.
func (s *Service) LinkTicket(ctx context.Context, ticketID, articleID int64) error {
	if !CanWrite(ctx) {
		return ErrForbidden
	}
	if articleID <= 0 {
		return valid.Errorf("article_id", "must be an article id")
	}
	return wrap("link ticket", s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM kb_articles WHERE id = $1`, articleID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return valid.Errorf("article_id", "is not an article")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO kb_ticket_articles (ticket_id, article_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (ticket_id, article_id) DO NOTHING`, ticketID, articleID, s.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return auth.Audit(ctx, tx, "ticket.article_link", "ticket", strconv.FormatInt(ticketID, 10), "solved by article "+strconv.FormatInt(articleID, 10))
	}))
}

// UnlinkTicket removes a link; store.ErrNotFound when there was none.
func (s *Service) UnlinkTicket(ctx context.Context, ticketID, articleID int64) error {
	if !CanWrite(ctx) {
		return ErrForbidden
	}
	return wrap("unlink ticket", s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM kb_ticket_articles WHERE ticket_id = $1 AND article_id = $2`, ticketID, articleID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return auth.Audit(ctx, tx, "ticket.article_unlink", "ticket", strconv.FormatInt(ticketID, 10), "article "+strconv.FormatInt(articleID, 10))
	}))
}

// TicketArticles lists the articles linked to a ticket that the caller may
// read (requesters: published ones), by title.
func (s *Service) TicketArticles(ctx context.Context, ticketID int64) ([]Article, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+articleCols+articleFrom+` JOIN kb_ticket_articles t ON t.article_id = a.id
		WHERE t.ticket_id = $1 AND ($2 OR a.status = 'published') ORDER BY a.title, a.id`, ticketID, CanWrite(ctx))
	if err != nil {
		return nil, wrap("ticket articles", err)
	}
	defer rows.Close()
	out := []Article{}
	for rows.Next() {
		var a Article
		if err := scanArticle(rows, &a); err != nil {
			return nil, wrap("ticket articles", err)
		}
		out = append(out, a)
	}
	return out, wrap("ticket articles", rows.Err())
}
