package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestChannelSecretsAreNeverReturned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db, Options{})
		c := mustChannel(t, s, "Ops hook", "webhook", map[string]any{"url": "https://hooks.example/x", "secret": "0123456789abcdef-secret"})
		if strings.Contains(string(c.Settings), "secret-") || len(c.SecretsSet) != 1 || c.SecretsSet[0] != "secret" {
			t.Fatalf("saved channel shows its secret or hides that one is set: %s %v", c.Settings, c.SecretsSet)
		}
		// Saving again without the secret keeps it.
		c2, err := s.SaveChannel(ctx, c.ID, ChannelInput{Name: "Ops hook", Settings: json.RawMessage(`{"url":"https://hooks.example/y"}`)})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := s.channelRaw(ctx, db.R, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw.Settings), "0123456789abcdef-secret") || !strings.Contains(string(c2.Settings), "/y") {
			t.Fatalf("secret lost or URL not changed: stored %s", raw.Settings)
		}
		list, err := s.Channels(ctx)
		if err != nil || len(list) != 1 || strings.Contains(string(list[0].Settings), "secret-") {
			t.Fatalf("list shows a secret: %v %v", list, err)
		}
		// The kind is fixed; the name is unique; every change is audited.
		_, err = s.SaveChannel(ctx, c.ID, ChannelInput{Name: "Ops hook", Kind: "slack", Settings: json.RawMessage(`{}`)})
		wantField(t, err, "kind")
		_, err = s.SaveChannel(ctx, 0, ChannelInput{Name: "Ops hook", Kind: "webhook", Settings: json.RawMessage(`{"url":"https://a.example/"}`)})
		wantField(t, err, "name")
		var audits int
		if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'notify.channel.%' AND detail NOT LIKE '%secret-%'`).Scan(&audits); err != nil || audits != 2 {
			t.Fatalf("audit rows = %d, %v; want 2 without the secret", audits, err)
		}
		if err := s.DeleteChannel(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Channel(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted channel: %v", err)
		}
	})
}

func TestNotifyUserExpandsRulesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
		s := NewService(db, Options{Now: func() time.Time { return now }})
		alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
		mail := mustChannel(t, s, "Mail", "email", map[string]any{"host": "smtp.example.com", "from": "ops@example.com"})
		hook := mustChannel(t, s, "Hook", "webhook", map[string]any{"url": "https://hooks.example/x"})
		cmMail, err := s.AddContactMethod(ctx, alice, ContactMethod{ChannelID: mail.ID, Address: "alice@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		cmHook, err := s.AddContactMethod(ctx, alice, ContactMethod{ChannelID: hook.ID, Address: "https://alice.example/hook"})
		if err != nil {
			t.Fatal(err)
		}
		r1, err := s.AddRule(ctx, alice, Rule{ContactMethodID: cmMail.ID})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.AddRule(ctx, alice, Rule{ContactMethodID: cmHook.ID, DelayMinutes: 5})
		if err != nil {
			t.Fatal(err)
		}
		// Bob cannot hang a rule on Alice's contact method.
		_, err = s.AddRule(ctx, bob, Rule{ContactMethodID: cmMail.ID})
		wantField(t, err, "contact_method_id")

		ref := Ref{Kind: "incident", ID: 42}
		m := Message{Title: "[SEV2] #42 Checkout API down", Text: "down since 07:59", Severity: "error"}
		for range 2 { // a retried call adds nothing
			var n int
			inTx(t, db, func(tx *sql.Tx) (err error) {
				n, err = s.NotifyUser(ctx, tx, alice, ref, "inc42/esc1/r0/u1", m)
				return err
			})
			if want := 2; n != want && countStatus(t, db, StatusPending) != 2 {
				t.Fatalf("queued %d", n)
			}
		}
		if got := countStatus(t, db, StatusPending); got != 2 {
			t.Fatalf("pending rows = %d, want 2", got)
		}
		rows, _, err := s.Notifications(ctx, Filter{RefKind: "incident", RefID: 42})
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]Notification{}
		for _, n := range rows {
			byKey[n.Key] = n
		}
		email, ok1 := byKey["inc42/esc1/r0/u1/"+itoa(int(r1.ID))]
		late, ok2 := byKey["inc42/esc1/r0/u1/"+itoa(int(r2.ID))]
		if !ok1 || !ok2 {
			t.Fatalf("keys: %v", byKey)
		}
		if !email.NotBefore.Equal(now) || !late.NotBefore.Equal(now.Add(5*time.Minute)) {
			t.Fatalf("not_before: email %v, webhook %v", email.NotBefore, late.NotBefore)
		}
		if email.Address != "alice@example.com" || email.UserID != alice || email.Message.Title != m.Title {
			t.Fatalf("row: %+v", email)
		}
		// Bob has no contact methods: nothing is queued.
		inTx(t, db, func(tx *sql.Tx) error {
			n, err := s.NotifyUser(ctx, tx, bob, ref, "inc42/esc1/r0/u2", m)
			if n != 0 {
				t.Errorf("bob queued %d", n)
			}
			return err
		})
		// An ack cancels what is still queued, in the caller's transaction.
		inTx(t, db, func(tx *sql.Tx) error {
			n, err := s.CancelPending(ctx, tx, ref)
			if n != 2 {
				t.Errorf("cancelled %d, want 2", n)
			}
			return err
		})
		if got := countStatus(t, db, StatusCancelled); got != 2 {
			t.Fatalf("cancelled rows = %d", got)
		}
		// A queued row rolled back with its caller's transaction is gone.
		_ = db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := s.NotifyUser(ctx, tx, alice, ref, "inc42/esc2", m); err != nil {
				t.Fatal(err)
			}
			return errors.New("caller failed")
		})
		if all, _, _ := s.Notifications(ctx, Filter{}); len(all) != 2 {
			t.Fatalf("rows after rollback = %d, want 2", len(all))
		}
		// A cancelled row can be retried by an operator; it starts over.
		n, err := s.RetryNow(ctx, email.ID)
		if err != nil || n.Status != StatusPending || n.Attempts != 0 {
			t.Fatalf("retry: %+v %v", n, err)
		}
		// Filters and paging.
		page1, next, err := s.Notifications(ctx, Filter{Limit: 1})
		if err != nil || len(page1) != 1 || next == 0 {
			t.Fatalf("page 1: %v %d %v", page1, next, err)
		}
		page2, next2, err := s.Notifications(ctx, Filter{Limit: 1, Before: next})
		if err != nil || len(page2) != 1 || next2 != 0 || page2[0].ID >= page1[0].ID {
			t.Fatalf("page 2: %v %d %v", page2, next2, err)
		}
		if got, _, _ := s.Notifications(ctx, Filter{Status: StatusPending}); len(got) != 1 {
			t.Fatalf("pending filter: %d rows", len(got))
		}
	})
}

func TestNotifyUserWithoutRulesUsesEveryContactMethod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(db, Options{})
		u := addUser(t, db, "carol")
		hook := mustChannel(t, s, "Hook", "webhook", map[string]any{"url": "https://hooks.example/x"})
		cm, err := s.AddContactMethod(ctx, u, ContactMethod{ChannelID: hook.ID})
		if err != nil {
			t.Fatal(err)
		}
		inTx(t, db, func(tx *sql.Tx) error {
			n, err := s.NotifyUser(ctx, tx, u, Ref{Kind: "incident", ID: 1}, "k1", Message{Title: "t"})
			if n != 1 {
				t.Errorf("queued %d, want 1", n)
			}
			return err
		})
		rows, _, _ := s.Notifications(ctx, Filter{UserID: u})
		if len(rows) != 1 || rows[0].Key != "k1/m"+itoa(int(cm.ID)) {
			t.Fatalf("rows: %+v", rows)
		}
		// Team channel: one row, keyed by channel; a disabled channel refuses.
		inTx(t, db, func(tx *sql.Tx) error {
			n, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{Kind: "incident", ID: 1}, "k1", Message{Title: "t"})
			if n != 1 {
				t.Errorf("channel queued %d", n)
			}
			return err
		})
		off := false
		if _, err := s.SaveChannel(ctx, hook.ID, ChannelInput{Name: "Hook", Settings: json.RawMessage(`{"url":"https://hooks.example/x"}`), Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		_ = db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{}, "k2", Message{Title: "t"}); !errors.Is(err, ErrChannelDisabled) {
				t.Errorf("disabled channel: %v", err)
			}
			return nil
		})
		// Bad keys and messages name the field.
		_ = db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := s.NotifyUser(ctx, tx, u, Ref{}, "has space", Message{Title: "t"})
			wantField(t, err, "key")
			_, err = s.NotifyUser(ctx, tx, u, Ref{}, "k3", Message{Title: "t", URL: "javascript:alert(1)"})
			wantField(t, err, "url")
			_, err = s.NotifyUser(ctx, tx, u, Ref{}, "k3", Message{Title: "a\r\nBcc: x@y"})
			wantField(t, err, "title")
			return nil
		})
		// Deleting the channel removes the contact methods on it.
		if err := s.DeleteChannel(ctx, hook.ID); err != nil {
			t.Fatal(err)
		}
		if cms, _ := s.ContactMethods(ctx, u); len(cms) != 0 {
			t.Fatalf("contact methods left: %v", cms)
		}
	})
}

// TestWebhookReceiverDownThenBack queues notifications while the receiver
// is down (its listener closed), brings it back on the same port, and
// checks that every one arrives with its own idempotency key and a valid
// signature, and that the retries were reported.
func TestWebhookReceiverDownThenBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const secret = "a-very-secret-signing-key"
		var verified, bad int
		seen := map[string]int{}
		capt := &capture{}
		var h http.HandlerFunc = func(w http.ResponseWriter, r *http.Request) {
			capt.ServeHTTP(w, r)
		}
		rcv := newReceiver(t, h)
		oc := newOutcomes()
		s := NewService(db, Options{BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond, MaxAttempts: 1000,
			Concurrency: 4, OnOutcome: oc.record})
		hook := mustChannel(t, s, "Hook", "webhook", map[string]any{"url": rcv.URL(), "secret": secret})
		rcv.down()
		runWorker(t, s)
		const n = 20
		keys := map[string]bool{}
		for i := range n {
			inTx(t, db, func(tx *sql.Tx) error {
				_, err := s.NotifyChannel(ctx, tx, hook.ID, Ref{Kind: "incident", ID: int64(i)}, "inc"+itoa(i), Message{Title: "page " + itoa(i)})
				return err
			})
			keys["inc"+itoa(i)+"/c"+itoa(int(hook.ID))] = true
		}
		// Down: attempts fail and are reported as failed (will retry).
		for range n {
			if o := <-oc.ch; o.Status != string(StatusFailed) {
				t.Fatalf("outcome while down: %+v", o)
			}
		}
		if got := countStatus(t, db, StatusDelivered); got != 0 {
			t.Fatalf("%d delivered while the receiver was down", got)
		}
		rcv.up()
		waitFor(t, "every notification delivered", func() bool { return countStatus(t, db, StatusDelivered) == n })
		for _, r := range capt.requests() {
			key := r.Header.Get(HeaderIdempotencyKey)
			seen[key]++
			var p WebhookPayload
			if err := json.Unmarshal(r.Body, &p); err != nil || p.IdempotencyKey != key {
				t.Fatalf("body key %q vs header %q (%v)", p.IdempotencyKey, key, err)
			}
			if VerifySignature(secret, r.Header.Get(HeaderTimestamp), r.Body, r.Header.Get(HeaderSignature)) {
				verified++
			} else {
				bad++
			}
		}
		if bad != 0 || verified < n {
			t.Fatalf("signatures: %d verified, %d bad", verified, bad)
		}
		// At-least-once allows duplicates after a lost lease; none happens
		// here, so each key arrives exactly once.
		for k := range keys {
			if seen[k] != 1 {
				t.Errorf("key %s arrived %d times", k, seen[k])
			}
		}
		if len(seen) != n {
			t.Fatalf("receiver saw %d distinct keys, want %d", len(seen), n)
		}
	})
}
