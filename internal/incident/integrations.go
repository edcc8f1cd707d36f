package incident

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ErrUnknownKey is returned for an intake key no integration holds (or one
// of another kind than the endpoint).
var ErrUnknownKey = errors.New("incident: unknown integration key")

// IntegrationInput is what creating or changing an integration takes.
type IntegrationInput struct {
	ServiceID int64    `json:"service_id"`
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	Mapping   *Mapping `json:"mapping"`
}

func (in *IntegrationInput) normalize() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.ServiceID <= 0 {
		return valid.Errorf("service_id", "is required")
	}
	if err := valid.Text("name", in.Name, true, 100, false); err != nil {
		return err
	}
	if !slices.Contains(Kinds, in.Kind) {
		return valid.Errorf("kind", "must be one of %s", strings.Join(Kinds, ", "))
	}
	if in.Kind == KindGeneric {
		if in.Mapping == nil {
			in.Mapping = &Mapping{}
		}
		return in.Mapping.normalize()
	}
	if in.Mapping != nil {
		return valid.Errorf("mapping", "only generic integrations take a field mapping")
	}
	return nil
}

// newKey makes an integration key: 32 hex characters, the length PagerDuty
// routing keys have, so tools that check the length accept it.
func newKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("incident: make key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// hashKey stores keys as SHA-256: they are random 128-bit secrets, so a
// fast hash is enough (a slow one would cap intake at a few hundred events/s).
func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// KeyHint is the part of a key that may be shown and logged: its first four
// characters, enough to tell integrations apart, far too few to guess it.
func KeyHint(key string) string {
	if len(key) > 4 {
		return key[:4]
	}
	return key
}

const integrationCols = `id, service_id, name, kind, key_hint, mapping, created_at, updated_at`

func scanIntegration(row interface{ Scan(...any) error }) (Integration, error) {
	var in Integration
	var mapping string
	if err := row.Scan(&in.ID, &in.ServiceID, &in.Name, &in.Kind, &in.KeyHint, &mapping, &in.CreatedAt, &in.UpdatedAt); err != nil {
		return in, err
	}
	if mapping != "" {
		var m Mapping
		if err := json.Unmarshal([]byte(mapping), &m); err != nil {
			return in, fmt.Errorf("incident: integration %d: stored mapping: %w", in.ID, err)
		}
		in.Mapping = &m
	}
	in.CreatedAt, in.UpdatedAt = in.CreatedAt.UTC(), in.UpdatedAt.UTC()
	return in, nil
}

func mappingText(m *Mapping) string {
	if m == nil {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// CreateIntegration adds an integration and returns its key, which is
// stored only as a hash: this is the one time it can be shown.
func (s *Service) CreateIntegration(ctx context.Context, in IntegrationInput) (Integration, string, error) {
	if err := in.normalize(); err != nil {
		return Integration{}, "", err
	}
	key, err := newKey()
	if err != nil {
		return Integration{}, "", err
	}
	now := s.now().UTC()
	var out Integration
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanIntegration(tx.QueryRowContext(ctx, `INSERT INTO integrations (service_id, name, kind, key_hash, key_hint, mapping, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+integrationCols,
			in.ServiceID, in.Name, in.Kind, hashKey(key), KeyHint(key), mappingText(in.Mapping), now))
		if err != nil {
			err = store.MapError(err)
			if errors.Is(err, store.ErrReference) {
				return valid.Errorf("service_id", "names no service")
			}
			return fmt.Errorf("incident: create integration: %w", err)
		}
		return auth.Audit(ctx, tx, "integration.create", "integration", strconv.FormatInt(out.ID, 10), in.Kind+" "+in.Name)
	})
	if err != nil {
		return Integration{}, "", err
	}
	return out, key, nil
}

// UpdateIntegration renames an integration or changes its mapping; its
// kind, service and key stay.
func (s *Service) UpdateIntegration(ctx context.Context, id int64, name string, mapping *Mapping) (Integration, error) {
	cur, err := s.GetIntegration(ctx, id)
	if err != nil {
		return cur, err
	}
	in := IntegrationInput{ServiceID: cur.ServiceID, Name: name, Kind: cur.Kind, Mapping: mapping}
	if err := in.normalize(); err != nil {
		return cur, err
	}
	var out Integration
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanIntegration(tx.QueryRowContext(ctx, `UPDATE integrations SET name = $2, mapping = $3, updated_at = $4 WHERE id = $1 RETURNING `+integrationCols,
			id, in.Name, mappingText(in.Mapping), s.now().UTC()))
		if err != nil {
			return fmt.Errorf("incident: update integration %d: %w", id, store.MapError(err))
		}
		return auth.Audit(ctx, tx, "integration.update", "integration", strconv.FormatInt(id, 10), in.Name)
	})
	if err == nil {
		s.keys.clear()
	}
	return out, err
}

// RotateKey gives an integration a new key; the old one stops working at
// once. The new key is returned this one time.
func (s *Service) RotateKey(ctx context.Context, id int64) (Integration, string, error) {
	key, err := newKey()
	if err != nil {
		return Integration{}, "", err
	}
	var out Integration
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanIntegration(tx.QueryRowContext(ctx, `UPDATE integrations SET key_hash = $2, key_hint = $3, updated_at = $4 WHERE id = $1 RETURNING `+integrationCols,
			id, hashKey(key), KeyHint(key), s.now().UTC()))
		if err != nil {
			return fmt.Errorf("incident: rotate key of integration %d: %w", id, store.MapError(err))
		}
		return auth.Audit(ctx, tx, "integration.rotate_key", "integration", strconv.FormatInt(id, 10), out.Name)
	})
	if err != nil {
		return Integration{}, "", err
	}
	s.keys.clear()
	return out, key, nil
}

// DeleteIntegration removes an integration; its alerts stay.
func (s *Service) DeleteIntegration(ctx context.Context, id int64) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM integrations WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("incident: delete integration %d: %w", id, store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("incident: delete integration %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "integration.delete", "integration", strconv.FormatInt(id, 10), "")
	})
	if err == nil {
		s.keys.clear()
	}
	return err
}

// GetIntegration returns one integration.
func (s *Service) GetIntegration(ctx context.Context, id int64) (Integration, error) {
	in, err := scanIntegration(s.db.R.QueryRowContext(ctx, `SELECT `+integrationCols+` FROM integrations WHERE id = $1`, id))
	if err != nil {
		return in, fmt.Errorf("incident: get integration %d: %w", id, store.MapError(err))
	}
	return in, nil
}

// ListIntegrations returns the integrations of a service (0: all), by id.
func (s *Service) ListIntegrations(ctx context.Context, serviceID int64) ([]Integration, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+integrationCols+` FROM integrations WHERE ($1 = 0 OR service_id = $1) ORDER BY id`, serviceID)
	if err != nil {
		return nil, fmt.Errorf("incident: list integrations: %w", store.MapError(err))
	}
	defer rows.Close()
	out := []Integration{}
	for rows.Next() {
		in, err := scanIntegration(rows)
		if err != nil {
			return nil, fmt.Errorf("incident: list integrations: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// Authenticate finds the integration holding key for an endpoint of kind.
// A key of another kind's integration is refused like an unknown one: each
// endpoint parses one format.
func (s *Service) Authenticate(ctx context.Context, kind, key string) (Integration, error) {
	if len(key) == 0 || len(key) > 200 {
		return Integration{}, ErrUnknownKey
	}
	h := hashKey(key)
	in, ok := s.keys.get(h)
	if !ok {
		var err error
		in, err = scanIntegration(s.db.R.QueryRowContext(ctx, `SELECT `+integrationCols+` FROM integrations WHERE key_hash = $1`, h))
		if err != nil {
			if errors.Is(store.MapError(err), store.ErrNotFound) {
				return Integration{}, ErrUnknownKey
			}
			return Integration{}, fmt.Errorf("incident: find integration: %w", store.MapError(err))
		}
		s.keys.put(h, in)
	}
	if in.Kind != kind {
		return Integration{}, ErrUnknownKey
	}
	return in, nil
}

// RefuseKey logs and counts a request with a wrong key. The log names the
// endpoint, the caller and the key's hint, never the key.
func (s *Service) RefuseKey(ctx context.Context, kind, key, addr string) {
	s.metrics.refused.WithLabelValues(kind, "bad_key").Inc()
	s.log.WarnContext(ctx, "intake refused: unknown integration key", "endpoint", kind, "key_hint", KeyHint(key), "addr", addr)
}

// keyCache keeps integrations by key hash so intake does not read the
// integrations table for every event. Any change to integrations clears it;
// a server keeps it for its own lifetime (keys change only through it).
type keyCache struct {
	mu sync.RWMutex
	m  map[string]Integration
}

func newKeyCache() *keyCache { return &keyCache{m: map[string]Integration{}} }

func (c *keyCache) get(h string) (Integration, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	in, ok := c.m[h]
	return in, ok
}

func (c *keyCache) put(h string, in Integration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[h] = in
}

func (c *keyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
