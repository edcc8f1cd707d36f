package notify

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

// ContactMethod is one user's address on a channel.
type ContactMethod struct {
	ID          int64     `json:"id"`
	UserID      int64     `json:"user_id"`
	ChannelID   int64     `json:"channel_id"`
	ChannelName string    `json:"channel_name"`
	ChannelKind string    `json:"channel_kind"`
	Label       string    `json:"label"`
	Address     string    `json:"address"`
	CreatedAt   time.Time `json:"created_at"`
}

// Rule sends a user's pages to a contact method, at once or after a delay.
type Rule struct {
	ID              int64     `json:"id"`
	UserID          int64     `json:"user_id"`
	ContactMethodID int64     `json:"contact_method_id"`
	DelayMinutes    int       `json:"delay_minutes"`
	CreatedAt       time.Time `json:"created_at"`
}

// maxDelayMinutes bounds a rule's delay (one day): a page later than that
// is no page.
const maxDelayMinutes = 1440

// ContactMethods lists a user's contact methods.
func (s *Service) ContactMethods(ctx context.Context, userID int64) ([]ContactMethod, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT c.id, c.user_id, c.channel_id, ch.name, ch.kind, c.label, c.address, c.created_at
		FROM contact_methods c JOIN notification_channels ch ON ch.id = c.channel_id WHERE c.user_id = $1 ORDER BY c.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("notify: contact methods: %w", err)
	}
	defer rows.Close()
	var out []ContactMethod
	for rows.Next() {
		var c ContactMethod
		if err := rows.Scan(&c.ID, &c.UserID, &c.ChannelID, &c.ChannelName, &c.ChannelKind, &c.Label, &c.Address, &c.CreatedAt); err != nil {
			return nil, fmt.Errorf("notify: contact methods: %w", err)
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify: contact methods: %w", err)
	}
	return out, nil
}

// AddContactMethod adds an address on a channel for a user. The address is
// checked by the channel's kind.
func (s *Service) AddContactMethod(ctx context.Context, userID int64, c ContactMethod) (ContactMethod, error) {
	c.Label, c.Address = strings.TrimSpace(c.Label), strings.TrimSpace(c.Address)
	if err := valid.Text("label", c.Label, false, 100, false); err != nil {
		return ContactMethod{}, err
	}
	if c.ChannelID <= 0 {
		return ContactMethod{}, valid.Errorf("channel_id", "is required")
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		ch, err := s.channelRaw(ctx, tx, c.ChannelID)
		if errors.Is(err, store.ErrNotFound) {
			return valid.Errorf("channel_id", "names no channel")
		}
		if err != nil {
			return err
		}
		k, _ := KindByName(ch.Kind)
		if k.AddressRequired && c.Address == "" {
			return valid.Errorf("address", "is required for %s (%s)", k.Label, strings.ToLower(k.AddressLabel))
		}
		if err := k.address(c.Address); err != nil {
			return err
		}
		if c.Label == "" {
			c.Label = ch.Name
		}
		now := s.now().UTC()
		if err := tx.QueryRowContext(ctx, `INSERT INTO contact_methods (user_id, channel_id, label, address, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			userID, c.ChannelID, c.Label, c.Address, now).Scan(&c.ID); err != nil {
			err = store.MapError(err)
			if errors.Is(err, store.ErrReference) {
				return valid.Errorf("user_id", "names no user")
			}
			return fmt.Errorf("notify: add contact method: %w", err)
		}
		c.UserID, c.ChannelName, c.ChannelKind, c.CreatedAt = userID, ch.Name, ch.Kind, now
		return auth.Audit(ctx, tx, "notify.contact_method.create", "user", strconv.FormatInt(userID, 10), ch.Name+" "+c.Label)
	})
	if err != nil {
		return ContactMethod{}, err
	}
	return c, nil
}

// DeleteContactMethod removes a user's contact method and its rules.
func (s *Service) DeleteContactMethod(ctx context.Context, userID, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM contact_methods WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return fmt.Errorf("notify: delete contact method: %w", store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("notify: contact method %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "notify.contact_method.delete", "user", strconv.FormatInt(userID, 10), "contact method "+strconv.FormatInt(id, 10))
	})
}

// Rules lists a user's notification rules, soonest first.
func (s *Service) Rules(ctx context.Context, userID int64) ([]Rule, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, user_id, contact_method_id, delay_minutes, created_at FROM notification_rules
		WHERE user_id = $1 ORDER BY delay_minutes, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("notify: rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.ID, &r.UserID, &r.ContactMethodID, &r.DelayMinutes, &r.CreatedAt); err != nil {
			return nil, fmt.Errorf("notify: rules: %w", err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify: rules: %w", err)
	}
	return out, nil
}

// AddRule adds a rule for one of the user's own contact methods.
func (s *Service) AddRule(ctx context.Context, userID int64, r Rule) (Rule, error) {
	if r.DelayMinutes < 0 || r.DelayMinutes > maxDelayMinutes {
		return Rule{}, valid.Errorf("delay_minutes", "must be from 0 to %d", maxDelayMinutes)
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var owner int64
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM contact_methods WHERE id = $1`, r.ContactMethodID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != userID) {
			return valid.Errorf("contact_method_id", "names none of this user's contact methods")
		}
		if err != nil {
			return fmt.Errorf("notify: add rule: %w", err)
		}
		now := s.now().UTC()
		if err := tx.QueryRowContext(ctx, `INSERT INTO notification_rules (user_id, contact_method_id, delay_minutes, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			userID, r.ContactMethodID, r.DelayMinutes, now).Scan(&r.ID); err != nil {
			return fmt.Errorf("notify: add rule: %w", store.MapError(err))
		}
		r.UserID, r.CreatedAt = userID, now
		return auth.Audit(ctx, tx, "notify.rule.create", "user", strconv.FormatInt(userID, 10),
			fmt.Sprintf("contact method %d after %d min", r.ContactMethodID, r.DelayMinutes))
	})
	if err != nil {
		return Rule{}, err
	}
	return r, nil
}

// DeleteRule removes one of a user's rules.
func (s *Service) DeleteRule(ctx context.Context, userID, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM notification_rules WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return fmt.Errorf("notify: delete rule: %w", store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("notify: rule %d: %w", id, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "notify.rule.delete", "user", strconv.FormatInt(userID, 10), "rule "+strconv.FormatInt(id, 10))
	})
}
