package incident

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

// Postmortem is the review document of an incident with its action items.
// Until someone saves it, Body is a draft pre-filled from the incident and
// its timeline, and Saved is false.
type Postmortem struct {
	IncidentID int64        `json:"incident_id"`
	Body       string       `json:"body"`
	Saved      bool         `json:"saved"`
	UpdatedAt  *time.Time   `json:"updated_at"`
	Actions    []ActionItem `json:"action_items"`
}

// ActionItem is a follow-up with an owner and a due date.
type ActionItem struct {
	ID        int64  `json:"id"`
	Text      string `json:"text"`
	OwnerID   *int64 `json:"owner_id"`
	OwnerName string `json:"owner_name,omitempty"`
	// DueOn is a date, 2006-01-02, or empty.
	DueOn string `json:"due_on"`
	Done  bool   `json:"done"`
}

// Postmortem returns an incident's postmortem, or a draft made from its
// timeline when none was saved.
func (s *Service) Postmortem(ctx context.Context, incidentID int64) (Postmortem, error) {
	inc, err := s.Get(ctx, incidentID)
	if err != nil {
		return Postmortem{}, err
	}
	pm := Postmortem{IncidentID: incidentID, Actions: []ActionItem{}}
	var updated time.Time
	err = s.db.R.QueryRowContext(ctx, `SELECT body, updated_at FROM postmortems WHERE incident_id = $1`, incidentID).Scan(&pm.Body, &updated)
	switch {
	case err == nil:
		pm.Saved = true
		u := updated.UTC()
		pm.UpdatedAt = &u
	case errors.Is(err, sql.ErrNoRows):
		tl, err := s.Timeline(ctx, incidentID)
		if err != nil {
			return pm, err
		}
		pm.Body = draftPostmortem(inc, tl)
	default:
		return pm, fmt.Errorf("incident: postmortem of %d: %w", incidentID, store.MapError(err))
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT a.id, a.text, a.owner_id, COALESCE(u.username, ''), a.due_on, a.done
		FROM postmortem_actions a LEFT JOIN users u ON u.id = a.owner_id WHERE a.incident_id = $1 ORDER BY a.id`, incidentID)
	if err != nil {
		return pm, fmt.Errorf("incident: action items of %d: %w", incidentID, store.MapError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var a ActionItem
		var owner sql.NullInt64
		if err := rows.Scan(&a.ID, &a.Text, &owner, &a.OwnerName, &a.DueOn, &a.Done); err != nil {
			return pm, fmt.Errorf("incident: action items of %d: %w", incidentID, err)
		}
		a.OwnerID = ptrInt64(owner)
		pm.Actions = append(pm.Actions, a)
	}
	return pm, rows.Err()
}

// draftPostmortem pre-fills a postmortem from the incident and its timeline.
func draftPostmortem(inc Incident, tl []TimelineEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Postmortem: #%d %s\n\n", inc.ID, inc.Title)
	fmt.Fprintf(&b, "Severity %s, priority %s. Opened %s", inc.Severity, inc.Priority, inc.CreatedAt.Format("2006-01-02 15:04Z"))
	if inc.AcknowledgedAt != nil {
		fmt.Fprintf(&b, ", acknowledged after %s", inc.AcknowledgedAt.Sub(inc.CreatedAt).Round(time.Second))
	}
	if inc.ResolvedAt != nil {
		fmt.Fprintf(&b, ", resolved after %s", inc.ResolvedAt.Sub(inc.CreatedAt).Round(time.Second))
	}
	b.WriteString(".\n\n## Summary\n\nWhat happened, in two or three sentences.\n\n## Impact\n\nWho was affected, how, and for how long.\n\n## Timeline (UTC)\n\n")
	for _, e := range tl {
		fmt.Fprintf(&b, "- %s %s: %s\n", e.At.Format("2006-01-02 15:04:05"), e.Kind, e.Text)
	}
	b.WriteString("\n## Root cause\n\n## What went well\n\n## What went badly\n\n## Action items\n\nSee the list below the document.\n")
	return b.String()
}

// SavePostmortem stores an incident's postmortem document.
func (s *Service) SavePostmortem(ctx context.Context, incidentID int64, body string) error {
	if err := valid.Text("body", body, true, 100000, true); err != nil {
		return err
	}
	now := s.now().UTC()
	actor := auth.ActorFrom(ctx).Name
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO postmortems (incident_id, body, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (incident_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`, incidentID, body, actor, now)
		if err != nil {
			err = store.MapError(err)
			if errors.Is(err, store.ErrReference) {
				return fmt.Errorf("incident: postmortem of %d: %w", incidentID, store.ErrNotFound)
			}
			return fmt.Errorf("incident: postmortem of %d: %w", incidentID, err)
		}
		return auth.Audit(ctx, tx, "postmortem.save", "incident", strconv.FormatInt(incidentID, 10), "")
	})
}

// AddActionItem adds a follow-up to an incident's postmortem.
func (s *Service) AddActionItem(ctx context.Context, incidentID int64, a ActionItem) (ActionItem, error) {
	a.Text = strings.TrimSpace(a.Text)
	if err := valid.Text("text", a.Text, true, 1000, false); err != nil {
		return a, err
	}
	if a.DueOn != "" {
		if _, err := time.Parse(time.DateOnly, a.DueOn); err != nil {
			return a, valid.Errorf("due_on", "must be a date such as 2026-12-31")
		}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if a.OwnerID != nil {
			if err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, *a.OwnerID).Scan(&a.OwnerName); err != nil {
				return valid.Errorf("owner_id", "names no user")
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO postmortem_actions (incident_id, text, owner_id, due_on, done, created_at) VALUES ($1, $2, $3, $4, FALSE, $5) RETURNING id`,
			incidentID, a.Text, nullInt64(a.OwnerID), a.DueOn, s.now().UTC()).Scan(&a.ID); err != nil {
			err = store.MapError(err)
			if errors.Is(err, store.ErrReference) {
				return fmt.Errorf("incident: action item for %d: %w", incidentID, store.ErrNotFound)
			}
			return fmt.Errorf("incident: action item for %d: %w", incidentID, err)
		}
		return auth.Audit(ctx, tx, "postmortem.action_add", "incident", strconv.FormatInt(incidentID, 10), a.Text)
	})
	return a, err
}

// SetActionDone marks an action item done or not done.
func (s *Service) SetActionDone(ctx context.Context, incidentID, actionID int64, done bool) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE postmortem_actions SET done = $3 WHERE id = $2 AND incident_id = $1`, incidentID, actionID, done)
		if err != nil {
			return fmt.Errorf("incident: action item %d: %w", actionID, store.MapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("incident: action item %d: %w", actionID, store.ErrNotFound)
		}
		return auth.Audit(ctx, tx, "postmortem.action_done", "incident", strconv.FormatInt(incidentID, 10), strconv.FormatInt(actionID, 10)+" "+strconv.FormatBool(done))
	})
}
