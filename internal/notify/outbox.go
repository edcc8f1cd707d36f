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

// Notification is one outbox row.
type Notification struct {
	ID            int64      `json:"id"`
	Key           string     `json:"idempotency_key"`
	ChannelID     int64      `json:"channel_id,omitempty"`
	ChannelKind   string     `json:"channel_kind"`
	ChannelName   string     `json:"channel_name"`
	Address       string     `json:"address,omitempty"`
	UserID        int64      `json:"user_id,omitempty"`
	Ref           Ref        `json:"ref"`
	Title         string     `json:"title"`
	Message       Message    `json:"message"`
	Status        Status     `json:"status"`
	Attempts      int        `json:"attempts"`
	NotBefore     time.Time  `json:"not_before"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// target is one destination a message is queued to.
type target struct {
	key         string
	channelID   int64
	kind, name  string
	address     string
	userID      int64
	delay       time.Duration
	channelLive bool
}

// NotifyUser expands the user's notification rules into outbox rows (a rule
// with a delay gets not_before = now + delay). key is the idempotency key
// prefix (e.g. "inc42/esc1/r0/u7"); each row's key is key + "/" + rule id,
// UNIQUE in the outbox, so a retried call adds nothing. A user with contact
// methods but no rules is paged on every contact method at once (keys
// key + "/m" + method id). Disabled channels are skipped. Returns how many
// rows were queued (0 if the user has no contact methods — the caller
// records that on the timeline). It writes through q, the caller's
// transaction.
func (s *Service) NotifyUser(ctx context.Context, q store.Querier, userID int64, ref Ref, key string, m Message) (int, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := checkMessage(m); err != nil {
		return 0, err
	}
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.delay_minutes, c.id, c.address, ch.id, ch.kind, ch.name, ch.enabled
		FROM notification_rules r JOIN contact_methods c ON c.id = r.contact_method_id
		JOIN notification_channels ch ON ch.id = c.channel_id
		WHERE r.user_id = $1 ORDER BY r.delay_minutes, r.id`, userID)
	if err != nil {
		return 0, fmt.Errorf("notify: rules of user %d: %w", userID, err)
	}
	var ts []target
	for rows.Next() {
		var ruleID, cmID int64
		var delay int
		t := target{userID: userID}
		if err := rows.Scan(&ruleID, &delay, &cmID, &t.address, &t.channelID, &t.kind, &t.name, &t.channelLive); err != nil {
			rows.Close()
			return 0, fmt.Errorf("notify: rules of user %d: %w", userID, err)
		}
		t.key, t.delay = key+"/"+strconv.FormatInt(ruleID, 10), time.Duration(delay)*time.Minute
		ts = append(ts, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("notify: rules of user %d: %w", userID, err)
	}
	if len(ts) == 0 {
		if ts, err = s.methodTargets(ctx, q, userID, key); err != nil {
			return 0, err
		}
	}
	return s.enqueue(ctx, q, ts, ref, m)
}

