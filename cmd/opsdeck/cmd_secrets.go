package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/secret"
)

const secretsHelp = `Subcommands:
  rotate   make a new secret key current, seal every stored secret again
           under it, then drop the old key from the key file
Stop the server first: a running server still holds the old key.
Takes --data, --db and --config like 'serve'.`

func cmdSecrets(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "secrets", args, map[string]func(context.Context, *cli, []string) error{
		"rotate": secretsRotate,
	}, secretsHelp)
}

func secretsRotate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "secrets rotate", "secrets rotate [flags]",
		"Rotates the key that seals SMTP passwords, webhook URLs and tokens, and two-factor keys, in the database.")
	sf := addStoreFlags(fs)
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if c.env.get(secret.EnvKey) != "" {
		return errors.New("the keys come from " + secret.EnvKey + ": put a new base64 key of 32 bytes first in it, followed by the old one (comma-separated), restart opsdeck (it seals everything again under the first key at start), then remove the old key")
	}
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	box, err := secret.Rotate(cfg.DataDir)
	if err != nil {
		return err
	}
	as := auth.NewService(db, auth.Options{Secrets: box})
	notes := notify.NewService(db, notify.Options{Secrets: box})
	actx := auth.WithActor(ctx, auth.CLIActor(osUser()))
	if err := app.SealSecrets(actx, as, notes, nil); err != nil {
		return fmt.Errorf("%w (the key file keeps both keys; run the command again)", err)
	}
	if err := secret.FinishRotation(cfg.DataDir, box); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "rotated: the current key is %s; every stored secret is sealed under it. Back up the new %s now.\n", box.KeyID(), secret.KeyFile)
	return nil
}

// userResetTwoFactor turns off a user's second factor from the server's
// command line: the way back in for the last admin who lost both device
// and recovery codes.
func userResetTwoFactor(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "user reset-2fa", "user reset-2fa --username NAME",
		"Turns off two-factor sign-in for a user (their key and recovery codes are deleted); audited.")
	sf := addStoreFlags(fs)
	username := fs.String("username", "", "login `name`")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	return withAuth(ctx, cfg, func(ctx context.Context, as *auth.Service) error {
		u, err := findUser(ctx, as, *username)
		if err != nil {
			return err
		}
		if err := as.ResetTwoFactor(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "two-factor sign-in of %s is off; they can set it up again under the account menu\n", u.Username)
		return nil
	})
}
