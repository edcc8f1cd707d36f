package agent

import (
	"context"
	"net/http"
	"time"
)

// sendLoop sends the spool oldest first until ctx ends.
func (a *agent) sendLoop(ctx context.Context) {
	failures := 0 // consecutive failed attempts, for the backoff
	for ctx.Err() == nil {
		seq, body, ok, err := a.spool.oldest()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-a.wake:
			}
			continue
		}
		if err != nil {
			a.log.Error("agent: spooled report unreadable; dropped", "seq", seq, "err", err)
			a.spool.remove(seq)
			continue
		}
		res, err := a.sendOne(ctx, body)
		if err != nil {
			if ctx.Err() != nil {
				return // shutting down: the report stays spooled
			}
			a.retryLater(ctx, &failures, "agent: server unreachable; keeping reports in the spool", "seq", seq, "err", err)
			continue
		}
		switch {
		case res.Status == http.StatusOK:
			a.spool.remove(seq)
			if failures > 0 {
				n, _, _, _ := a.spool.stats()
				a.log.Info("agent: server reachable again", "seq", seq, "still_spooled", n)
			}
			failures = 0
			if res.OK.NeedSoftware {
				a.needSoftware.Store(true)
			}
			if s := res.OK.IntervalSeconds; a.followServer && s > 0 {
				d := min(max(time.Duration(s)*time.Second, MinInterval), maxInterval)
				if old := time.Duration(a.interval.Swap(int64(d))); old != d {
					a.log.Info("agent: interval set by the server", "interval", d)
					select {
					case a.intervalChanged <- struct{}{}:
					default:
					}
				}
			}
		case res.Status == http.StatusConflict:
			// Replay: the server already has every seq up to accepted_seq.
			acc := res.Err.AcceptedSeq
			if acc < seq {
				acc = seq // the server refuses this one as a replay all the same
			}
			n := a.spool.removeThrough(acc)
			a.skipSeqPast(acc)
			a.log.Info("agent: server already had these reports; dropped them from the spool", "through_seq", acc, "dropped", n)
			failures = 0
		case res.Status == http.StatusBadRequest || res.Status == http.StatusRequestEntityTooLarge:
			// This report will never be accepted; holding it would block
			// every report after it.
			a.spool.remove(seq)
			a.log.Error("agent: server refused a report; dropped it", "seq", seq, "answer", res.Text)
			failures = 0
		case res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden:
			// Revoked or unknown credential: keep everything and retry slowly,
			// an admin may fix it by re-enrolling or un-revoking.
			d := a.backoff(30)
			a.log.Warn("agent: server refused the credential; keeping reports", "seq", seq, "answer", res.Text, "retry_in", d.Round(time.Millisecond))
			sleep(ctx, d)
		default:
			a.retryLater(ctx, &failures, "agent: server error; keeping reports in the spool", "seq", seq, "answer", res.Text)
		}
	}
}

// retryLater logs a failed send (warn on the first of a run, debug after)
// and waits the backoff.
func (a *agent) retryLater(ctx context.Context, failures *int, msg string, args ...any) {
	d := a.backoff(*failures)
	args = append(args, "retry_in", d.Round(time.Millisecond))
	if *failures == 0 {
		a.log.Warn(msg, args...)
	} else {
		a.log.Debug(msg, args...)
	}
	*failures++
	sleep(ctx, d)
}

// shutdownGrace is how long a report already in flight may finish after
// the agent is told to stop, so a clean stop rarely leaves a delivered
// report in the spool (it would be answered 409 at the next start).
const shutdownGrace = 3 * time.Second

func (a *agent) sendOne(ctx context.Context, body []byte) (sendResult, error) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(shutdownGrace, cancel)
		<-rctx.Done()
		t.Stop()
	})
	defer stop()
	return a.client.send(rctx, a.credential, body)
}
