package statuspage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Options configures a Service. Zero values take the defaults noted.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Uptime answers the daily and windowed uptime of many monitors at
	// once; the monitor service does. Pages show no uptime without it.
	Uptime UptimeSource
}

// UptimeSource is the part of the monitor service a page needs: its
// batched uptime queries, so uptime is counted in one place.
type UptimeSource interface {
	DailyUptimeMany(ctx context.Context, ids []int64, days int, now time.Time) (map[int64][]monitor.Uptime, error)
	UptimeMany(ctx context.Context, ids []int64, from, to time.Time) (map[int64]monitor.Uptime, error)
}

var _ UptimeSource = (*monitor.Service)(nil)

// Service stores status pages and answers what they show.
type Service struct {
	db     *store.DB
	now    func() time.Time
	uptime UptimeSource
}

// NewService returns a Service on db.
func NewService(db *store.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{db: db, now: opts.Now, uptime: opts.Uptime}
}

const pageCols = `id, slug, title, description, public, created_at, updated_at`

func scanPage(row interface{ Scan(...any) error }) (Page, error) {
	var p Page
	if err := row.Scan(&p.ID, &p.Slug, &p.Title, &p.Description, &p.Public, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return p, store.MapError(err)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	p.Monitors = []Entry{}
	return p, nil
}

// Create validates in and stores a new page.
func (s *Service) Create(ctx context.Context, in Input) (Page, error) {
	in, err := normalize(in)
	if err != nil {
		return Page{}, err
	}
	now := s.now().UTC()
	var id int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := checkMonitors(ctx, tx, in.Monitors); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO status_pages (slug, title, description, public, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, in.Slug, in.Title, in.Description, in.Public, now).Scan(&id)
		if err != nil {
			return slugConflict(err, in.Slug, "create")
		}
		if err := s.insertEntries(ctx, tx, id, in.Monitors); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "status_page.create", "status_page", strconv.FormatInt(id, 10), auditDetail(in))
	})
	if err != nil {
		return Page{}, err
	}
	return s.Get(ctx, id)
}

// Update replaces a page's fields and monitor list.
func (s *Service) Update(ctx context.Context, id int64, in Input) (Page, error) {
	in, err := normalize(in)
	if err != nil {
		return Page{}, err
	}
	now := s.now().UTC()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE status_pages SET slug = $1, title = $2, description = $3, public = $4, updated_at = $5 WHERE id = $6`,
			in.Slug, in.Title, in.Description, in.Public, now, id)
		if err != nil {
			return slugConflict(err, in.Slug, "update")
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("statuspage: update: %w", err)
		} else if n == 0 {
			return fmt.Errorf("status page %d: %w", id, store.ErrNotFound)
		}
		if err := checkMonitors(ctx, tx, in.Monitors); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM status_page_monitors WHERE page_id = $1`, id); err != nil {
			return fmt.Errorf("statuspage: update: %w", err)
		}
		if err := s.insertEntries(ctx, tx, id, in.Monitors); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "status_page.update", "status_page", strconv.FormatInt(id, 10), auditDetail(in))
	})
	if err != nil {
		return Page{}, err
	}
	return s.Get(ctx, id)
}

// Delete removes a page. Its address answers 404 from then on.
func (s *Service) Delete(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var slug string
		if err := tx.QueryRowContext(ctx, `DELETE FROM status_pages WHERE id = $1 RETURNING slug`, id).Scan(&slug); err != nil {
			return fmt.Errorf("status page %d: %w", id, store.MapError(err))
		}
		return auth.Audit(ctx, tx, "status_page.delete", "status_page", strconv.FormatInt(id, 10), "slug="+slug)
	})
}

func auditDetail(in Input) string {
	vis := "private"
	if in.Public {
		vis = "public"
	}
	return fmt.Sprintf("slug=%s title=%s %s monitors=%d", in.Slug, in.Title, vis, len(in.Monitors))
}

func slugConflict(err error, slug, op string) error {
	if errors.Is(store.MapError(err), store.ErrConflict) {
		return valid.Errorf("slug", "a status page at /status/%s exists already", slug)
	}
	return fmt.Errorf("statuspage: %s: %w", op, err)
}

