package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/secret"
)

func TestCLISecretsRotate(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cfg := config.Config{DataDir: dir}
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	box, _, err := secret.Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	notes := notify.NewService(db, notify.Options{Secrets: box})
	c, err := notes.SaveChannel(ctx, 0, notify.ChannelInput{Name: "hook", Kind: "webhook", Settings: json.RawMessage(`{"url":"https://a.example/","secret":"0123456789abcdef-rot"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var before string
	_ = db.R.QueryRowContext(ctx, `SELECT settings FROM notification_channels WHERE id = $1`, c.ID).Scan(&before)
	db.Close()

	code, out, errOut := runCLI(t, "", "secrets", "rotate", "--data", dir)
	if code != 0 || !strings.Contains(out, "rotated") {
		t.Fatalf("rotate: %d %s %s", code, out, errOut)
	}
	newBox, _, err := secret.Load(dir, "")
	if err != nil || newBox.KeyID() == box.KeyID() {
		t.Fatalf("key after rotation: %v %v", newBox.KeyID(), err)
	}
	db, err = app.OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var after string
	_ = db.R.QueryRowContext(ctx, `SELECT settings FROM notification_channels WHERE id = $1`, c.ID).Scan(&after)
	if after == before || !strings.Contains(after, secret.Prefix+newBox.KeyID()) {
		t.Fatalf("not resealed: %s", after)
	}
	var m map[string]string
	_ = json.Unmarshal([]byte(after), &m)
	if plain, err := newBox.Open(m["secret"]); err != nil || plain != "0123456789abcdef-rot" {
		t.Fatalf("open after rotation: %q %v", plain, err)
	}
	if _, err := box.Open(m["secret"]); err == nil {
		t.Error("the old key still opens the rotated secret")
	}
}
