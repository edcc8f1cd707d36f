package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/fleet"
	"github.com/opsdeck/opsdeck/internal/store"
)

const agentTokenHelp = `Subcommands:
  create  [--ttl 24h] [--note TEXT] [--server URL]
          prints the new one-time enrollment token (only) on stdout and the
          'opsdeck agent' command that uses it on stderr
  list
  revoke  --id ID
Each takes --data, --db and --config like 'serve'; they work while the server runs.`

func cmdAgentToken(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "agent-token", args, map[string]func(context.Context, *cli, []string) error{
		"create": agentTokenCreate, "list": agentTokenList, "revoke": agentTokenRevoke,
	}, agentTokenHelp)
}

// withFleet opens the store and the fleet service for one CLI command,
// acting as the operator at the command line.
func withFleet(ctx context.Context, cfg config.Config, fn func(ctx context.Context, f *fleet.Service) error) error {
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(auth.WithActor(ctx, auth.CLIActor(osUser())), fleet.NewService(db, fleet.Options{}))
}

func agentTokenCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "agent-token create", "agent-token create [--ttl 24h] [--note TEXT]",
		"Creates a one-time enrollment token for 'opsdeck agent --enroll' and prints it on stdout, once.")
	sf := addStoreFlags(fs)
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token may be used, from 1m to 720h")
	note := fs.String("note", "", "what or whom the token is for, e.g. `rack 4`")
	server := fs.String("server", "", "the server `URL` agents reach, for the printed command (default: base_url)")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	return withFleet(ctx, cfg, func(ctx context.Context, f *fleet.Service) error {
		raw, t, err := f.CreateToken(ctx, *ttl, *note)
		if err != nil {
			return err
		}
		url := *server
		if url == "" {
			url = cfg.BaseURL
		}
		if url == "" {
			url = "http://" + cfg.Addr
		}
		fmt.Fprintf(c.stderr, "created enrollment token %d, valid until %s; on the host run:\n  opsdeck agent --server %s --enroll %s\n",
			t.ID, t.ExpiresAt.Format(time.RFC3339), strings.TrimSuffix(url, "/"), raw)
		fmt.Fprintln(c.stdout, raw)
		return nil
	})
}

func agentTokenList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "agent-token list", "agent-token list [flags]", "Lists enrollment tokens (never the tokens themselves).")
	cfg, err := addStoreFlags(fs).parse(c, args)
	if err != nil {
		return err
	}
	return withFleet(ctx, cfg, func(ctx context.Context, f *fleet.Service) error {
		ts, err := f.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tSTATUS\tEXPIRES\tCREATED BY\tNOTE")
		for _, t := range ts {
			fmt.Fprintf(tw, "%d\t%s…\t%s\t%s\t%s\t%s\n", t.ID, t.Prefix, t.Status, t.ExpiresAt.Format(time.RFC3339), orDash(t.CreatedBy), orDash(t.Note))
		}
		return tw.Flush()
	})
}

func agentTokenRevoke(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "agent-token revoke", "agent-token revoke --id ID", "Revokes an unused enrollment token.")
	sf := addStoreFlags(fs)
	id := fs.Int64("id", 0, "token `id` (see 'opsdeck agent-token list')")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if *id <= 0 {
		return errors.New("--id is required")
	}
	return withFleet(ctx, cfg, func(ctx context.Context, f *fleet.Service) error {
		if err := f.RevokeToken(ctx, *id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no unused, unrevoked enrollment token with id %d", *id)
			}
			return err
		}
		fmt.Fprintf(c.stderr, "enrollment token %d revoked\n", *id)
		return nil
	})
}
