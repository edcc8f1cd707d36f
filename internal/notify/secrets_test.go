package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/secret"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func TestSecretsSealedAtRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		box, err := secret.New(bytes.Repeat([]byte{9}, 32))
		if err != nil {
			t.Fatal(err)
		}
		// A channel written before sealing was on: its secret is in clear.
		clear := NewService(db, Options{})
		old, err := clear.SaveChannel(ctx, 0, ChannelInput{Name: "Old hook", Kind: "webhook",
			Settings: json.RawMessage(`{"url":"https://a.example/","secret":"0123456789abcdef-old"}`)})
		if err != nil {
			t.Fatal(err)
		}
		s := NewService(db, Options{Secrets: box})
		stored := func(id int64) string {
			var v string
			if err := db.R.QueryRowContext(ctx, `SELECT settings FROM notification_channels WHERE id = $1`, id).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		// Clear values are still read before the migration ran.
		if _, err := s.buildChannel(ctx, old.ID, "Old hook"); err != nil {
			t.Fatalf("clear channel before sealing: %v", err)
		}
		n, err := s.SealStoredSecrets(ctx)
		if err != nil || n != 1 {
			t.Fatalf("seal stored = %d %v", n, err)
		}
		if v := stored(old.ID); strings.Contains(v, "abcdef-old") || !strings.Contains(v, secret.Prefix) || !strings.Contains(v, "https://a.example/") {
			t.Fatalf("after migration stored %s", v)
		}
		if n, err := s.SealStoredSecrets(ctx); err != nil || n != 0 {
			t.Fatalf("second migration changed %d (%v)", n, err)
		}
		// New channels are sealed as they are written; the UI still sees
		// which secrets are set, and sending opens them.
		c, err := s.SaveChannel(ctx, 0, ChannelInput{Name: "Mail", Kind: "email",
			Settings: json.RawMessage(`{"host":"smtp.example.com","port":587,"security":"starttls","username":"ops","password":"s3cret-smtp-pass","from":"ops@example.com","to":"oncall@example.com"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if v := stored(c.ID); strings.Contains(v, "s3cret-smtp-pass") {
			t.Fatalf("password stored in clear: %s", v)
		}
		if len(c.SecretsSet) != 1 || c.SecretsSet[0] != "password" || strings.Contains(string(c.Settings), "password") {
			t.Fatalf("redacted view = %+v", c)
		}
		raw, err := s.channelRaw(ctx, db.R, c.ID)
		if err != nil || !strings.Contains(string(raw.Settings), "s3cret-smtp-pass") {
			t.Fatalf("opened settings = %s %v", raw.Settings, err)
		}
		// Saving without the secret keeps it, still sealed.
		if _, err := s.SaveChannel(ctx, c.ID, ChannelInput{Name: "Mail 2", Settings: json.RawMessage(`{"host":"smtp.example.com","port":587,"security":"starttls","username":"ops","from":"ops@example.com","to":"oncall@example.com"}`)}); err != nil {
			t.Fatal(err)
		}
		if v := stored(c.ID); strings.Contains(v, "s3cret-smtp-pass") || !strings.Contains(v, secret.Prefix) {
			t.Fatalf("after edit stored %s", v)
		}
		if ch, err := s.buildChannel(ctx, c.ID, "Mail 2"); err != nil || ch == nil {
			t.Fatalf("build sealed channel: %v", err)
		}
		// Under another key the secret cannot be opened: sending fails
		// permanently rather than sending garbage.
		other, _ := secret.New(bytes.Repeat([]byte{8}, 32))
		wrong := NewService(db, Options{Secrets: other})
		if _, err := wrong.buildChannel(ctx, c.ID, "Mail 2"); err == nil {
			t.Fatal("a channel opened under the wrong key")
		}
	})
}