// checkMonitors refuses entries naming monitors that do not exist, naming
// the entry, instead of a bare foreign-key error.
func checkMonitors(ctx context.Context, q store.Querier, es []EntryInput) error {
	if len(es) == 0 {
		return nil
	}
	ids := make([]int64, len(es))
	for i, e := range es {
		ids[i] = e.MonitorID
	}
	in, args := inList(ids, 1)
	rows, err := q.QueryContext(ctx, `SELECT id FROM monitors WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return fmt.Errorf("statuspage: check monitors: %w", err)
	}
	defer rows.Close()
	found := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("statuspage: check monitors: %w", err)
		}
		found[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("statuspage: check monitors: %w", err)
	}
	for _, e := range es {
		if !found[e.MonitorID] {
			return valid.Errorf(fmt.Sprintf("monitors[%d].monitor_id", e.idx), "there is no monitor with id %d", e.MonitorID)
		}
	}
	return nil
}

func (s *Service) insertEntries(ctx context.Context, tx *sql.Tx, pageID int64, es []EntryInput) error {
	rows := make([][]any, len(es))
	for i, e := range es {
		rows[i] = []any{pageID, e.MonitorID, *e.Position, e.DisplayName, e.Section}
	}
	if err := s.db.InsertMany(ctx, tx, "status_page_monitors", []string{"page_id", "monitor_id", "position", "display_name", "section"}, rows); err != nil {
		return fmt.Errorf("statuspage: save monitors: %w", store.MapError(err))
	}
	return nil
}

// Get returns one page with its monitors.
func (s *Service) Get(ctx context.Context, id int64) (Page, error) {
	p, err := scanPage(s.db.R.QueryRowContext(ctx, `SELECT `+pageCols+` FROM status_pages WHERE id = $1`, id))
	if err != nil {
		return p, fmt.Errorf("status page %d: %w", id, err)
	}
	return s.withEntries(ctx, p)
}

// IsPublic reports whether the page at slug is public, and
// store.ErrNotFound when there is none. It is one indexed read, so that
// refusing a page to someone who may not see it costs the same whether
// the page exists or not, and never the cost of reading its view.
func (s *Service) IsPublic(ctx context.Context, slug string) (bool, error) {
	var public bool
	if err := s.db.R.QueryRowContext(ctx, `SELECT public FROM status_pages WHERE slug = $1`, slug).Scan(&public); err != nil {
		return false, fmt.Errorf("status page %q: %w", slug, store.MapError(err))
	}
	return public, nil
}

// GetBySlug returns the page at an address, with its monitors.
func (s *Service) GetBySlug(ctx context.Context, slug string) (Page, error) {
	p, err := scanPage(s.db.R.QueryRowContext(ctx, `SELECT `+pageCols+` FROM status_pages WHERE slug = $1`, slug))
	if err != nil {
		return p, fmt.Errorf("status page %q: %w", slug, err)
	}
	return s.withEntries(ctx, p)
}

func (s *Service) withEntries(ctx context.Context, p Page) (Page, error) {
	byPage, err := s.entries(ctx, []int64{p.ID})
	if err != nil {
		return p, err
	}
	p.Monitors = append(p.Monitors, byPage[p.ID]...)
	return p, nil
}

// entries reads the monitors of several pages, each list in page order.
func (s *Service) entries(ctx context.Context, pageIDs []int64) (map[int64][]Entry, error) {
	out := map[int64][]Entry{}
	if len(pageIDs) == 0 {
		return out, nil
	}
	in, args := inList(pageIDs, 1)
	rows, err := s.db.R.QueryContext(ctx, `SELECT e.page_id, e.monitor_id, e.position, e.display_name, e.section, m.name
		FROM status_page_monitors e JOIN monitors m ON m.id = e.monitor_id
		WHERE e.page_id IN (`+in+`) ORDER BY e.page_id, e.position, e.monitor_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("statuspage: read monitors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var e Entry
		if err := rows.Scan(&pid, &e.MonitorID, &e.Position, &e.DisplayName, &e.Section, &e.MonitorName); err != nil {
			return nil, fmt.Errorf("statuspage: read monitors: %w", err)
		}
		out[pid] = append(out[pid], e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("statuspage: read monitors: %w", err)
	}
	// Positions are renumbered on read: a deleted monitor leaves a gap.
	for _, es := range out {
		for i := range es {
			es[i].Position = i + 1
		}
	}
	return out, nil
}

// List returns every page with its monitors, ordered by title. Sites have
// a handful of pages, so there is no paging.
func (s *Service) List(ctx context.Context) ([]Page, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+pageCols+` FROM status_pages ORDER BY LOWER(title), id`)
	if err != nil {
		return nil, fmt.Errorf("statuspage: list: %w", err)
	}
	defer rows.Close()
	out := []Page{}
	var ids []int64
	for rows.Next() {
		p, err := scanPage(rows)
		if err != nil {
			return nil, fmt.Errorf("statuspage: list: %w", err)
		}
		out = append(out, p)
		ids = append(ids, p.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("statuspage: list: %w", err)
	}
	rows.Close()
	byPage, err := s.entries(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Monitors = append(out[i].Monitors, byPage[out[i].ID]...)
	}
	return out, nil
}

// inList returns the placeholders "$first, $first+1, …" for ids and the ids
// as arguments. The ids come from code, never spliced into the SQL text.
func inList(ids []int64, first int) (string, []any) {
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = "$" + strconv.Itoa(first+i)
		args[i] = id
	}
	return strings.Join(ph, ", "), args
}
