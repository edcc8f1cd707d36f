package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/notify"
	"github.com/opsdeck/opsdeck/internal/secret"
	"github.com/opsdeck/opsdeck/internal/store"
)

// LoadSecretBox returns the box that seals secrets at rest: the keys of
// OPSDECK_SECRET_KEY, or of secret.key in the data folder (created on first
// start, mode 0600).
func LoadSecretBox(cfg config.Config, log *slog.Logger) (*secret.Box, error) {
	box, created, err := secret.Load(cfg.DataDir, os.Getenv(secret.EnvKey))
	if err != nil {
		return nil, fmt.Errorf("app: secret key: %w", err)
	}
	if created && log != nil {
		log.Warn("created a new secret key; back it up apart from the database: without it, stored passwords and tokens cannot be read",
			"file", cfg.DataDir+"/"+secret.KeyFile, "key_id", box.KeyID())
	}
	return box, nil
}

// SealSecrets seals every stored secret that is in clear or under an older
// key: at each start (moving existing installations over, idempotently) and
// after a key rotation. A secret sealed under a key the box lacks stops
// the start: the key file does not belong to this database.
func SealSecrets(ctx context.Context, as *auth.Service, notes *notify.Service, log *slog.Logger) error {
	nc, err := notes.SealStoredSecrets(ctx)
	if err != nil {
		return fmt.Errorf("app: seal notification secrets: %w", err)
	}
	ac, err := as.ResealSecrets(ctx)
	if err != nil {
		return fmt.Errorf("app: seal two-factor secrets: %w", err)
	}
	if nc+ac > 0 && log != nil {
		log.Info("sealed stored secrets", "channels", nc, "two_factor", ac)
	}
	return nil
}

// ciOfMonitor names the CMDB item a monitor is linked to, for security
// findings; ci is filled in once the CMDB is built.
func ciOfMonitor(ci **cmdb.Service) func(ctx context.Context, id int64) int64 {
	return func(ctx context.Context, id int64) int64 {
		if *ci == nil {
			return 0
		}
		links, err := (*ci).LinksOf(ctx, cmdb.LinkMonitor, id)
		if err != nil || len(links) == 0 {
			return 0
		}
		return links[0].CI.ID
	}
}

// monitorExists tells the security service whether a monitor still exists.
func monitorExists(mons **monitor.Service) func(ctx context.Context, id int64) (bool, error) {
	return func(ctx context.Context, id int64) (bool, error) {
		_, err := (*mons).Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
}
