package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
)

// After a wake-up the worker looks again every recheckEvery for
// recheckFor: an enqueue signals before its caller's transaction commits,
// and on PostgreSQL the first looks may not see the row yet. (On SQLite
// the single writer connection makes the claim wait for the commit.) A
// look finding nothing is one indexed query.
const (
	recheckEvery = 5 * time.Millisecond
	recheckFor   = 300 * time.Millisecond
)

// Run is the worker: it claims due rows with a lease, sends them with at
// most Options.Concurrency in flight, records each outcome and retries with
// backoff until delivered or given up. It wakes at once on enqueue and
// polls otherwise; it returns when ctx ends and sends in flight finished.
func (s *Service) Run(ctx context.Context) error {
	var wg, bw sync.WaitGroup
	batchCtx, stopBatch := context.WithCancel(context.WithoutCancel(ctx))
	bw.Go(func() { s.finished.Run(batchCtx) })
	defer func() {
		wg.Wait() // sends in flight finish and hand in their outcomes
		stopBatch()
		bw.Wait()
	}()
	done := make(chan struct{}, s.opts.Concurrency)
	inflight := 0
	var recheckUntil time.Time // look again often until then, after a wake-up
	timer := time.NewTimer(0)
	defer timer.Stop()
	var backlog []claimed
	for {
		wait := s.opts.PollInterval
		if free := s.opts.Concurrency - inflight; free > 0 {
			// Claim a whole round at once rather than one row per freed
			// slot: claims are writes, and a claimed row waits here only
			// while the sends before it run, far inside its lease.
			fetched := 0
			if len(backlog) == 0 {
				claimed, err := s.claim(ctx, s.opts.Concurrency)
				if err != nil && ctx.Err() == nil {
					s.log.Error("notify: claim due notifications", "err", err)
				}
				backlog, fetched = claimed, len(claimed)
			}
			for inflight < s.opts.Concurrency && len(backlog) > 0 {
				c := backlog[0]
				backlog = backlog[1:]
				inflight++
				wg.Go(func() {
					defer func() { done <- struct{}{} }()
					s.deliver(ctx, c)
				})
			}
			// With rows left or every slot taken, a finished send wakes
			// the loop; otherwise sleep until the earliest row is due.
			if len(backlog) == 0 && inflight < s.opts.Concurrency && fetched < s.opts.Concurrency {
				if next, ok := s.nextDue(ctx); ok {
					wait = min(wait, next.Sub(s.now()))
				}
			}
		}
		if time.Now().Before(recheckUntil) {
			wait = min(wait, recheckEvery)
		}
		// A floor keeps a row that cannot be claimed (a failing database)
		// from spinning the loop.
		timer.Reset(max(wait, 5*time.Millisecond))
		select {
		case <-ctx.Done():
			s.release(backlog)
			return nil
		case <-s.wake:
			// Look now, and again shortly in case the row's transaction
			// had not committed at the first look.
			recheckUntil = time.Now().Add(recheckFor)
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
	ch      Channel // built from the channel's settings at claim time
	chErr   error
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
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("notify: claim: %w", err)
	}
	rows.Close()
	// Each channel's settings are read and parsed once per claim.
	built := map[int64]claimed{}
	for i := range out {
		c := &out[i]
		b, ok := built[c.ChannelID]
		if !ok {
			b.ch, b.chErr = s.buildChannel(ctx, c.ChannelID, c.ChannelName)
			built[c.ChannelID] = b
		}
		c.ch, c.chErr = b.ch, b.chErr
	}
	return out, nil
}

// buildChannel loads and parses a channel for sending. Errors that will
// not go away by waiting are permanent.
func (s *Service) buildChannel(ctx context.Context, id int64, name string) (Channel, error) {
	if id == 0 {
		return nil, permanent("notify: the channel was deleted")
	}
	var kind, settings string
	var enabled bool
	err := s.db.R.QueryRowContext(ctx, `SELECT kind, settings, enabled FROM notification_channels WHERE id = $1`, id).Scan(&kind, &settings, &enabled)
	if err != nil {
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return nil, permanent("notify: the channel was deleted")
		}
		return nil, fmt.Errorf("notify: load channel: %w", err)
	}
	if !enabled {
		return nil, permanent("notify: the channel %q is disabled", name)
	}
	k, ok := KindByName(kind)
	if !ok {
		return nil, permanent("notify: unknown channel kind %q", kind)
	}
	opened, err := s.openSettings(kind, []byte(settings))
	if err != nil {
		return nil, permanent("notify: the channel's secrets cannot be opened: %w", err)
	}
	ch, err := k.parse(opened, s.env)
	if err != nil {
		return nil, permanent("notify: the channel's settings no longer validate: %w", err)
	}
	return ch, nil
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
	if c.chErr != nil {
		return c.chErr
	}
	var m Message
	if err := json.Unmarshal([]byte(c.message), &m); err != nil {
		return permanent("notify: stored message unreadable: %w", err)
	}
	return c.ch.Send(ctx, Delivery{Key: c.Key, Address: c.Address, Message: m, Ref: c.Ref, Attempt: c.Attempts})
}

