package notify

import (
	"context"
	"database/sql"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

// clock is a settable time source shared by the service and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestCrashedLeaseIsSentAgain simulates a worker that claimed rows and died
// mid-send: the rows stay in sending until the lease runs out, then a new
// worker sends them (at-least-once), with the same idempotency key.
func TestCrashedLeaseIsSentAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Now().UTC()}
		capt := &capture{}
		rcv := newReceiver(t, capt)
		s := NewService(db, Options{Lease: time.Minute, Now: clk.now, PollInterval: 20 * time.Millisecond})
		hook := mustChannel(t, s, "Hook", "webhook", map[string]any{"url": rcv.URL()})
		inTx(t, db, func(tx *sql.Tx) error {
			for i := range 3 {
				if _, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{Kind: "incident", ID: 7}, "crash"+itoa(i), Message{Title: "t"}); err != nil {
					return err
				}
			}
			return nil
		})
		// The "crashed" worker: claims and never finishes.
		got, err := s.claim(ctx, 10)
		if err != nil || len(got) != 3 {
			t.Fatalf("claim: %d rows, %v", len(got), err)
		}
		if n := countStatus(t, db, StatusSending); n != 3 {
			t.Fatalf("sending = %d", n)
		}
		// A new worker does not touch them while the lease holds.
		if again, err := s.claim(ctx, 10); err != nil || len(again) != 0 {
			t.Fatalf("claimed a leased row: %d, %v", len(again), err)
		}
		clk.add(time.Minute + time.Second)
		runWorker(t, s)
		waitFor(t, "the abandoned rows delivered", func() bool { return countStatus(t, db, StatusDelivered) == 3 })
		rows, _, _ := s.Notifications(ctx, Filter{RefKind: "incident", RefID: 7})
		for _, r := range rows {
			if r.Attempts != 2 {
				t.Errorf("row %s: %d attempts, want 2 (the lost one and the resend)", r.Key, r.Attempts)
			}
		}
		// The crashed worker's late result is dropped, not written over the
		// delivery.
		s.finish(ctx, got[0], permanent("too late"))
		if n := countStatus(t, db, StatusDelivered); n != 3 {
			t.Fatalf("a stale outcome changed a delivered row: %d delivered", n)
		}
	})
}

// TestGiveUpAfterMaxAttempts: a receiver that always fails is given up
// after MaxAttempts, reported through OnOutcome and counted in metrics.
func TestGiveUpAfterMaxAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		capt := &capture{status: http.StatusServiceUnavailable}
		rcv := newReceiver(t, capt)
		oc := newOutcomes()
		s := NewService(db, Options{MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, OnOutcome: oc.record})
		hook := mustChannel(t, s, "Hook", "webhook", map[string]any{"url": rcv.URL()})
		runWorker(t, s)
		inTx(t, db, func(tx *sql.Tx) error {
			_, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{Kind: "incident", ID: 9}, "doomed", Message{Title: "t"})
			return err
		})
		var seq []string
		for o := range oc.ch {
			seq = append(seq, o.Status)
			if o.Status == string(StatusGivenUp) {
				if o.Attempt != 3 || o.Ref != (Ref{Kind: "incident", ID: 9}) || o.Channel != "Hook" || o.Err == "" {
					t.Fatalf("given-up outcome: %+v", o)
				}
				break
			}
		}
		if len(seq) != 3 || seq[0] != "failed" || seq[1] != "failed" {
			t.Fatalf("outcomes: %v", seq)
		}
		if len(capt.requests()) != 3 {
			t.Fatalf("receiver got %d requests, want 3", len(capt.requests()))
		}
		n, _, _ := s.Notifications(ctx, Filter{Status: StatusGivenUp})
		if len(n) != 1 || n[0].LastError == "" {
			t.Fatalf("given-up row: %+v", n)
		}
		if v := counterValue(t, s, "opsdeck_notify_attempts_total", map[string]string{"kind": "webhook", "outcome": "given_up"}); v != 1 {
			t.Fatalf("given_up counter = %v", v)
		}
		if v := counterValue(t, s, "opsdeck_notify_outbox_rows", map[string]string{"status": "given_up"}); v != 1 {
			t.Fatalf("given_up gauge = %v", v)
		}
	})
}

// TestPermanentRefusalGivesUpAtOnce: a 4xx that retrying cannot fix is
// given up on the first attempt instead of retried for a day.
func TestPermanentRefusalGivesUpAtOnce(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	capt := &capture{status: http.StatusNotFound}
	rcv := newReceiver(t, capt)
	oc := newOutcomes()
	s := NewService(db, Options{OnOutcome: oc.record})
	hook := mustChannel(t, s, "Hook", "webhook", map[string]any{"url": rcv.URL()})
	runWorker(t, s)
	inTx(t, db, func(tx *sql.Tx) error {
		_, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{}, "gone", Message{Title: "t"})
		return err
	})
	if o := <-oc.ch; o.Status != string(StatusGivenUp) || o.Attempt != 1 {
		t.Fatalf("outcome: %+v", o)
	}
}

// TestDelayedRuleWaitsForNotBefore: a row with a delay is not sent before
// its time, and is once the time comes.
func TestDelayedRuleWaitsForNotBefore(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC()}
	capt := &capture{}
	rcv := newReceiver(t, capt)
	s := NewService(db, Options{Now: clk.now, PollInterval: 10 * time.Millisecond})
	u := addUser(t, db, "dave")
	hook := mustChannel(t, s, "Hook", "webhook", map[string]any{"url": rcv.URL()})
	cm, err := s.AddContactMethod(ctx, u, ContactMethod{ChannelID: hook.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRule(ctx, u, Rule{ContactMethodID: cm.ID, DelayMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	inTx(t, db, func(tx *sql.Tx) error {
		_, err := s.NotifyUser(ctx, tx, u, Ref{Kind: "incident", ID: 1}, "late", Message{Title: "t"})
		return err
	})
	if got, err := s.claim(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("claimed a delayed row early: %d %v", len(got), err)
	}
	clk.add(5 * time.Minute)
	runWorker(t, s)
	waitFor(t, "the delayed row delivered", func() bool { return countStatus(t, db, StatusDelivered) == 1 })
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	s := NewService(nil, Options{BackoffBase: time.Second, BackoffMax: 10 * time.Second})
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 50: 10 * time.Second} {
		for range 20 {
			d := s.backoff(attempt)
			if d < want*8/10 || d >= want*12/10 {
				t.Fatalf("backoff(%d) = %v, want %v ± 20%%", attempt, d, want)
			}
		}
	}
}
