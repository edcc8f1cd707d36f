package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ChannelConfig is a stored channel. Settings never carry secrets when
// read through ChannelView: SecretsSet names the secrets that are stored.
type ChannelConfig struct {
	ID         int64           `json:"id"`
	Name       string          `json:"name"`
	Kind       string          `json:"kind"`
	Settings   json.RawMessage `json:"settings"`
	SecretsSet []string        `json:"secrets_set"`
	Enabled    bool            `json:"enabled"`
	CreatedBy  string          `json:"created_by"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// ChannelInput creates or changes a channel. On a change, a secret setting
// that is absent or empty keeps its stored value, so a form that never
// shows secrets can be saved without typing them again.
type ChannelInput struct {
	Name     string          `json:"name"`
	Kind     string          `json:"kind"`
	Settings json.RawMessage `json:"settings"`
	Enabled  *bool           `json:"enabled,omitempty"`
}

const channelCols = `id, name, kind, settings, enabled, created_by, created_at, updated_at`

func scanChannel(row interface{ Scan(...any) error }) (ChannelConfig, error) {
	var c ChannelConfig
	var settings string
	err := row.Scan(&c.ID, &c.Name, &c.Kind, &settings, &c.Enabled, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
	c.Settings = json.RawMessage(settings)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

// redacted returns c with its secret settings removed and listed in
// SecretsSet: what the API and UI may show.
func (c ChannelConfig) redacted() ChannelConfig {
	k, ok := KindByName(c.Kind)
	var m map[string]any
	if !ok || json.Unmarshal(c.Settings, &m) != nil {
		c.Settings = json.RawMessage("{}")
		return c
	}
	c.SecretsSet = []string{}
	for _, name := range k.Secrets() {
		if v, ok := m[name].(string); ok && v != "" {
			c.SecretsSet = append(c.SecretsSet, name)
		}
		delete(m, name)
	}
	b, _ := json.Marshal(m)
	c.Settings = b
	return c
}

// Channels lists the channels by name, without secrets.
func (s *Service) Channels(ctx context.Context) ([]ChannelConfig, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+channelCols+` FROM notification_channels ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("notify: list channels: %w", err)
	}
	defer rows.Close()
	var out []ChannelConfig
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("notify: list channels: %w", err)
		}
		out = append(out, c.redacted())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify: list channels: %w", err)
	}
	return out, nil
}

// Channel returns one channel, without secrets.
func (s *Service) Channel(ctx context.Context, id int64) (ChannelConfig, error) {
	c, err := s.channelRaw(ctx, s.db.R, id)
	if err != nil {
		return ChannelConfig{}, err
	}
	return c.redacted(), nil
}

func (s *Service) channelRaw(ctx context.Context, q store.Querier, id int64) (ChannelConfig, error) {
	c, err := scanChannel(q.QueryRowContext(ctx, `SELECT `+channelCols+` FROM notification_channels WHERE id = $1`, id))
	if err != nil {
		return ChannelConfig{}, fmt.Errorf("notify: channel %d: %w", id, store.MapError(err))
	}
	if c.Settings, err = s.openSettings(c.Kind, c.Settings); err != nil {
		return ChannelConfig{}, err
	}
	return c, nil
}

// mergeSecrets fills secrets left empty in in from the stored settings.
func mergeSecrets(kind string, in, stored json.RawMessage) (json.RawMessage, error) {
	k, _ := KindByName(kind)
	var m map[string]any
	if len(strings.TrimSpace(string(in))) == 0 {
		in = json.RawMessage("{}")
	}
	if err := json.Unmarshal(in, &m); err != nil || m == nil {
		return nil, valid.Errorf("settings", "must be a JSON object")
	}
	var old map[string]any
	_ = json.Unmarshal(stored, &old)
	for _, name := range k.Secrets() {
		if v, _ := m[name].(string); v == "" {
			if ov, ok := old[name]; ok {
				m[name] = ov
			} else {
				delete(m, name)
			}
		}
	}
	return json.Marshal(m)
}

// normalizeSettings drops empty values so stored settings stay small and
// defaults apply; the result is what is stored.
func normalizeSettings(raw json.RawMessage) (json.RawMessage, error) {
	var m map[string]any
	if len(strings.TrimSpace(string(raw))) == 0 {
		return json.RawMessage("{}"), nil
	}
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, valid.Errorf("settings", "must be a JSON object")
	}
	for k, v := range m {
		if v == nil || v == "" {
			delete(m, k)
		}
	}
	return json.Marshal(m)
}