// release hands claimed rows that were never sent back to the queue on
// shutdown, so the next start sends them at once instead of after the
// lease.
func (s *Service) release(rows []claimed) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := s.now().UTC()
	for _, c := range rows {
		if _, err := s.db.W.ExecContext(ctx, `UPDATE notifications SET status = 'pending', attempts = attempts - 1, next_attempt_at = $1, updated_at = $1
			WHERE id = $2 AND status = 'sending' AND attempts = $3`, now, c.ID, c.Attempts); err != nil {
			s.log.Warn("notify: release unsent row; it is sent after its lease", "notification_id", c.ID, "err", err)
		}
	}
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

// finishReq is one attempt's outcome on its way to the database; applied
// is set by the batch that writes it.
type finishReq struct {
	attempt  int
	rowID    int64
	status   Status
	errText  string
	at, next time.Time
	applied  bool
}

// finish records an attempt's outcome. Outcomes are written in batches
// (group commit: one transaction for all that finished meanwhile), and
// each update applies only while the row is still this attempt's (status
// sending, same attempt number): if the lease ran out and another attempt
// took it, or it was cancelled, this one's late result is dropped.
func (s *Service) finish(ctx context.Context, c claimed, sendErr error) {
	now := s.now().UTC()
	o := Outcome{NotificationID: c.ID, Ref: c.Ref, UserID: c.UserID, Channel: c.ChannelName, Attempt: c.Attempts, At: now}
	req := &finishReq{rowID: c.ID, attempt: c.Attempts, at: now}
	switch {
	case sendErr == nil:
		req.status = StatusDelivered
	default:
		o.Err = clip(sendErr.Error(), 1000)
		req.errText = o.Err
		var pe *PermanentError
		if errors.As(sendErr, &pe) || c.Attempts >= s.opts.MaxAttempts || now.Sub(c.NotBefore) >= s.opts.MaxAge {
			req.status = StatusGivenUp
		} else {
			req.status = StatusFailed
			req.next = now.Add(s.backoff(c.Attempts))
		}
	}
	o.Status = string(req.status)
	if err := s.finished.Add(ctx, req); err != nil {
		// The lease runs out and the row is sent again: at-least-once.
		s.log.Error("notify: record outcome", "notification_id", c.ID, "err", err)
		return
	}
	if !req.applied {
		s.log.Warn("notify: outcome dropped: the row was re-claimed or cancelled meanwhile", "notification_id", c.ID, "attempt", c.Attempts, "outcome", o.Status)
		return
	}
	s.stats.outcomes.WithLabelValues(c.ChannelKind, o.Status).Inc()
	switch req.status {
	case StatusDelivered:
		s.stats.delay.WithLabelValues(c.ChannelKind).Observe(now.Sub(c.NotBefore).Seconds())
		s.log.Debug("notification delivered", "notification_id", c.ID, "channel", c.ChannelName, "attempt", c.Attempts)
	case StatusFailed:
		s.log.Warn("notification failed; will retry", "notification_id", c.ID, "channel", c.ChannelName, "attempt", c.Attempts, "err", o.Err)
	default:
		s.log.Error("notification given up", "notification_id", c.ID, "channel", c.ChannelName, "attempt", c.Attempts, "err", o.Err)
	}
	if s.opts.OnOutcome != nil {
		s.opts.OnOutcome(ctx, o)
	}
}

// writeOutcomes is the batch writer of finish.
func (s *Service) writeOutcomes(ctx context.Context, tx *sql.Tx, reqs []*finishReq) error {
	for _, r := range reqs {
		var res sql.Result
		var err error
		switch r.status {
		case StatusDelivered:
			res, err = tx.ExecContext(ctx, `UPDATE notifications SET status = 'delivered', delivered_at = $1, updated_at = $1, last_error = ''
				WHERE id = $2 AND status = 'sending' AND attempts = $3`, r.at, r.rowID, r.attempt)
		case StatusGivenUp:
			res, err = tx.ExecContext(ctx, `UPDATE notifications SET status = 'given_up', last_error = $1, updated_at = $2
				WHERE id = $3 AND status = 'sending' AND attempts = $4`, r.errText, r.at, r.rowID, r.attempt)
		default:
			res, err = tx.ExecContext(ctx, `UPDATE notifications SET status = 'failed', last_error = $1, next_attempt_at = $2, updated_at = $3
				WHERE id = $4 AND status = 'sending' AND attempts = $5`, r.errText, r.next, r.at, r.rowID, r.attempt)
		}
		if err != nil {
			return fmt.Errorf("notify: record outcome of %d: %w", r.rowID, err)
		}
		n, _ := res.RowsAffected()
		r.applied = n > 0
	}
	return nil
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
