package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// recheckAfterWake is how soon the worker looks again after a wake-up: an
// enqueue signals before its caller's transaction commits, and on
// PostgreSQL the first look may not see the row yet. (On SQLite the
// single writer connection makes the claim wait for the commit.)
const recheckAfterWake = 25 * time.Millisecond

// Run is the worker: it claims due rows with a lease, sends them with at
// most Options.Concurrency in flight, records each outcome and retries with
// backoff until delivered or given up. It wakes at once on enqueue and
// polls otherwise; it returns when ctx ends and sends in flight finished.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{}, s.opts.Concurrency)
	inflight := 0
	var recheckAt time.Time
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait := s.opts.PollInterval
		if free := s.opts.Concurrency - inflight; free > 0 {
			claimed, err := s.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				s.log.Error("notify: claim due notifications", "err", err)
			}
			for _, c := range claimed {
				inflight++
				wg.Go(func() {
					defer func() { done <- struct{}{} }()
					s.deliver(ctx, c)
				})
			}
			// With every slot taken, a finished send wakes the loop;
			// otherwise sleep until the earliest waiting row is due.
			if len(claimed) < free {
				if next, ok := s.nextDue(ctx); ok {
					wait = min(wait, next.Sub(s.now()))
				}
			}
		}
		if !recheckAt.IsZero() {
			wait = min(wait, recheckAt.Sub(s.now()))
			recheckAt = time.Time{}
		}
		// A floor keeps a row that cannot be claimed (a failing database)
		// from spinning the loop.
		timer.Reset(max(wait, 5*time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
			// Look now, and once more shortly in case the row's
			// transaction had not committed at the first look.
			recheckAt = s.now().Add(recheckAfterWake)
		case <-done:
			inflight--
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		for drained := false; !drained; {
			select {
			case <-done:
				inflight--
			default:
				drained = true
			}
		}
	}
}

// claimed is a row taken for sending.
type claimed struct {
	Notification
	message string
}

// claim takes up to n due rows: pending ones past not_before, failed ones
// past their backoff, and ones left in sending whose lease ran out (their
// worker crashed). The outer conditions repeat the inner ones so that on
// PostgreSQL a row claimed by a concurrent claimer is skipped when the
// row is re-read after its lock is released.
func (s *Service) claim(ctx context.Context, n int) ([]claimed, error) {
	now := s.now().UTC()
	lease := now.Add(s.opts.Lease)
	rows, err := s.db.W.QueryContext(ctx, `UPDATE notifications SET status = 'sending', attempts = attempts + 1, next_attempt_at = $1, updated_at = $2
		WHERE status IN ('pending', 'failed', 'sending') AND next_attempt_at <= $2 AND id IN (
			SELECT id FROM notifications WHERE status IN ('pending', 'failed', 'sending') AND next_attempt_at <= $2
			ORDER BY next_attempt_at, id LIMIT $3)
		RETURNING id, idem_key, COALESCE(channel_id, 0), channel_kind, channel_name, address, COALESCE(user_id, 0), ref_kind, ref_id, message, attempts, not_before`,
		lease, now, n)
	if err != nil {
		return nil, fmt.Errorf("notify: claim: %w", err)
	}
	defer rows.Close()
	var out []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.ID, &c.Key, &c.ChannelID, &c.ChannelKind, &c.ChannelName, &c.Address, &c.UserID, &c.Ref.Kind, &c.Ref.ID,
			&c.message, &c.Attempts, &c.NotBefore); err != nil {
			return out, fmt.Errorf("notify: claim: %w", err)
		}
		c.NotBefore = c.NotBefore.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// nextDue returns when the earliest waiting row comes due.