func checkChannelName(name string) error {
	return valid.Text("name", name, true, 100, false)
}

// SaveChannel creates a channel (id 0) or changes one. Settings are
// validated for the kind, naming the field at fault.
func (s *Service) SaveChannel(ctx context.Context, id int64, in ChannelInput) (ChannelConfig, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := checkChannelName(in.Name); err != nil {
		return ChannelConfig{}, err
	}
	if len(in.Settings) > maxSettings {
		return ChannelConfig{}, valid.Errorf("settings", "are too large (at most %d bytes)", maxSettings)
	}
	now := s.now().UTC()
	var out ChannelConfig
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		settings := in.Settings
		enabled := true
		if id != 0 {
			old, err := s.channelRaw(ctx, tx, id)
			if err != nil {
				return err
			}
			if in.Kind == "" {
				in.Kind = old.Kind
			}
			if in.Kind != old.Kind {
				return valid.Errorf("kind", "cannot change; make a new channel instead")
			}
			if settings, err = mergeSecrets(in.Kind, settings, old.Settings); err != nil {
				return err
			}
			enabled = old.Enabled
		}
		if in.Enabled != nil {
			enabled = *in.Enabled
		}
		settings, err := normalizeSettings(settings)
		if err != nil {
			return err
		}
		if _, err := ParseSettings(in.Kind, settings); err != nil {
			return err
		}
		if settings, err = s.sealSettings(in.Kind, settings); err != nil {
			return err
		}
		action := "notify.channel.update"
		if id == 0 {
			action = "notify.channel.create"
			err = tx.QueryRowContext(ctx, `INSERT INTO notification_channels (name, kind, settings, enabled, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, in.Name, in.Kind, string(settings), enabled, auth.ActorFrom(ctx).Name, now).Scan(&id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE notification_channels SET name = $1, settings = $2, enabled = $3, updated_at = $4 WHERE id = $5`,
				in.Name, string(settings), enabled, now, id)
		}
		if err != nil {
			if err = store.MapError(err); errors.Is(err, store.ErrConflict) {
				return valid.Errorf("name", "is taken by another channel")
			}
			return fmt.Errorf("notify: save channel: %w", err)
		}
		if err := auth.Audit(ctx, tx, action, "notification_channel", strconv.FormatInt(id, 10), in.Kind+" "+in.Name); err != nil {
			return err
		}
		out, err = s.channelRaw(ctx, tx, id)
		return err
	})
	if err != nil {
		return ChannelConfig{}, err
	}
	return out.redacted(), nil
}

// DeleteChannel removes a channel, and with it the contact methods and
// rules on it. Queued rows to it are kept for the record and give up.
func (s *Service) DeleteChannel(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.channelRaw(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM notification_channels WHERE id = $1`, id); err != nil {
			return fmt.Errorf("notify: delete channel: %w", store.MapError(err))
		}
		return auth.Audit(ctx, tx, "notify.channel.delete", "notification_channel", strconv.FormatInt(id, 10), c.Kind+" "+c.Name)
	})
}

// TestChannel sends a test message through a stored channel at once (not
// through the outbox), to address or the channel's own destination, and
// returns the receiver's verdict.
func (s *Service) TestChannel(ctx context.Context, id int64, address string) error {
	c, err := s.channelRaw(ctx, s.db.R, id)
	if err != nil {
		return err
	}
	k, _ := KindByName(c.Kind)
	if address != "" && k.address != nil {
		if err := k.address(address); err != nil {
			return err
		}
	}
	ch, err := k.parse(c.Settings, s.env)
	if err != nil {
		return err
	}
	actor := auth.ActorFrom(ctx)
	key := fmt.Sprintf("test/%d/%d", id, s.now().UnixNano())
	m := Message{Title: "opsdeck test notification", Severity: "info",
		Text:   "This is a test of the channel “" + c.Name + "”, sent by " + actor.Name + ". If you can read it, the channel works.",
		Fields: []Field{{Name: "Channel", Value: c.Name}, {Name: "Kind", Value: k.Label}}}
	sendErr := ch.Send(ctx, Delivery{Key: key, Address: address, Message: m, Attempt: 1})
	detail := "ok"
	if sendErr != nil {
		detail = "failed: " + sendErr.Error()
	}
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		return auth.Audit(ctx, tx, "notify.channel.test", "notification_channel", strconv.FormatInt(id, 10), detail)
	}); err != nil {
		return err
	}
	return sendErr
}