// methodTargets pages every contact method of a user without rules.
func (s *Service) methodTargets(ctx context.Context, q store.Querier, userID int64, key string) ([]target, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.address, ch.id, ch.kind, ch.name, ch.enabled FROM contact_methods c
		JOIN notification_channels ch ON ch.id = c.channel_id WHERE c.user_id = $1 ORDER BY c.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("notify: contact methods of user %d: %w", userID, err)
	}
	defer rows.Close()
	var ts []target
	for rows.Next() {
		var cmID int64
		t := target{userID: userID}
		if err := rows.Scan(&cmID, &t.address, &t.channelID, &t.kind, &t.name, &t.channelLive); err != nil {
			return nil, fmt.Errorf("notify: contact methods of user %d: %w", userID, err)
		}
		t.key = key + "/m" + strconv.FormatInt(cmID, 10)
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// NotifyChannel queues one message to a team channel (Slack room etc.),
// with the idempotency key key + "/c" + channel id. It writes through q,
// the caller's transaction. A disabled channel queues nothing and returns
// ErrChannelDisabled.
func (s *Service) NotifyChannel(ctx context.Context, q store.Querier, channelID int64, ref Ref, key string, m Message) (int, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := checkMessage(m); err != nil {
		return 0, err
	}
	t := target{key: key + "/c" + strconv.FormatInt(channelID, 10), channelID: channelID}
	err := q.QueryRowContext(ctx, `SELECT kind, name, enabled FROM notification_channels WHERE id = $1`, channelID).Scan(&t.kind, &t.name, &t.channelLive)
	if err != nil {
		return 0, fmt.Errorf("notify: channel %d: %w", channelID, store.MapError(err))
	}
	if !t.channelLive {
		return 0, ErrChannelDisabled
	}
	return s.enqueue(ctx, q, []target{t}, ref, m)
}

// enqueue inserts one row per live target; an existing key adds nothing.
func (s *Service) enqueue(ctx context.Context, q store.Querier, ts []target, ref Ref, m Message) (int, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("notify: encode message: %w", err)
	}
	now := s.now().UTC()
	n := 0
	for _, t := range ts {
		if !t.channelLive {
			continue
		}
		due := now.Add(t.delay)
		res, err := q.ExecContext(ctx, `INSERT INTO notifications (idem_key, channel_id, channel_kind, channel_name, address, user_id, ref_kind, ref_id,
			title, message, status, attempts, not_before, next_attempt_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11, $11, $12, $12) ON CONFLICT (idem_key) DO NOTHING`,
			t.key, t.channelID, t.kind, t.name, t.address, nullID(t.userID), ref.Kind, ref.ID, m.Title, string(body), due, now)
		if err != nil {
			return n, fmt.Errorf("notify: queue %s: %w", t.key, store.MapError(err))
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
			s.stats.queued.WithLabelValues(t.kind).Inc()
		}
	}
	if n > 0 {
		s.Wake()
	}
	return n, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CancelPending cancels queued, not-yet-sent rows for ref (used on ack):
// pending rows and failed rows waiting for a retry. A row being sent right
// now is not stopped. It writes through q, the caller's transaction.
func (s *Service) CancelPending(ctx context.Context, q store.Querier, ref Ref) (int, error) {
	res, err := q.ExecContext(ctx, `UPDATE notifications SET status = 'cancelled', updated_at = $1
		WHERE ref_kind = $2 AND ref_id = $3 AND status IN ('pending', 'failed')`, s.now().UTC(), ref.Kind, ref.ID)
	if err != nil {
		return 0, fmt.Errorf("notify: cancel %s %d: %w", ref.Kind, ref.ID, err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		if err := auth.Audit(ctx, q, "notify.cancel", ref.Kind, strconv.FormatInt(ref.ID, 10), fmt.Sprintf("%d queued notifications cancelled", n)); err != nil {
			return 0, err
		}
	}
	return int(n), nil
}

// Filter selects outbox rows; empty fields match everything.
type Filter struct {
	Status    Status
	RefKind   string
	RefID     int64
	UserID    int64
	ChannelID int64
	// Before is the cursor: only rows with a smaller id are listed.
	Before int64
	// Limit is the page size: 50 when unset, at most 500.
	Limit int
}

const notificationCols = `id, idem_key, COALESCE(channel_id, 0), channel_kind, channel_name, address, COALESCE(user_id, 0), ref_kind, ref_id,
	title, message, status, attempts, not_before, next_attempt_at, last_error, created_at, updated_at, delivered_at`

func scanNotification(row interface{ Scan(...any) error }) (Notification, error) {
	var n Notification
	var msg, status string
	var delivered store.NullTime
	if err := row.Scan(&n.ID, &n.Key, &n.ChannelID, &n.ChannelKind, &n.ChannelName, &n.Address, &n.UserID, &n.Ref.Kind, &n.Ref.ID,
		&n.Title, &msg, &status, &n.Attempts, &n.NotBefore, &n.NextAttemptAt, &n.LastError, &n.CreatedAt, &n.UpdatedAt, &delivered); err != nil {
		return n, err
	}
	_ = json.Unmarshal([]byte(msg), &n.Message)
	n.Status = Status(status)
	n.NotBefore, n.NextAttemptAt, n.CreatedAt, n.UpdatedAt = n.NotBefore.UTC(), n.NextAttemptAt.UTC(), n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	if delivered.Valid {
		t := delivered.Time
		n.DeliveredAt = &t
	}
	return n, nil
}

// Notifications lists outbox rows newest first, and the cursor of the next
// page (0 when there is none).
func (s *Service) Notifications(ctx context.Context, f Filter) ([]Notification, int64, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 500:
		f.Limit = 500
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.RefKind != "" {
		add("ref_kind = $%d", f.RefKind)
	}
	if f.RefID != 0 {
		add("ref_id = $%d", f.RefID)
	}
	if f.UserID != 0 {
		add("user_id = $%d", f.UserID)
	}
	if f.ChannelID != 0 {
		add("channel_id = $%d", f.ChannelID)
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	q := `SELECT ` + notificationCols + ` FROM notifications`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit+1)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("notify: list notifications: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("notify: list notifications: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("notify: list notifications: %w", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// Notification returns one outbox row.
func (s *Service) Notification(ctx context.Context, id int64) (Notification, error) {
	n, err := scanNotification(s.db.R.QueryRowContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE id = $1`, id))
	if err != nil {
		return Notification{}, fmt.Errorf("notify: notification %d: %w", id, store.MapError(err))
	}
	return n, nil
}

// ErrNotRetryable is returned by RetryNow for a row that is delivered or
// being sent.
var ErrNotRetryable = errors.New("notify: only pending, failed, given-up or cancelled notifications can be retried")

// RetryNow makes a row due at once. A given-up or cancelled row starts
// over: its attempts and age count from now.
func (s *Service) RetryNow(ctx context.Context, id int64) (Notification, error) {
	now := s.now().UTC()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM notifications WHERE id = $1`, id).Scan(&status); err != nil {
			return fmt.Errorf("notify: retry %d: %w", id, store.MapError(err))
		}
		var err error
		switch Status(status) {
		case StatusPending, StatusFailed:
			_, err = tx.ExecContext(ctx, `UPDATE notifications SET next_attempt_at = $1, updated_at = $1 WHERE id = $2`, now, id)
		case StatusGivenUp, StatusCancelled:
			_, err = tx.ExecContext(ctx, `UPDATE notifications SET status = 'pending', attempts = 0, not_before = $1, next_attempt_at = $1, updated_at = $1 WHERE id = $2`, now, id)
		default:
			return valid.Errorf("status", "is %s: %s", status, ErrNotRetryable.Error())
		}
		if err != nil {
			return fmt.Errorf("notify: retry %d: %w", id, err)
		}
		return auth.Audit(ctx, tx, "notify.notification.retry", "notification", strconv.FormatInt(id, 10), "was "+status)
	})
	if err != nil {
		return Notification{}, err
	}
	s.Wake()
	return s.Notification(ctx, id)
}
