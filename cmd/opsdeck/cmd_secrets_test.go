package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/auth"
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

func TestCLIUserReset2FA(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "a long enough password\n", "user", "create", "--data", dir, "--username", "ann", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	ctx := context.Background()
	db, err := app.OpenStore(ctx, config.Config{DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as := auth.NewService(db, auth.Options{})
	u, _ := as.GetUserByName(ctx, "ann")
	actx := auth.WithActor(ctx, auth.SystemActor())
	key, err := as.StartTwoFactor(actx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := auth.TOTPCode(key, time.Now())
	if _, err := as.ConfirmTwoFactor(actx, u.ID, code); err != nil {
		t.Fatal(err)
	}
	exit, _, errOut := runCLI(t, "", "user", "reset-2fa", "--data", dir, "--username", "ann")
	if exit != 0 || !strings.Contains(errOut, "two-factor sign-in of ann is off") {
		t.Fatalf("reset: %d %s", exit, errOut)
	}
	if st, err := as.TwoFactor(ctx, u.ID); err != nil || st.Enabled {
		t.Fatalf("after reset: %+v %v", st, err)
	}
	if code, _, _ := runCLI(t, "", "user", "reset-2fa", "--data", dir, "--username", "nobody"); code == 0 {
		t.Error("reset of an unknown user succeeded")
	}
}
