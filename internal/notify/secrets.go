package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/opsdeck/opsdeck/internal/secret"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Secret settings (SMTP passwords, webhook URLs, bot tokens) are sealed with
// Options.Secrets before they are written and opened when read for sending
// or merging; everything else in a channel's settings stays readable.

// mapSecrets applies fn to each non-empty string secret setting of kind in
// settings and returns the result; settings that are not a JSON object are
// returned as they are (validation reports them).
func mapSecrets(kind string, settings []byte, fn func(string) (string, error)) ([]byte, error) {
	k, ok := KindByName(kind)
	if !ok || len(k.Secrets()) == 0 {
		return settings, nil
	}
	var m map[string]any
	if json.Unmarshal(settings, &m) != nil || m == nil {
		return settings, nil
	}
	changed := false
	for _, name := range k.Secrets() {
		v, ok := m[name].(string)
		if !ok || v == "" {
			continue
		}
		out, err := fn(v)
		if err != nil {
			return nil, fmt.Errorf("notify: setting %s: %w", name, err)
		}
		if out != v {
			m[name], changed = out, true
		}
	}
	if !changed {
		return settings, nil
	}
	return json.Marshal(m)
}

// sealSettings seals the secret settings about to be stored.
func (s *Service) sealSettings(kind string, settings []byte) ([]byte, error) {
	if s.opts.Secrets == nil {
		return settings, nil
	}
	return mapSecrets(kind, settings, func(v string) (string, error) {
		out, _, err := s.opts.Secrets.Reseal(v)
		return out, err
	})
}

// openSettings opens the secret settings of stored ones. A value stored
// before sealing was switched on is still clear, and read as it is.
func (s *Service) openSettings(kind string, settings []byte) ([]byte, error) {
	if s.opts.Secrets == nil {
		return settings, nil
	}
	return mapSecrets(kind, settings, func(v string) (string, error) {
		if !secret.IsSealed(v) {
			return v, nil
		}
		return s.opts.Secrets.Open(v)
	})
}

// SealStoredSecrets seals every channel secret stored in clear or under an
// older key, and returns how many channels changed. It runs at start
// (moving an existing installation to sealed secrets) and after a key
// rotation; running it again changes nothing.
func (s *Service) SealStoredSecrets(ctx context.Context) (int, error) {
	if s.opts.Secrets == nil {
		return 0, nil
	}
	n := 0
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, kind, settings FROM notification_channels ORDER BY id`)
		if err != nil {
			return fmt.Errorf("notify: seal secrets: %w", err)
		}
		type row struct {
			id             int64
			kind, settings string
		}
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.kind, &r.settings); err != nil {
				rows.Close()
				return fmt.Errorf("notify: seal secrets: %w", err)
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("notify: seal secrets: %w", err)
		}
		for _, r := range all {
			out, err := s.sealSettings(r.kind, []byte(r.settings))
			if err != nil {
				return fmt.Errorf("notify: channel %d: %w", r.id, err)
			}
			if string(out) == r.settings {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE notification_channels SET settings = $1 WHERE id = $2`, string(out), r.id); err != nil {
				return fmt.Errorf("notify: seal secrets: %w", store.MapError(err))
			}
			n++
		}
		return nil
	})
	return n, err
}
