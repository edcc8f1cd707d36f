package cmdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Options configures a Service.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// CheckObject confirms that an object about to be linked to a CI
	// exists (returning an error wrapping store.ErrNotFound when it does
	// not). Nil accepts any id; app wires the domains that exist.
	CheckObject func(ctx context.Context, kind LinkKind, id int64) error
}

// Service is the CMDB: CI types, CIs, relationships, impact, history and
// links. Build it with NewService and call Start before use.
type Service struct {
	db   *store.DB
	opts Options
	g    *graph
	// writeMu serializes writes that change the graph, so the index
	// applies them in the order they committed.
	writeMu sync.Mutex
	started bool
}

// NewService builds the CMDB service on db.
func NewService(db *store.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, opts: opts, g: newGraph()}
}

// Refusal is a request the CMDB refuses for a reason other than bad input
// (deleting a built-in type, or a type still in use); the web layer
// answers it with 409 and its message, which is safe to show.
type Refusal struct{ Msg string }

func (e *Refusal) Error() string { return e.Msg }

// ErrNotStarted is returned by impact analysis before Start loaded the index.
var ErrNotStarted = errors.New("cmdb: the service was not started")

// Start seeds the built-in CI and relationship types (adding any missing;
// admins' changes to existing ones are kept) and loads the relationship
// graph into memory. Call it once before serving.
func (s *Service) Start(ctx context.Context) error {
	now := s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, t := range builtinTypes() {
			attrs, _ := json.Marshal(t.Attributes)
			if _, err := tx.ExecContext(ctx, `INSERT INTO ci_types (key, name, description, builtin, service, attributes, created_at, updated_at)
				VALUES ($1, $2, $3, TRUE, $4, $5, $6, $6) ON CONFLICT (key) DO NOTHING`,
				t.Key, t.Name, t.Description, t.Service, string(attrs), now); err != nil {
				return fmt.Errorf("cmdb: seed type %s: %w", t.Key, err)
			}
		}
		for _, t := range builtinRelationshipTypes() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ci_relationship_types (key, name, reverse_name, description, impact, builtin, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6) ON CONFLICT (key) DO NOTHING`,
				t.Key, t.Name, t.ReverseName, t.Description, string(t.Impact), now); err != nil {
				return fmt.Errorf("cmdb: seed relationship type %s: %w", t.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	g, err := s.loadGraph(ctx)
	if err != nil {
		return err
	}
	s.g, s.started = g, true
	return nil
}

// loadGraph reads the whole graph: types, CIs (id, name, type) and
// relationships.
func (s *Service) loadGraph(ctx context.Context) (*graph, error) {
	g := newGraph()
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, key, service FROM ci_types`)
	if err != nil {
		return nil, fmt.Errorf("cmdb: load types: %w", err)
	}
	for rows.Next() {
		var id int64
		var t typeInfo
		if err := rows.Scan(&id, &t.key, &t.service); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cmdb: load types: %w", err)
		}
		g.types[id] = t
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("cmdb: load types: %w", err)
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT id, key, impact FROM ci_relationship_types`)
	if err != nil {
		return nil, fmt.Errorf("cmdb: load relationship types: %w", err)
	}
	for rows.Next() {
		var id int64
		var key, im string
		if err := rows.Scan(&id, &key, &im); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cmdb: load relationship types: %w", err)
		}
		g.impacts[id], g.relKeys[id] = Impact(im), key
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("cmdb: load relationship types: %w", err)
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT id, name, type_id FROM cis`)
	if err != nil {
		return nil, fmt.Errorf("cmdb: load CIs: %w", err)
	}
	for rows.Next() {
		var id int64
		var n node
		if err := rows.Scan(&id, &n.name, &n.typ); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cmdb: load CIs: %w", err)
		}
		g.putCILocked(id, n.name, n.typ)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("cmdb: load CIs: %w", err)
	}
	rows, err = s.db.R.QueryContext(ctx, `SELECT id, type_id, source_id, target_id FROM ci_relationships ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("cmdb: load relationships: %w", err)
	}
	for rows.Next() {
		var id, typ, src, tgt int64
		if err := rows.Scan(&id, &typ, &src, &tgt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cmdb: load relationships: %w", err)
		}
		g.addEdgeLocked(id, typ, src, tgt)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("cmdb: load relationships: %w", err)
	}
	return g, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// write runs fn in a transaction under the write lock; after the commit it
// runs the index change fn returned, so the in-memory graph follows the
// database in commit order.
func (s *Service) write(ctx context.Context, fn func(tx *sql.Tx) (apply func(), err error)) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var apply func()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		apply, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	if apply != nil {
		apply()
	}
	return nil
}

// Source says through what a change reached the CMDB; history records it.
type Source string

// The sources of change.
const (
	SourceUI     Source = "ui"
	SourceAPI    Source = "api"
	SourceAgent  Source = "agent"
	SourceImport Source = "import"
	SourceCLI    Source = "cli"
	SourceSystem Source = "system"
)

type sourceKey struct{}

// WithSource marks changes made with ctx as coming from src (the agent and
// importers set it; otherwise it follows the actor's interface).
func WithSource(ctx context.Context, src Source) context.Context {
	return context.WithValue(ctx, sourceKey{}, src)
}

func sourceOf(ctx context.Context) Source {
	if src, ok := ctx.Value(sourceKey{}).(Source); ok {
		return src
	}
	switch auth.ActorFrom(ctx).Via {
	case auth.ViaUI:
		return SourceUI
	case auth.ViaAPI:
		return SourceAPI
	case auth.ViaCLI:
		return SourceCLI
	}
	return SourceSystem
}