func (s *Service) nextDue(ctx context.Context) (time.Time, bool) {
	var t store.NullTime
	err := s.db.R.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM notifications WHERE status IN ('pending', 'failed', 'sending')`).Scan(&t)
	if err != nil || !t.Valid {
		return time.Time{}, false
	}
	return t.Time, true
}

// deliver sends one claimed row and records the outcome. The send is not
// cut short by shutdown (it is bounded by its own timeout), so a stop does
// not turn a send in progress into a duplicate.
func (s *Service) deliver(ctx context.Context, c claimed) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	start := s.now()
	err := s.send(sctx, c)
	s.stats.sendSeconds.WithLabelValues(c.ChannelKind).Observe(time.Since(start).Seconds())
	s.finish(context.WithoutCancel(ctx), c, err)
}

func (s *Service) send(ctx context.Context, c claimed) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("notify: channel %s failed internally: %v", c.ChannelKind, v)
		}
	}()
	if c.ChannelID == 0 {
		return permanent("notify: the channel was deleted")
	}
	var kind, settings string
	var enabled bool
	err = s.db.R.QueryRowContext(ctx, `SELECT kind, settings, enabled FROM notification_channels WHERE id = $1`, c.ChannelID).Scan(&kind, &settings, &enabled)
	if err != nil {
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return permanent("notify: the channel was deleted")
		}
		return fmt.Errorf("notify: load channel: %w", err)
	}
	if !enabled {
		return permanent("notify: the channel %q is disabled", c.ChannelName)
	}
	k, ok := KindByName(kind)
	if !ok {
		return permanent("notify: unknown channel kind %q", kind)
	}
	ch, err := k.parse([]byte(settings), s.env)
	if err != nil {
		return permanent("notify: the channel's settings no longer validate: %w", err)
	}
	var m Message
	if err := json.Unmarshal([]byte(c.message), &m); err != nil {
		return permanent("notify: stored message unreadable: %w", err)
	}
	return ch.Send(ctx, Delivery{Key: c.Key, Address: c.Address, Message: m, Ref: c.Ref, Attempt: c.Attempts})
}

// backoff is the delay before retry number attempt+1: base·2^(attempt-1)
// capped at max, times a jitter in [0.8, 1.2) so that rows failed together
// do not retry together.
func (s *Service) backoff(attempt int) time.Duration {
	d := s.opts.BackoffBase
	for i := 1; i < attempt && d < s.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.opts.BackoffMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// finish records an attempt's outcome. The update only applies while the
// row is still this attempt's (status sending, same attempt number): if
// the lease ran out and another attempt took it, or it was cancelled,
// this one's late result is dropped.
func (s *Service) finish(ctx context.Context, c claimed, sendErr error) {
	now := s.now().UTC()
	o := Outcome{NotificationID: c.ID, Ref: c.Ref, UserID: c.UserID, Channel: c.ChannelName, Attempt: c.Attempts, At: now}
	var res interface{ RowsAffected() (int64, error) }
	var err error
	switch {
	case sendErr == nil:
		o.Status = string(StatusDelivered)
		res, err = s.db.W.ExecContext(ctx, `UPDATE notifications SET status = 'delivered', delivered_at = $1, updated_at = $1, last_error = ''
			WHERE id = $2 AND status = 'sending' AND attempts = $3`, now, c.ID, c.Attempts)
	default:
		o.Err = clip(sendErr.Error(), 1000)
		var pe *PermanentError
		giveUp := errors.As(sendErr, &pe) || c.Attempts >= s.opts.MaxAttempts || now.Sub(c.NotBefore) >= s.opts.MaxAge
		if giveUp {
			o.Status = string(StatusGivenUp)
			res, err = s.db.W.ExecContext(ctx, `UPDATE notifications SET status = 'given_up', last_error = $1, updated_at = $2
				WHERE id = $3 AND status = 'sending' AND attempts = $4`, o.Err, now, c.ID, c.Attempts)
		} else {
			o.Status = string(StatusFailed)
			res, err = s.db.W.ExecContext(ctx, `UPDATE notifications SET status = 'failed', last_error = $1, next_attempt_at = $2, updated_at = $3
				WHERE id = $4 AND status = 'sending' AND attempts = $5`, o.Err, now.Add(s.backoff(c.Attempts)), now, c.ID, c.Attempts)
		}
	}
	if err != nil {
		// The lease runs out and the row is sent again: at-least-once.
		s.log.Error("notify: record outcome", "notification_id", c.ID, "err", err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		s.log.Warn("notify: outcome dropped: the row was re-claimed or cancelled meanwhile", "notification_id", c.ID, "attempt", c.Attempts, "outcome", o.Status)
		return
	}
	s.stats.outcomes.WithLabelValues(c.ChannelKind, o.Status).Inc()
	switch o.Status {
	case string(StatusDelivered):
		s.stats.delay.WithLabelValues(c.ChannelKind).Observe(now.Sub(c.NotBefore).Seconds())
		s.log.Debug("notification delivered", "notification_id", c.ID, "channel", c.ChannelName, "attempt", c.Attempts)
	case string(StatusFailed):
		s.log.Warn("notification failed; will retry", "notification_id", c.ID, "channel", c.ChannelName, "attempt", c.Attempts, "err", o.Err)
	default:
		s.log.Error("notification given up", "notification_id", c.ID, "channel", c.ChannelName, "attempt", c.Attempts, "err", o.Err)
	}
	if s.opts.OnOutcome != nil {
		s.opts.OnOutcome(ctx, o)
	}
}

// oldestDue returns when the oldest due, undelivered row became due.
func (s *Service) oldestDue(ctx context.Context) (time.Time, bool) {
	var t store.NullTime
	err := s.db.R.QueryRowContext(ctx, `SELECT MIN(not_before) FROM notifications WHERE status IN ('pending', 'failed', 'sending') AND not_before <= $1`, s.now().UTC()).Scan(&t)
	if err != nil || !t.Valid {
		return time.Time{}, false
	}
	return t.Time, true
}
